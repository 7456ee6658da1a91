//! Several capture files of one site, read as one stream in timestamp order.

use std::path::PathBuf;

use wardwatch_capture::{CaptureError, CaptureReader, Packet};

/// A packet copied out of its reader, waiting for its turn in the merge.
struct Held {
    full: bool,
    frame: u64,
    ts_ns: i64,
    orig_len: u32,
    linktype: u32,
    data: Vec<u8>,
}

/// Reads inputs merged by timestamp (ties keep input order).
pub struct MergedSource {
    readers: Vec<CaptureReader>,
    held: Vec<Option<Held>>,
    exhausted: Vec<bool>,
    /// Total size of the input files, for progress.
    pub total_bytes: u64,
}

impl MergedSource {
    /// Opens every input; the first that fails is the error.
    pub fn open(paths: &[PathBuf]) -> Result<Self, CaptureError> {
        Self::open_shares(paths, Vec::new())
    }

    /// Opens every input through this reader's share of it where it has
    /// one (see [`wardwatch_capture::open_shared`]), else on its own.
    pub fn open_shares(
        paths: &[PathBuf],
        shares: Vec<Option<wardwatch_capture::Share>>,
    ) -> Result<Self, CaptureError> {
        let mut readers = Vec::with_capacity(paths.len());
        let mut total = 0;
        let mut shares = shares.into_iter();
        for p in paths {
            readers.push(match shares.next().flatten() {
                Some(s) => CaptureReader::open_shared(p, s)?,
                None => CaptureReader::open(p)?,
            });
            total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        }
        Ok(MergedSource {
            total_bytes: total,
            ..Self::from_readers(readers)
        })
    }

    /// Wraps readers that are already open (in-memory captures).
    pub fn from_readers(readers: Vec<CaptureReader>) -> Self {
        let n = readers.len();
        MergedSource {
            readers,
            held: (0..n).map(|_| None).collect(),
            exhausted: vec![false; n],
            total_bytes: 0,
        }
    }

    /// The readers, for counters and issues.
    pub fn readers(&self) -> &[CaptureReader] {
        &self.readers
    }

    /// Bytes consumed so far across inputs (compressed inputs count their
    /// decompressed bytes).
    pub fn consumed(&self) -> u64 {
        self.readers.iter().map(|r| r.offset()).sum()
    }

    /// Calls `f(input, packet)` for every packet in timestamp order, and
    /// `progress(consumed_bytes)` now and then.
    pub fn for_each(
        &mut self,
        mut f: impl FnMut(u16, &Packet<'_>),
        mut progress: impl FnMut(u64),
    ) -> Result<(), CaptureError> {
        let mut count = 0u64;
        if self.readers.len() == 1 {
            // One input: packets are handed on straight from the read buffer.
            loop {
                count += 1;
                if count.is_multiple_of(16_384) {
                    progress(self.consumed());
                }
                let Some(r) = self.readers.first_mut() else {
                    return Ok(());
                };
                let Some(p) = r.next_packet()? else {
                    return Ok(());
                };
                f(0, &p);
            }
        }
        loop {
            count += 1;
            if count.is_multiple_of(16_384) {
                progress(self.consumed());
            }
            for i in 0..self.readers.len() {
                let Some(slot) = self.held.get_mut(i) else {
                    continue;
                };
                if slot.as_ref().is_some_and(|h| h.full) || self.exhausted[i] {
                    continue;
                }
                match self.readers[i].next_packet()? {
                    Some(p) => {
                        let h = slot.get_or_insert_with(|| Held {
                            full: false,
                            frame: 0,
                            ts_ns: 0,
                            orig_len: 0,
                            linktype: 0,
                            data: Vec::new(),
                        });
                        h.full = true;
                        h.frame = p.frame;
                        h.ts_ns = p.ts_ns;
                        h.orig_len = p.orig_len;
                        h.linktype = p.linktype;
                        h.data.clear();
                        h.data.extend_from_slice(p.data);
                    }
                    None => self.exhausted[i] = true,
                }
            }
            let next = self
                .held
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.as_ref().filter(|h| h.full).map(|h| (h.ts_ns, i)))
                .min();
            let Some((_, i)) = next else {
                return Ok(());
            };
            let Some(Some(h)) = self.held.get_mut(i) else {
                return Ok(());
            };
            h.full = false;
            let p = Packet {
                frame: h.frame,
                ts_ns: h.ts_ns,
                orig_len: h.orig_len,
                linktype: h.linktype,
                iface: 0,
                data: &h.data,
            };
            f(i as u16, &p);
        }
    }
}
