//! The bidirectional flow table: keyed by VLAN + 5-tuple, bounded, expiring
//! flows on idle time, FIN and RST, and evicting the least recently seen when
//! full. It drives per-direction TCP reassembly and hands everything to a
//! [`FlowSink`], which owns what the application layer makes of it.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

use crate::decode::{tcp_flags, Decoded, IpPacket, Mac, Transport};
use crate::reassembly::{Reassembler, SegmentOrigin, StreamEvent};

/// One end of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub addr: IpAddr,
    /// Port (0 for portless protocols).
    pub port: u16,
}

/// A direction-free flow key: the lower endpoint is `a` (in the order of
/// [`Endpoint::rank`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// VLAN tags packed (see [`Decoded::vlan_key`]).
    pub vlan: u32,
    /// IP protocol number.
    pub proto: u8,
    /// The lower endpoint.
    pub a: Endpoint,
    /// The higher endpoint.
    pub b: Endpoint,
}

impl Endpoint {
    /// The address and port as one number: IPv6 addresses as themselves,
    /// IPv4 ones in the v4-mapped range, the port below. Injective, so it
    /// orders endpoints and hashes them without the enum's per-field work
    /// (the flow table does both for every packet).
    #[inline]
    pub fn rank(&self) -> (u128, u16) {
        let a = match self.addr {
            IpAddr::V4(v) => 0xffff_0000_0000 | u128::from(v.to_bits()),
            IpAddr::V6(v) => v.to_bits(),
        };
        (a, self.port)
    }
}

impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (a, pa) = self.a.rank();
        let (b, pb) = self.b.rank();
        state.write_u128(a);
        state.write_u128(b);
        state.write_u64(u64::from(self.vlan) << 32 | u64::from(pa) << 16 | u64::from(pb));
        state.write_u8(self.proto);
    }
}

impl FlowKey {
    /// The canonical key for a packet from `src` to `dst`, and whether `src`
    /// is the key's `a` side.
    #[inline]
    pub fn new(vlan: u32, proto: u8, src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        if src.rank() <= dst.rank() {
            (
                FlowKey {
                    vlan,
                    proto,
                    a: src,
                    b: dst,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    vlan,
                    proto,
                    a: dst,
                    b: src,
                },
                false,
            )
        }
    }

    /// The worker that owns this flow among `n`: the same for both
    /// directions, stable across runs.
    pub fn shard(&self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(self);
        (h % n as u64) as usize
    }
}

/// Direction of a packet relative to the flow's client (initiator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the client to the server.
    ToServer = 0,
    /// From the server to the client.
    ToClient = 1,
}

impl Dir {
    fn idx(self) -> usize {
        self as usize
    }
    fn other(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// Counters for one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirStats {
    /// Frames.
    pub packets: u64,
    /// Bytes on the wire (frame length).
    pub bytes: u64,
    /// Transport payload bytes.
    pub payload_bytes: u64,
    /// The sender's MAC as first seen.
    pub mac: Option<Mac>,
    /// OR of the TCP flags sent.
    pub tcp_flags: u8,
    /// The TTL (hop limit) of the first packet sent: unrouted, it says the
    /// sender is on the captured link.
    pub ttl: u8,
}

/// TCP connection state as far as a passive observer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// Not TCP.
    NotTcp,
    /// SYN seen, no answer yet.
    SynSent,
    /// SYN-ACK seen.
    SynReceived,
    /// Data flowing (or picked up mid-stream).
    Established,
    /// One side sent FIN.
    Closing,
    /// Both FINs, or a RST.
    Closed,
}

/// Where a packet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    /// Input index.
    pub input: u16,
    /// Frame number in that input.
    pub frame: u64,
    /// Capture time (ns since the epoch).
    pub ts_ns: i64,
    /// Frame length on the wire.
    pub wire_len: u32,
}

/// Everything known about a flow apart from the application state.
#[derive(Debug, Clone)]
pub struct FlowInfo {
    /// Sequence number of the flow in its table (unique per table).
    pub id: u64,
    /// Canonical key.
    pub key: FlowKey,
    /// The initiator.
    pub client: Endpoint,
    /// The responder.
    pub server: Endpoint,
    /// Counters by [`Dir`].
    pub dirs: [DirStats; 2],
    /// First packet time.
    pub first_ts: i64,
    /// Last packet time.
    pub last_ts: i64,
    /// Input and frame of the first packet.
    pub first_frame: (u16, u64),
    /// TCP state.
    pub tcp: TcpState,
    /// Whether the client's SYN was seen (else picked up mid-stream).
    pub saw_syn: bool,
    /// Outermost VLAN, if tagged.
    pub vlan: Option<u16>,
    fin: [bool; 2],
}

impl FlowInfo {
    /// A flow from `client` to `server` that has no packets counted yet,
    /// first seen at `ts_ns` (tools and tests that build flows by hand).
    pub fn new(key: FlowKey, client: Endpoint, server: Endpoint, ts_ns: i64) -> Self {
        FlowInfo {
            id: 0,
            key,
            client,
            server,
            dirs: [DirStats::default(); 2],
            first_ts: ts_ns,
            last_ts: ts_ns,
            first_frame: (0, 0),
            tcp: TcpState::NotTcp,
            saw_syn: false,
            vlan: None,
            fin: [false; 2],
        }
    }

    /// Packets both ways.
    pub fn packets(&self) -> u64 {
        self.dirs[0].packets + self.dirs[1].packets
    }
    /// Wire bytes both ways.
    pub fn bytes(&self) -> u64 {
        self.dirs[0].bytes + self.dirs[1].bytes
    }
}

/// A flow with its application state.
pub struct Flow<S> {
    /// Addresses, counters, state.
    pub info: FlowInfo,
    /// What the sink keeps for this flow.
    pub state: S,
    /// Allocated on the first stream data, so that flows without payload
    /// (scans, most UDP) stay small.
    reasm: Option<Box<[Reassembler; 2]>>,
    /// Initial sequence numbers from SYNs seen before any data.
    isn: [Option<u32>; 2],
}

impl<S> Flow<S> {
    /// Reassembly gaps in this flow, both directions.
    pub fn gaps(&self) -> u64 {
        self.reasm.as_ref().map_or(0, |r| r[0].gaps + r[1].gaps)
    }

    fn gap_bytes(&self) -> u64 {
        self.reasm
            .as_ref()
            .map_or(0, |r| r[0].gap_bytes + r[1].gap_bytes)
    }

    fn pending_bytes(&self) -> usize {
        self.reasm
            .as_ref()
            .map_or(0, |r| r[0].pending_bytes() + r[1].pending_bytes())
    }
}

/// Why a flow left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// No packet for the idle timeout.
    Idle,
    /// FIN both ways or RST, then the linger time.
    Closed,
    /// Removed because the table was full.
    Evicted,
    /// A new connection reused the 5-tuple.
    Reused,
    /// The capture ended.
    EndOfInput,
}

/// The application side of the flow table.
pub trait FlowSink<S> {
    /// Whether TCP payload of this flow should be reassembled.
    fn wants_stream(&mut self, _info: &FlowInfo, _state: &mut S) -> bool {
        true
    }
    /// Every packet, after the counters were updated.
    fn on_packet(
        &mut self,
        _info: &FlowInfo,
        _state: &mut S,
        _dir: Dir,
        _meta: &PacketMeta,
        _transport: &Transport<'_>,
    ) {
    }
    /// Reassembled TCP stream data, in order, per direction.
    fn on_stream(&mut self, _info: &FlowInfo, _state: &mut S, _dir: Dir, _ev: StreamEvent<'_>) {}
    /// The flow left the table (handed on in its box: a flow is some 450
    /// bytes, and millions end in a large capture; sinks that keep or take
    /// it apart need no copy).
    #[allow(clippy::boxed_local)]
    fn on_end(&mut self, _flow: Box<Flow<S>>, _reason: EndReason) {}
}

/// Limits and timeouts of the flow table.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Most flows held at once; the least recently seen are evicted past it.
    pub max_flows: usize,
    /// Idle timeout of an open TCP connection (s).
    pub tcp_idle_s: i64,
    /// Idle timeout of UDP and other flows (s).
    pub udp_idle_s: i64,
    /// How long a closed TCP connection is kept for stragglers (s).
    pub closed_linger_s: i64,
    /// Out-of-order bytes one direction may buffer.
    pub reassembly_dir_cap: usize,
    /// Out-of-order bytes the whole table may buffer.
    pub reassembly_total_cap: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 262_144,
            tcp_idle_s: 600,
            udp_idle_s: 120,
            closed_linger_s: 10,
            reassembly_dir_cap: 1 << 20,
            reassembly_total_cap: 64 << 20,
        }
    }
}

/// Table counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Flows expired normally (idle or closed).
    pub expired: u64,
    /// Reassembly gaps skipped.
    pub reassembly_gaps: u64,
    /// Bytes skipped in gaps.
    pub reassembly_gap_bytes: u64,
    /// Most flows held at once.
    pub peak_flows: u64,
}

/// The flow table.
pub struct FlowTable<S> {
    /// Boxed: a full table's buckets are then 48 bytes each, not the
    /// flow's 450 (hashbrown keeps up to twice as many buckets as flows,
    /// and both arrays while it grows).
    flows: HashMap<FlowKey, Box<Flow<S>>, foldhash::fast::RandomState>,
    config: FlowConfig,
    next_id: u64,
    pending_total: usize,
    last_sweep_ts: i64,
    packets_since_sweep: u64,
    now: i64,
    /// Counters.
    pub stats: FlowStats,
}

impl<S: Default> FlowTable<S> {
    /// An empty table.
    pub fn new(config: FlowConfig) -> Self {
        FlowTable {
            flows: HashMap::default(),
            config,
            next_id: 0,
            pending_total: 0,
            last_sweep_ts: i64::MIN,
            packets_since_sweep: 0,
            now: i64::MIN,
            stats: FlowStats::default(),
        }
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Accounts one IP packet (or a reassembled datagram) to its flow.
    pub fn process(
        &mut self,
        meta: &PacketMeta,
        dec: &Decoded<'_>,
        ip: &IpPacket<'_>,
        tr: &Transport<'_>,
        sink: &mut impl FlowSink<S>,
    ) {
        self.now = self.now.max(meta.ts_ns);
        self.packets_since_sweep += 1;
        self.maybe_sweep(sink);

        let (sport, dport) = tr.ports();
        let src = Endpoint {
            addr: ip.src,
            port: sport,
        };
        let dst = Endpoint {
            addr: ip.dst,
            port: dport,
        };
        let (key, _) = FlowKey::new(dec.vlan_key(), ip.proto, src, dst);
        let tcp = match tr {
            Transport::Tcp(t) => Some(t),
            _ => None,
        };
        let is_new_syn =
            tcp.is_some_and(|t| t.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN);

        if is_new_syn {
            // A fresh SYN on a closed 5-tuple starts a new connection.
            let reuse = self
                .flows
                .get(&key)
                .is_some_and(|f| f.info.tcp == TcpState::Closed);
            if reuse {
                if let Some(old) = self.flows.remove(&key) {
                    self.end_flow(old, EndReason::Reused, sink);
                }
            }
        }
        if self.flows.len() >= self.config.max_flows && !self.flows.contains_key(&key) {
            self.evict(sink);
        }
        let len_if_new = self.flows.len() as u64 + 1;
        // One hash look-up per packet: the entry either holds the flow or
        // takes the new one.
        let flow = match self.flows.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let client_is_src = match tcp {
                    Some(t) if t.flags & tcp_flags::SYN != 0 => t.flags & tcp_flags::ACK == 0,
                    // Mid-stream or datagram: the well-known port is the server.
                    _ => !(sport < 1024 && dport >= 1024) || sport == dport,
                };
                let (client, server) = if client_is_src {
                    (src, dst)
                } else {
                    (dst, src)
                };
                self.next_id += 1;
                self.stats.created += 1;
                self.stats.peak_flows = self.stats.peak_flows.max(len_if_new);
                v.insert(Box::new(Flow {
                    info: FlowInfo {
                        id: self.next_id,
                        key,
                        client,
                        server,
                        dirs: [DirStats::default(); 2],
                        first_ts: meta.ts_ns,
                        last_ts: meta.ts_ns,
                        first_frame: (meta.input, meta.frame),
                        tcp: if tcp.is_some() {
                            TcpState::Established
                        } else {
                            TcpState::NotTcp
                        },
                        saw_syn: false,
                        vlan: dec.vlan(),
                        fin: [false; 2],
                    },
                    state: S::default(),
                    reasm: None,
                    isn: [None; 2],
                }))
            }
        };
        let dir = if src == flow.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let info = &mut flow.info;
        info.last_ts = info.last_ts.max(meta.ts_ns);
        let d = &mut info.dirs[dir.idx()];
        d.packets += 1;
        d.bytes += meta.wire_len as u64;
        if d.packets == 1 {
            d.ttl = ip.ttl;
        }
        if d.mac.is_none() {
            d.mac = dec.src_mac;
        }
        let payload: &[u8] = match tr {
            Transport::Tcp(t) => t.payload,
            Transport::Udp { payload, .. } => payload,
            _ => &[],
        };
        // Bytes the snap length cut off still crossed the wire.
        let cut = (ip.claimed_len as usize).saturating_sub(ip.payload.len());
        d.payload_bytes += (payload.len() + cut) as u64;

        if let Some(t) = tcp {
            d.tcp_flags |= t.flags;
            let syn = t.flags & tcp_flags::SYN != 0;
            let ack = t.flags & tcp_flags::ACK != 0;
            if syn && !ack {
                info.saw_syn = true;
                if info.tcp == TcpState::Established && info.packets() == 1 {
                    info.tcp = TcpState::SynSent;
                }
            } else if syn && ack && info.tcp == TcpState::SynSent {
                info.tcp = TcpState::SynReceived;
            } else if info.tcp == TcpState::SynSent || info.tcp == TcpState::SynReceived {
                info.tcp = TcpState::Established;
            }
            if t.flags & tcp_flags::FIN != 0 {
                info.fin[dir.idx()] = true;
                info.tcp = if info.fin[dir.other().idx()] {
                    TcpState::Closed
                } else {
                    TcpState::Closing
                };
            }
            if t.flags & tcp_flags::RST != 0 {
                info.tcp = TcpState::Closed;
            }
        }

        sink.on_packet(&flow.info, &mut flow.state, dir, meta, tr);

        if let Some(t) = tcp {
            let origin = SegmentOrigin {
                input: meta.input,
                frame: meta.frame,
                ts_ns: meta.ts_ns,
            };
            let has_pending = flow.pending_bytes() > 0;
            let Flow {
                info,
                state,
                reasm,
                isn,
            } = &mut **flow;
            if t.flags & tcp_flags::SYN != 0 {
                // Remembered without allocating: most SYNs (scans) never
                // carry data.
                match reasm {
                    Some(r) => r[dir.idx()].syn(t.seq),
                    None => isn[dir.idx()] = Some(t.seq),
                }
            }
            let wants = (!t.payload.is_empty() || has_pending) && sink.wants_stream(info, state);
            if wants {
                let reasm = reasm.get_or_insert_with(|| {
                    let mut r: Box<[Reassembler; 2]> = Box::default();
                    for (d, s) in isn.iter().enumerate() {
                        if let (Some(seq), Some(x)) = (s, r.get_mut(d)) {
                            x.syn(*seq);
                        }
                    }
                    r
                });
                let before = reasm[0].pending_bytes() + reasm[1].pending_bytes();
                let cap = if self.pending_total > self.config.reassembly_total_cap {
                    0
                } else {
                    self.config.reassembly_dir_cap
                };
                let mut out = |ev: StreamEvent<'_>| sink.on_stream(info, state, dir, ev);
                // A SYN takes one sequence number; data it carries (TCP Fast
                // Open, crafted or replayed traffic) starts after it.
                let seq = t.seq.wrapping_add(u32::from(t.flags & tcp_flags::SYN != 0));
                reasm[dir.idx()].segment(seq, t.payload, origin, cap, &mut out);
                if t.flags & tcp_flags::ACK != 0 {
                    let other = dir.other();
                    let mut out = |ev: StreamEvent<'_>| sink.on_stream(info, state, other, ev);
                    reasm[other.idx()].peer_ack(t.ack, &mut out);
                }
                let after = reasm[0].pending_bytes() + reasm[1].pending_bytes();
                self.pending_total = (self.pending_total + after).saturating_sub(before);
            }
        }
    }

    fn maybe_sweep(&mut self, sink: &mut impl FlowSink<S>) {
        let due_time = self.now.saturating_sub(self.last_sweep_ts) >= 1_000_000_000;
        // A sweep visits every flow: at most two visits per packet, amortised.
        let due_work = self.packets_since_sweep as usize >= self.flows.len() / 2 + 1024;
        if due_time && due_work {
            self.sweep(sink);
        }
    }

    /// The open flow of `key`, if any.
    pub fn get(&self, key: &FlowKey) -> Option<&Flow<S>> {
        self.flows.get(key).map(|f| &**f)
    }

    /// The flows not ended yet (for a snapshot of a live analysis).
    pub fn active(&self) -> impl Iterator<Item = &Flow<S>> {
        self.flows.values().map(|f| &**f)
    }

    /// Expires idle and closed flows as of the latest packet time.
    pub fn sweep(&mut self, sink: &mut impl FlowSink<S>) {
        self.last_sweep_ts = self.now;
        self.packets_since_sweep = 0;
        let now = self.now;
        let cfg = &self.config;
        let s = 1_000_000_000i64;
        // Taken out in one pass (no second lookup per flow).
        let mut expired: Vec<Box<Flow<S>>> = self
            .flows
            .extract_if(|_, f| {
                let idle = now.saturating_sub(f.info.last_ts);
                match f.info.tcp {
                    TcpState::Closed => idle > cfg.closed_linger_s * s,
                    TcpState::NotTcp => idle > cfg.udp_idle_s * s,
                    _ => idle > cfg.tcp_idle_s * s,
                }
            })
            .map(|(_, f)| f)
            .collect();
        // Ended in flow-id order, not the table's (seeded per run) order:
        // what a full table or digest keeps must not change between runs.
        expired.sort_unstable_by_key(|f| f.info.id);
        for f in expired {
            let reason = if f.info.tcp == TcpState::Closed {
                EndReason::Closed
            } else {
                EndReason::Idle
            };
            self.stats.expired += 1;
            self.end_flow(f, reason, sink);
        }
    }

    /// Makes room: expires what it can, then evicts the least recently seen
    /// eighth of the table.
    fn evict(&mut self, sink: &mut impl FlowSink<S>) {
        self.sweep(sink);
        if self.flows.len() < self.config.max_flows {
            return;
        }
        let mut by_age: Vec<(i64, FlowKey)> = self
            .flows
            .values()
            .map(|f| (f.info.last_ts, f.info.key))
            .collect();
        let n = (by_age.len() / 8).max(1);
        by_age.select_nth_unstable(n - 1);
        // The oldest eighth, ended oldest first (deterministic, see sweep).
        if let Some(oldest) = by_age.get_mut(..n) {
            oldest.sort_unstable();
        }
        for (_, k) in by_age.into_iter().take(n) {
            if let Some(f) = self.flows.remove(&k) {
                self.stats.evicted += 1;
                self.end_flow(f, EndReason::Evicted, sink);
            }
        }
    }

    fn end_flow(&mut self, mut flow: Box<Flow<S>>, reason: EndReason, sink: &mut impl FlowSink<S>) {
        let before = flow.pending_bytes();
        {
            let Flow {
                info, state, reasm, ..
            } = &mut *flow;
            if let Some(reasm) = reasm {
                for dir in [Dir::ToServer, Dir::ToClient] {
                    let mut out = |ev: StreamEvent<'_>| sink.on_stream(info, state, dir, ev);
                    reasm[dir.idx()].finish(&mut out);
                }
            }
        }
        self.pending_total = self.pending_total.saturating_sub(before);
        self.stats.reassembly_gaps += flow.gaps();
        self.stats.reassembly_gap_bytes += flow.gap_bytes();
        sink.on_end(flow, reason);
    }

    /// Ends every flow (end of input), in flow-id order for determinism.
    pub fn finish(&mut self, sink: &mut impl FlowSink<S>) {
        let mut all: Vec<Box<Flow<S>>> = self.flows.drain().map(|(_, f)| f).collect();
        all.sort_unstable_by_key(|f| f.info.id);
        for f in all {
            self.end_flow(f, EndReason::EndOfInput, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Network, TcpSegment};
    use std::net::Ipv4Addr;

    #[derive(Default)]
    struct Ends(Vec<(u64, EndReason)>);
    impl FlowSink<()> for Ends {
        fn on_end(&mut self, flow: Box<Flow<()>>, reason: EndReason) {
            self.0.push((flow.info.packets(), reason));
        }
    }

    fn packet(
        n: u32,
        ts: i64,
        flags: u8,
        sport: u16,
    ) -> (PacketMeta, IpPacket<'static>, Transport<'static>) {
        let ip = IpPacket {
            src: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)),
            proto: 6,
            ttl: 64,
            ident: 0,
            frag: None,
            payload: &[],
            claimed_len: 0,
        };
        let tr = Transport::Tcp(TcpSegment {
            sport,
            dport: 80,
            seq: 1,
            ack: 0,
            flags,
            payload: &[],
        });
        (
            PacketMeta {
                input: 0,
                frame: n as u64,
                ts_ns: ts,
                wire_len: 60,
            },
            ip,
            tr,
        )
    }

    fn dec() -> Decoded<'static> {
        Decoded {
            src_mac: None,
            dst_mac: None,
            bssid: None,
            vlans: [0; 2],
            tunnel: None,
            net: Network::Other(0, &[]),
        }
    }

    #[test]
    fn hard_cap_evicts_least_recent_and_counts() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig {
            max_flows: 16,
            ..Default::default()
        });
        let mut sink = Ends::default();
        for n in 0..100 {
            let (m, ip, tr) = packet(n, n as i64, tcp_flags::SYN, 40000);
            t.process(&m, &dec(), &ip, &tr, &mut sink);
            assert!(t.len() <= 16);
        }
        assert!(t.stats.evicted >= 84, "{:?}", t.stats);
        assert!(sink.0.iter().all(|(_, r)| *r == EndReason::Evicted));
        assert_eq!(t.stats.created, 100);
    }

    #[test]
    fn idle_and_closed_flows_expire_and_syn_reuse_starts_a_new_flow() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut sink = Ends::default();
        let s = 1_000_000_000i64;
        let (m, ip, tr) = packet(1, 0, tcp_flags::SYN, 40000);
        t.process(&m, &dec(), &ip, &tr, &mut sink);
        let (m, ip, tr) = packet(1, s, tcp_flags::RST | tcp_flags::ACK, 40000);
        t.process(&m, &dec(), &ip, &tr, &mut sink);
        // The same 5-tuple opens again: a new connection.
        let (m, ip, tr) = packet(1, 2 * s, tcp_flags::SYN, 40000);
        t.process(&m, &dec(), &ip, &tr, &mut sink);
        assert_eq!(sink.0, vec![(2, EndReason::Reused)]);
        // Much later, packets of other flows drive expiry of the idle one.
        for n in 0..5000u32 {
            let (m, ip, tr) = packet(10 + n, 4000 * s, tcp_flags::SYN, 50000);
            t.process(&m, &dec(), &ip, &tr, &mut sink);
        }
        assert!(sink.0.contains(&(1, EndReason::Idle)), "{:?}", &sink.0[..2]);
        assert_eq!(t.stats.created, 5002);
    }

    #[derive(Default)]
    struct Ids(Vec<(u64, EndReason)>);
    impl FlowSink<()> for Ids {
        fn on_end(&mut self, flow: Box<Flow<()>>, reason: EndReason) {
            self.0.push((flow.info.id, reason));
        }
    }

    #[test]
    fn flows_end_in_id_order_whatever_the_table_order() {
        // What a full digest keeps depends on the order flows end in; the
        // table's own order is seeded per run.
        let s = 1_000_000_000i64;
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut sink = Ids::default();
        for n in 0..3000u32 {
            let (m, ip, tr) = packet(n, n as i64, tcp_flags::SYN, 40000);
            t.process(&m, &dec(), &ip, &tr, &mut sink);
        }
        for n in 0..5000u32 {
            let (m, ip, tr) = packet(10_000 + n, 4000 * s, tcp_flags::SYN, 50000);
            t.process(&m, &dec(), &ip, &tr, &mut sink);
        }
        let idle: Vec<u64> = sink
            .0
            .iter()
            .filter(|(_, r)| *r == EndReason::Idle)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(idle.len(), 3000);
        assert!(idle.windows(2).all(|w| w[0] < w[1]), "{:?}", &idle[..20]);

        let mut t: FlowTable<()> = FlowTable::new(FlowConfig {
            max_flows: 64,
            ..Default::default()
        });
        let mut sink = Ids::default();
        for n in 0..1000u32 {
            let (m, ip, tr) = packet(n, n as i64, tcp_flags::SYN, 40000);
            t.process(&m, &dec(), &ip, &tr, &mut sink);
        }
        let evicted: Vec<u64> = sink.0.iter().map(|(id, _)| *id).collect();
        assert!(evicted.len() >= 900, "{}", evicted.len());
        assert!(
            evicted.windows(2).all(|w| w[0] < w[1]),
            "{:?}",
            &evicted[..20]
        );
    }

    #[derive(Default)]
    struct Bytes(Vec<u8>);
    impl FlowSink<()> for Bytes {
        fn on_stream(&mut self, _: &FlowInfo, _: &mut (), _: Dir, ev: StreamEvent<'_>) {
            if let StreamEvent::Data { data, .. } = ev {
                self.0.extend_from_slice(data);
            }
        }
    }

    #[test]
    fn data_carried_by_a_syn_is_delivered_whole() {
        // TCP Fast Open, or a replayed message: the SYN's sequence number is
        // the SYN's own, its data starts at the next one.
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut sink = Bytes::default();
        let (m, ip, _) = packet(1, 0, 0, 40000);
        for (seq, flags, payload) in [
            (1000u32, tcp_flags::SYN, &b"MSH|^~\\&|"[..]),
            // The same bytes again after the handshake, then the rest.
            (1001, tcp_flags::ACK, &b"MSH|^~\\&|"[..]),
            (1010, tcp_flags::ACK | tcp_flags::PSH, &b"SYS|HOSP"[..]),
        ] {
            let tr = Transport::Tcp(TcpSegment {
                sport: 40000,
                dport: 2575,
                seq,
                ack: 0,
                flags,
                payload,
            });
            t.process(&m, &dec(), &ip, &tr, &mut sink);
        }
        assert_eq!(sink.0, b"MSH|^~\\&|SYS|HOSP");
    }
}
