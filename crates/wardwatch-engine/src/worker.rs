//! A flow worker: owns one shard of the flow table and what the layers above
//! make of its flows.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use wardwatch_flow::{
    decode, transport, Decoded, Deduper, Dir, EndReason, Endpoint, Flow, FlowConfig, FlowInfo,
    FlowKey, FlowSink, FlowStats, FlowTable, IpPacket, Mac, Network, PacketMeta, StreamEvent,
    TcpState, Transport,
};

use wardwatch_inventory::{hosts::HostUpdate, HostTable, Sighting};
use wardwatch_proto::{ObsKind, Observation, Origin, ProtoFlow, Side};

use wardwatch_detect::behaviour::TUNNEL_NAMES;
use wardwatch_detect::{FlowDigest, FlowFact};

use crate::EngineConfig;

/// Link-layer facts to restore on a synthesized (defragmented) packet.
pub type LinkOverride = (Option<Mac>, Option<Mac>, [u16; 2]);

/// Packets copied for a worker thread; buffers are recycled.
#[derive(Default)]
pub struct Batch {
    data: Vec<u8>,
    items: Vec<(PacketMeta, u32, usize, usize, Option<LinkOverride>)>,
}

impl Batch {
    pub fn push(&mut self, meta: &PacketMeta, linktype: u32, d: &[u8], link: Option<LinkOverride>) {
        let off = self.data.len();
        self.data.extend_from_slice(d);
        self.items.push((*meta, linktype, off, d.len(), link));
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn clear(&mut self) {
        self.data.clear();
        self.items.clear();
    }
}

/// Per-flow state the engine keeps.
#[derive(Default)]
pub struct FlowState {
    streams: Option<Box<[Vec<u8>; 2]>>,
    gaps: [u64; 2],
    proto: ProtoFlow,
    /// What `proto` held in buffers when last asked (its part of
    /// `WorkerSink::dissect_held`).
    held: usize,
    /// The live tick in which the flow last saw a packet (see [`LiveTrack`]).
    tick: u32,
    /// Its initiator sent an ICMP echo request (a ping; host discovery).
    echo: bool,
}

/// A live watch's record of the flows that saw a packet since its last
/// tick, so that the live rules and the passes' own tables read only those.
#[derive(Default)]
pub struct LiveTrack {
    /// The current tick (from 1: a new flow's 0 is never current).
    tick: u32,
    /// Flows that saw a packet in this tick and are still open.
    touched: Vec<FlowKey>,
    /// Flows that ended in this tick, in their final state.
    ended: Vec<FlowUpdate>,
    /// The echo requests of this tick, per flow (see
    /// [`FlowUpdate::requests`]).
    requests: std::collections::HashMap<FlowKey, Vec<EchoSecond>, foldhash::fast::RandomState>,
}

/// Echo requests of one flow within one second: (second, requests, the
/// first one's time and (input, frame)).
pub type EchoSecond = (i64, u64, i64, (u16, u64));

/// A flow's state at a live tick.
#[derive(Debug, Clone)]
pub struct FlowUpdate {
    /// Its addresses and counters as of now.
    pub info: FlowInfo,
    /// It left the flow table: this state is final.
    pub ended: bool,
    /// Its initiator sent an ICMP echo request (a ping).
    pub echo: bool,
    /// The echo requests it carried since its last update, per second (the
    /// ping flood rule counts requests as they came, which a flow's
    /// counters cannot tell).
    pub requests: Vec<EchoSecond>,
}

impl FlowUpdate {
    /// The flow: its key and first packet time.
    pub fn id(&self) -> (FlowKey, i64) {
        (self.info.key, self.info.first_ts)
    }

    /// What it contributes to the digest as of now (TCP and UDP).
    pub fn fact(&self) -> Option<FlowFact> {
        flow_fact(&self.info)
    }
}

/// A finished flow, kept when the engine is asked to.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// Canonical key.
    pub key: FlowKey,
    /// Initiator.
    pub client: Endpoint,
    /// Responder.
    pub server: Endpoint,
    /// Frames client→server and server→client.
    pub packets: [u64; 2],
    /// Wire bytes client→server and server→client.
    pub bytes: [u64; 2],
    /// First and last packet times.
    pub first_ts: i64,
    /// Last packet time.
    pub last_ts: i64,
    /// Input and frame of the first packet.
    pub first_frame: (u16, u64),
    /// Reassembled TCP bytes per direction (when collected; gaps filled
    /// with nothing).
    pub streams: Option<[Vec<u8>; 2]>,
    /// Gap bytes per direction.
    pub gaps: [u64; 2],
    /// Why it ended.
    pub end: EndReason,
}

/// What a worker accumulates apart from its flow table.
pub struct WorkerSink {
    pub hosts: HostTable,
    /// Flows folded per conversation pair, for behaviour detection.
    pub digest: FlowDigest,
    pub flows: Vec<FlowRecord>,
    pub observations: Vec<Observation>,
    /// The fact key of each kept observation, in the same order (see
    /// `Observation::fact_key`; `None` for events, and for every fact when
    /// repeats are kept): the run drops facts two workers both kept without
    /// hashing them again.
    pub fact_keys: Vec<Option<u64>>,
    /// Observations not kept: over a flow's share or the sink's cap.
    pub observations_dropped: u64,
    /// Malformed application messages.
    pub proto_errors: u64,
    /// Observations that repeated a fact already kept.
    pub observations_repeated: u64,
    /// Flows whose dissection was stopped to keep the dissectors' buffers
    /// under this worker's share of [`MAX_DISSECT_HELD`].
    pub dissection_shed: u64,
    /// Bytes the dissectors of this worker's open flows hold in buffers.
    dissect_held: usize,
    /// This worker's share of [`MAX_DISSECT_HELD`].
    max_dissect_held: usize,
    /// Fact keys kept (see `Observation::fact_key`), with the place of
    /// their observation in `observations`.
    seen: HashMap<u64, u32, foldhash::fast::RandomState>,
    /// Tunnel-like DNS queries per client and domain (see
    /// [`WorkerSink::tunnel_query`]).
    tunnels: HashMap<u64, TunnelQueries, foldhash::fast::RandomState>,
    /// Distinct tunnel query names held in `tunnels`, at most
    /// `max_observations`.
    tunnel_names: usize,
    /// Hashes a client and domain into a key of `tunnels`.
    tunnel_key: foldhash::fast::RandomState,
    /// This worker's share of [`MAX_OBSERVATIONS`].
    max_observations: usize,
    collect_flows: bool,
    collect_streams: bool,
    dissect: bool,
    keep_repeats: bool,
    scratch: Vec<(usize, ObsKind)>,
    /// Set in a live watch.
    live: Option<LiveTrack>,
}

/// Client and domain pairs whose tunnel-like queries a worker counts.
const MAX_TUNNEL_KEYS: usize = 1 << 16;

/// One client's tunnel-like queries under one domain, as a worker gathers
/// them: how many it let through, each distinct name with the time it was
/// first asked, and the earliest query whole.
struct TunnelQueries {
    client: IpAddr,
    domain: String,
    /// Queries let through: at most [`TUNNEL_NAMES`].
    queries: usize,
    names: HashMap<u64, i64, foldhash::fast::FixedState>,
    first: Option<Observation>,
}

/// Most observations a run keeps (an observation is 184 bytes and its
/// strings), shared between the workers.
const MAX_OBSERVATIONS: usize = 1 << 18;

/// Most bytes the dissectors of all open flows hold in buffers (messages
/// waiting for their end: an HL7 message may take 1 MiB, a DICOM control
/// PDU 256 KiB, a TLS handshake or a FHIR body 64 KiB), shared between the
/// workers. Past it, a flow whose dissector's buffers grow is no longer
/// dissected (`stats.dissection_shed`). The
/// default of `EngineConfig::max_dissect_held`.
pub const MAX_DISSECT_HELD: usize = 32 << 20;

/// Folds a flow's addresses and counters into `hosts`.
pub fn fold_hosts(hosts: &mut HostTable, info: &FlowInfo) {
    let first = Sighting {
        input: info.first_frame.0,
        frame: info.first_frame.1,
        ts_ns: info.first_ts,
        arp_owner: false,
    };
    let c = &info.dirs[Dir::ToServer as usize];
    let s = &info.dirs[Dir::ToClient as usize];
    let service = offered_service(info);
    let ends = [info.client, info.server];
    for (i, (ep, tx, rx, svc)) in [(info.client, c, s, None), (info.server, s, c, service)]
        .into_iter()
        .enumerate()
    {
        if tx.packets == 0 && rx.packets == 0 {
            continue;
        }
        // A TTL counts toward where the sender is only on packets to one
        // host: multicast senders pick their TTLs as scopes.
        let to_host = wardwatch_inventory::net::is_unicast_host(&ends[1 - i].addr);
        hosts.add(HostUpdate {
            ip: ep.addr,
            mac: if tx.packets > 0 { tx.mac } else { None },
            vlan: info.vlan,
            tx_packets: tx.packets,
            tx_bytes: tx.bytes,
            rx_packets: rx.packets,
            rx_bytes: rx.bytes,
            first_ts: info.first_ts,
            last_ts: info.last_ts,
            first,
            service: svc,
            ttl: if tx.packets > 0 && to_host { tx.ttl } else { 0 },
            // Data acknowledging something of the host's: its SYN-ACK or
            // earlier data, seen or not.
            took_data: info.key.proto == 6 && rx.payload_bytes > 0 && rx.tcp_flags & 0x10 != 0,
        });
    }
}

impl WorkerSink {
    /// Folds a flow's addresses and counters into the hosts and the digest
    /// (`echo`: the ping it was, for the sweep rule).
    fn fold(&mut self, info: &FlowInfo, echo: bool) {
        fold_hosts(&mut self.hosts, info);
        if let Some(f) = flow_fact(info) {
            self.digest.add(&f);
        }
        if echo {
            // (Its requests were counted as they came.)
            fold_echo(&mut self.digest, info);
        }
        if let Some(l) = &mut self.live {
            let requests = l.requests.remove(&info.key).unwrap_or_default();
            l.ended.push(FlowUpdate {
                info: info.clone(),
                ended: true,
                echo,
                requests,
            });
        }
    }

    fn record(&mut self, info: &FlowInfo, origin: Origin, dir: usize, kind: ObsKind) {
        let o = Observation {
            origin,
            client: (info.client.addr, info.client.port),
            server: (info.server.addr, info.server.port),
            subject: if dir == 0 { Side::Client } else { Side::Server },
            mac: None,
            kind,
        };
        let o = match self.tunnel_query(o) {
            Some(o) => o,
            None => return,
        };
        // The same fact between the same two hosts is kept once.
        let fact = o.fact_key().filter(|_| !self.keep_repeats);
        if let Some(key) = fact {
            if let Some(&at) = self.seen.get(&key) {
                self.observations_repeated += 1;
                // The earliest sighting is the one kept, whichever came
                // first off the wire (timestamps may step back), as the
                // run keeps between workers: the report is the same
                // whatever the number of workers. A live watch may have
                // passed the kept one on already.
                if self.live.is_none() {
                    if let Some(kept) = self.observations.get_mut(at as usize) {
                        if o.seen_at() < kept.seen_at() {
                            *kept = o;
                        }
                    }
                }
                return;
            }
            if self.seen.len() >= self.max_observations {
                self.observations_dropped += 1;
                return;
            }
            self.seen.insert(
                key,
                u32::try_from(self.observations.len()).unwrap_or(u32::MAX),
            );
        }
        if self.observations.len() >= self.max_observations {
            self.observations_dropped += 1;
            return;
        }
        if self.observations.capacity() == 0 {
            // The whole share at once: its pages are touched only as they
            // fill, and growing never copies what is kept.
            self.observations.reserve_exact(self.max_observations);
            self.fact_keys.reserve_exact(self.max_observations);
        }
        self.observations.push(o);
        self.fact_keys.push(fact);
    }

    /// Counts a DNS tunnel's query against its client and domain's
    /// [`TUNNEL_NAMES`] (the tunnel rule reads no more, and a tunnel sends
    /// hundreds of thousands). Outside a live watch the query is gathered
    /// here: its name with the time it was first asked (a repeat), the
    /// earliest query whole, and one observation for them all when the
    /// worker finishes ([`WorkerSink::gathered_tunnels`]), so that a tunnel
    /// cannot push other facts past the cap. Gives back what is not a
    /// tunnel query, and in a live watch (which passes each observation on)
    /// the queries let through. Queries past the share, past
    /// [`MAX_TUNNEL_KEYS`] pairs or past the names' share of the cap are
    /// counted as dropped.
    fn tunnel_query(&mut self, o: Observation) -> Option<Observation> {
        let ObsKind::DnsTunnel {
            domain, name_hash, ..
        } = &o.kind
        else {
            return Some(o);
        };
        if self.keep_repeats {
            return Some(o);
        }
        let key = self.tunnel_key.hash_one((o.client.0, domain.as_str()));
        let room = self.tunnels.len() < MAX_TUNNEL_KEYS;
        let t = match self.tunnels.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) if room => e.insert(TunnelQueries {
                client: o.client.0,
                domain: domain.clone(),
                queries: 0,
                names: HashMap::default(),
                first: None,
            }),
            Entry::Vacant(_) => {
                self.observations_dropped += 1;
                return None;
            }
        };
        // Another pair of the same hash (never seen) counts as dropped.
        if t.queries >= TUNNEL_NAMES || t.client != o.client.0 || t.domain != *domain {
            self.observations_dropped += 1;
            return None;
        }
        t.queries += 1;
        if self.live.is_some() {
            return Some(o);
        }
        let ts = o.origin.ts_ns;
        match t.names.entry(*name_hash) {
            Entry::Occupied(mut e) => {
                self.observations_repeated += 1;
                if ts < *e.get() {
                    e.insert(ts);
                }
            }
            Entry::Vacant(e) => {
                if self.tunnel_names >= self.max_observations {
                    self.observations_dropped += 1;
                    return None;
                }
                self.tunnel_names += 1;
                e.insert(ts);
            }
        }
        // The earliest query (timestamps may step back) stands for them all.
        if t.first.as_ref().is_none_or(|f| o.seen_at() < f.seen_at()) {
            t.first = Some(o);
        }
        None
    }

    /// The tunnel queries gathered, one observation per client and domain
    /// (the earliest query's, carrying the names), in the order of their
    /// earliest query.
    fn gathered_tunnels(&mut self) {
        let mut gathered: Vec<TunnelQueries> = self.tunnels.drain().map(|(_, t)| t).collect();
        gathered.sort_by_cached_key(|t| {
            (
                t.first.as_ref().map(Observation::seen_at),
                t.client,
                t.domain.clone(),
            )
        });
        self.tunnel_names = 0;
        for t in gathered {
            // A live watch only counts a pair's queries: nothing gathered.
            let Some(mut o) = t.first else {
                continue;
            };
            let last_ns = t.names.values().copied().max().unwrap_or(o.origin.ts_ns);
            let mut names: Vec<u64> = t.names.into_keys().collect();
            names.sort_unstable();
            o.kind = ObsKind::DnsTunnelQueries {
                domain: t.domain,
                names,
                last_ns,
            };
            self.observations.push(o);
            self.fact_keys.push(None);
        }
    }

    /// Takes note of what a flow's dissector holds now. A flow whose
    /// buffers grew past this worker's share of [`MAX_DISSECT_HELD`] is
    /// shed, freeing at least what it took: the total never passes the cap
    /// by more than one call's growth, and flows whose messages end as they
    /// come (their buffers emptied, not grown) go on being read.
    fn account_held(&mut self, state: &mut FlowState) {
        let now = state.proto.held();
        let grew = now > state.held;
        self.dissect_held = (self.dissect_held + now).saturating_sub(state.held);
        state.held = now;
        if grew && self.dissect_held > self.max_dissect_held {
            state.proto.shed();
            self.dissect_held = self.dissect_held.saturating_sub(now);
            state.held = 0;
            self.dissection_shed += 1;
        }
    }

    fn drain_scratch(&mut self, info: &FlowInfo, origin: Origin) {
        if self.scratch.is_empty() {
            return;
        }
        // Drained in place: the buffer keeps its capacity for the next chunk.
        let mut got = std::mem::take(&mut self.scratch);
        for (dir, kind) in got.drain(..) {
            self.record(info, origin, dir, kind);
        }
        self.scratch = got;
    }
}

/// Bytes of stream kept per flow direction in test collection.
const STREAM_KEEP: usize = 64 << 20;

impl FlowSink<FlowState> for WorkerSink {
    fn wants_stream(&mut self, _info: &FlowInfo, state: &mut FlowState) -> bool {
        // Without dissectors every stream is still reassembled (and dropped):
        // the engine alone is decode, flows and reassembly, the baseline the
        // dissectors' cost is measured against.
        self.collect_streams || !self.dissect || state.proto.wants_stream()
    }

    fn on_packet(
        &mut self,
        info: &FlowInfo,
        state: &mut FlowState,
        dir: Dir,
        meta: &PacketMeta,
        transport: &Transport<'_>,
    ) {
        if let Some(l) = &mut self.live {
            if state.tick != l.tick {
                state.tick = l.tick;
                l.touched.push(info.key);
            }
        }
        // ICMP echo requests (type 8, ICMPv6 128) from the initiator.
        if let (Transport::Icmp { kind: 8 | 128, .. }, Dir::ToServer) = (transport, dir) {
            state.echo = true;
            // Each request at its own time, for the ping flood rule (the
            // flow may hold a monitor's pings around a flood's).
            let frame = (meta.input, meta.frame);
            self.digest
                .floods
                .add(echo_request(info, meta.ts_ns, 1, frame));
            if let Some(l) = &mut self.live {
                let secs = l.requests.entry(info.key).or_default();
                let sec = meta.ts_ns.div_euclid(1_000_000_000);
                match secs.last_mut() {
                    Some(s) if s.0 == sec => s.1 += 1,
                    _ => secs.push((sec, 1, meta.ts_ns, frame)),
                }
            }
        }
        if !self.dissect {
            return;
        }
        if let Transport::Udp {
            sport,
            dport,
            payload,
        } = transport
        {
            if let Some(kind) = wardwatch_proto::on_datagram(*sport, *dport, payload) {
                let origin = Origin {
                    input: meta.input,
                    frame: meta.frame,
                    ts_ns: meta.ts_ns,
                };
                self.record(info, origin, dir as usize, kind);
            }
        }
    }

    fn on_stream(&mut self, info: &FlowInfo, state: &mut FlowState, dir: Dir, ev: StreamEvent<'_>) {
        let i = dir as usize;
        if self.dissect && state.proto.wants_stream() {
            match ev {
                StreamEvent::Data { data, origin } => {
                    let mut scratch = std::mem::take(&mut self.scratch);
                    state.proto.on_stream(i, data, &mut scratch);
                    self.scratch = scratch;
                    self.account_held(state);
                    let origin = Origin {
                        input: origin.input,
                        frame: origin.frame,
                        ts_ns: origin.ts_ns,
                    };
                    self.drain_scratch(info, origin);
                }
                StreamEvent::Gap { .. } => {
                    state.proto.on_gap(i);
                    self.account_held(state);
                }
            }
        }
        if !self.collect_streams {
            return;
        }
        let s = state.streams.get_or_insert_with(Default::default);
        match ev {
            StreamEvent::Data { data, .. } => {
                if let Some(buf) = s.get_mut(i) {
                    if buf.len() + data.len() <= STREAM_KEEP {
                        buf.extend_from_slice(data);
                    }
                }
            }
            StreamEvent::Gap { len } => {
                if let Some(g) = state.gaps.get_mut(i) {
                    *g += len;
                }
            }
        }
    }

    fn on_end(&mut self, mut flow: Box<Flow<FlowState>>, reason: EndReason) {
        self.dissect_held = self.dissect_held.saturating_sub(flow.state.held);
        if self.dissect {
            let mut scratch = std::mem::take(&mut self.scratch);
            flow.state.proto.finish(&mut scratch);
            self.scratch = scratch;
            let origin = Origin {
                input: flow.info.first_frame.0,
                frame: flow.info.first_frame.1,
                ts_ns: flow.info.first_ts,
            };
            self.drain_scratch(&flow.info, origin);
            self.observations_dropped += flow.state.proto.suppressed;
            self.observations_repeated += flow.state.proto.repeated;
            self.proto_errors += flow.state.proto.errors();
        }
        self.fold(&flow.info, flow.state.echo);
        if self.collect_flows {
            let info = &flow.info;
            let c = &info.dirs[Dir::ToServer as usize];
            let s = &info.dirs[Dir::ToClient as usize];
            let gaps = flow.state.gaps;
            self.flows.push(FlowRecord {
                key: info.key,
                client: info.client,
                server: info.server,
                packets: [c.packets, s.packets],
                bytes: [c.bytes, s.bytes],
                first_ts: info.first_ts,
                last_ts: info.last_ts,
                first_frame: info.first_frame,
                streams: flow.state.streams.map(|b| *b),
                gaps,
                end: reason,
            });
        }
    }
}

/// What a TCP or UDP flow contributes to the flow digest.
/// Notes in `digest` the ping flow `info` was: its sender, target, first
/// request and whether a reply came back on it.
pub(crate) fn fold_echo(digest: &mut FlowDigest, info: &FlowInfo) {
    digest.icmp_echo(
        info.client.addr,
        info.server.addr,
        info.first_ts,
        info.first_frame,
        info.dirs[Dir::ToClient as usize].packets > 0,
    );
}

/// Adds to `digest` the echo requests of a live flow update, per second.
pub(crate) fn fold_requests(digest: &mut FlowDigest, u: &FlowUpdate) {
    for &(_, count, ts, frame) in &u.requests {
        digest.floods.add(echo_request(&u.info, ts, count, frame));
    }
}

/// `count` echo requests of the ping flow `info` at `ts`.
fn echo_request(
    info: &FlowInfo,
    ts: i64,
    count: u64,
    frame: (u16, u64),
) -> wardwatch_detect::flood::Attempts {
    wardwatch_detect::flood::Attempts {
        target: info.server.addr,
        proto: info.key.proto,
        port: 0,
        source: info.client.addr,
        span: (ts, ts),
        count,
        frame,
    }
}

fn flow_fact(info: &FlowInfo) -> Option<FlowFact> {
    let proto = info.key.proto;
    if proto != 6 && proto != 17 {
        return None;
    }
    let c = &info.dirs[Dir::ToServer as usize];
    let s = &info.dirs[Dir::ToClient as usize];
    let tcp_ok = s.tcp_flags & 0x12 == 0x12 || (c.payload_bytes > 0 && s.payload_bytes > 0);
    let refused = proto == 6 && s.tcp_flags & 0x04 != 0 && s.payload_bytes == 0;
    Some(FlowFact {
        proto,
        client: info.client.addr,
        server: info.server.addr,
        server_port: info.server.port,
        payload: [c.payload_bytes, s.payload_bytes],
        packets: [c.packets, s.packets],
        first_ts: info.first_ts,
        last_ts: info.last_ts,
        first_frame: info.first_frame,
        answered: s.packets > 0,
        established: if proto == 6 {
            tcp_ok && !refused
        } else {
            s.packets > 0
        },
        refused,
        half_open: proto == 6
            && c.tcp_flags & 0x02 != 0
            && c.tcp_flags & 0x10 == 0
            && c.payload_bytes == 0,
    })
}

/// The service the server side of a flow demonstrably offered: it answered.
fn offered_service(info: &FlowInfo) -> Option<(u8, u16)> {
    let answered = info.dirs[Dir::ToClient as usize].packets > 0;
    if !answered || info.server.port == 0 {
        return None;
    }
    let proto = info.key.proto;
    match proto {
        6 => {
            // A SYN-ACK (or data) from the server proves a listening port.
            let flags = info.dirs[Dir::ToClient as usize].tcp_flags;
            let synack = flags & 0x12 == 0x12;
            let data =
                info.dirs[Dir::ToClient as usize].payload_bytes > 0 && info.tcp != TcpState::NotTcp;
            (synack || (data && info.server.port < 49152)).then_some((6, info.server.port))
        }
        17 => (info.server.port < 49152 && info.server.port < info.client.port
            || info.server.port < 1024)
            .then_some((17, info.server.port)),
        _ => None,
    }
}

/// A worker's results: table counters, sink, duplicates dropped.
pub type Finished = (FlowStats, WorkerSink, u64);

/// One shard's flow table and sink.
pub struct Worker {
    table: FlowTable<FlowState>,
    sink: WorkerSink,
    dedup: Deduper,
}

impl Worker {
    pub fn new(flow: FlowConfig, cfg: &EngineConfig) -> Self {
        Worker {
            table: FlowTable::new(flow),
            dedup: Deduper::new(cfg.dedup_window_ns),
            sink: WorkerSink {
                hosts: HostTable::new(cfg.max_hosts / cfg.threads.max(1))
                    .with_local(cfg.local.clone()),
                digest: FlowDigest::new(cfg.detect_config.max_pairs / cfg.threads.max(1))
                    .with_local(cfg.local.clone()),
                flows: Vec::new(),
                collect_flows: cfg.collect_flows,
                collect_streams: cfg.collect_streams,
                dissect: cfg.dissect,
                keep_repeats: cfg.keep_repeats,
                observations: Vec::new(),
                fact_keys: Vec::new(),
                observations_dropped: 0,
                proto_errors: 0,
                observations_repeated: 0,
                dissection_shed: 0,
                dissect_held: 0,
                max_dissect_held: cfg.max_dissect_held / cfg.threads.max(1),
                seen: HashMap::default(),
                tunnels: HashMap::default(),
                tunnel_names: 0,
                tunnel_key: Default::default(),
                max_observations: MAX_OBSERVATIONS / cfg.threads.max(1),
                scratch: Vec::new(),
                live: None,
            },
        }
    }

    /// Keeps track of the flows that see packets between calls of
    /// [`Worker::flow_updates`] (a live watch).
    pub fn track_live(&mut self) {
        self.sink.live = Some(LiveTrack {
            tick: 1,
            ..Default::default()
        });
    }

    /// The current state of every flow that saw a packet or ended since the
    /// last call, open ones included; a new tick begins.
    pub fn flow_updates(&mut self) -> Vec<FlowUpdate> {
        let Some(l) = &mut self.sink.live else {
            return Vec::new();
        };
        let mut out = std::mem::take(&mut l.ended);
        for key in l.touched.drain(..) {
            if let Some(f) = self.table.get(&key) {
                out.push(FlowUpdate {
                    info: f.info.clone(),
                    ended: false,
                    echo: f.state.echo,
                    requests: l.requests.remove(&key).unwrap_or_default(),
                });
            }
        }
        l.tick = l.tick.checked_add(1).unwrap_or(1);
        out
    }

    pub fn process(
        &mut self,
        meta: &PacketMeta,
        dec: &Decoded<'_>,
        ip: &IpPacket<'_>,
        tr: &Transport<'_>,
    ) {
        // Both copies of a mirrored packet belong to this worker's flow.
        if self.dedup.is_duplicate(meta.ts_ns, ip) {
            return;
        }
        self.table.process(meta, dec, ip, tr, &mut self.sink);
    }

    pub fn run_batch(&mut self, b: &Batch) {
        for (meta, linktype, off, len, link) in &b.items {
            let Some(data) = b.data.get(*off..off + len) else {
                continue;
            };
            let Ok(mut dec) = decode(*linktype, data) else {
                continue;
            };
            if let Some((s, d, v)) = link {
                dec.src_mac = *s;
                dec.dst_mac = *d;
                dec.vlans = *v;
            }
            let Network::Ip(ip) = dec.net else {
                continue;
            };
            let Ok(tr) = transport(ip.proto, ip.payload) else {
                continue;
            };
            self.process(meta, &dec, &ip, &tr);
        }
    }

    /// Ends every flow; returns the table's counters, the sink and the
    /// duplicates dropped.
    pub fn finish(mut self) -> Finished {
        self.table.finish(&mut self.sink);
        self.sink.gathered_tunnels();
        (self.table.stats, self.sink, self.dedup.dropped)
    }

    /// The observations kept so far.
    pub fn observations(&self) -> &[Observation] {
        &self.sink.observations
    }

    /// What [`Worker::finish`] would give now, without ending anything, but
    /// for the hosts, the observations and the digest: a live watch's passes
    /// keep their own copies, from the observations and flow updates they
    /// were sent, so that the capture thread copies none of them.
    pub fn snapshot(&self) -> Finished {
        let s = &self.sink;
        let sink = WorkerSink {
            hosts: HostTable::new(0),
            digest: FlowDigest::new(0),
            flows: Vec::new(),
            observations: Vec::new(),
            fact_keys: Vec::new(),
            observations_dropped: s.observations_dropped,
            proto_errors: s.proto_errors,
            observations_repeated: s.observations_repeated,
            dissection_shed: s.dissection_shed,
            dissect_held: 0,
            max_dissect_held: s.max_dissect_held,
            seen: Default::default(),
            tunnels: Default::default(),
            tunnel_names: 0,
            tunnel_key: Default::default(),
            max_observations: s.max_observations,
            collect_flows: false,
            collect_streams: false,
            dissect: s.dissect,
            keep_repeats: s.keep_repeats,
            scratch: Vec::new(),
            live: None,
        };
        (self.table.stats, sink, self.dedup.dropped)
    }
}
