//! TCP stream reassembly for one direction of a connection.
//!
//! In-order data is handed on without copying. Out-of-order segments are
//! buffered up to a cap; overlaps and retransmissions resolve first-wins
//! (bytes already delivered or buffered are never replaced). When the buffer
//! is full, when the peer acknowledges data that never appeared (a mirror
//! port dropped it), or when the flow ends, the hole is reported as a gap and
//! skipped. A stream whose SYN was not seen is picked up at its first segment.

use std::collections::BTreeMap;

/// Where a chunk of stream data came from, for evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentOrigin {
    /// Input index (several inputs form one site).
    pub input: u16,
    /// Frame number within that input.
    pub frame: u64,
    /// Capture timestamp in nanoseconds.
    pub ts_ns: i64,
}

/// What a reassembler hands to its consumer, in stream order.
#[derive(Debug, Clone, Copy)]
pub enum StreamEvent<'a> {
    /// Bytes that follow the previous ones directly.
    Data {
        /// The bytes.
        data: &'a [u8],
        /// The segment they came from.
        origin: SegmentOrigin,
    },
    /// `len` bytes were never captured; the stream continues after them.
    Gap {
        /// Missing byte count.
        len: u64,
    },
}

struct Pending {
    data: Vec<u8>,
    origin: SegmentOrigin,
}

/// The reassembly state of one direction.
#[derive(Default)]
pub struct Reassembler {
    started: bool,
    /// Sequence number of the next byte expected.
    next_seq: u32,
    /// Stream offset of the next byte expected.
    offset: u64,
    /// Out-of-order segments keyed by stream offset.
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    /// Gaps skipped so far.
    pub gaps: u64,
    /// Bytes skipped in gaps.
    pub gap_bytes: u64,
}

/// Anything further ahead than this is not a plausible future segment.
const MAX_AHEAD: i64 = 1 << 30;

impl Reassembler {
    /// Bytes delivered or skipped so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes held out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Records the initial sequence number from a SYN.
    pub fn syn(&mut self, seq: u32) {
        if !self.started {
            self.started = true;
            self.next_seq = seq.wrapping_add(1);
        }
    }

    fn rel(&self, seq: u32) -> i64 {
        seq.wrapping_sub(self.next_seq) as i32 as i64
    }

    /// Adds a segment. `cap` bounds the bytes this direction may hold out of
    /// order; past it the oldest hole is skipped.
    pub fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        origin: SegmentOrigin,
        cap: usize,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if data.is_empty() {
            return;
        }
        if !self.started {
            self.started = true;
            self.next_seq = seq;
        }
        let rel = self.rel(seq);
        if rel <= 0 {
            let skip = (-rel) as usize;
            if skip < data.len() {
                self.deliver(self.offset, &data[skip..], origin, out);
            }
            return;
        }
        if rel >= MAX_AHEAD {
            return;
        }
        self.insert_pending(self.offset + rel as u64, data, origin);
        while self.pending_bytes > cap {
            if !self.skip_to_first_pending(out) {
                break;
            }
        }
    }

    /// Delivers `data`, which starts at stream offset `start` (at or before
    /// the current offset), around buffered segments: bytes already buffered
    /// win over the same bytes arriving later.
    fn deliver(
        &mut self,
        mut start: u64,
        mut data: &[u8],
        origin: SegmentOrigin,
        out: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        loop {
            if start < self.offset {
                let skip = (self.offset - start) as usize;
                if skip >= data.len() {
                    return;
                }
                data = &data[skip..];
                start = self.offset;
            }
            if data.is_empty() {
                return;
            }
            let limit = match self.pending.first_key_value() {
                Some((&k, _)) if k <= self.offset => {
                    self.drain(out);
                    continue;
                }
                Some((&k, _)) => ((k - self.offset) as usize).min(data.len()),
                None => data.len(),
            };
            self.advance(limit);
            out(StreamEvent::Data {
                data: &data[..limit],
                origin,
            });
            start += limit as u64;
            data = &data[limit..];
            self.drain(out);
        }
    }

    /// Buffers a future segment, keeping only bytes not already buffered.
    fn insert_pending(&mut self, mut at: u64, mut data: &[u8], origin: SegmentOrigin) {
        if let Some((&k, p)) = self.pending.range(..=at).next_back() {
            let end = k + p.data.len() as u64;
            if end > at {
                let cut = (end - at) as usize;
                if cut >= data.len() {
                    return;
                }
                data = &data[cut..];
                at = end;
            }
        }
        while !data.is_empty() {
            let next = self
                .pending
                .range(at..)
                .next()
                .map(|(&k, p)| (k, k + p.data.len() as u64));
            let piece_len = match next {
                Some((k, _)) if k < at + data.len() as u64 => (k - at) as usize,
                _ => data.len(),
            };
            if piece_len > 0 {
                self.pending_bytes += piece_len;
                self.pending.insert(
                    at,
                    Pending {
                        data: data[..piece_len].to_vec(),
                        origin,
                    },
                );
            }
            match next {
                Some((k, kend)) if k < at + data.len() as u64 => {
                    let skip = (kend - at) as usize;
                    if skip >= data.len() {
                        return;
                    }
                    data = &data[skip..];
                    at = kend;
                }
                _ => return,
            }
        }
    }

    /// The peer acknowledged up to `ack`: bytes before it that never arrived
    /// are lost to the capture. Skip them when later data is waiting.
    pub fn peer_ack(&mut self, ack: u32, out: &mut dyn FnMut(StreamEvent<'_>)) {
        if !self.started || self.pending.is_empty() {
            return;
        }
        let rel = self.rel(ack);
        if rel <= 0 || rel >= MAX_AHEAD {
            return;
        }
        let acked_to = self.offset + rel as u64;
        if let Some((&first, _)) = self.pending.first_key_value() {
            if first <= acked_to {
                self.skip_to_first_pending(out);
            }
        }
    }

    /// Ends the stream: whatever is still buffered is delivered behind gaps.
    pub fn finish(&mut self, out: &mut dyn FnMut(StreamEvent<'_>)) {
        while self.skip_to_first_pending(out) {}
    }

    fn advance(&mut self, n: usize) {
        self.offset += n as u64;
        self.next_seq = self.next_seq.wrapping_add(n as u32);
    }

    fn skip_to_first_pending(&mut self, out: &mut dyn FnMut(StreamEvent<'_>)) -> bool {
        let Some((&first, _)) = self.pending.first_key_value() else {
            return false;
        };
        if first > self.offset {
            let len = first - self.offset;
            self.gaps += 1;
            self.gap_bytes += len;
            self.offset = first;
            self.next_seq = self.next_seq.wrapping_add(len as u32);
            out(StreamEvent::Gap { len });
        }
        self.drain(out);
        true
    }

    fn drain(&mut self, out: &mut dyn FnMut(StreamEvent<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let at = *entry.key();
            if at > self.offset {
                break;
            }
            let seg = entry.remove();
            self.pending_bytes -= seg.data.len();
            let skip = (self.offset - at) as usize;
            if skip < seg.data.len() {
                let fresh = &seg.data[skip..];
                self.advance(fresh.len());
                out(StreamEvent::Data {
                    data: fresh,
                    origin: seg.origin,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: SegmentOrigin = SegmentOrigin {
        input: 0,
        frame: 0,
        ts_ns: 0,
    };

    fn run(segs: &[(u32, &[u8])], cap: usize) -> (Vec<u8>, u64) {
        let mut r = Reassembler::default();
        r.syn(99);
        let mut got = Vec::new();
        let mut gaps = 0;
        let mut sink = |e: StreamEvent<'_>| match e {
            StreamEvent::Data { data, .. } => got.extend_from_slice(data),
            StreamEvent::Gap { len } => {
                gaps += len;
                got.extend(std::iter::repeat_n(b'?', len as usize));
            }
        };
        for (s, d) in segs {
            r.segment(*s, d, O, cap, &mut sink);
        }
        r.finish(&mut sink);
        (got, gaps)
    }

    #[test]
    fn in_order_out_of_order_and_retransmission() {
        let (got, gaps) = run(
            &[
                (100, b"hel"),
                (106, b"wor"),
                (103, b"lo "),
                (100, b"XXXXXX"),
                (109, b"ld"),
            ],
            1 << 20,
        );
        assert_eq!(got, b"hello world");
        assert_eq!(gaps, 0);
    }

    #[test]
    fn overlap_is_first_wins() {
        let (got, _) = run(&[(100, b"ab"), (104, b"ef"), (101, b"XYZW")], 1 << 20);
        // "XYZ" fills 101..104 after 'a','b': 'b' kept, "YZ" new, 'W' loses to 'e'.
        assert_eq!(got, b"abYZef");
    }

    #[test]
    fn gap_skipped_on_finish_and_on_cap() {
        let (got, gaps) = run(&[(100, b"ab"), (105, b"fg")], 1 << 20);
        assert_eq!(got, b"ab???fg");
        assert_eq!(gaps, 3);
        let (got, gaps) = run(&[(100, b"ab"), (105, b"fg"), (110, b"kl")], 3);
        assert_eq!(got, b"ab???fg???kl");
        assert_eq!(gaps, 6);
    }

    #[test]
    fn sequence_wraparound() {
        let mut r = Reassembler::default();
        r.syn(u32::MAX - 2);
        let mut got = Vec::new();
        let mut sink = |e: StreamEvent<'_>| {
            if let StreamEvent::Data { data, .. } = e {
                got.extend_from_slice(data)
            }
        };
        r.segment(1, b"cd", O, 100, &mut sink);
        r.segment(u32::MAX - 1, b"xab", O, 100, &mut sink);
        r.finish(&mut sink);
        assert_eq!(got, b"xabcd");
    }

    #[test]
    fn ack_past_a_hole_skips_it() {
        let mut r = Reassembler::default();
        r.syn(0);
        let mut gaps = 0;
        let mut sink = |e: StreamEvent<'_>| {
            if let StreamEvent::Gap { len } = e {
                gaps += len
            }
        };
        r.segment(1, b"aa", O, 100, &mut sink);
        r.segment(5, b"bb", O, 100, &mut sink);
        assert_eq!(r.pending_bytes(), 2);
        r.peer_ack(7, &mut sink);
        assert_eq!(gaps, 2);
        assert_eq!(r.pending_bytes(), 0);
    }
}
