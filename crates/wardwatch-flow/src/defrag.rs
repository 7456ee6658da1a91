//! IPv4 and IPv6 fragment reassembly with a memory cap and a timeout.
//! Overlapping fragments resolve first-wins.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::decode::IpPacket;

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

struct Datagram {
    /// Pieces in arrival order: (offset, bytes).
    pieces: Vec<(u32, Vec<u8>)>,
    total: Option<u32>,
    first_ts: i64,
    frames: u32,
    wire_bytes: u64,
    held: usize,
}

/// A datagram made whole again.
pub struct Reassembled {
    /// Upper-layer protocol.
    pub proto: u8,
    /// The complete upper-layer payload.
    pub payload: Vec<u8>,
    /// How many frames it came in.
    pub frames: u32,
    /// Their wire length, summed.
    pub wire_bytes: u64,
}

/// Holds fragments until their datagram is complete.
pub struct Defragmenter {
    map: HashMap<Key, Datagram, foldhash::fast::RandomState>,
    held: usize,
    cap_bytes: usize,
    timeout_ns: i64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped incomplete (timeout or memory cap).
    pub dropped: u64,
}

const MAX_DATAGRAM: u32 = 65_535 + 40;

impl Defragmenter {
    /// A defragmenter holding at most `cap_bytes` of fragments, each datagram
    /// for at most `timeout_ns`.
    pub fn new(cap_bytes: usize, timeout_ns: i64) -> Self {
        Defragmenter {
            map: HashMap::default(),
            held: 0,
            cap_bytes,
            timeout_ns,
            reassembled: 0,
            dropped: 0,
        }
    }

    /// Bytes currently held.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Adds a fragment; returns the datagram when it is complete.
    pub fn push(&mut self, ts_ns: i64, ip: &IpPacket<'_>, wire_len: u32) -> Option<Reassembled> {
        let f = ip.frag?;
        let end = f.offset.checked_add(ip.payload.len() as u32)?;
        if end > MAX_DATAGRAM {
            self.dropped += 1;
            return None;
        }
        if self.held + ip.payload.len() > self.cap_bytes {
            self.expire(ts_ns);
            if self.held + ip.payload.len() > self.cap_bytes {
                // Still full: drop everything held rather than grow.
                self.dropped += self.map.len() as u64;
                self.map.clear();
                self.held = 0;
            }
        }
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            proto: ip.proto,
            id: f.id,
        };
        let d = self.map.entry(key).or_insert_with(|| Datagram {
            pieces: Vec::new(),
            total: None,
            first_ts: ts_ns,
            frames: 0,
            wire_bytes: 0,
            held: 0,
        });
        d.frames += 1;
        d.wire_bytes += wire_len as u64;
        if d.pieces.len() >= 512 {
            return None;
        }
        d.pieces.push((f.offset, ip.payload.to_vec()));
        d.held += ip.payload.len();
        self.held += ip.payload.len();
        if !f.more {
            d.total.get_or_insert(end);
        }
        let total = d.total?;
        // Complete when the pieces cover 0..total without a hole.
        let mut spans: Vec<(u32, u32)> = d
            .pieces
            .iter()
            .map(|(o, b)| (*o, o + b.len() as u32))
            .collect();
        spans.sort_unstable();
        let mut covered = 0u32;
        for (s, e) in spans {
            if s > covered {
                return None;
            }
            covered = covered.max(e);
        }
        if covered < total {
            return None;
        }
        let d = self.map.remove(&key)?;
        self.held -= d.held;
        let mut payload = vec![0u8; total as usize];
        // Later pieces first, so earlier arrivals overwrite: first-wins.
        for (o, b) in d.pieces.iter().rev() {
            let o = *o as usize;
            if o >= payload.len() {
                continue;
            }
            let n = b.len().min(payload.len() - o);
            payload[o..o + n].copy_from_slice(&b[..n]);
        }
        self.reassembled += 1;
        Some(Reassembled {
            proto: ip.proto,
            payload,
            frames: d.frames,
            wire_bytes: d.wire_bytes,
        })
    }

    /// Drops datagrams older than the timeout.
    pub fn expire(&mut self, now_ns: i64) {
        let horizon = now_ns - self.timeout_ns;
        let before = self.map.len();
        let mut freed = 0;
        self.map.retain(|_, d| {
            let keep = d.first_ts >= horizon;
            if !keep {
                freed += d.held;
            }
            keep
        });
        self.held -= freed;
        self.dropped += (before - self.map.len()) as u64;
    }
}
