//! Floods: a target sent more connection attempts or pings a second than
//! any service or monitor sends, for seconds on end (hping3, a botnet's
//! SYN or ping flood). Old medical devices' network stacks fall over long
//! before a server's would.
//!
//! [`Floods`] counts, per target and protocol, TCP connection attempts that
//! never completed (the client sent a SYN, never an acknowledgement, never
//! data), datagrams of UDP flows the target never answered and ICMP echo
//! requests, per second. Every target passes a small
//! gate first: it is followed (per-second counts, ports, sources) only once
//! [`GATE`] attempts come within one second of a worker's share, so that a
//! sweep's thousands of targets, each tried once, take no memory. The
//! per-second counts of a followed target are held in [`SECONDS`] slots by
//! the space-saving method: a new second takes the smallest slot's place and
//! inherits its count as an overestimate, so a heavy second's count is
//! always within what is held, and the rule reads only the lower bound.
//! [`floods`] raises `syn-flood` and `icmp-flood`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::IpAddr;

use crate::behaviour::remedy;
use crate::{Context, Findings, Raise, Severity};

/// Attempts within one second (of one worker's share) before a target is
/// followed.
pub const GATE: u64 = 8;
/// Seconds held per target.
const SECONDS: usize = 32;
/// Targets followed (about 1 kB each).
const MAX_TARGETS: usize = 4096;
/// Slots of the gate (24 bytes each).
const GATE_SLOTS: usize = 1 << 12;
/// Ports held per target (the rest are counted together).
const PORTS: usize = 4;
/// Sources held per target.
const SOURCES: usize = 8;
/// A nanosecond second.
const SECOND_NS: i64 = 1_000_000_000;
/// A gate slot's second once its target is followed: its attempts go to
/// the followed table without a look-up for the others.
const FOLLOWED: i64 = i64::MAX;

/// A target and protocol (6 TCP, 1 ICMP, 58 ICMPv6).
pub type FloodKey = (IpAddr, u8);

/// One second's attempts on a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Second {
    /// The second (Unix time).
    pub sec: i64,
    /// Attempts.
    pub count: u64,
    /// How many of them may be another second's (see [`Floods`]).
    pub over: u64,
    /// Its first attempt followed: time and (input, frame).
    pub first: (i64, (u16, u64)),
}

impl Second {
    /// Attempts for certain.
    pub fn least(&self) -> u64 {
        self.count.saturating_sub(self.over)
    }
}

/// One target's attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// Attempts per second, at most [`SECONDS`].
    pub seconds: Vec<Second>,
    /// Attempts per port (TCP): (port, count, overestimate), at most
    /// [`PORTS`], held by the space-saving method as the seconds are.
    pub ports: Vec<(u16, u64, u64)>,
    /// Attempts followed.
    pub total: u64,
    /// Sources: the [`SOURCES`] lowest addresses (so that workers sharing
    /// the flood keep the same ones).
    pub sources: Vec<IpAddr>,
    /// More sources than those.
    pub more_sources: bool,
}

impl Load {
    fn new() -> Self {
        Load {
            seconds: Vec::new(),
            ports: Vec::new(),
            total: 0,
            sources: Vec::new(),
            more_sources: false,
        }
    }

    /// Adds `x.count` attempts in second `x.sec`.
    fn add_second(&mut self, x: Second) {
        // Nearly every attempt is the latest second's, held last.
        let at = match self.seconds.last() {
            Some(s) if s.sec == x.sec => self.seconds.len() - 1,
            _ => self
                .seconds
                .iter()
                .position(|s| s.sec == x.sec)
                .unwrap_or(usize::MAX),
        };
        if let Some(s) = self.seconds.get_mut(at) {
            s.count += x.count;
            s.over += x.over;
            s.first = s.first.min(x.first);
            return;
        }
        if self.seconds.len() < SECONDS {
            self.seconds.push(x);
            return;
        }
        // The smallest count gives its slot up (ties: the earliest second),
        // its count kept as an overestimate; the new second goes last.
        let smallest = self
            .seconds
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| (s.count, s.sec))
            .map(|(i, s)| (i, s.count));
        if let Some((i, least)) = smallest {
            self.seconds.remove(i);
            self.seconds.push(Second {
                count: least + x.count,
                over: least + x.over,
                ..x
            });
        }
    }

    fn add_port(&mut self, port: u16, n: u64, err: u64) {
        if let Some(p) = self.ports.iter_mut().find(|p| p.0 == port) {
            p.1 += n;
            p.2 += err;
        } else if self.ports.len() < PORTS {
            self.ports.push((port, n, err));
        } else if let Some(p) = self.ports.iter_mut().min_by_key(|p| (p.1, p.0)) {
            let least = p.1;
            *p = (port, least + n, least + err);
        }
    }

    fn add_source(&mut self, s: IpAddr) {
        if let Err(at) = self.sources.binary_search(&s) {
            self.sources.insert(at, s);
            if self.sources.len() > SOURCES {
                self.sources.pop();
                self.more_sources = true;
            }
        }
    }

    /// Seconds whose count is at least `least` for certain, in order.
    fn heavy(&self, least: u64) -> Vec<&Second> {
        let mut h: Vec<&Second> = self.seconds.iter().filter(|s| s.least() >= least).collect();
        h.sort_unstable_by_key(|s| s.sec);
        h
    }
}

/// One flow's attempts, as [`Floods::add`] takes them.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    /// Target.
    pub target: IpAddr,
    /// Protocol.
    pub proto: u8,
    /// Target port (TCP; 0 for ICMP).
    pub port: u16,
    /// Source.
    pub source: IpAddr,
    /// First and last attempt.
    pub span: (i64, i64),
    /// Attempts (SYNs, echo requests), spread evenly over the span.
    pub count: u64,
    /// The first one's (input, frame).
    pub frame: (u16, u64),
}

/// Floods being counted.
#[derive(Debug, Clone)]
pub struct Floods {
    followed: HashMap<FloodKey, Load, foldhash::fast::RandomState>,
    /// (a digest of the key, second, attempts) of targets not followed.
    gate: Box<[(u64, i64, u64)]>,
    /// Attempts of targets that could not be followed (too many).
    pub dropped: u64,
}

impl Default for Floods {
    fn default() -> Self {
        Floods {
            followed: HashMap::default(),
            gate: vec![(0, i64::MIN, 0); GATE_SLOTS].into_boxed_slice(),
            dropped: 0,
        }
    }
}

fn digest(k: &FloodKey) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x666c_6f6f).hash_one(k) | 1
}

impl Floods {
    /// Notes a flow's attempts. A flow spread over seconds at under
    /// [`GATE`] a second on average (a monitor's pings, a client's retries)
    /// can be part of no flood and is not counted.
    pub fn add(&mut self, a: Attempts) {
        if a.count == 0 {
            return;
        }
        let (s0, s1) = (
            a.span.0.div_euclid(SECOND_NS),
            a.span.1.max(a.span.0).div_euclid(SECOND_NS),
        );
        let secs = s1.saturating_sub(s0).saturating_add(1) as u64;
        // Nor a flow of over a day (spreading it takes a step a second; a
        // flood that long shows in its own shorter flows too).
        if secs > 1 && (a.count < GATE.saturating_mul(secs) || secs > 86_400) {
            return;
        }
        let key = (a.target, a.proto);
        let d = digest(&key);
        let per = a.count / secs;
        for (i, sec) in (s0..=s1).enumerate() {
            // The remainder goes to the first second.
            let n = per + if i == 0 { a.count % secs } else { 0 };
            self.add_second(&key, d, &a, sec, n);
        }
    }

    fn add_second(&mut self, key: &FloodKey, d: u64, a: &Attempts, sec: i64, n: u64) {
        let Some(slot) = self.gate.get_mut(d as usize % GATE_SLOTS) else {
            return;
        };
        // Attempts the gate held before it let the target through.
        let gated = if *slot == (d, FOLLOWED, 0) {
            0
        } else {
            if slot.0 == d && slot.1 == sec {
                slot.2 += n;
            } else {
                *slot = (d, sec, n);
            }
            if slot.2 < GATE {
                return;
            }
            let g = slot.2 - n;
            *slot = (d, FOLLOWED, 0);
            g
        };
        let followed = self.followed.len();
        let load = match self.followed.entry(*key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) if followed < MAX_TARGETS => e.insert(Load::new()),
            Entry::Vacant(_) => {
                self.dropped += gated + n;
                return;
            }
        };
        if gated > 0 {
            // Their ports, sources and frames are not known.
            load.add_second(Second {
                sec,
                count: gated,
                over: 0,
                first: (i64::MAX, (0, 0)),
            });
            load.total += gated;
        }
        load.add_second(Second {
            sec,
            count: n,
            over: 0,
            first: (a.span.0.max(sec * SECOND_NS), a.frame),
        });
        load.total += n;
        if matches!(a.proto, 6 | 17) {
            load.add_port(a.port, n, 0);
        }
        load.add_source(a.source);
    }

    /// The targets followed.
    pub fn iter(&self) -> impl Iterator<Item = (&FloodKey, &Load)> {
        self.followed.iter()
    }

    /// Adds another worker's (the gate's pending counts are left out).
    /// Past the cap, the targets kept are taken in order.
    pub fn merge(&mut self, other: Floods) {
        self.dropped += other.dropped;
        let room = MAX_TARGETS.saturating_sub(self.followed.len());
        for (k, o) in crate::digest::in_order(other.followed, room) {
            let n = self.followed.len();
            let mine = match self.followed.entry(k) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) if n < MAX_TARGETS => {
                    e.insert(o);
                    continue;
                }
                Entry::Vacant(_) => {
                    self.dropped += o.total;
                    continue;
                }
            };
            for x in o.seconds {
                mine.add_second(x);
            }
            for (p, c, err) in o.ports {
                mine.add_port(p, c, err);
            }
            mine.total += o.total;
            for s in o.sources {
                mine.add_source(s);
            }
            mine.more_sources |= o.more_sources;
        }
    }
}

/// Raises `syn-flood` (TCP connection attempts that never completed) and
/// `icmp-flood` (echo requests) on a target that got at least `[detect]
/// flood_per_s` of them in each of at least `flood_seconds` seconds; a
/// SYN flood only where one port took at least four in five of them (a
/// port scan spreads its probes). `udp-flood`: datagrams of flows the
/// target never answered, past `udp_flood_per_s` (a camera's stream to a
/// recorder, a syslog or flow collector's feed are one-way too, at a few
/// thousand a second). High; critical on a medical device.
pub(crate) fn floods(ctx: &Context<'_>, floods: &Floods, out: &mut Findings<'_>) {
    let cfg = ctx.config();
    let mut loads: Vec<(&FloodKey, &Load)> = floods.iter().collect();
    loads.sort_unstable_by_key(|(k, _)| **k);
    for ((target, proto), l) in loads {
        let least = if *proto == 17 {
            cfg.udp_flood_per_s
        } else {
            cfg.flood_per_s
        };
        if least == 0 {
            continue;
        }
        let heavy = l.heavy(least);
        let (Some(first), Some(last)) = (heavy.first(), heavy.last()) else {
            continue;
        };
        if heavy.len() < cfg.flood_seconds.max(1) {
            continue;
        }
        // The port that took most, by the lower bound of its count.
        let top = l
            .ports
            .iter()
            .map(|p| (p.1.saturating_sub(p.2), p.0))
            .max_by_key(|&(n, port)| (n, std::cmp::Reverse(port)));
        let (rule, what) = match proto {
            6 => match top {
                Some((n, port)) if n * 5 >= l.total * 4 => (
                    "syn-flood",
                    format!("SYN flood against {target} port {port}"),
                ),
                _ => continue,
            },
            17 => match top {
                Some((n, port)) if n * 5 >= l.total * 4 => (
                    "udp-flood",
                    format!("UDP flood against {target} port {port}"),
                ),
                _ => (
                    "udp-flood",
                    format!("UDP flood against {target}, many ports"),
                ),
            },
            _ => ("icmp-flood", format!("Ping flood against {target}")),
        };
        let peak = heavy.iter().map(|s| s.least()).max().unwrap_or(0);
        let during: u64 = heavy.iter().map(|s| s.least()).sum();
        // Listed where they are few; forged ones are noise (and which of
        // them each worker kept depends on how the flood was shared).
        let (sources, peers) = match (l.sources.as_slice(), l.more_sources) {
            ([one], false) => (format!("from {one}"), l.sources.clone()),
            (s, false) => (format!("from {} addresses", s.len()), l.sources.clone()),
            (_, true) => (
                format!("from more than {SOURCES} addresses (forged sources, or a botnet)"),
                Vec::new(),
            ),
        };
        let attempts = match proto {
            6 => "connection attempts that never completed",
            17 => "datagrams never answered",
            _ => "echo requests",
        };
        // The evidence: the first attempt of the second heavy second (by
        // then every worker follows the target and saw its share whole).
        let shown = heavy.get(1).unwrap_or(first);
        out.raise(Raise {
            kind: "denial-of-service",
            rule: rule.into(),
            severity: Severity::high_or_critical(ctx.is_medical(target)),
            subject: *target,
            peer: None,
            peers,
            peer_count: None,
            summary: format!(
                "{what}: {peak} {attempts} in one second at peak, {} or more a second in {} seconds between {} and {} ({during} in those seconds), {sources}",
                least,
                heavy.len(),
                wardwatch_model::time::rfc3339(first.sec * SECOND_NS),
                wardwatch_model::time::rfc3339(last.sec * SECOND_NS),
            ),
            detail: format!(
                "first {} of the flood's second at {}",
                match proto {
                    6 => "SYN",
                    17 => "datagram",
                    _ => "echo request",
                },
                wardwatch_model::time::rfc3339(shown.sec * SECOND_NS)
            ),
            origin: (shown.first.0 != i64::MAX)
                .then_some((shown.first.1 .0, shown.first.1 .1, shown.first.0)),
            span: (first.sec * SECOND_NS, last.sec * SECOND_NS + SECOND_NS - 1),
            count: during,
            remediation: remedy::FLOOD,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(target: u8, port: u16, source: u8, ts: i64) -> Attempts {
        Attempts {
            target: IpAddr::from([10, 0, 0, target]),
            proto: 6,
            port,
            source: IpAddr::from([10, 0, 1, source]),
            span: (ts, ts),
            count: 1,
            frame: (0, ts as u64),
        }
    }

    #[test]
    fn a_target_is_followed_past_the_gate_with_its_seconds() {
        let mut f = Floods::default();
        // A sweep: 250 targets tried in turn, 20 ports each, one attempt
        // every tenth of a second: no target gets 20 in one second.
        for t in 0..5000u32 {
            let at = i64::from(t) * SECOND_NS / 10;
            f.add(syn((t % 250) as u8, 80 + (t / 250) as u16, 1, at));
        }
        assert_eq!(f.followed.len(), 0);
        // 3,000 attempts on one target in two seconds, from 3 sources.
        for i in 0..3000i64 {
            f.add(syn(9, 443, (i % 3) as u8, 10 * SECOND_NS + i * 600_000));
        }
        let l = &f.followed[&(IpAddr::from([10, 0, 0, 9]), 6)];
        assert_eq!(l.total, 3000);
        let secs: Vec<_> = l
            .heavy(1)
            .iter()
            .map(|s| (s.sec, s.count, s.over))
            .collect();
        assert_eq!(secs, vec![(10, 1667, 0), (11, 1333, 0)]);
        // Each second's first attempt followed (the first's came past the
        // gate).
        let at = 10 * SECOND_NS + 1667 * 600_000;
        assert_eq!(l.heavy(1)[1].first, (at, (0, at as u64)));
        // (The 7 the gate held came before any port was known.)
        assert_eq!(l.ports, vec![(443, 3000 - 7, 0)]);
        assert_eq!(l.sources.len(), 3);
        // A ping flow of 10 s at 5 a second is no flood's part: not counted.
        f.add(Attempts {
            proto: 1,
            port: 0,
            span: (0, 10 * SECOND_NS),
            count: 50,
            ..syn(9, 0, 1, 0)
        });
        assert!(!f.followed.contains_key(&(IpAddr::from([10, 0, 0, 9]), 1)));
        // One flow of 4,000 echo requests over 2 s is.
        f.add(Attempts {
            proto: 1,
            port: 0,
            span: (0, 2 * SECOND_NS - 1),
            count: 4000,
            ..syn(9, 0, 1, 0)
        });
        assert_eq!(f.followed[&(IpAddr::from([10, 0, 0, 9]), 1)].total, 4000);
    }

    #[test]
    fn held_seconds_never_undercount_and_halves_merge() {
        let mut whole = Floods::default();
        let (mut a, mut b) = (Floods::default(), Floods::default());
        // 100 seconds of 30 attempts, then 3 seconds of 2,000: more seconds
        // than slots.
        let mut n = 0u64;
        for sec in 0..103i64 {
            let per = if sec < 100 { 30 } else { 2000 };
            for i in 0..per {
                let x = syn(7, 80, (i % 200) as u8, sec * SECOND_NS + i);
                whole.add(x);
                if n.is_multiple_of(2) { &mut a } else { &mut b }.add(x);
                n += 1;
            }
        }
        let w = &whole.followed[&(IpAddr::from([10, 0, 0, 7]), 6)];
        assert_eq!(w.seconds.len(), SECONDS);
        let heavy: Vec<_> = w.heavy(1000).iter().map(|s| s.sec).collect();
        assert_eq!(heavy, vec![100, 101, 102], "{:?}", w.seconds);
        for s in &w.seconds {
            // The true count is within [count - overestimate, count].
            let truth = if s.sec < 100 { 30 } else { 2000 };
            assert!(s.least() <= truth && truth <= s.count, "{s:?}");
        }
        a.merge(b);
        let m = &a.followed[&(IpAddr::from([10, 0, 0, 7]), 6)];
        let merged: Vec<_> = m.heavy(1000).iter().map(|s| (s.sec, s.first)).collect();
        let whole: Vec<_> = w.heavy(1000).iter().map(|s| (s.sec, s.first)).collect();
        assert_eq!(merged, whole);
        // The lowest sources, whoever saw them.
        assert_eq!(m.sources, w.sources);
        assert_eq!(m.sources[0], IpAddr::from([10, 0, 1, 0]));
        assert!(m.more_sources && w.more_sources);
    }
}
