//! Suppression of frames seen twice: a SPAN session that mirrors both the
//! ingress and egress port of a switch, or two TAPs on one path, delivers the
//! same IP packet twice within microseconds. A genuine TCP retransmission
//! comes hundreds of milliseconds later, so a short window tells them apart.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use crate::decode::IpPacket;

/// Remembers recent packets by a digest of their invariant fields.
pub struct Deduper {
    seen: HashMap<u64, i64, foldhash::fast::FixedState>,
    hasher: foldhash::fast::FixedState,
    window_ns: i64,
    cap: usize,
    /// Packets dropped as duplicates.
    pub dropped: u64,
}

impl Deduper {
    /// A deduplicator with the given window (nanoseconds); 0 disables it.
    pub fn new(window_ns: i64) -> Self {
        let hasher = foldhash::fast::FixedState::with_seed(0x7761_7264);
        Deduper {
            seen: HashMap::with_hasher(hasher.clone()),
            hasher,
            window_ns,
            cap: 1 << 16,
            dropped: 0,
        }
    }

    /// True when the same IP packet (ignoring TTL and the header checksum,
    /// which routers rewrite) was seen within the window.
    pub fn is_duplicate(&mut self, ts_ns: i64, ip: &IpPacket<'_>) -> bool {
        if self.window_ns <= 0 {
            return false;
        }
        let mut h = self.hasher.build_hasher();
        match (ip.src, ip.dst) {
            (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
                h.write_u32(s.to_bits());
                h.write_u32(d.to_bits());
            }
            (s, d) => {
                h.write(&match s {
                    std::net::IpAddr::V6(a) => a.octets(),
                    std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
                });
                h.write(&match d {
                    std::net::IpAddr::V6(a) => a.octets(),
                    std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
                });
            }
        }
        h.write_u8(ip.proto);
        h.write_u16(ip.ident);
        h.write_usize(ip.payload.len());
        if let Some(f) = ip.frag {
            h.write_u32(f.offset);
        }
        // The transport header (ports, sequence numbers, checksum over the
        // payload) distinguishes packets of one flow.
        h.write(&ip.payload[..ip.payload.len().min(24)]);
        let digest = h.finish();
        if self.seen.len() >= self.cap {
            let horizon = ts_ns - self.window_ns;
            self.seen.retain(|_, t| *t >= horizon);
            if self.seen.len() >= self.cap {
                self.seen.clear();
            }
        }
        match self.seen.insert(digest, ts_ns) {
            Some(prev) if ts_ns.saturating_sub(prev).abs() <= self.window_ns => {
                self.dropped += 1;
                true
            }
            _ => false,
        }
    }
}
