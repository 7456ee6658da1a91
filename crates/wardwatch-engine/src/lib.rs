//! The analysis pipeline, wired: capture → decode → dedup → defragment →
//! flow workers (sharded on a symmetric 5-tuple hash) → inventory → report.
//!
//! The hot path allocates nothing per packet in steady state: frames are
//! decoded from the reader's buffer, and with several workers they are copied
//! into recycled batch buffers.

pub mod config;
mod source;
mod worker;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wardwatch_capture::{CaptureError, Packet};
use wardwatch_detect::{DetectConfig, DetectInput, FlowDigest, FlowFact, Suppressions};
use wardwatch_flow::{
    decode, transport, Decoded, Deduper, Defragmenter, FlowConfig, IpPacket, Network, PacketMeta,
    Transport,
};
use wardwatch_inventory::{HostTable, InputNames, LocalNets, Sighting};
use wardwatch_model::{
    time::{now_secs, rfc3339_secs},
    InputSummary, InputWarning, Report, Stats, Talker, REPORT_SCHEMA,
};

pub use source::MergedSource;
pub use wardwatch_proto::Observation;
use worker::{Batch, Worker};
pub use worker::{FlowRecord, FlowState};

/// How an analysis runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Site name; scopes every id.
    pub site: String,
    /// Flow workers (1 = everything on the reading thread).
    pub threads: usize,
    /// Frames identical within this window are mirror duplicates (0 = off).
    pub dedup_window_ns: i64,
    /// Flow table limits, per worker.
    pub flow: FlowConfig,
    /// Most addresses tracked.
    pub max_hosts: usize,
    /// The site's own address space.
    pub local: LocalNets,
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// Keep a record of every flow (for tests and `flows` output).
    pub collect_flows: bool,
    /// Keep the reassembled TCP bytes of every flow (tests only).
    pub collect_streams: bool,
    /// Run the protocol dissectors (off: the engine alone, for benchmarks:
    /// decode, flows and TCP reassembly of every stream, its bytes dropped).
    pub dissect: bool,
    /// Return the dissectors' observations with the outcome (tests).
    pub collect_observations: bool,
    /// Keep every observation, repeats included (differential tests).
    pub keep_repeats: bool,
    /// Most bytes the dissectors of all open flows hold in buffers
    /// (default 32 MiB); shared between the workers.
    pub max_dissect_held: usize,
    /// Run detection (findings).
    pub detect: bool,
    /// Detection thresholds.
    pub detect_config: DetectConfig,
    /// Findings the site has decided to suppress, with reasons.
    pub suppressions: Suppressions,
    /// Vulnerability intelligence (loaded from the data dir), if any.
    pub intel: Option<std::sync::Arc<wardwatch_intel::Intel>>,
    /// Risk weights.
    pub risk: wardwatch_risk::RiskConfig,
    /// Analysts' corrections of devices (win over inferred values).
    pub corrections: Vec<wardwatch_inventory::assets::Correction>,
    /// Indicators of compromise.
    pub indicators: std::sync::Arc<wardwatch_detect::ioc::Indicators>,
    /// Zones and allowed matrix (`zones.toml`).
    pub zones: std::sync::Arc<wardwatch_detect::segment::Policy>,
    /// Offline country/ASN databases (`geo/*.mmdb`).
    pub geo: Option<std::sync::Arc<wardwatch_detect::geo::Geo>>,
    /// Per-device baselines learned before (`baselines.json`).
    pub baselines: Option<std::sync::Arc<wardwatch_detect::baseline::Baselines>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            site: "default".into(),
            threads: 1,
            dedup_window_ns: 2_000_000,
            flow: FlowConfig::default(),
            max_hosts: 1 << 17,
            local: LocalNets::default(),
            progress: false,
            collect_flows: false,
            collect_streams: false,
            dissect: true,
            max_dissect_held: worker::MAX_DISSECT_HELD,
            collect_observations: false,
            keep_repeats: false,
            detect: true,
            detect_config: DetectConfig::default(),
            suppressions: Suppressions::default(),
            intel: None,
            risk: wardwatch_risk::RiskConfig::default(),
            corrections: Vec::new(),
            indicators: Default::default(),
            zones: Default::default(),
            geo: None,
            baselines: None,
        }
    }
}

impl EngineConfig {
    /// What detection reads, from this configuration and one analysis's
    /// devices, observations and flow digest.
    /// `local` is the site's address space: this configuration's, or an
    /// outcome's (which adds what the run learned).
    pub fn detect_input<'a>(
        &'a self,
        inputs: &'a [String],
        devices: &'a [wardwatch_model::Device],
        observations: &'a [Observation],
        digest: &'a FlowDigest,
        local: &'a LocalNets,
    ) -> DetectInput<'a> {
        DetectInput {
            site: &self.site,
            inputs,
            devices,
            observations,
            digest,
            local,
            config: &self.detect_config,
            indicators: &self.indicators,
            zones: &self.zones,
            geo: self.geo.as_deref(),
            baselines: self.baselines.as_deref(),
            threads: self.threads,
        }
    }
}

/// What an analysis produced.
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// Flow records, when [`EngineConfig::collect_flows`] was set, in order
    /// of first frame.
    pub flows: Vec<FlowRecord>,
    /// What the dissectors observed, in frame order.
    pub observations: Vec<Observation>,
    /// Flows folded per conversation pair (policy synthesis and replay).
    pub digest: FlowDigest,
    /// The site's address space: the configuration's, and the addresses
    /// outside it the run found on the captured link.
    pub local: LocalNets,
    /// What the analysis no longer needs but has not freed (its
    /// observations, when they were not asked for): freed with the outcome,
    /// or never by a process that ends once the report is written.
    pub spent: Spent,
}

/// Memory an [`Outcome`] holds only to free it late (see [`Outcome::spent`]).
#[derive(Default)]
pub struct Spent {
    _held: Vec<Observation>,
}

/// Why an analysis could not run.
#[derive(Debug)]
pub enum EngineError {
    /// An input could not be read.
    Capture(CaptureError),
    /// A worker thread failed.
    Internal(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Capture(e) => write!(f, "{e}"),
            EngineError::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<CaptureError> for EngineError {
    fn from(e: CaptureError) -> Self {
        EngineError::Capture(e)
    }
}

/// Where packets go after the dispatcher: inline to one worker or batched
/// to several threads.
enum Dispatch {
    Inline(Box<Worker>),
    /// One of several readers of the same files: this one owns the flows
    /// whose symmetric hash falls on `index`; shard 0 also counts frames,
    /// errors and ARP.
    Shard {
        index: usize,
        count: usize,
        worker: Box<Worker>,
    },
    Threads {
        senders: Vec<mpsc::SyncSender<Batch>>,
        recycled: mpsc::Receiver<Batch>,
        spare: Vec<Batch>,
        batches: Vec<Batch>,
        handles: Vec<std::thread::JoinHandle<Worker>>,
    },
}

const BATCH_PACKETS: usize = 512;

/// Distinct link-layer facts (per MAC) a run keeps: LLDP and CDP
/// neighbours, 802.11 access points and stations.
const MAX_LINK_FACTS: usize = 16_384;

/// Counters the dispatcher keeps.
#[derive(Default, Clone)]
struct Counters {
    packets: u64,
    bytes: u64,
    decode_errors: u64,
    tunneled: u64,
    /// Link-layer facts (LLDP, CDP, 802.11) not kept: past
    /// [`MAX_LINK_FACTS`].
    link_dropped: u64,
    first_ts: Option<i64>,
    last_ts: i64,
    per_input: Vec<(u64, u64)>,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.decode_errors += o.decode_errors;
        self.tunneled += o.tunneled;
        self.link_dropped += o.link_dropped;
        self.first_ts = match (self.first_ts, o.first_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ts = self.last_ts.max(o.last_ts);
        for (a, b) in self.per_input.iter_mut().zip(&o.per_input) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

/// The reading side of the pipeline: decodes, drops duplicates, reassembles
/// fragments and hands each packet to the worker owning its flow.
struct Dispatcher {
    dispatch: Dispatch,
    dedup: Deduper,
    defrag: Defragmenter,
    arp_hosts: HostTable,
    arp_digest: FlowDigest,
    counters: Counters,
    scratch: Vec<u8>,
    dissect: bool,
    link_observations: Vec<Observation>,
    link_seen: std::collections::HashSet<(String, Option<u64>)>,
    /// (station, BSSID) pairs whose station fact was made.
    wifi_pairs: std::collections::HashSet<[wardwatch_flow::Mac; 2]>,
}

impl Dispatcher {
    fn new(cfg: &EngineConfig, inputs: usize) -> Self {
        let threads = cfg.threads.max(1);
        let per_worker = FlowConfig {
            max_flows: (cfg.flow.max_flows / threads).max(1024),
            reassembly_total_cap: cfg.flow.reassembly_total_cap / threads,
            ..cfg.flow.clone()
        };
        let make = || Worker::new(per_worker.clone(), cfg);
        let dispatch = if threads == 1 {
            Dispatch::Inline(Box::new(make()))
        } else {
            let (recycle_tx, recycled) = mpsc::channel::<Batch>();
            let mut senders = Vec::new();
            let mut handles = Vec::new();
            for i in 0..threads {
                let (tx, rx) = mpsc::sync_channel::<Batch>(16);
                let mut w = make();
                let back = recycle_tx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("ww-flow-{i}"))
                    .spawn(move || {
                        for mut b in rx {
                            w.run_batch(&b);
                            b.clear();
                            let _ = back.send(b);
                        }
                        w
                    });
                match spawned {
                    Ok(h) => handles.push(h),
                    Err(_) => continue,
                }
                senders.push(tx);
            }
            Dispatch::Threads {
                senders,
                recycled,
                spare: Vec::new(),
                batches: (0..threads).map(|_| Batch::default()).collect(),
                handles,
            }
        };
        Dispatcher {
            dispatch,
            dedup: Deduper::new(cfg.dedup_window_ns),
            defrag: Defragmenter::new(32 << 20, 30_000_000_000),
            arp_hosts: HostTable::new(cfg.max_hosts).with_local(cfg.local.clone()),
            arp_digest: FlowDigest::new(0),
            counters: Counters {
                per_input: vec![(0, 0); inputs],
                ..Default::default()
            },
            scratch: Vec::new(),
            dissect: cfg.dissect,
            link_observations: Vec::new(),
            link_seen: std::collections::HashSet::new(),
            wifi_pairs: std::collections::HashSet::new(),
        }
    }

    /// A reader that owns shard `index` of `count`.
    fn shard(cfg: &EngineConfig, inputs: usize, index: usize, count: usize) -> Self {
        let single = EngineConfig {
            threads: 1,
            ..cfg.clone()
        };
        let mut d = Dispatcher::new(&single, inputs);
        let per_worker = FlowConfig {
            max_flows: (cfg.flow.max_flows / count.max(1)).max(1024),
            reassembly_total_cap: cfg.flow.reassembly_total_cap / count.max(1),
            ..cfg.flow.clone()
        };
        d.dispatch = Dispatch::Shard {
            index,
            count,
            worker: Box::new(Worker::new(per_worker, cfg)),
        };
        d
    }

    /// This dispatcher's shard and the shard count (0 of 1 unless sharded).
    fn shard_slot(&self) -> (usize, usize) {
        match &self.dispatch {
            Dispatch::Shard { index, count, .. } => (*index, *count),
            _ => (0, 1),
        }
    }

    /// Counts a frame as this dispatcher's. With several shards every frame
    /// is counted by exactly one: the owner of its flow, or for frames that
    /// belong to no flow (ARP, fragments, errors) the shard its frame
    /// number falls on. The shards' counters add up to the whole.
    fn count(&mut self, input: u16, p: &Packet<'_>, tunneled: bool) {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += p.orig_len as u64;
        if let Some(e) = c.per_input.get_mut(input as usize) {
            e.0 += 1;
            e.1 += p.orig_len as u64;
        }
        if p.ts_ns != 0 {
            c.first_ts = Some(c.first_ts.map_or(p.ts_ns, |t| t.min(p.ts_ns)));
            c.last_ts = c.last_ts.max(p.ts_ns);
        }
        if tunneled {
            c.tunneled += 1;
        }
    }

    fn packet(&mut self, input: u16, p: &Packet<'_>) {
        let (index, shards) = self.shard_slot();
        if shards > 1 {
            // Most frames are plain Ethernet/IPv4 TCP or UDP: their owner is
            // read straight from the bytes, and other shards skip them
            // without decoding.
            if let Some(owner) = fast_shard(p.linktype, p.data, shards) {
                if owner != index {
                    return;
                }
            }
        }
        let by_frame = (p.frame as usize).wrapping_add(input as usize) % shards == index;
        let meta = PacketMeta {
            input,
            frame: p.frame,
            ts_ns: p.ts_ns,
            wire_len: p.orig_len,
        };
        let dec = match decode(p.linktype, p.data) {
            Ok(d) => d,
            Err(_) => {
                if by_frame {
                    self.count(input, p, false);
                    self.counters.decode_errors += 1;
                }
                return;
            }
        };
        let tunneled = dec.tunnel.is_some();
        if let (Some(bssid), Some(station), true) =
            (dec.bssid, dec.src_mac, by_frame && self.dissect)
        {
            // A station sending to its access point is on its network: the
            // fact is made for a station's first frame, not for each.
            let pair = [station, bssid];
            let new = if self.wifi_pairs.len() < MAX_LINK_FACTS {
                self.wifi_pairs.insert(pair)
            } else {
                !self.wifi_pairs.contains(&pair)
            };
            if new {
                self.link_fact(&meta, station, wardwatch_proto::wlan::station_of(&bssid));
            }
        }
        let ip = match dec.net {
            Network::Ip(ip) => ip,
            Network::Arp(a) => {
                // What the spoofing rule follows is split by address (a
                // claim and the requests that ask for it in one shard),
                // not by frame.
                let owns = |addr: std::net::Ipv4Addr| addr_shard(addr.into(), shards) == index;
                let vlan = dec.vlan();
                if a.op == 1 && owns(a.tpa) {
                    self.arp_digest.claims.asked(vlan, a.tpa.into(), p.ts_ns);
                }
                if matches!(a.op, 1 | 2) && owns(a.spa) {
                    self.arp_digest
                        .claims
                        .claimed(wardwatch_detect::arp::Claim {
                            vlan,
                            addr: a.spa.into(),
                            mac: a.sha,
                            sent_by: dec.src_mac,
                            reply: a.op == 2,
                            target: a.tpa.into(),
                            ts: p.ts_ns,
                            frame: (input, p.frame),
                        });
                }
                if by_frame {
                    self.count(input, p, tunneled);
                    // Only broadcast requests discover hosts: a unicast
                    // one revalidates an entry the sender has. (On a link
                    // without MACs they cannot be told apart: all count.)
                    if a.op == 1 && dec.dst_mac.is_none_or(|m| m == [0xff; 6]) {
                        self.arp_digest
                            .arp_request(a.spa, a.tpa, p.ts_ns, (input, p.frame));
                    }
                    if a.spa.to_bits() != 0 {
                        self.arp_hosts.arp(
                            IpAddr::V4(a.spa),
                            a.sha,
                            dec.vlan(),
                            Sighting {
                                input,
                                frame: p.frame,
                                ts_ns: p.ts_ns,
                                arp_owner: true,
                            },
                        );
                    }
                }
                return;
            }
            Network::Other(ethertype, payload) => {
                if by_frame {
                    self.count(input, p, tunneled);
                    if self.dissect {
                        self.link_layer(&meta, dec.src_mac, ethertype, payload);
                    }
                }
                return;
            }
        };
        if ip.frag.is_some() {
            if by_frame {
                self.count(input, p, tunneled);
            }
            // Every shard reassembles: a datagram's owner is known only once
            // it is whole.
            return self.fragment(meta, &dec, &ip);
        }
        let tr = match transport(ip.proto, ip.payload) {
            Ok(t) => t,
            Err(_) => {
                if by_frame {
                    self.count(input, p, tunneled);
                    self.counters.decode_errors += 1;
                }
                return;
            }
        };
        if ip.proto == 58 {
            if let Some(n) = wardwatch_flow::ndp(ip.payload, ip.ttl) {
                self.neighbour(input, p, &dec, &ip, &n, (index, shards));
            }
            // A router's advertisement: a fact about its MAC, made once
            // (by the shard that counts the frame) per distinct one.
            if by_frame && self.dissect && ip.payload.first() == Some(&134) {
                let ra =
                    wardwatch_proto::ndp::router_advert(ip.payload, ip.ttl, ip.src, dec.vlan());
                if let (Some(mac), Some(kind)) = (dec.src_mac, ra) {
                    self.link_fact(&meta, mac, kind);
                }
            }
        }
        if shards > 1 && shard_of(&ip, &tr, shards) != index {
            return;
        }
        self.count(input, p, tunneled);
        self.route(&meta, &dec, &ip, &tr, (p.linktype, p.data, None));
    }

    /// IPv6 neighbour discovery into the claims the spoofing rule follows
    /// (as ARP's, split by address between the shards): a solicitation
    /// asks for its target and is its sender's claim of its own address;
    /// an advertisement claims its target, told to its destination.
    fn neighbour(
        &mut self,
        input: u16,
        p: &Packet<'_>,
        dec: &wardwatch_flow::Decoded<'_>,
        ip: &wardwatch_flow::IpPacket<'_>,
        n: &wardwatch_flow::Ndp,
        (index, shards): (usize, usize),
    ) {
        let Some(mac) = n.mac.or(dec.src_mac) else {
            return;
        };
        let vlan = dec.vlan();
        let target = IpAddr::V6(n.target);
        let owns = |a: IpAddr| addr_shard(a, shards) == index;
        let (addr, told) = if n.advert {
            (target, ip.dst)
        } else {
            if owns(target) {
                self.arp_digest.claims.asked(vlan, target, p.ts_ns);
            }
            (ip.src, target)
        };
        if owns(addr) {
            self.arp_digest
                .claims
                .claimed(wardwatch_detect::arp::Claim {
                    vlan,
                    addr,
                    mac,
                    sent_by: dec.src_mac,
                    reply: n.advert,
                    target: told,
                    ts: p.ts_ns,
                    frame: (input, p.frame),
                });
        }
    }

    /// LLDP, CDP and 802.11 networks and stations: facts about the
    /// sender's MAC, kept once per MAC and fact.
    fn link_layer(
        &mut self,
        meta: &PacketMeta,
        mac: Option<wardwatch_flow::Mac>,
        ethertype: u16,
        payload: &[u8],
    ) {
        let kind = match ethertype {
            0x88CC => wardwatch_proto::l2::parse_lldp(payload),
            0x2000 => wardwatch_proto::l2::parse_cdp(payload),
            wardwatch_flow::decode::WLAN_MANAGEMENT => {
                wardwatch_proto::wlan::parse_management(payload)
            }
            _ => None,
        };
        if let (Some(kind), Some(mac)) = (kind, mac) {
            self.link_fact(meta, mac, kind);
        }
    }

    /// Keeps a link-layer fact about `mac`, once per MAC and fact.
    fn link_fact(
        &mut self,
        meta: &PacketMeta,
        mac: wardwatch_flow::Mac,
        kind: wardwatch_proto::ObsKind,
    ) {
        let mac = wardwatch_inventory::fmt_mac(&mac);
        let key = (mac.clone(), kind.repeat_key());
        if self.link_seen.contains(&key) {
            return;
        }
        if self.link_seen.len() >= MAX_LINK_FACTS {
            self.counters.link_dropped += 1;
            return;
        }
        self.link_seen.insert(key);
        let unspecified = (IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
        self.link_observations.push(Observation {
            origin: wardwatch_proto::Origin {
                input: meta.input,
                frame: meta.frame,
                ts_ns: meta.ts_ns,
            },
            client: unspecified,
            server: unspecified,
            subject: wardwatch_proto::Side::Client,
            mac: Some(mac),
            kind,
        });
    }

    /// Feeds a fragment to the reassembler and routes the datagram once it
    /// is whole. Duplicates of whole packets are dropped by the worker that
    /// owns their flow (both copies land there); fragments are checked here.
    fn fragment(&mut self, meta: PacketMeta, dec: &Decoded<'_>, ip: &IpPacket<'_>) {
        if self.dedup.is_duplicate(meta.ts_ns, ip) {
            return;
        }
        let Some(whole) = self.defrag.push(meta.ts_ns, ip, meta.wire_len) else {
            return;
        };
        let meta = PacketMeta {
            wire_len: whole.wire_bytes.min(u32::MAX as u64) as u32,
            ..meta
        };
        let mut data = std::mem::take(&mut self.scratch);
        data.clear();
        if synthesize_ip(&mut data, ip, whole.proto, &whole.payload) {
            self.route_raw(&meta, dec, &data);
        }
        self.scratch = data;
    }

    /// Hands a packet to the worker owning its flow: inline, this shard's
    /// own worker (the caller has checked that this shard owns it), or a
    /// worker thread through a batch (which needs the raw frame).
    fn route(
        &mut self,
        meta: &PacketMeta,
        dec: &Decoded<'_>,
        ip: &IpPacket<'_>,
        tr: &Transport<'_>,
        raw: (u32, &[u8], Option<worker::LinkOverride>),
    ) {
        match &mut self.dispatch {
            Dispatch::Inline(w) | Dispatch::Shard { worker: w, .. } => w.process(meta, dec, ip, tr),
            Dispatch::Threads { senders, .. } => {
                let shard = shard_of(ip, tr, senders.len());
                self.enqueue(shard, meta, raw.0, raw.1, raw.2);
            }
        }
    }

    /// Routes a reassembled datagram (a synthesized raw IP packet that keeps
    /// the link-layer facts of its last fragment).
    fn route_raw(&mut self, meta: &PacketMeta, outer: &Decoded<'_>, data: &[u8]) {
        let Ok(dec) = decode(wardwatch_capture::linktype::RAW, data) else {
            return;
        };
        let Network::Ip(ip) = dec.net else {
            return;
        };
        let dec = Decoded {
            src_mac: outer.src_mac,
            dst_mac: outer.dst_mac,
            bssid: outer.bssid,
            vlans: outer.vlans,
            tunnel: outer.tunnel,
            net: dec.net,
        };
        let (index, shards) = self.shard_slot();
        let Ok(tr) = transport(ip.proto, ip.payload) else {
            // Every shard reassembles every datagram; one counts the error.
            if index == 0 {
                self.counters.decode_errors += 1;
            }
            return;
        };
        if shards > 1 && shard_of(&ip, &tr, shards) != index {
            return;
        }
        let link = (outer.src_mac, outer.dst_mac, outer.vlans);
        self.route(
            meta,
            &dec,
            &ip,
            &tr,
            (wardwatch_capture::linktype::RAW, data, Some(link)),
        );
    }

    fn enqueue(
        &mut self,
        shard: usize,
        meta: &PacketMeta,
        linktype: u32,
        data: &[u8],
        link: Option<worker::LinkOverride>,
    ) {
        let Dispatch::Threads {
            senders,
            recycled,
            spare,
            batches,
            ..
        } = &mut self.dispatch
        else {
            return;
        };
        let Some(b) = batches.get_mut(shard) else {
            return;
        };
        b.push(meta, linktype, data, link);
        if b.len() >= BATCH_PACKETS {
            while let Ok(r) = recycled.try_recv() {
                spare.push(r);
            }
            let fresh = spare.pop().unwrap_or_default();
            let full = std::mem::replace(b, fresh);
            if let Some(tx) = senders.get(shard) {
                let _ = tx.send(full);
            }
        }
    }

    /// Flushes, joins the workers, ends their flows and returns everything.
    fn finish(self) -> Finished {
        let workers = match self.dispatch {
            Dispatch::Inline(w) | Dispatch::Shard { worker: w, .. } => vec![*w],
            Dispatch::Threads {
                senders,
                batches,
                handles,
                ..
            } => {
                for (tx, b) in senders.iter().zip(batches) {
                    if b.len() > 0 {
                        let _ = tx.send(b);
                    }
                }
                drop(senders);
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            }
        };
        Finished {
            link_observations: self.link_observations,
            parts: workers.into_iter().map(Worker::finish).collect(),
            fragments_reassembled: self.defrag.reassembled,
            fragment_duplicates: self.dedup.dropped,
            arp_hosts: self.arp_hosts,
            arp_digest: self.arp_digest,
            counters: self.counters,
        }
    }
}

impl Dispatcher {
    /// Copies of the observations recorded since `marks` (the worker's and
    /// the link layer's counts), which move on.
    fn observations_since(&self, marks: &mut (usize, usize)) -> Vec<Observation> {
        let Dispatch::Inline(w) = &self.dispatch else {
            return Vec::new();
        };
        let (o, l) = (w.observations(), &self.link_observations);
        let fresh: Vec<Observation> = o
            .get(marks.0..)
            .unwrap_or_default()
            .iter()
            .chain(l.get(marks.1..).unwrap_or_default())
            .cloned()
            .collect();
        *marks = (o.len(), l.len());
        fresh
    }

    /// Makes [`Dispatcher::flow_updates`] work (one inline worker only).
    fn track_live(&mut self) {
        if let Dispatch::Inline(w) = &mut self.dispatch {
            w.track_live();
        }
    }

    /// The state of the flows that saw a packet since the last call.
    fn flow_updates(&mut self) -> Vec<worker::FlowUpdate> {
        match &mut self.dispatch {
            Dispatch::Inline(w) => w.flow_updates(),
            _ => Vec::new(),
        }
    }

    /// What [`Dispatcher::finish`] would give now, leaving the analysis
    /// running (one inline worker only: live analysis), without the
    /// observations (see `Worker::snapshot`).
    fn snapshot(&self) -> Option<Finished> {
        let Dispatch::Inline(w) = &self.dispatch else {
            return None;
        };
        Some(Finished {
            link_observations: Vec::new(),
            parts: vec![w.snapshot()],
            fragments_reassembled: self.defrag.reassembled,
            fragment_duplicates: self.dedup.dropped,
            arp_hosts: self.arp_hosts.clone(),
            arp_digest: self.arp_digest.clone(),
            counters: self.counters.clone(),
        })
    }
}

/// What a dispatcher leaves when its input is done.
struct Finished {
    link_observations: Vec<Observation>,
    parts: Vec<worker::Finished>,
    fragments_reassembled: u64,
    fragment_duplicates: u64,
    arp_hosts: HostTable,
    arp_digest: FlowDigest,
    counters: Counters,
}

/// The worker owning a packet's flow: a symmetric hash (of the two
/// addresses in order, so both directions agree) of protocol, addresses
/// and ports.
/// Cheaper than building the canonical flow key on the reading thread. Not
/// of the VLAN or tunnel: a mirrored copy of a packet may carry another tag
/// than the original, and both must reach the worker that drops copies
/// (flows of one 5-tuple on two VLANs stay two flows, in one worker).
fn shard_of(ip: &IpPacket<'_>, tr: &Transport<'_>, n: usize) -> usize {
    fn fold(a: IpAddr) -> u64 {
        match a {
            IpAddr::V4(v) => v.to_bits() as u64,
            IpAddr::V6(v) => {
                let b = v.to_bits();
                (b as u64) ^ ((b >> 64) as u64)
            }
        }
    }
    let (sp, dp) = tr.ports();
    shard_hash(fold(ip.src), fold(ip.dst), sp ^ dp, ip.proto, n)
}

/// A worker's fact keys, or the keys computed afresh when they do not
/// match its observations (a live watch hands on its own copies).
fn fact_keys_of(keys: Vec<Option<u64>>, observations: &[Observation]) -> Vec<Option<u64>> {
    if keys.len() == observations.len() {
        keys
    } else {
        observations.iter().map(Observation::fact_key).collect()
    }
}

/// The shard of a flow from its parts (see [`shard_of`]): the two
/// addresses are taken lower first, not XORed together. An XOR of the ends
/// is the same for every pair of hosts whose addresses differ in the same
/// bits (a renumbered copy of a subnet, mirrored sites, address-rewriting
/// tools): those flows would all fall on one worker.
fn shard_hash(a: u64, b: u64, ports: u16, proto: u8, n: usize) -> usize {
    // MurmurHash3's 64-bit finaliser: every input bit reaches every output
    // bit, so flows that differ only in a port still spread.
    fn mix(mut h: u64) -> u64 {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let h = mix(mix(lo ^ ((ports as u64) << 32) ^ ((proto as u64) << 48)) ^ hi);
    ((h as u128 * n.max(1) as u128) >> 64) as usize
}

/// The shard that follows an address's ARP and neighbour discovery
/// claims.
fn addr_shard(a: IpAddr, shards: usize) -> usize {
    let bits = match a {
        IpAddr::V4(a) => u64::from(a.to_bits()),
        IpAddr::V6(a) => {
            let b = a.to_bits();
            (b >> 64) as u64 ^ b as u64
        }
    };
    (bits % shards.max(1) as u64) as usize
}

/// The shard of an untagged Ethernet/IPv4 TCP or UDP frame read straight
/// from its bytes, or `None` when the frame needs the full decoder (tags,
/// options, fragments, tunnels, short headers). Where it answers, it answers
/// exactly what [`shard_of`] answers after decoding.
fn fast_shard(linktype: u32, d: &[u8], n: usize) -> Option<usize> {
    if linktype != wardwatch_capture::linktype::ETHERNET {
        return None;
    }
    // Ethernet, an IPv4 header without options, and the ports: one bounds
    // check for all the fixed places read (a frame any shorter carries no
    // whole UDP or TCP header).
    let h: &[u8; 42] = d.first_chunk()?;
    if h[12..15] != [0x08, 0x00, 0x45] {
        return None;
    }
    let total = u16::from_be_bytes([h[16], h[17]]) as usize;
    // Fragment offset or more-fragments set.
    if total < 20 || h[20] & 0x3F != 0 || h[21] != 0 {
        return None;
    }
    // The transport bytes both the IP length and the capture hold.
    let payload = total.min(d.len() - 14) - 20;
    let proto = h[23];
    let sp = u16::from_be_bytes([h[34], h[35]]);
    let dp = u16::from_be_bytes([h[36], h[37]]);
    match proto {
        6 => {
            if payload < 20 || (*d.get(46)? >> 4) < 5 {
                return None;
            }
        }
        17 => {
            // Tunnels the decoder looks inside.
            if payload < 8 || matches!(dp, 4789 | 8472) || sp == 5247 || dp == 5247 {
                return None;
            }
        }
        _ => return None,
    }
    let src = u32::from_be_bytes([h[26], h[27], h[28], h[29]]) as u64;
    let dst = u32::from_be_bytes([h[30], h[31], h[32], h[33]]) as u64;
    Some(shard_hash(src, dst, sp ^ dp, proto, n))
}

/// Writes a raw IPv4/IPv6 packet carrying a reassembled payload.
fn synthesize_ip(out: &mut Vec<u8>, ip: &IpPacket<'_>, proto: u8, payload: &[u8]) -> bool {
    match (ip.src, ip.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = 20 + payload.len();
            let Ok(total) = u16::try_from(total) else {
                return false;
            };
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&ip.ident.to_be_bytes());
            out.extend_from_slice(&[0, 0, ip.ttl, proto, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let Ok(plen) = u16::try_from(payload.len()) else {
                return false;
            };
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&plen.to_be_bytes());
            out.extend_from_slice(&[proto, ip.ttl]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        _ => return false,
    }
    out.extend_from_slice(payload);
    true
}

/// Inputs read once for all workers (see [`analyze_files`]).
const MAX_SHARED_INPUTS: usize = 8;

/// Analyses capture files as one site and builds the report.
///
/// With several threads each one parses every record of the files and keeps
/// the flows that hash to it (no packet is copied between threads); a plain
/// file is read once for all of them, in chunks each parses in place
/// (`wardwatch_capture::open_shared`).
pub fn analyze_files(paths: &[PathBuf], cfg: &EngineConfig) -> Result<Outcome, EngineError> {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    if cfg.threads <= 1 {
        return analyze_source(MergedSource::open(paths)?, names, cfg);
    }
    let n = cfg.threads;
    let started = Instant::now();
    // Each plain file is read once for all workers (see
    // `wardwatch_capture::open_shared`): shares[i] holds worker i's share of
    // every input that has them. A shared file holds up to seven 1 MiB
    // chunks where a worker's own reader holds one: past a few inputs each
    // worker reads its own, and memory stays as it was.
    let mut shares: Vec<Vec<Option<wardwatch_capture::Share>>> =
        (0..n).map(|_| Vec::with_capacity(paths.len())).collect();
    for (k, p) in paths.iter().enumerate() {
        // Not shared (or not openable): opened by each worker, which
        // reports any error.
        let mut of_file = (k < MAX_SHARED_INPUTS)
            .then(|| wardwatch_capture::open_shared(p, n).ok().flatten())
            .flatten()
            .map(Vec::into_iter);
        for w in &mut shares {
            w.push(of_file.as_mut().and_then(Iterator::next));
        }
    }
    let results: Vec<Result<(Finished, InputReport), EngineError>> = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(i, mine)| {
                let names = &names;
                s.spawn(move || -> Result<(Finished, InputReport), EngineError> {
                    let src = MergedSource::open_shares(paths, mine)?;
                    let d = Dispatcher::shard(cfg, names.len(), i, n);
                    let (f, inputs) = read_all(src, d, names, cfg.progress && i == 0)?;
                    let t_read = started.elapsed();
                    if std::env::var_os("WARDWATCH_TIMING").is_some() {
                        eprintln!(
                            "timing: shard {i} read {:.3}s ({} packets, {} MB)",
                            t_read.as_secs_f64(),
                            f.counters.packets,
                            f.counters.bytes >> 20
                        );
                    }
                    Ok((f, inputs))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EngineError::Internal(
                        "a flow worker stopped unexpectedly".into(),
                    ))
                })
            })
            .collect()
    });
    let mut primary: Option<(Finished, InputReport)> = None;
    for r in results {
        let (f, inputs) = r?;
        match &mut primary {
            None => primary = Some((f, inputs)),
            Some((first, _)) => {
                // Frame counters are partitioned between shards; fragment
                // reassembly ran in every shard, so the first one's counts
                // stand for all.
                first.parts.extend(f.parts);
                first.arp_hosts.merge(f.arp_hosts);
                first.arp_digest.merge(f.arp_digest);
                first.link_observations.extend(f.link_observations);
                first.counters.add(&f.counters);
            }
        }
    }
    let Some((first, inputs)) = primary else {
        return Err(EngineError::Internal("no worker ran".into()));
    };
    let read_done = started.elapsed();
    let out = assemble(first, cfg, names, inputs, None);
    timing(started, read_done);
    Ok(out)
}

/// Reads every packet of `src` through `d` (with a progress bar when asked
/// and the input is large) and finishes the dispatcher.
fn read_all(
    mut src: MergedSource,
    mut d: Dispatcher,
    names: &[String],
    progress: bool,
) -> Result<(Finished, InputReport), EngineError> {
    let bar = progress_bar(progress, src.total_bytes);
    src.for_each(
        |i, p| d.packet(i, p),
        |done| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let inputs = input_report(&src, names);
    Ok((d.finish(), inputs))
}

/// Counters and warnings of the inputs themselves.
struct InputReport {
    warnings: Vec<InputWarning>,
    truncated: u64,
    corrupt: u64,
}

fn input_report(src: &MergedSource, names: &[String]) -> InputReport {
    let mut r = InputReport {
        warnings: Vec::new(),
        truncated: 0,
        corrupt: 0,
    };
    for (reader, name) in src.readers().iter().zip(names) {
        r.truncated += reader.snaplen_truncated() + reader.truncated_records();
        r.corrupt += reader.corrupt_blocks();
        for i in reader.issues() {
            r.warnings.push(InputWarning {
                input: name.clone(),
                offset: i.offset,
                message: i.message.clone(),
            });
        }
    }
    r
}

fn timing(started: Instant, read_done: Duration) {
    if std::env::var_os("WARDWATCH_TIMING").is_some() {
        eprintln!(
            "timing: read+flows {:.3}s, assemble {:.3}s, peak RSS {} MB",
            read_done.as_secs_f64(),
            (started.elapsed() - read_done).as_secs_f64(),
            peak_rss_mb()
        );
    }
}

/// Step times of the assembly, printed with `WARDWATCH_TIMING`.
struct Laps {
    on: bool,
    last: Instant,
}

impl Laps {
    fn new() -> Laps {
        Laps {
            on: std::env::var_os("WARDWATCH_TIMING").is_some(),
            last: Instant::now(),
        }
    }

    fn at(&mut self, step: &str) {
        if self.on {
            eprintln!(
                "timing:   {step} {:.3}s (RSS {} MB, peak {} MB)",
                self.last.elapsed().as_secs_f64(),
                status_mb("VmRSS:"),
                peak_rss_mb()
            );
            self.last = Instant::now();
        }
    }
}

/// Peak resident memory of this process so far, in MB (Linux; 0 elsewhere),
/// for the `WARDWATCH_TIMING` diagnostics.
fn peak_rss_mb() -> u64 {
    status_mb("VmHWM:")
}

/// A memory figure of `/proc/self/status` in MB (Linux; 0 elsewhere).
fn status_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Analyses a capture held in memory (the bundled demo sample).
pub fn analyze_bytes(
    name: &str,
    bytes: &'static [u8],
    cfg: &EngineConfig,
) -> Result<Outcome, EngineError> {
    let r = wardwatch_capture::CaptureReader::from_reader(name, Box::new(bytes))?;
    analyze_source(
        MergedSource::from_readers(vec![r]),
        vec![name.to_string()],
        cfg,
    )
}

fn analyze_source(
    src: MergedSource,
    names: Vec<String>,
    cfg: &EngineConfig,
) -> Result<Outcome, EngineError> {
    let started = Instant::now();
    let d = Dispatcher::new(cfg, names.len());
    let (finished, inputs) = read_all(src, d, &names, cfg.progress)?;
    let read_done = started.elapsed();
    let out = assemble(finished, cfg, names, inputs, None);
    timing(started, read_done);
    Ok(out)
}

/// Captures live from `iface` for `duration` and builds the report.
pub fn analyze_live(
    iface: &str,
    filter: Option<&str>,
    duration: Duration,
    cfg: &EngineConfig,
) -> Result<Outcome, EngineError> {
    use wardwatch_capture::live::{LiveCapture, LiveEvent};
    let mut cap = LiveCapture::open(iface, filter, 65_535)?;
    let mut d = Dispatcher::new(cfg, 1);
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        match cap.poll()? {
            LiveEvent::Packet(p) => d.packet(0, &p),
            LiveEvent::Idle => {}
        }
    }
    let drops = cap.stats();
    let names = vec![format!("iface:{iface}")];
    let inputs = InputReport {
        warnings: Vec::new(),
        truncated: 0,
        corrupt: 0,
    };
    Ok(assemble(
        d.finish(),
        cfg,
        names,
        inputs,
        Some(drops.kernel_drops + drops.iface_drops),
    ))
}

/// How a live watch paces its analyses.
#[derive(Debug, Clone, Copy)]
pub struct WatchPace {
    /// Stop after this long (zero: never).
    pub duration: Duration,
    /// What arrived since the last tick (observations, flows that saw
    /// packets) goes through the live rules this often (see
    /// `wardwatch_detect::live`).
    pub tick: Duration,
    /// All the flow rules (exfiltration, beaconing, baselines, new peers,
    /// tunnels besides the live ones) run on the behaviour thread's digest
    /// this often (or five times their last run time), with the devices of
    /// the last full analysis.
    pub behaviour: Duration,
    /// The whole pipeline (inventory, behaviour, risk) runs on a snapshot
    /// this often, or as soon as the previous one is done if it took longer.
    pub full: Duration,
    /// Bytes kept of each frame. The kernel's capture ring holds frames in
    /// slots of this size, so a smaller one buffers more packets (2048:
    /// 65,000 in the 128 MB ring; 65535: 2,000).
    pub snaplen: i32,
}

/// Watches a live interface. Four threads: capture (decode, flows,
/// dissectors; every `tick` it hands on the observations and the state of
/// the flows that saw a packet since the last tick); events (the live rules
/// on each tick's delta: single-event rules, scans, indicator addresses,
/// exposure, failed logins; see `wardwatch_detect::live`); behaviour (every
/// `behaviour`, the flow rules on its own copy of the digest, kept from the
/// flow updates, with the devices of the last full analysis); full analysis
/// (every `full`, the whole pipeline on its own hosts table, kept from the
/// flow updates like the behaviour pass's digest, the observations so far
/// and the behaviour pass's digest). The capture thread copies nothing but
/// counters and the ARP tables. `on_findings` gets each batch of
/// findings as it is made, the final analysis's last; the final outcome is
/// returned.
pub fn watch_live(
    iface: &str,
    filter: Option<&str>,
    pace: WatchPace,
    cfg: &EngineConfig,
    on_findings: impl FnMut(&[wardwatch_model::Finding]) + Send,
) -> Result<Outcome, EngineError> {
    use std::sync::Mutex;
    use wardwatch_capture::live::{LiveCapture, LiveEvent};
    let mut cap = LiveCapture::open(iface, filter, pace.snaplen)?;
    // The full passes lend their observations to each analysis and take
    // them back from its outcome.
    let single = EngineConfig {
        threads: 1,
        collect_observations: true,
        ..cfg.clone()
    };
    let mut d = Dispatcher::new(&single, 1);
    d.track_live();
    let names = vec![format!("iface:{iface}")];
    let no_issues = || InputReport {
        warnings: Vec::new(),
        truncated: 0,
        corrupt: 0,
    };
    let on = Mutex::new(on_findings);
    let deliver = |f: &[wardwatch_model::Finding]| {
        if let Ok(mut cb) = on.lock() {
            cb(f);
        }
    };
    let devices: Mutex<std::sync::Arc<Vec<wardwatch_model::Device>>> = Mutex::default();
    let (behaviour, full) = (Pass::new(pace.behaviour), Pass::new(pace.full));
    let started = Instant::now();
    // The digest as the last behaviour pass saw it, for the full pass.
    let latest_digest: Mutex<Option<std::sync::Arc<FlowDigest>>> = Mutex::default();
    let result: Result<(), EngineError> = std::thread::scope(|s| {
        let (ev_tx, ev_rx) = mpsc::channel::<(Vec<Observation>, Updates)>();
        let (full_tx, full_rx) = mpsc::channel::<ToPass<(Box<Finished>, Option<u64>)>>();
        let (be_tx, be_rx) = mpsc::channel::<ToPass<Box<FlowDigest>>>();
        let (single, names, devices, deliver, full, behaviour, latest_digest) = (
            &single,
            &names,
            &devices,
            &deliver,
            &full,
            &behaviour,
            &latest_digest,
        );
        let devices_now = move || devices.lock().map(|d| d.clone()).unwrap_or_default();
        s.spawn(move || {
            let keeper = std::cell::RefCell::new(Keeper::new(
                FlowDigest::new(single.detect_config.max_pairs).with_local(single.local.clone()),
            ));
            behaviour.serve(
                be_rx,
                wardwatch_detect::behaviour::reads,
                |flows| keeper.borrow_mut().update(flows),
                |all, arp| {
                    let mut digest = keeper.borrow().snapshot();
                    digest.merge(*arp);
                    let devs = devices_now();
                    let input = single.detect_input(names, &devs, all, &digest, &single.local);
                    let mut f = wardwatch_detect::detect_behaviour(&input);
                    single.suppressions.apply(&mut f);
                    if !f.is_empty() {
                        deliver(&f);
                    }
                    if let Ok(mut l) = latest_digest.lock() {
                        *l = Some(std::sync::Arc::new(digest));
                    }
                },
            );
        });
        s.spawn(move || {
            let empty = FlowDigest::new(0);
            let mut live = wardwatch_detect::live::LiveRules::new(single.detect_config.max_pairs);
            while let Ok((obs, flows)) = ev_rx.recv() {
                let devs = devices_now();
                let input = single.detect_input(names, &devs, &obs, &empty, &single.local);
                let flows: Vec<wardwatch_detect::live::LiveFlow> = flows
                    .iter()
                    .filter_map(|u| {
                        Some(wardwatch_detect::live::LiveFlow {
                            fact: u.fact()?,
                            ended: u.ended,
                        })
                    })
                    .collect();
                let mut f = live.tick(&input, &flows, wardwatch_model::time::now_ns());
                single.suppressions.apply(&mut f);
                if !f.is_empty() {
                    deliver(&f);
                }
            }
        });
        s.spawn(move || {
            let hosts = std::cell::RefCell::new(Keeper::new(
                HostTable::new(single.max_hosts).with_local(single.local.clone()),
            ));
            full.serve(
                full_rx,
                |_| true,
                |flows| hosts.borrow_mut().update(flows),
                |all, (mut snap, drops)| {
                    let digest = latest_digest.lock().ok().and_then(|l| l.clone());
                    if let Some(part) = snap.parts.first_mut() {
                        part.1.hosts = hosts.borrow().snapshot();
                        // Lent to the analysis, which hands them back.
                        part.1.observations = std::mem::take(all);
                        complete_wifi_stations(&mut part.1.observations);
                        if let Some(d) = digest {
                            part.1.digest = std::sync::Arc::unwrap_or_clone(d);
                        }
                    }
                    let mut o = assemble(*snap, single, names.clone(), no_issues(), drops);
                    *all = std::mem::take(&mut o.observations);
                    deliver(&o.report.findings);
                    if let Ok(mut d) = devices.lock() {
                        *d = std::sync::Arc::new(o.report.devices);
                    }
                },
            );
        });
        let mut last_tick = Instant::now();
        let (mut be_due, mut full_due) = (Due::default(), Due::default());
        let mut marks = (0usize, 0usize);
        let flush = |d: &mut Dispatcher, marks: &mut (usize, usize)| {
            let fresh = d.observations_since(marks);
            let flows: Updates = std::sync::Arc::new(d.flow_updates());
            if !fresh.is_empty() {
                let _ = full_tx.send(ToPass::Observations(fresh.clone()));
                let _ = be_tx.send(ToPass::Observations(fresh.clone()));
            }
            if !flows.is_empty() {
                let _ = be_tx.send(ToPass::Flows(flows.clone()));
                let _ = full_tx.send(ToPass::Flows(flows.clone()));
            }
            // Even empty: probes waiting for an answer come due.
            let _ = ev_tx.send((fresh, flows));
        };
        while pace.duration.is_zero() || started.elapsed() < pace.duration {
            match cap.poll()? {
                LiveEvent::Packet(p) => {
                    d.packet(0, &p);
                    be_due.packets += 1;
                    full_due.packets += 1;
                }
                LiveEvent::Idle => {}
            }
            if last_tick.elapsed() >= pace.tick {
                flush(&mut d, &mut marks);
                last_tick = Instant::now();
            }
            if be_due.check(behaviour) {
                flush(&mut d, &mut marks);
                behaviour.begin();
                let _ = be_tx.send(ToPass::Run(Box::new(d.arp_digest.clone())));
                be_due.restart();
            }
            if full_due.check(full) {
                flush(&mut d, &mut marks);
                if let Some(snap) = d.snapshot() {
                    full.begin();
                    let drops = cap.stats();
                    let _ = full_tx.send(ToPass::Run((
                        Box::new(snap),
                        Some(drops.kernel_drops + drops.iface_drops),
                    )));
                }
                full_due.restart();
            }
        }
        Ok(())
    });
    result?;
    let drops = cap.stats();
    let o = assemble(
        d.finish(),
        &single,
        names,
        no_issues(),
        Some(drops.kernel_drops + drops.iface_drops),
    );
    deliver(&o.report.findings);
    Ok(o)
}

/// The flow updates of one tick, shared by the threads that read them.
type Updates = std::sync::Arc<Vec<worker::FlowUpdate>>;

/// What a watch's analysis thread receives: the observations new since the
/// last batch (it keeps them all), flow updates, or a run of its pass on
/// `T`.
enum ToPass<T> {
    Observations(Vec<Observation>),
    Flows(Updates),
    Run(T),
}

/// A table a watch's pass keeps from the flow updates of each tick, so
/// that the capture thread never copies it (a copy of 262,144 digest pairs
/// took it 0.1 s: 10,000 packets at 100 kpps): ended flows are folded in
/// once, open ones held in their latest state and folded into a copy at
/// each pass.
trait Kept: Clone {
    /// What is held of an open flow.
    type Open;
    /// That of `u`, if this table takes `u` at all.
    fn open(u: &worker::FlowUpdate) -> Option<Self::Open>;
    /// Folds a flow in.
    fn fold(&mut self, o: &Self::Open);
    /// Whether an open flow counts yet, as of packet time `now`.
    fn counts(_o: &Self::Open, _now: i64) -> bool {
        true
    }
    /// Folds in what an update adds whether its flow is open or not (what
    /// happened since the flow's last update).
    fn deltas(&mut self, _u: &worker::FlowUpdate) {}
}

/// The full pass's hosts table.
impl Kept for HostTable {
    type Open = wardwatch_flow::FlowInfo;
    fn open(u: &worker::FlowUpdate) -> Option<Self::Open> {
        Some(u.info.clone())
    }
    fn fold(&mut self, info: &Self::Open) {
        worker::fold_hosts(self, info);
    }
}

/// What the behaviour pass holds of an open flow: its conversation (TCP,
/// UDP) or the ping it is (ICMP echo, for the sweep rule).
#[derive(Clone)]
enum DigestOpen {
    Fact(FlowFact),
    Echo(wardwatch_flow::FlowInfo),
}

/// The behaviour pass's flow digest (TCP and UDP flows, pings).
impl Kept for FlowDigest {
    type Open = DigestOpen;
    fn open(u: &worker::FlowUpdate) -> Option<Self::Open> {
        if u.echo {
            return Some(DigestOpen::Echo(u.info.clone()));
        }
        u.fact().map(DigestOpen::Fact)
    }
    fn fold(&mut self, o: &Self::Open) {
        match o {
            DigestOpen::Fact(f) => self.add(f),
            DigestOpen::Echo(info) => worker::fold_echo(self, info),
        }
    }
    /// Echo requests, per second as they came (for the ping flood rule).
    fn deltas(&mut self, u: &worker::FlowUpdate) {
        worker::fold_requests(self, u);
    }
    /// Not while it waits for an answer: a client that opened many
    /// connections (or pinged many hosts) a moment ago is no scanner.
    fn counts(o: &Self::Open, now: i64) -> bool {
        match o {
            DigestOpen::Fact(f) => !f.awaiting_answer(now),
            DigestOpen::Echo(info) => {
                info.dirs[1].packets > 0
                    || now.saturating_sub(info.last_ts) >= wardwatch_detect::live::PROBE_GRACE_NS
            }
        }
    }
}

/// A [`Kept`] table and the open flows not folded into it.
struct Keeper<T: Kept> {
    table: T,
    open: std::collections::HashMap<
        (wardwatch_flow::FlowKey, i64),
        T::Open,
        foldhash::fast::RandomState,
    >,
    /// The latest packet time seen.
    now: i64,
}

impl<T: Kept> Keeper<T> {
    fn new(table: T) -> Self {
        Keeper {
            table,
            open: Default::default(),
            now: i64::MIN,
        }
    }

    fn update(&mut self, flows: &[worker::FlowUpdate]) {
        for u in flows {
            self.table.deltas(u);
            let Some(o) = T::open(u) else { continue };
            self.now = self.now.max(u.info.last_ts);
            if u.ended {
                self.open.remove(&u.id());
                self.table.fold(&o);
            } else {
                self.open.insert(u.id(), o);
            }
        }
    }

    /// The table with the open flows that count folded in, in the order
    /// they began (the flood rules count attempts per second, and follow a
    /// target once its attempts come close together).
    fn snapshot(&self) -> T {
        let mut t = self.table.clone();
        let mut open: Vec<(i64, &T::Open)> = self
            .open
            .iter()
            .filter(|(_, o)| T::counts(o, self.now))
            .map(|((_, first), o)| (*first, o))
            .collect();
        open.sort_unstable_by_key(|(first, _)| *first);
        for (_, o) in open {
            t.fold(o);
        }
        t
    }
}

/// A periodic analysis pass of a live watch, on its own thread. It may
/// start again when the previous run is done and its period has passed,
/// stretched to five times the last run's time: the passes take at most
/// about a sixth of the time, and the capture thread keeps up with the wire.
struct Pass {
    every: Duration,
    busy: std::sync::atomic::AtomicBool,
    cost_ms: std::sync::atomic::AtomicU64,
}

impl Pass {
    fn new(every: Duration) -> Self {
        Pass {
            every,
            busy: Default::default(),
            cost_ms: Default::default(),
        }
    }

    fn ready(&self, since: Instant) -> bool {
        let cost = Duration::from_millis(self.cost_ms.load(Ordering::Acquire));
        !self.busy.load(Ordering::Acquire) && since.elapsed() >= self.every.max(cost * 5)
    }

    fn begin(&self) {
        self.busy.store(true, Ordering::Release);
    }

    /// The thread's loop: keeps the observations, runs the pass on each
    /// `Run` and records its time.
    fn serve<T>(
        &self,
        rx: mpsc::Receiver<ToPass<T>>,
        keep: impl Fn(&Observation) -> bool,
        mut flows: impl FnMut(&[worker::FlowUpdate]),
        mut run: impl FnMut(&mut Vec<Observation>, T),
    ) {
        let mut all: Vec<Observation> = Vec::new();
        while let Ok(m) = rx.recv() {
            match m {
                ToPass::Observations(o) => all.extend(o.into_iter().filter(|o| keep(o))),
                ToPass::Flows(f) => flows(&f),
                ToPass::Run(x) => {
                    let t = Instant::now();
                    run(&mut all, x);
                    self.cost_ms
                        .store(t.elapsed().as_millis() as u64, Ordering::Release);
                    self.busy.store(false, Ordering::Release);
                }
            }
        }
    }
}

/// The capture thread's side of a [`Pass`]: when it last started one and
/// how many packets came since.
struct Due {
    last: Instant,
    packets: u64,
}

impl Default for Due {
    fn default() -> Self {
        Due {
            last: Instant::now(),
            packets: 0,
        }
    }
}

impl Due {
    /// Whether to start `pass` now.
    fn check(&self, pass: &Pass) -> bool {
        self.packets > 0 && pass.ready(self.last)
    }

    /// The pass was handed its work: the clock (from now, after the
    /// snapshot) and the count restart.
    fn restart(&mut self) {
        self.last = Instant::now();
        self.packets = 0;
    }
}

fn progress_bar(enabled: bool, total: u64) -> Option<indicatif::ProgressBar> {
    if !enabled || total < (64 << 20) {
        return None;
    }
    let b = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} {bar:40} {bytes_per_sec} eta {eta}",
    ) {
        b.set_style(style);
    }
    Some(b)
}

/// Wi-Fi stations learn their network's name and security from its access
/// point's beacons (before the facts' keys are taken: a completed station
/// fact is the one kept). Link-layer facts only, which an analysis holds
/// apart from its workers' and a watch's pass among them all.
fn complete_wifi_stations(observations: &mut [Observation]) {
    wardwatch_proto::wlan::complete_stations(
        &mut observations
            .iter_mut()
            .filter_map(|o| match &mut o.kind {
                wardwatch_proto::ObsKind::Wifi(f) => Some(&mut **f),
                _ => None,
            })
            .collect::<Vec<_>>(),
    );
}

fn assemble(
    f: Finished,
    cfg: &EngineConfig,
    names: Vec<String>,
    inputs_report: InputReport,
    kernel_drops: Option<u64>,
) -> Outcome {
    let t0 = Instant::now();
    let mut lap = Laps::new();
    // Memory as the assembly starts (its time is the next lap's).
    lap.at("assembly starts");
    let counters = f.counters;
    let mut hosts = HostTable::new(cfg.max_hosts).with_local(cfg.local.clone());
    hosts.merge(f.arp_hosts);
    let mut stats = Stats {
        packets: counters.packets,
        bytes: counters.bytes,
        decode_errors: counters.decode_errors + inputs_report.corrupt,
        truncated: inputs_report.truncated,
        duplicates_dropped: f.fragment_duplicates,
        fragments_reassembled: f.fragments_reassembled,
        tunneled: counters.tunneled,
        observations_dropped: counters.link_dropped,
        kernel_drops,
        ..Default::default()
    };
    if let Some(first) = counters.first_ts {
        stats.duration_s = (counters.last_ts - first) as f64 / 1e9;
    }
    let mut flows = Vec::new();
    let mut observations = f.link_observations;
    complete_wifi_stations(&mut observations);
    let mut fact_keys: Vec<Option<u64>> = observations.iter().map(Observation::fact_key).collect();
    let mut parts = f.parts;
    // Merge into the largest tables rather than rehash everything (and
    // never hold a second copy of the largest).
    if let Some(big) = (0..parts.len()).max_by_key(|i| parts[*i].1.hosts.len()) {
        let base = std::mem::take(&mut parts[big].1.hosts);
        let arp = std::mem::replace(&mut hosts, base);
        // A worker's table was sized for its share; it now holds the run's.
        hosts.set_cap(cfg.max_hosts);
        hosts.merge(arp);
    }
    let mut digest = match (0..parts.len()).max_by_key(|i| parts[*i].1.digest.pairs.len()) {
        Some(big) => std::mem::replace(&mut parts[big].1.digest, FlowDigest::new(0)),
        None => FlowDigest::new(0),
    };
    digest.cap = cfg.detect_config.max_pairs;
    digest.merge(f.arp_digest);
    // Each worker keeps a fact once, and the link-layer facts carry a MAC
    // that no worker's do: only facts of two workers can repeat each other.
    // Observations without their worker's keys (a live watch lends the
    // facts of all its workers to one part) count as several workers'.
    let observing: usize = parts
        .iter()
        .map(|(_, sink, _)| match sink.observations.len() {
            0 => 0,
            n if n == sink.fact_keys.len() => 1,
            _ => 2,
        })
        .sum();
    if let Some(big) = (0..parts.len()).max_by_key(|i| parts[*i].1.observations.len()) {
        let base = std::mem::take(&mut parts[big].1.observations);
        let base_keys = fact_keys_of(std::mem::take(&mut parts[big].1.fact_keys), &base);
        let link = std::mem::replace(&mut observations, base);
        let link_keys = std::mem::replace(&mut fact_keys, base_keys);
        observations.extend(link);
        fact_keys.extend(link_keys);
    }
    let (mut shard_hosts, mut shard_digests) = (Vec::new(), Vec::new());
    for (table_stats, sink, dup) in parts {
        stats.observations_dropped += sink.observations_dropped;
        stats.observations_repeated += sink.observations_repeated;
        stats.decode_errors += sink.proto_errors;
        stats.dissection_shed += sink.dissection_shed;
        fact_keys.extend(fact_keys_of(sink.fact_keys, &sink.observations));
        observations.extend(sink.observations);
        stats.duplicates_dropped += dup;
        stats.flows += table_stats.created;
        stats.evicted_flows += table_stats.evicted;
        stats.reassembly_gaps += table_stats.reassembly_gaps;
        stats.peak_flows += table_stats.peak_flows;
        shard_hosts.push(sink.hosts);
        shard_digests.push(sink.digest);
        flows.extend(sink.flows);
    }
    // The shards' host tables and digests merged side by side.
    let merge_hosts = || {
        for h in shard_hosts {
            hosts.merge(h);
        }
    };
    let merge_digests = || {
        for d in shard_digests {
            digest.merge(d);
        }
    };
    if cfg.threads > 1 {
        std::thread::scope(|s| {
            s.spawn(merge_hosts);
            merge_digests();
        });
    } else {
        merge_hosts();
        merge_digests();
    }
    stats.evicted_hosts = hosts.evicted;
    // A site on public address space nobody configured (or IPv6 global
    // addresses): its hosts' own packets say they are on the link. Blocks
    // the site named decide alone.
    let local = if cfg.local.configured() {
        cfg.local.clone()
    } else {
        cfg.local
            .clone()
            .with_learned(hosts.on_link_outside(&cfg.local))
    };
    let t_merge = t0.elapsed();
    let rss_at_merge = if std::env::var_os("WARDWATCH_TIMING").is_some() {
        peak_rss_mb()
    } else {
        0
    };
    let t_join = std::time::Duration::ZERO;
    lap.at("merge shards");
    let input_names = InputNames::new(&names);
    // Ordering the flows and observations and building the devices from
    // the hosts need nothing of each other: with a second thread they run
    // side by side.
    let order = |flows: &mut Vec<FlowRecord>,
                 observations: &mut Vec<Observation>,
                 keys: Vec<Option<u64>>| {
        // Keys sorted, elements moved once (flows and observations are large).
        flows.sort_by_cached_key(|f| (f.first_frame, f.first_ts));
        let mut repeated = 0;
        if observing >= 2 && !cfg.keep_repeats {
            // Workers drop repeats within their shard; the same fact seen
            // on flows of two shards is dropped here, keeping the earliest
            // (the one the stable sort below puts first).
            let mut first: std::collections::HashMap<
                u64,
                ((i64, u16, u64), usize),
                foldhash::fast::FixedState,
            > = std::collections::HashMap::default();
            for (i, (o, k)) in observations.iter().zip(&keys).enumerate() {
                if let Some(k) = k {
                    let here = (o.seen_at(), i);
                    first
                        .entry(*k)
                        .and_modify(|e| *e = (*e).min(here))
                        .or_insert(here);
                }
            }
            let before = observations.len();
            let mut i = 0;
            observations.retain(|_| {
                let keep = match keys.get(i) {
                    Some(Some(k)) => first.get(k).is_some_and(|e| e.1 == i),
                    _ => true,
                };
                i += 1;
                keep
            });
            repeated = (before - observations.len()) as u64;
        }
        observations.sort_by_cached_key(Observation::seen_at);
        repeated
    };
    let build = || {
        wardwatch_inventory::build_devices_threads(
            &hosts,
            &cfg.site,
            &local,
            &input_names,
            cfg.threads,
        )
    };
    let (repeated, mut devices) = if cfg.threads > 1 {
        std::thread::scope(|s| {
            let ordered = s.spawn(|| order(&mut flows, &mut observations, fact_keys));
            let devices = build();
            let repeated = ordered
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (repeated, devices)
        })
    } else {
        (order(&mut flows, &mut observations, fact_keys), build())
    };
    stats.observations_repeated += repeated;
    let talkers = top_talkers(&hosts);
    let host_count = hosts.len();
    // The host table has given all it had (devices, talkers): its memory
    // goes back before the evidence and findings are made, the run's peak.
    // With several threads its boxes came from every shard's heap, and
    // freeing them (15 ms on the 1 GB hospital benchmark, three times the
    // one-thread figure) overlaps the next steps on another thread.
    let dropping = if cfg.threads > 1 {
        Some(std::thread::spawn(move || drop(hosts)))
    } else {
        drop(hosts);
        None
    };
    lap.at("order observations, build devices");
    wardwatch_inventory::add_mac_only_devices(&mut devices, &observations, &cfg.site);
    let mut devices = wardwatch_inventory::apply_observations_threads(
        devices,
        &observations,
        &input_names,
        cfg.threads,
    );
    lap.at("apply observations");
    wardwatch_inventory::assets::apply_corrections(&mut devices, &cfg.corrections);
    let feeds = match &cfg.intel {
        Some(intel) => {
            intel.apply(wardwatch_inventory::kb::kb(), &mut devices);
            intel.feeds()
        }
        None => Vec::new(),
    };
    lap.at("intel");
    let mut findings = if cfg.detect {
        wardwatch_detect::detect(&cfg.detect_input(
            &names,
            &devices,
            &observations,
            &digest,
            &local,
        ))
    } else {
        Vec::new()
    };
    lap.at("detect");
    cfg.suppressions.apply(&mut findings);
    let devices = wardwatch_risk::rank(devices, &findings, &cfg.risk);
    lap.at("rank");
    if let Some(d) = dropping {
        // Freeing cannot fail; a panic there is the allocator's, re-raised.
        d.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
    }
    stats.digest_dropped = digest.dropped;
    let spent_observations = if cfg.collect_observations {
        Vec::new()
    } else {
        std::mem::take(&mut observations)
    };
    let t_dev = t0.elapsed();
    if std::env::var_os("WARDWATCH_TIMING").is_some() {
        eprintln!(
            "timing: join {:.3}s merge {:.3}s devices {:.3}s ({} hosts, {} devices, {} observations; peak RSS {} MB, {} MB at merge)",
            t_join.as_secs_f64(),
            (t_merge - t_join).as_secs_f64(),
            (t_dev - t_merge).as_secs_f64(),
            host_count,
            devices.len(),
            spent_observations.len().max(observations.len()),
            peak_rss_mb(),
            rss_at_merge
        );
    }

    let inputs = names
        .iter()
        .zip(counters.per_input.iter())
        .map(|(n, (p, b))| InputSummary {
            path: n.clone(),
            packets: *p,
            bytes: *b,
        })
        .collect();
    Outcome {
        report: Report {
            schema: REPORT_SCHEMA.into(),
            generated_at: rfc3339_secs(now_secs()),
            inputs,
            stats,
            site: cfg.site.clone(),
            feeds,
            devices,
            findings,
            top_talkers: talkers,
            warnings: inputs_report.warnings,
        },
        flows,
        observations,
        digest,
        local,
        // Hundreds of thousands of small allocations: freeing them here
        // took 11 ms of a one-thread run on the 1 GB hospital benchmark and,
        // on a thread of its own, a core from the report's writers.
        spent: Spent {
            _held: spent_observations,
        },
    }
}

/// The ten hosts that moved most bytes; ties by address, for determinism.
fn top_talkers(hosts: &HostTable) -> Vec<Talker> {
    let mut ranked: Vec<(u64, IpAddr)> = hosts
        .iter()
        .filter(|(_, h)| h.tx_packets + h.rx_packets > 0)
        .map(|(ip, h)| (h.tx_bytes + h.rx_bytes, *ip))
        .collect();
    let top = ranked.len().min(10);
    if top > 0 && ranked.len() > top {
        ranked.select_nth_unstable_by(top - 1, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.truncate(top);
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .iter()
        .filter_map(|(_, ip)| hosts.get(ip).map(|h| (ip, h)))
        .map(|(ip, h)| Talker {
            ip: ip.to_string(),
            bytes: h.tx_bytes + h.rx_bytes,
            packets: h.tx_packets + h.rx_packets,
            flows: h.flows,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wardwatch_flow::{Endpoint, FlowKey};

    /// An untagged Ethernet/IPv4 frame carrying a TCP or UDP header.
    fn frame(proto: u8, src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16) -> Vec<u8> {
        let l4 = if proto == 6 { 20 } else { 8 };
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        f.extend_from_slice(&((20 + l4) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        if proto == 6 {
            f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            f.extend_from_slice(&[0, 8, 0, 0]);
        }
        f
    }

    fn decoded_shard(f: &[u8], n: usize) -> usize {
        let dec = decode(wardwatch_capture::linktype::ETHERNET, f).expect("decodes");
        let Network::Ip(ip) = dec.net else {
            panic!("not IP")
        };
        let tr = transport(ip.proto, ip.payload).expect("transport");
        shard_of(&ip, &tr, n)
    }

    #[test]
    fn the_shard_read_from_the_bytes_is_the_decoded_one_in_both_directions() {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_be_bytes();
            let (src, dst) = ([10, b[0], b[1], b[2]], [10, b[3], b[4], b[5]]);
            // Client ports above the tunnel ports (4789, 5247, 8472) the bytes
            // leave to the decoder.
            let sp = 49152 + (u16::from_be_bytes([b[6], b[7]]) & 0x3fff);
            let dp = 104 + (i % 3) as u16;
            let proto = if i % 2 == 0 { 6 } else { 17 };
            let n = 2 + i % 4;
            let there = frame(proto, src, dst, sp, dp);
            let back = frame(proto, dst, src, dp, sp);
            let linktype = wardwatch_capture::linktype::ETHERNET;
            let fast = fast_shard(linktype, &there, n).expect("plain frame");
            assert_eq!(fast, decoded_shard(&there, n), "frame {i}");
            assert_eq!(
                fast_shard(linktype, &back, n),
                Some(fast),
                "frame {i} reversed"
            );
            assert_eq!(decoded_shard(&back, n), fast, "frame {i} reversed");
            // Cut short, fragmented, with IP options or a bad TCP offset:
            // where the bytes still answer, the decoder agrees.
            let mut odd = there.clone();
            match i % 5 {
                0 => odd.truncate(14 + (b[6] as usize % 48)),
                1 => odd[20] |= 0x20,
                2 => odd[21] = b[7] | 1,
                3 => odd[14] = 0x46,
                _ => {
                    if let Some(offset) = odd.get_mut(46) {
                        *offset = 0x40;
                    }
                }
            }
            if let Some(s) = fast_shard(linktype, &odd, n) {
                let dec = decode(linktype, &odd).expect("decodes");
                let Network::Ip(ip) = dec.net else {
                    panic!("frame {i}: not IP")
                };
                assert!(ip.frag.is_none(), "frame {i}: a fragment");
                let tr = transport(ip.proto, ip.payload).expect("transport");
                assert_eq!(shard_of(&ip, &tr, n), s, "frame {i} altered");
            }
        }
    }

    #[test]
    fn renumbered_copies_of_one_conversation_spread_over_the_workers() {
        // The same conversation on 1,000 renumbered subnets: both addresses
        // have the same bits flipped, so an XOR of the ends would send every
        // copy to one worker.
        let mut on = [0usize; 2];
        for k in 0..1000u16 {
            let [hi, lo] = k.to_be_bytes();
            let f = frame(6, [10, hi, lo, 5], [10, hi, lo ^ 1, 9], 40_000, 104);
            on[decoded_shard(&f, 2)] += 1;
        }
        assert!(on[0].abs_diff(on[1]) < 100, "copies per worker: {on:?}");
    }

    fn update(port: u16, answered: bool, last_ts: i64, ended: bool) -> worker::FlowUpdate {
        let (c, s) = (
            Endpoint {
                addr: IpAddr::from([10, 0, 0, 9]),
                port: 40000,
            },
            Endpoint {
                addr: IpAddr::from([10, 0, 0, 1]),
                port,
            },
        );
        let key = FlowKey::new(0, 6, c, s).0;
        let mut info = wardwatch_flow::FlowInfo::new(key, c, s, 0);
        info.last_ts = last_ts;
        info.dirs[0].packets = 3;
        info.dirs[0].payload_bytes = 10;
        if answered {
            info.dirs[1].packets = 2;
            info.dirs[1].payload_bytes = 10;
        }
        worker::FlowUpdate {
            info,
            ended,
            echo: false,
            requests: Vec::new(),
        }
    }

    #[test]
    fn the_behaviour_digest_follows_the_flow_updates() {
        let mut k = Keeper::new(FlowDigest::default());
        let second = 1_000_000_000;
        // An open flow, updated twice, then ended: one connection.
        k.update(&[update(80, true, 10, false)]);
        k.update(&[update(80, true, 20, false)]);
        let pair = |d: &FlowDigest, port: u16| {
            d.pairs
                .iter()
                .find(|(key, _)| key.port == port)
                .map(|(_, p)| (p.conns, p.last_ts))
        };
        assert_eq!(pair(&k.snapshot(), 80), Some((1, 20)));
        k.update(&[update(80, true, 30, true)]);
        assert_eq!(pair(&k.snapshot(), 80), Some((1, 30)));
        assert!(k.open.is_empty());
        // A connection not answered yet stays out until the grace passes.
        k.update(&[update(443, false, 40, false)]);
        assert_eq!(pair(&k.snapshot(), 443), None);
        k.update(&[update(81, true, 40 + 2 * second, false)]);
        assert_eq!(pair(&k.snapshot(), 443), Some((1, 40)));
    }

    #[test]
    fn the_behaviour_digest_follows_pings_for_the_sweep_rule() {
        let second = 1_000_000_000;
        let ping = |target: u8, answered: bool, last_ts: i64, ended: bool| {
            let (c, s) = (
                Endpoint {
                    addr: IpAddr::from([10, 0, 0, 9]),
                    port: 0,
                },
                Endpoint {
                    addr: IpAddr::from([10, 0, 1, target]),
                    port: 0,
                },
            );
            let key = FlowKey::new(0, 1, c, s).0;
            let mut info = wardwatch_flow::FlowInfo::new(key, c, s, 0);
            info.first_ts = last_ts;
            info.last_ts = last_ts;
            info.dirs[0].packets = 1;
            if answered {
                info.dirs[1].packets = 1;
            }
            worker::FlowUpdate {
                info,
                ended,
                echo: true,
                requests: Vec::new(),
            }
        };
        let asks = |d: &FlowDigest| {
            d.icmp
                .get(&IpAddr::from([10, 0, 0, 9]))
                .map(|a| (a.targets.len(), a.unanswered))
        };
        let mut k = Keeper::new(FlowDigest::default());
        // Two pings answered (one ended, one open), one not answered yet.
        k.update(&[ping(1, true, 10, true), ping(2, true, 20, false)]);
        k.update(&[ping(3, false, 30, false)]);
        assert_eq!(asks(&k.snapshot()), Some((2, 0)));
        // Past the grace, the unanswered one counts as such.
        k.update(&[ping(4, true, 30 + 2 * second, true)]);
        assert_eq!(asks(&k.snapshot()), Some((4, 1)));
    }

    #[test]
    fn the_full_pass_hosts_follow_the_flow_updates() {
        let mut k = Keeper::new(HostTable::new(1000));
        let server = IpAddr::from([10, 0, 0, 1]);
        let packets = |h: &HostTable| h.get(&server).map(|x| x.rx_packets + x.tx_packets);
        k.update(&[update(80, true, 10, false)]);
        k.update(&[update(80, true, 20, false)]);
        // An open flow, seen twice: counted once, in the copy only.
        assert_eq!(packets(&k.snapshot()), Some(5));
        assert_eq!(packets(&k.table), None);
        k.update(&[update(80, true, 30, true)]);
        assert_eq!(packets(&k.snapshot()), Some(5));
        assert!(k.open.is_empty());
    }
}
