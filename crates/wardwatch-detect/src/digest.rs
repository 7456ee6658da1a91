//! The flow digest: what behaviour detection needs from the flows, folded
//! per conversation pair as flows end, so that a million beacon connections
//! cost one entry, not a million. Bounded: a cap on pairs and on samples
//! per pair, with counters.

use std::collections::HashMap;
use std::net::IpAddr;

/// What one finished flow contributes.
#[derive(Debug, Clone, Copy)]
pub struct FlowFact {
    /// IP protocol (6 TCP, 17 UDP …).
    pub proto: u8,
    /// Initiator.
    pub client: IpAddr,
    /// Responder.
    pub server: IpAddr,
    /// Responder port.
    pub server_port: u16,
    /// Transport payload bytes client→server and server→client.
    pub payload: [u64; 2],
    /// Frames each way.
    pub packets: [u64; 2],
    /// First packet.
    pub first_ts: i64,
    /// Last packet.
    pub last_ts: i64,
    /// Input and frame of the first packet.
    pub first_frame: (u16, u64),
    /// The responder answered at all.
    pub answered: bool,
    /// TCP: the handshake completed or data flowed both ways; UDP: answered.
    pub established: bool,
    /// TCP: refused with a reset before any data.
    pub refused: bool,
    /// TCP: the client sent a SYN and never an acknowledgement or data (an
    /// attempt that never completed: refused, unanswered, or a flood's).
    pub half_open: bool,
}

impl FlowFact {
    /// Whether the flow is still waiting for the responder's first answer
    /// as of `now` (a packet time): it may yet get one, so it is no failed
    /// probe until it has waited [`crate::live::PROBE_GRACE_NS`].
    pub fn awaiting_answer(&self, now: i64) -> bool {
        !self.answered && now.saturating_sub(self.last_ts) < crate::live::PROBE_GRACE_NS
    }

    /// A probe that got nowhere (see [`PairStats::failed`]).
    pub fn failed(&self) -> bool {
        !self.established && self.payload[0] == 0
    }

    /// The conversation pair the flow belongs to.
    pub fn pair(&self) -> PairKey {
        PairKey {
            client: self.client,
            server: self.server,
            proto: self.proto,
            port: self.server_port,
        }
    }
}

/// A conversation pair: one client talking to one service of one server.
/// Ordered by client, server, protocol, port (the field order): sorted
/// pairs put each (client, server) in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PairKey {
    /// Initiator.
    pub client: IpAddr,
    /// Responder.
    pub server: IpAddr,
    /// IP protocol.
    pub proto: u8,
    /// Responder port.
    pub port: u16,
}

/// Most connection samples kept per pair (for interval statistics).
pub const MAX_SAMPLES: usize = 512;

/// Everything seen of one pair.
#[derive(Debug, Clone, Default)]
pub struct PairStats {
    /// Connections (flows).
    pub conns: u64,
    /// Connections the server answered.
    pub answered: u64,
    /// Connections established.
    pub established: u64,
    /// Connections refused.
    pub refused: u64,
    /// Payload bytes client→server and server→client.
    pub payload: [u64; 2],
    /// Frames both ways.
    pub packets: u64,
    /// First packet.
    pub first_ts: i64,
    /// Last packet.
    pub last_ts: i64,
    /// First frame (input, frame).
    pub first_frame: (u16, u64),
    /// Start time and client payload of each connection (the first
    /// [`MAX_SAMPLES`]), kept only once a second connection arrives: most
    /// pairs have one, whose sample is `(first_ts, payload[0])`, and an
    /// allocation per pair would be most of the digest's memory.
    more: Vec<(i64, u64)>,
}

impl PairStats {
    /// The connection samples (start, client payload) held, in arrival order.
    pub fn samples(&self) -> Vec<(i64, u64)> {
        if self.conns == 1 && self.more.is_empty() {
            vec![(self.first_ts, self.payload[0])]
        } else {
            self.more.clone()
        }
    }

    /// How many samples [`PairStats::samples`] returns.
    pub fn sample_count(&self) -> usize {
        if self.conns == 1 && self.more.is_empty() {
            1
        } else {
            self.more.len()
        }
    }

    /// A pair seen as one connection, established or not, with or without
    /// client data: what the live rules know of a pair.
    pub(crate) fn probe(
        established: bool,
        client_data: bool,
        first_ts: i64,
        last_ts: i64,
        first_frame: (u16, u64),
    ) -> Self {
        PairStats {
            conns: 1,
            answered: u64::from(established),
            established: u64::from(established),
            payload: [u64::from(client_data), 0],
            first_ts,
            last_ts,
            first_frame,
            ..Default::default()
        }
    }

    /// Widens the pair's first and last times to cover flow `f`.
    pub(crate) fn widen(&mut self, f: &FlowFact) {
        if f.first_ts < self.first_ts {
            self.first_ts = f.first_ts;
            self.first_frame = f.first_frame;
        }
        self.last_ts = self.last_ts.max(f.last_ts);
    }

    /// A probe that got nowhere: TCP not established, UDP not answered,
    /// and the client sent no data (so a capture holding one direction only
    /// does not turn every client into a scanner).
    pub fn failed(&self) -> bool {
        self.established == 0 && self.payload[0] == 0
    }

    /// Makes room for a second connection's sample by storing the first.
    fn spill(&mut self) {
        if self.conns == 1 && self.more.is_empty() {
            self.more.push((self.first_ts, self.payload[0]));
        }
    }

    /// Folds one flow of the pair in, its sample too when `room`; returns
    /// the samples added.
    fn fold(&mut self, f: &FlowFact, room: bool) -> usize {
        let held = self.more.len();
        if room {
            self.spill();
        }
        let fresh = self.conns == 0;
        self.conns += 1;
        self.answered += f.answered as u64;
        self.established += f.established as u64;
        self.refused += f.refused as u64;
        self.payload[0] += f.payload[0];
        self.payload[1] += f.payload[1];
        self.packets += f.packets[0] + f.packets[1];
        self.widen(f);
        if !fresh && room && !self.more.is_empty() && self.more.len() < MAX_SAMPLES {
            self.more.push((f.first_ts, f.payload[0]));
        }
        self.more.len() - held
    }

    /// Adds another tally of the same pair (another worker's), with up to
    /// `room` of its samples; returns the samples added.
    fn absorb(&mut self, o: &PairStats, room: usize) -> usize {
        let held = self.more.len();
        if room > 0 {
            self.spill();
        }
        self.conns += o.conns;
        self.answered += o.answered;
        self.established += o.established;
        self.refused += o.refused;
        self.payload[0] += o.payload[0];
        self.payload[1] += o.payload[1];
        self.packets += o.packets;
        if o.first_ts < self.first_ts {
            self.first_ts = o.first_ts;
            self.first_frame = o.first_frame;
        }
        self.last_ts = self.last_ts.max(o.last_ts);
        if !self.more.is_empty() {
            let room = MAX_SAMPLES
                .saturating_sub(self.more.len())
                .min(room.saturating_sub(self.more.len() - held));
            self.more.extend(o.samples().into_iter().take(room));
        }
        self.more.len() - held
    }
}

/// Per sender of discovery probes (ARP requests, ICMP echo requests): the
/// distinct addresses it asked for.
#[derive(Debug, Clone)]
pub struct Asks<T> {
    /// Distinct target addresses (capped), each with the time it was first
    /// asked for.
    pub targets: HashMap<T, i64, foldhash::fast::RandomState>,
    /// Requests.
    pub requests: u64,
    /// Distinct targets first asked for without an answer (ICMP: no echo
    /// reply on the flow; ARP answers are not followed).
    pub unanswered: u64,
    /// First request time.
    pub first_ts: i64,
    /// Last request time.
    pub last_ts: i64,
    /// First frame.
    pub first_frame: (u16, u64),
}

impl<T> Default for Asks<T> {
    fn default() -> Self {
        Asks {
            targets: Default::default(),
            requests: 0,
            unanswered: 0,
            first_ts: 0,
            last_ts: 0,
            first_frame: (0, 0),
        }
    }
}

/// The window sweeps are counted in: one minute.
pub const SWEEP_WINDOW_NS: i64 = 60_000_000_000;

impl<T> Asks<T> {
    /// Most distinct targets first asked for within one
    /// [`SWEEP_WINDOW_NS`]: a sweep asks for hundreds in seconds, a
    /// router for the hosts of its subnet one by one as their entries
    /// expire, over hours. Counted in the windows of two grids, one offset
    /// by half a window (any run of new targets within half a window lies
    /// whole in one of them, a longer one at least half): a function of
    /// the targets' first times alone, so the same whichever worker saw
    /// which target.
    pub fn burst(&self) -> usize {
        let mut most = 0;
        for grid in 0..2i64 {
            let mut per: HashMap<i64, usize, foldhash::fast::FixedState> = HashMap::default();
            for ts in self.targets.values() {
                let w = (ts + grid * (SWEEP_WINDOW_NS / 2)).div_euclid(SWEEP_WINDOW_NS);
                let n = per.entry(w).or_default();
                *n += 1;
                most = most.max(*n);
            }
        }
        most
    }
}

/// Notes `target` first asked for at `ts` among a sender's `targets`: an
/// earlier time for one held, else, where `room` and within the sender's
/// cap, a new one (counted in `held`). True when it was added.
fn add_target<T: Eq + std::hash::Hash>(
    targets: &mut HashMap<T, i64, foldhash::fast::RandomState>,
    held: &mut usize,
    (target, ts): (T, i64),
    room: bool,
) -> bool {
    if let Some(first) = targets.get_mut(&target) {
        *first = (*first).min(ts);
        return false;
    }
    if !room || targets.len() >= MAX_SWEEP_TARGETS {
        return false;
    }
    targets.insert(target, ts);
    *held += 1;
    true
}

/// Discovery probes by sender (ARP requests by IPv4 address, ICMP echo
/// requests by IP address), within the caps below.
#[derive(Debug, Clone)]
pub struct Sweeps<T> {
    by_sender: HashMap<T, Asks<T>, foldhash::fast::RandomState>,
    /// Targets held over all senders (at most [`MAX_SWEEP_TARGETS_TOTAL`]).
    held: usize,
}

impl<T> Default for Sweeps<T> {
    fn default() -> Self {
        Sweeps {
            by_sender: HashMap::default(),
            held: 0,
        }
    }
}

impl<T> std::ops::Deref for Sweeps<T> {
    type Target = HashMap<T, Asks<T>, foldhash::fast::RandomState>;
    fn deref(&self) -> &Self::Target {
        &self.by_sender
    }
}

impl<T: Copy + Eq + std::hash::Hash + Ord> Sweeps<T> {
    /// Notes a probe from `sender` for `target`; false when the sender
    /// could not be tracked (too many).
    fn ask(&mut self, sender: T, target: T, ts: i64, frame: (u16, u64), answered: bool) -> bool {
        if !self.by_sender.contains_key(&sender) && self.by_sender.len() >= MAX_SWEEP_SENDERS {
            return false;
        }
        let room = self.held < MAX_SWEEP_TARGETS_TOTAL;
        let a = self.by_sender.entry(sender).or_insert_with(|| Asks {
            first_ts: ts,
            first_frame: frame,
            ..Default::default()
        });
        a.requests += 1;
        if ts < a.first_ts {
            a.first_ts = ts;
            a.first_frame = frame;
        }
        a.last_ts = a.last_ts.max(ts);
        if add_target(&mut a.targets, &mut self.held, (target, ts), room) {
            a.unanswered += u64::from(!answered);
        }
        true
    }

    /// Adds another worker's. Past the target budget (or a sender's cap),
    /// what is kept is taken in address order: the sets' own order is
    /// seeded per run.
    fn merge(&mut self, other: Sweeps<T>) {
        let past_budget = self.held + other.held > MAX_SWEEP_TARGETS_TOTAL;
        let mut senders: Vec<_> = other.by_sender.into_iter().collect();
        if past_budget {
            senders.sort_unstable_by_key(|(s, _)| *s);
        }
        for (s, mut o) in senders {
            match self.by_sender.get_mut(&s) {
                Some(a) => {
                    a.requests += o.requests;
                    a.unanswered += o.unanswered;
                    if o.first_ts < a.first_ts {
                        a.first_ts = o.first_ts;
                        a.first_frame = o.first_frame;
                    }
                    a.last_ts = a.last_ts.max(o.last_ts);
                    let mut theirs: Vec<_> = o.targets.into_iter().collect();
                    if past_budget || a.targets.len() + theirs.len() > MAX_SWEEP_TARGETS {
                        theirs.sort_unstable();
                    }
                    for (t, ts) in theirs {
                        let full = a.targets.len() >= MAX_SWEEP_TARGETS
                            || self.held >= MAX_SWEEP_TARGETS_TOTAL;
                        if full && !a.targets.contains_key(&t) {
                            break;
                        }
                        add_target(&mut a.targets, &mut self.held, (t, ts), true);
                    }
                }
                None => {
                    if self.held + o.targets.len() > MAX_SWEEP_TARGETS_TOTAL {
                        o.targets.clear();
                    }
                    self.held += o.targets.len();
                    self.by_sender.insert(s, o);
                }
            }
        }
    }
}

/// Most distinct targets remembered per sender.
const MAX_SWEEP_TARGETS: usize = 4096;
/// Most senders tracked per table.
const MAX_SWEEP_SENDERS: usize = 65_536;
/// Most distinct targets remembered over all senders of one table (ARP,
/// ICMP), about 24 bytes each with their first times: without it, 65,536
/// senders of 4,096 targets would take 6 GB.
const MAX_SWEEP_TARGETS_TOTAL: usize = 1 << 20;
/// Connection samples per pair of the cap, on average, held over all pairs
/// (16 bytes each): a pair holds up to [`MAX_SAMPLES`], but a full digest
/// of pairs that all did would take 2 GB.
const SAMPLES_PER_PAIR: usize = 8;

/// Bytes one local host exchanged with internet addresses in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourBytes {
    /// Payload bytes it sent to internet addresses.
    pub out: u64,
    /// Payload bytes it received from them.
    pub inb: u64,
}

/// Most (host, hour) entries held (about 48 bytes each).
const MAX_HOURLY: usize = 1 << 17;

/// Nanoseconds in an hour.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// The digest of all flows of a run.
#[derive(Debug, Clone)]
pub struct FlowDigest {
    /// Bytes to and from the internet per local host and hour (hour index =
    /// time / 1 h), for per-device baselines. A flow's bytes are spread
    /// evenly over the hours it spans.
    pub hourly: HashMap<(IpAddr, i64), HourBytes, foldhash::fast::RandomState>,
    /// The site's address space (decides what is the internet).
    local: wardwatch_inventory::net::LocalNets,
    /// Pairs. Boxed: a full digest's buckets are then 48 bytes each, not
    /// 152 (hashbrown keeps up to twice as many buckets as pairs, and both
    /// arrays while it grows).
    pub pairs: HashMap<PairKey, Box<PairStats>, foldhash::fast::RandomState>,
    /// ARP requests by sender address.
    pub arp: Sweeps<std::net::Ipv4Addr>,
    /// ICMP echo requests by sender address (each target once per flow:
    /// a flow holds all echoes between two hosts).
    pub icmp: Sweeps<IpAddr>,
    /// ARP claims by address (the spoofing rule's).
    pub claims: crate::arp::ArpClaims,
    /// Connection attempts and pings per target and second (the flood
    /// rules').
    pub floods: crate::flood::Floods,
    /// Most pairs held.
    pub cap: usize,
    /// Connection samples held over all pairs (at most
    /// [`SAMPLES_PER_PAIR`] times the cap).
    samples: usize,
    /// Flows not folded because the digest was full.
    pub dropped: u64,
    /// Failed connection attempts (not established, no client data) of
    /// pairs that came once the digest was full, by client, server and
    /// protocol: the ports the scan rules need, so that a scan late in a
    /// long capture is still found. Bounded: see `late_cost`.
    pub late_probes: std::collections::BTreeMap<(IpAddr, IpAddr, u8), LateProbes>,
    /// What `late_probes` holds, in ports plus [`LATE_GROUP_COST`] per
    /// group: at most the cap (about 12 bytes a unit, 1.6 MB at the
    /// default cap).
    late_cost: usize,
    /// Pairs taken past the cap into the reserve (uploads to and
    /// connections from the internet): at most an eighth of the cap.
    pub reserved: usize,
    /// Watched callbacks taken past the cap, into a reserve of their own
    /// (an eighth of the cap too), so that repeated visits to the same
    /// internet services never take the room an upload needs.
    pub promoted: usize,
    /// Site → internet pairs that came once the digest was full, watched
    /// until they have made [`CALLBACK_MIN_CONNS`] connections (then they
    /// are promoted, for the beaconing rule): at most an eighth of the cap
    /// (16,384 at the default; about 250 bytes each by estimate), those
    /// seen once given up first.
    callbacks: HashMap<PairKey, Box<PairStats>, foldhash::fast::RandomState>,
    /// Sweeps of the full watch (each visits all of it).
    callback_sweeps: u64,
}

/// Connections a watched pair (see `FlowDigest::callbacks`) makes before
/// it is promoted into the digest: the default `[detect]
/// beacon_min_connections`, so a beacon late in a long capture is scored
/// with its first samples.
pub const CALLBACK_MIN_CONNS: u64 = 8;

/// The reserve: a full digest still takes this share of its cap (an
/// eighth: 16,384 pairs, about 2.5 MB, at the default cap) in pairs the
/// internet rules cannot do without, so that a transfer out or a service
/// reached from the internet late in a long capture is still seen.
const RESERVE_SHARE: usize = 8;

/// Client payload (bytes) of a flow from a site host to an internet
/// address that earns its pair a place in the reserve: an upload, where
/// web browsing sends requests of a few kilobytes.
pub const RESERVE_MIN_OUT: u64 = 64 * 1024;

/// What a group of late probes (one client, server and protocol) costs
/// beside its ports, in ports: its map entry and its set (about 150 bytes).
const LATE_GROUP_COST: usize = 12;

/// The failed attempts of one client on one server and protocol that the
/// full digest had no pair for.
#[derive(Debug, Clone, Default)]
pub struct LateProbes {
    /// Ports tried.
    pub ports: std::collections::BTreeSet<u16>,
    /// First attempt.
    pub first_ts: i64,
    /// Last attempt.
    pub last_ts: i64,
    /// First attempt's frame (input, frame).
    pub first_frame: (u16, u64),
}

impl Default for FlowDigest {
    /// As many pairs as the default `[detect] max_pairs`.
    fn default() -> Self {
        FlowDigest::new(crate::DetectConfig::default().max_pairs)
    }
}

impl FlowDigest {
    /// A digest of at most `cap` pairs.
    pub fn new(cap: usize) -> Self {
        FlowDigest {
            hourly: HashMap::default(),
            local: Default::default(),
            pairs: HashMap::default(),
            arp: Sweeps::default(),
            icmp: Sweeps::default(),
            claims: Default::default(),
            floods: Default::default(),
            cap,
            samples: 0,
            dropped: 0,
            late_probes: Default::default(),
            late_cost: 0,
            reserved: 0,
            promoted: 0,
            callbacks: HashMap::default(),
            callback_sweeps: 0,
        }
    }

    /// Whether a pair absent from the full digest goes into the reserve: a
    /// site host sent an internet address at least [`RESERVE_MIN_OUT`]
    /// (what the exfiltration rule sums), or an internet address reached a
    /// site service (what the exposure rule reports; not UDP answers from
    /// ports above 1023, which that rule skips), while the reserve has room.
    fn deserves_reserve(&self, key: &PairKey, client_payload: u64, established: bool) -> bool {
        if self.reserved >= self.cap / RESERVE_SHARE {
            return false;
        }
        let public = |ip: &IpAddr| crate::is_public_in(&self.local, ip);
        let upload = self.local.contains(&key.client)
            && public(&key.server)
            && client_payload >= RESERVE_MIN_OUT;
        let reached = established
            && public(&key.client)
            && self.local.contains(&key.server)
            && !(key.proto == 17 && key.port >= 1024);
        upload || reached
    }

    /// Notes a failed attempt of a pair the full digest has no room for;
    /// false when the late probes are full too.
    fn late_probe(&mut self, key: PairKey, first_ts: i64, last_ts: i64, frame: (u16, u64)) -> bool {
        let group = (key.client, key.server, key.proto);
        let cost = match self.late_probes.get(&group) {
            // Another attempt on a port already held.
            Some(g) if g.ports.contains(&key.port) => 0,
            Some(_) => 1,
            None => 1 + LATE_GROUP_COST,
        };
        if self.late_cost + cost > self.cap {
            return false;
        }
        self.late_cost += cost;
        let g = self.late_probes.entry(group).or_insert_with(|| LateProbes {
            first_ts,
            last_ts,
            first_frame: frame,
            ..Default::default()
        });
        g.ports.insert(key.port);
        if (first_ts, frame) < (g.first_ts, g.first_frame) {
            g.first_ts = first_ts;
            g.first_frame = frame;
        }
        g.last_ts = g.last_ts.max(last_ts);
        true
    }

    /// Whether another connection sample fits the digest's budget.
    fn sample_room(&self) -> bool {
        self.samples < self.cap.saturating_mul(SAMPLES_PER_PAIR)
    }

    /// The pairs in key order (client, server, protocol, port): what the
    /// rules iterate, deterministic whatever the hash map did.
    pub fn sorted_pairs(&self) -> Vec<(&PairKey, &PairStats)> {
        let mut v: Vec<_> = self.pairs.iter().map(|(k, p)| (k, &**p)).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// The same digest, with the site's own address space.
    pub fn with_local(mut self, local: wardwatch_inventory::net::LocalNets) -> Self {
        self.local = local;
        self
    }

    /// Spreads a flow's internet bytes over the hours it spans.
    fn add_hourly(&mut self, f: &FlowFact) {
        let public = |ip: &IpAddr| crate::is_public_in(&self.local, ip);
        let (local, out, inb) = match (public(&f.client), public(&f.server)) {
            (false, true) if self.local.contains(&f.client) => {
                (f.client, f.payload[0], f.payload[1])
            }
            (true, false) if self.local.contains(&f.server) => {
                (f.server, f.payload[1], f.payload[0])
            }
            _ => return,
        };
        if out == 0 && inb == 0 {
            return;
        }
        let (h0, h1) = (
            f.first_ts.div_euclid(HOUR_NS),
            f.last_ts.max(f.first_ts).div_euclid(HOUR_NS),
        );
        // A flow longer than a day (clock trouble, or a tunnel) lands in its
        // last day's hours.
        let h0 = h0.max(h1 - 23);
        let n = (h1 - h0 + 1) as u64;
        for (i, h) in (h0..=h1).enumerate() {
            let share = |b: u64| b / n + if (i as u64) < b % n { 1 } else { 0 };
            let key = (local, h);
            if !self.hourly.contains_key(&key) && self.hourly.len() >= MAX_HOURLY {
                self.dropped += 1;
                return;
            }
            let e = self.hourly.entry(key).or_default();
            e.out += share(out);
            e.inb += share(inb);
        }
    }

    /// Folds one finished flow in.
    pub fn add(&mut self, f: &FlowFact) {
        self.add_hourly(f);
        // Attempts that got nowhere, for the flood rules: TCP that never
        // completed, UDP never answered.
        if f.half_open || (f.proto == 17 && !f.answered) {
            self.floods.add(crate::flood::Attempts {
                target: f.server,
                proto: f.proto,
                port: f.server_port,
                source: f.client,
                span: (f.first_ts, f.last_ts),
                count: f.packets[0],
                frame: f.first_frame,
            });
        }
        let key = f.pair();
        let full = self.pairs.len() >= self.cap;
        // (The pair's test first: a second lookup only for the few it takes.)
        let reserve = full
            && self.deserves_reserve(&key, f.payload[0], f.established)
            && !self.pairs.contains_key(&key);
        let room = self.sample_room();
        let fresh = || {
            Box::new(PairStats {
                first_ts: f.first_ts,
                last_ts: f.last_ts,
                first_frame: f.first_frame,
                ..Default::default()
            })
        };
        let p = match self.pairs.get_mut(&key) {
            Some(p) => p,
            None if full && !reserve => {
                if f.failed() && self.late_probe(key, f.first_ts, f.last_ts, f.first_frame) {
                    return;
                }
                self.dropped += 1;
                if !f.failed() && self.may_be_callback(&key) {
                    let mut p = fresh();
                    p.fold(f, true);
                    self.watch_callback(key, p);
                }
                return;
            }
            None => self.pairs.entry(key).or_insert_with(fresh),
        };
        self.reserved += usize::from(reserve);
        self.samples += p.fold(f, room);
    }

    /// Whether a pair the full digest had no room for is watched as a
    /// possible callback: a site host reaching an internet service over TCP
    /// or UDP, not on a port that is periodic by design (DNS, NTP …).
    fn may_be_callback(&self, key: &PairKey) -> bool {
        matches!(key.proto, 6 | 17)
            && self.local.contains(&key.client)
            && crate::is_public_in(&self.local, &key.server)
            && !crate::behaviour::periodic_by_design(key.port)
    }

    /// Watches `p`, a tally of a pair the full digest had no room for, whose
    /// connections `dropped` already counts: with what was watched of the
    /// pair before, once it holds [`CALLBACK_MIN_CONNS`] connections it
    /// is promoted into the digest (while the callbacks' reserve has room)
    /// and stops counting as dropped. A full watch gives up half its pairs:
    /// those seen once (ordinary browsing) first, then those seen more, each
    /// idle longest first; the same ones whatever order the hash map holds
    /// them in, and a sweep of the whole watch at most once per half-watch
    /// of new pairs.
    fn watch_callback(&mut self, key: PairKey, p: Box<PairStats>) {
        let limit = (self.cap / RESERVE_SHARE).max(1);
        let watched = match self.callbacks.get_mut(&key) {
            Some(w) => {
                w.absorb(&p, CALLBACK_MIN_CONNS as usize);
                w
            }
            None => {
                if self.callbacks.len() >= limit {
                    // Down to half: the pairs seen once first, then those
                    // seen more, each idle longest first (ties by key).
                    self.callback_sweeps += 1;
                    let mut order: Vec<(bool, i64, PairKey)> = self
                        .callbacks
                        .iter()
                        .map(|(k, w)| (w.conns > 1, w.last_ts, *k))
                        .collect();
                    order.sort_unstable();
                    let over = order.len().saturating_sub(limit / 2);
                    for (_, _, k) in order.into_iter().take(over) {
                        self.callbacks.remove(&k);
                    }
                }
                self.callbacks.entry(key).or_insert(p)
            }
        };
        if watched.conns < CALLBACK_MIN_CONNS || self.promoted >= self.cap / RESERVE_SHARE {
            watched.more.truncate(CALLBACK_MIN_CONNS as usize);
            return;
        }
        let Some(mut w) = self.callbacks.remove(&key) else {
            return;
        };
        if !self.sample_room() {
            // Past the budget the pair keeps its counts, not its samples.
            w.more = Vec::new();
        }
        self.samples += w.more.len();
        self.dropped = self.dropped.saturating_sub(w.conns);
        self.promoted += 1;
        self.pairs.insert(key, w);
    }

    /// Notes a broadcast ARP request from `sender` for `target` (a unicast
    /// one revalidates an entry the sender has: no discovery).
    pub fn arp_request(
        &mut self,
        sender: std::net::Ipv4Addr,
        target: std::net::Ipv4Addr,
        ts: i64,
        frame: (u16, u64),
    ) {
        if sender == target || sender.is_unspecified() {
            return;
        }
        if !self.arp.ask(sender, target, ts, frame, false) {
            self.dropped += 1;
        }
    }

    /// Notes an ICMP echo flow: `sender` asked `target` (first at `ts`,
    /// frame `frame`), and whether an echo reply came back on it.
    pub fn icmp_echo(
        &mut self,
        sender: IpAddr,
        target: IpAddr,
        ts: i64,
        frame: (u16, u64),
        answered: bool,
    ) {
        if sender == target || sender.is_unspecified() {
            return;
        }
        if !self.icmp.ask(sender, target, ts, frame, answered) {
            self.dropped += 1;
        }
    }

    /// Adds another digest (another worker's) into this one. Where the
    /// other's entries may not all fit, they are taken in key order, so that
    /// which are kept does not change between runs.
    pub fn merge(&mut self, other: FlowDigest) {
        self.dropped += other.dropped;
        // Late probes in key order (a B-tree's), past the budget the lowest.
        for ((client, server, proto), g) in other.late_probes {
            for port in g.ports {
                let key = PairKey {
                    client,
                    server,
                    proto,
                    port,
                };
                if !self.late_probe(key, g.first_ts, g.last_ts, g.first_frame) {
                    self.dropped += 1;
                }
            }
        }
        let room = MAX_HOURLY.saturating_sub(self.hourly.len());
        for (k, o) in in_order(other.hourly, room) {
            if !self.hourly.contains_key(&k) && self.hourly.len() >= MAX_HOURLY {
                self.dropped += 1;
                continue;
            }
            let e = self.hourly.entry(k).or_default();
            e.out += o.out;
            e.inb += o.inb;
        }
        let room = self.cap.saturating_sub(self.pairs.len());
        let budget = self.cap.saturating_mul(SAMPLES_PER_PAIR);
        for (k, o) in in_order(other.pairs, room) {
            let full = self.pairs.len() >= self.cap;
            let reserve = full
                && self.deserves_reserve(&k, o.payload[0], o.established > 0)
                && !self.pairs.contains_key(&k);
            match self.pairs.get_mut(&k) {
                Some(p) => {
                    self.samples += p.absorb(&o, budget.saturating_sub(self.samples));
                }
                None if full && !reserve => {
                    if o.failed() && self.late_probe(k, o.first_ts, o.last_ts, o.first_frame) {
                        continue;
                    }
                    self.dropped += o.conns;
                    if !o.failed() && self.may_be_callback(&k) {
                        self.watch_callback(k, o);
                    }
                }
                None => {
                    self.reserved += usize::from(reserve);
                    let mut o = o;
                    let room = budget.saturating_sub(self.samples);
                    if o.more.len() > room {
                        // Past the budget the pair keeps its counts, not
                        // its samples.
                        o.more = Vec::new();
                    }
                    self.samples += o.more.len();
                    self.pairs.insert(k, o);
                }
            }
        }
        // The other's watched callbacks (their connections are in its
        // `dropped`, added above): into a pair held here, else watched here
        // (so that those two workers each saw too few of add up).
        for (k, w) in in_order(other.callbacks, 0) {
            match self.pairs.get_mut(&k) {
                Some(p) => {
                    self.samples += p.absorb(&w, budget.saturating_sub(self.samples));
                    self.dropped = self.dropped.saturating_sub(w.conns);
                }
                None => self.watch_callback(k, w),
            }
        }
        self.arp.merge(other.arp);
        self.icmp.merge(other.icmp);
        self.claims.merge(other.claims);
        self.floods.merge(other.floods);
    }
}

/// The entries of `map`: as they lie when at most `room` of them can be new
/// here, else sorted by key (a map's own order is seeded per run).
pub(crate) fn in_order<K: Ord + 'static, V: 'static, S: 'static>(
    map: HashMap<K, V, S>,
    room: usize,
) -> Box<dyn Iterator<Item = (K, V)>> {
    if map.len() <= room {
        return Box::new(map.into_iter());
    }
    let mut v: Vec<(K, V)> = map.into_iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Box::new(v.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(server: u32) -> FlowFact {
        FlowFact {
            proto: 6,
            client: IpAddr::from([10, 0, 0, 1]),
            server: IpAddr::from(std::net::Ipv4Addr::from(0x0a01_0000 + server)),
            server_port: 443,
            payload: [10, 10],
            packets: [2, 2],
            first_ts: server as i64,
            last_ts: server as i64,
            first_frame: (0, server as u64),
            answered: true,
            established: true,
            refused: false,
            half_open: false,
        }
    }

    #[test]
    fn a_merge_past_the_cap_keeps_the_lowest_keys() {
        // The other digest's map order is seeded per run; what is kept must
        // not be.
        let mut ours = FlowDigest::new(20);
        for s in 1000..1010 {
            ours.add(&fact(s));
        }
        let mut theirs = FlowDigest::new(1000);
        for s in (0..500).rev() {
            theirs.add(&fact(s));
        }
        ours.merge(theirs);
        let mut kept: Vec<u32> = ours
            .pairs
            .keys()
            .map(|k| match k.server {
                IpAddr::V4(a) => u32::from(a) - 0x0a01_0000,
                IpAddr::V6(_) => u32::MAX,
            })
            .collect();
        kept.sort_unstable();
        let want: Vec<u32> = (0..10).chain(1000..1010).collect();
        assert_eq!(kept, want);
        assert_eq!(ours.dropped, 490);
    }

    #[test]
    fn samples_and_arp_targets_stay_within_the_budget() {
        // Two pairs of the cap: 16 samples over all pairs, whatever they do.
        let mut d = FlowDigest::new(2);
        for i in 0..30 {
            for s in [1, 2] {
                let mut f = fact(s);
                f.first_ts = i;
                d.add(&f);
            }
        }
        let counts: Vec<(u64, usize)> = d
            .sorted_pairs()
            .iter()
            .map(|(_, p)| (p.conns, p.sample_count()))
            .collect();
        // The first pair's samples fill as the two alternate; each keeps
        // its counts past the budget.
        assert_eq!(counts, vec![(30, 8), (30, 8)]);
        assert_eq!(d.samples, 16);
        // A merge keeps to it too: the other digest's pair has samples the
        // budget has no room for.
        let mut theirs = FlowDigest::new(2);
        for i in 0..12 {
            let mut f = fact(3);
            f.first_ts = i;
            theirs.add(&f);
        }
        let mut roomy = FlowDigest::new(2);
        roomy.merge(theirs.clone());
        assert_eq!(roomy.samples, 12);
        d.cap = 3;
        d.merge(theirs);
        assert_eq!(d.samples, 16);
        let p = d.sorted_pairs()[2].1;
        assert_eq!((p.conns, p.sample_count()), (12, 0));
        // ARP: 300 senders of 4096 targets each are more than the total.
        let mut a = FlowDigest::new(0);
        for s in 0..300u32 {
            for t in 0..4096u32 {
                a.arp_request(
                    std::net::Ipv4Addr::from(0x0a00_0000 + s),
                    std::net::Ipv4Addr::from(0x0b00_0000 + t),
                    1,
                    (0, 1),
                );
            }
        }
        let held: usize = a.arp.values().map(|x| x.targets.len()).sum();
        assert_eq!(held, MAX_SWEEP_TARGETS_TOTAL);
        assert_eq!(a.arp.len(), 300);
        assert_eq!(a.arp.values().map(|x| x.requests).sum::<u64>(), 300 * 4096);
        // A sender's targets from two digests past its cap: the lowest of
        // the other's are taken, whatever the set's order.
        let asks = |range: std::ops::Range<u32>| {
            let mut d = FlowDigest::new(0);
            for t in range {
                d.arp_request(
                    std::net::Ipv4Addr::new(10, 0, 0, 1),
                    std::net::Ipv4Addr::from(0x0b00_0000 + t),
                    1,
                    (0, 1),
                );
            }
            d
        };
        let mut ours = asks(0..4000);
        ours.merge(asks(2000..6000));
        let mut got: Vec<u32> = ours
            .arp
            .values()
            .flat_map(|a| a.targets.keys())
            .map(|t| u32::from(*t) - 0x0b00_0000)
            .collect();
        got.sort_unstable();
        assert_eq!(got, (0..4096).collect::<Vec<u32>>());
        assert_eq!(ours.arp.held, 4096);
    }

    #[test]
    fn the_callback_watch_stays_bounded_and_open_to_new_pairs() {
        // A full digest of 64 pairs watches 8 site -> internet pairs.
        let mut d = FlowDigest::new(64);
        for i in 0..64 {
            d.add(&fact(i));
        }
        let call = |server: u32, ts: i64| FlowFact {
            client: IpAddr::from([10, 0, 0, 9]),
            server: IpAddr::from(std::net::Ipv4Addr::from(0x2d00_0000 + server)),
            first_ts: ts,
            last_ts: ts,
            ..fact(0)
        };
        // 40 internet servers each reached twice in a row: the watch keeps
        // 8 at most, never promoting (two connections are no beacon).
        for i in 0..40 {
            for again in 0..2 {
                d.add(&call(i, i as i64 * 10 + again));
            }
        }
        assert!(d.callbacks.len() <= 8, "{}", d.callbacks.len());
        assert_eq!((d.pairs.len(), d.promoted, d.dropped), (64, 0, 80));
        // A new server then called eight times still gets watched, and is
        // promoted with its eight samples.
        for n in 0..8 {
            d.add(&call(99, 10_000 + n * 60));
        }
        assert!(d.callbacks.len() <= 8);
        let held = d
            .pairs
            .get(&call(99, 0).pair())
            .map(|p| (p.conns, p.sample_count()));
        assert_eq!(held, Some((8, 8)));
        assert_eq!((d.pairs.len(), d.promoted, d.dropped), (65, 1, 80));
        // New pairs each seen again one pair later, so that a single is in
        // the watch whenever it fills (and is given up, its second visit
        // coming back as a new pair): up to 799 insertions. A sweep trims
        // the watch to half, so they cost at most one sweep per four
        // (without the trim: one each, 798).
        let sweeps = d.callback_sweeps;
        for i in 0..400 {
            d.add(&call(1000 + i, 30_000 + 2 * i as i64));
            if i > 0 {
                d.add(&call(1000 + i - 1, 30_001 + 2 * i as i64));
            }
        }
        assert!(d.callbacks.len() <= 8);
        assert!(
            d.callback_sweeps - sweeps <= 200,
            "{}",
            d.callback_sweeps - sweeps
        );
        // Callbacks fill a reserve of their own (8 of 64): an upload still
        // finds room in the uploads' one.
        for server in 200..220 {
            for n in 0..8 {
                d.add(&call(server, 40_000 + n * 60));
            }
        }
        assert_eq!((d.promoted, d.reserved), (8, 0));
        let upload = FlowFact {
            payload: [RESERVE_MIN_OUT, 100],
            ..call(300, 50_000)
        };
        d.add(&upload);
        assert_eq!((d.promoted, d.reserved), (8, 1));
        assert!(d.pairs.contains_key(&upload.pair()));
        // A port that is periodic by design (NTP) is never watched.
        let mut ntp = call(7, 20_000);
        ntp.server_port = 123;
        d.add(&ntp);
        assert!(!d.callbacks.contains_key(&ntp.pair()));
    }
}
