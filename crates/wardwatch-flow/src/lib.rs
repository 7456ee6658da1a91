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

pub use decode::{decode, transport, DecodeError, Decoded, IpPacket, Mac, Network, Transport};
pub use dedup::Deduper;
pub use defrag::{Defragmenter, Reassembled};
pub use reassembly::{Reassembler, SegmentOrigin, StreamEvent};
pub use table::{
    Dir, DirStats, EndReason, Endpoint, Flow, FlowConfig, FlowInfo, FlowKey, FlowSink, FlowStats,
    FlowTable, PacketMeta, TcpState,
};
