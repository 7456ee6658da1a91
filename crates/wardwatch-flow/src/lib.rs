//! L2–L4 for wardwatch: decoding (with tunnel decapsulation), duplicate
//! suppression for mirrored traffic, IP fragment reassembly, a bounded
//! bidirectional flow table and per-direction TCP stream reassembly.
//!
//! This crate knows nothing of devices or application protocols; it hands
//! ordered stream chunks and datagrams to a [`FlowSink`].

pub mod decode;
pub mod dedup;
pub mod defrag;
pub mod reassembly;
pub mod table;

pub use decode::{
    decode, ndp, transport, DecodeError, Decoded, IpPacket, Mac, Ndp, Network, Transport,
};
pub use dedup::Deduper;
pub use defrag::{Defragmenter, Reassembled};
pub use reassembly::{Reassembler, SegmentOrigin, StreamEvent};
pub use table::{
    Dir, DirStats, EndReason, Endpoint, Flow, FlowConfig, FlowInfo, FlowKey, FlowSink, FlowStats,
    FlowTable, PacketMeta, TcpState,
};

/// Decodes `data` (first byte selects the link type) down to the transport
/// layer and runs it through a flow table with reassembly; what a fuzz target
/// and its corpus replay run.
#[doc(hidden)]
pub fn exercise(data: &[u8]) {
    use wardwatch_capture::linktype as lt;
    const LINKS: [u32; 14] = [
        lt::ETHERNET,
        lt::RAW,
        lt::NULL,
        lt::LINUX_SLL,
        lt::LINUX_SLL2,
        lt::NFLOG,
        lt::PPP,
        lt::IEEE802_11,
        lt::RADIOTAP,
        lt::PRISM,
        lt::AVS,
        lt::PPI,
        lt::LOOP,
        lt::IPV6,
    ];
    struct Sink;
    impl FlowSink<()> for Sink {}
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let link = LINKS[sel as usize % LINKS.len()];
    let mut table: FlowTable<()> = FlowTable::new(FlowConfig {
        max_flows: 64,
        reassembly_dir_cap: 4096,
        ..FlowConfig::default()
    });
    let mut defrag = Defragmenter::new(1 << 16, 1_000_000_000);
    // Several frames: the input is split on a marker so that one case can
    // drive reassembly across segments.
    for (i, frame) in rest.split(|b| *b == 0xA5).enumerate().take(64) {
        let Ok(dec) = decode(link, frame) else {
            continue;
        };
        let Network::Ip(ip) = dec.net else { continue };
        let meta = PacketMeta {
            input: 0,
            frame: i as u64,
            ts_ns: i as i64 * 1000,
            wire_len: frame.len() as u32,
        };
        if ip.frag.is_some() {
            let _ = defrag.push(meta.ts_ns, &ip, meta.wire_len);
            continue;
        }
        if ip.proto == 58 {
            let _ = ndp(ip.payload, ip.ttl);
        }
        if let Ok(tr) = transport(ip.proto, ip.payload) {
            table.process(&meta, &dec, &ip, &tr, &mut Sink);
        }
    }
    table.finish(&mut Sink);
}
