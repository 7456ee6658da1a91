//! Suppression of frames seen twice: a SPAN session that mirrors both the
//! ingress and egress port of a switch, or two TAPs on one path, delivers the
//! same IP packet twice within microseconds. A genuine TCP retransmission
//! comes hundreds of milliseconds later, so a short window tells them apart.

use std::hash::{BuildHasher, Hasher};

use crate::decode::IpPacket;

/// Slots of the table of recent packets (16 bytes each: 256 kB, which stays
/// in a core's L2 cache; a 1 MB table cost 8 % of the engine's time in
/// cache misses on the benchmark mix and found 0.2 % more copies).
const SLOTS: usize = 1 << 14;
/// Ways per set: four 16-byte slots, one 64-byte cache line.
const WAYS: usize = 4;

/// Remembers recent packets by a digest of their invariant fields, in a
/// four-way set-associative table: each digest maps to a set of four slots
/// and takes the oldest. A copy is missed only when four other packets of
/// its set came within the window (rare: at 100,000 packets/s 200 packets
/// share a 2 ms window over 4,096 sets), and the table costs one cache line
/// per packet, no allocation and no expiry scan.
pub struct Deduper {
    slots: Box<[(u64, i64)]>,
    hasher: foldhash::fast::FixedState,
    window_ns: i64,
    /// Packets dropped as duplicates.
    pub dropped: u64,
}

impl Deduper {
    /// A deduplicator with the given window (nanoseconds); 0 disables it.
    pub fn new(window_ns: i64) -> Self {
        let hasher = foldhash::fast::FixedState::with_seed(0x7761_7264);
        Deduper {
            // An empty slot's time is so old no packet is within its window.
            slots: if window_ns > 0 {
                vec![(0, i64::MIN); SLOTS].into_boxed_slice()
            } else {
                Box::default()
            },
            hasher,
            window_ns,
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
        // The set of ways the digest maps to (one cache line).
        let at = digest as usize & (SLOTS - WAYS);
        let Some(ways) = self.slots.get_mut(at..at + WAYS) else {
            return false;
        };
        let window = self.window_ns;
        if let Some(w) = ways.iter_mut().find(|w| w.0 == digest) {
            let seen_at = std::mem::replace(&mut w.1, ts_ns);
            if ts_ns.saturating_sub(seen_at).abs() <= window {
                self.dropped += 1;
                return true;
            }
            return false;
        }
        // The oldest way gives its slot up.
        if let Some(oldest) = ways.iter_mut().min_by_key(|w| w.1) {
            *oldest = (digest, ts_ns);
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(ident: u16, payload: &[u8]) -> IpPacket<'_> {
        IpPacket {
            src: std::net::IpAddr::from([10, 0, 0, 1]),
            dst: std::net::IpAddr::from([10, 0, 0, 2]),
            proto: 6,
            ttl: 64,
            ident,
            frag: None,
            payload,
            claimed_len: payload.len() as u32,
        }
    }

    #[test]
    fn copies_within_the_window_are_dropped_and_counted() {
        let mut d = Deduper::new(2_000_000);
        let body = [7u8; 40];
        assert!(!d.is_duplicate(0, &packet(1, &body)));
        // The mirrored copy, 10 us later (another TTL does not matter).
        let mut copy = packet(1, &body);
        copy.ttl = 63;
        assert!(d.is_duplicate(10_000, &copy));
        // A retransmission a second later is no copy.
        assert!(!d.is_duplicate(1_000_000_000, &packet(1, &body)));
        // Another packet of the flow is no copy either.
        assert!(!d.is_duplicate(1_000_000_100, &packet(2, &body)));
        assert_eq!(d.dropped, 1);
    }

    #[test]
    fn a_busy_window_still_finds_nearly_every_copy() {
        // 20,000 distinct packets within one window, each followed by its
        // copy after the next 200 packets (a SPAN session at a high rate).
        let mut d = Deduper::new(2_000_000);
        let bodies: Vec<[u8; 24]> = (0..20_000u32)
            .map(|i| {
                let mut b = [0u8; 24];
                b[..4].copy_from_slice(&i.to_be_bytes());
                b
            })
            .collect();
        let mut found = 0;
        for i in 0..bodies.len() + 200 {
            if let Some(b) = bodies.get(i) {
                assert!(!d.is_duplicate(i as i64, &packet(0, b)));
            }
            if let Some(b) = i.checked_sub(200).and_then(|j| bodies.get(j)) {
                found += u32::from(d.is_duplicate(i as i64, &packet(0, b)));
            }
        }
        assert!(found >= 19_900, "{found} of 20,000 copies found");
        // Off: nothing is a copy, nothing allocated.
        let mut off = Deduper::new(0);
        assert!(!off.is_duplicate(0, &packet(1, &bodies[0])));
        assert!(!off.is_duplicate(0, &packet(1, &bodies[0])));
    }
}
