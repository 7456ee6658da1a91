//! Capture sources: classic pcap (both byte orders, micro- and nanosecond
//! timestamps), pcapng (several sections and interfaces, EPB/SPB/OPB, unknown
//! blocks skipped), gzip-compressed captures streamed, and live interfaces
//! through libpcap (feature `live`).
//!
//! This crate knows link types and timestamps, never protocols. Readers stream:
//! a capture of any size is read through one bounded buffer, and every length
//! read from the file is checked against a limit before anything is allocated.

mod error;
#[cfg(feature = "live")]
pub mod live;
mod reader;
mod shared;

pub use error::{CaptureError, CaptureErrorKind, InputIssue};
pub use reader::{CaptureReader, Packet, MAX_RECORD_LEN};
pub use shared::{open_shared, Share};

/// Link-layer header types (tcpdump.org `LINKTYPE_*` values) that the decoder
/// understands. Other values are passed through and counted as undecodable.
pub mod linktype {
    /// BSD loopback / null: 4-byte address family in host byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II / 802.3.
    pub const ETHERNET: u32 = 1;
    /// PPP (RFC 1661) with a 2-byte protocol field, optionally HDLC framed.
    pub const PPP: u32 = 9;
    /// Raw IP (OpenBSD/Linux value 12 and 14 are historical aliases).
    pub const RAW_ALT1: u32 = 12;
    /// Raw IP alias used on some BSDs.
    pub const RAW_ALT2: u32 = 14;
    /// PPP in HDLC-like framing (RFC 1662).
    pub const PPP_HDLC: u32 = 50;
    /// PPP over Ethernet session frames with a 2-byte protocol.
    pub const PPP_ETHER: u32 = 51;
    /// Raw IPv4 or IPv6, version from the first nibble.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// IEEE 802.11 without radio header.
    pub const IEEE802_11: u32 = 105;
    /// 802.11 behind a Prism monitor-mode header (or an AVS one).
    pub const PRISM: u32 = 119;
    /// 802.11 behind a radiotap header (monitor mode on Linux and macOS).
    pub const RADIOTAP: u32 = 127;
    /// 802.11 behind an AVS monitor-mode header.
    pub const AVS: u32 = 163;
    /// Per-Packet Information header (AirPcap, Kismet) over 802.11 or Ethernet.
    pub const PPI: u32 = 192;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux netfilter NFLOG.
    pub const NFLOG: u32 = 239;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// Reads every packet of `data` as a capture file; what a fuzz target and its
/// corpus replay run. Returns the number of packets read.
#[doc(hidden)]
pub fn exercise(data: &[u8]) -> usize {
    // Small inputs are also read through a shared file, which must read
    // them alike (see `shared::exercise`).
    if data.len() <= 1 << 16 {
        shared::exercise(data);
    }
    let Ok(mut r) =
        CaptureReader::from_reader("fuzz", Box::new(std::io::Cursor::new(data.to_vec())))
    else {
        return 0;
    };
    let mut n = 0;
    while let Ok(Some(p)) = r.next_packet() {
        n += 1;
        debug_assert!(p.data.len() <= MAX_RECORD_LEN as usize);
    }
    n
}
