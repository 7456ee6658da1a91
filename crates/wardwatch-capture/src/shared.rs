//! One capture file read once for several readers.
//!
//! Flow-sharded workers each read every record of a capture (each must see
//! every frame to know which are its own). Read on their own, each worker
//! has the kernel copy the whole file into its buffer: on the 1 GB hospital
//! benchmark that copy was a third of a worker's time at two workers, the
//! part that did not shrink with more of them. A [`SharedFile`] is read in
//! chunks, each chunk by whichever reader needs it first, and every reader
//! parses the same chunk in place ([`crate::CaptureReader::open_shared`]).
//!
//! Memory stays bounded: the fastest reader waits when it is [`WINDOW`]
//! chunks ahead of the slowest, and a reader that stops (the end of the
//! file, a corrupt record, an error, or its [`Share`] dropped unused) leaves
//! the file so that no other waits for it.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Bytes per chunk: a core's L2 cache on the machines this was measured on.
const CHUNK: usize = 1 << 20;
/// How many chunks the fastest reader may run ahead of the slowest: the
/// chunks held are at most this many plus the one the slowest parses, and
/// two spare buffers.
const WINDOW: usize = 4;
/// How many chunks past the one it takes a reader reads, when nobody has.
const AHEAD: usize = 2;

/// A capture file shared by several readers (see the module docs).
struct SharedFile {
    file: File,
    len: u64,
    /// Bytes per chunk ([`CHUNK`], smaller in tests).
    chunk: usize,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// Chunks from index `first` on; `None` while a reader reads it.
    held: VecDeque<Option<Arc<Vec<u8>>>>,
    first: usize,
    /// The chunk each reader asks for next; `usize::MAX` once it needs no
    /// more.
    next: Vec<usize>,
    /// Buffers of chunks every reader has passed, for the next ones.
    spare: Vec<Vec<u8>>,
    /// A read failed: every reader gets the error.
    failed: Option<(io::ErrorKind, String)>,
}

impl SharedFile {
    fn open(path: &Path, readers: usize, chunk: usize) -> io::Result<Option<SharedFile>> {
        if !cfg!(unix) || readers < 2 {
            return Ok(None);
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let shared = SharedFile {
            file,
            len: meta.len(),
            chunk: chunk.max(1),
            state: Mutex::new(State {
                held: VecDeque::new(),
                first: 0,
                next: vec![0; readers],
                spare: Vec::new(),
                failed: None,
            }),
            changed: Condvar::new(),
        };
        let mut magic = [0u8; 2];
        if shared.read_at(&mut magic, 0)? == 2 && magic == [0x1f, 0x8b] {
            return Ok(None);
        }
        Ok(Some(shared))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A reader that panicked holding the lock left the state whole (no
        // step below can panic half-way); the others go on.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(g).unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, at)
    }

    #[cfg(not(unix))]
    fn read_at(&self, _buf: &mut [u8], _at: u64) -> io::Result<usize> {
        Err(io::Error::other("positioned reads are not supported here"))
    }

    /// Chunk `k` for reader `reader`, which asks for its chunks in order;
    /// `None` past the end of the file. Before it returns, the reader reads
    /// the chunks up to [`AHEAD`] past `k` that nobody has begun, so that
    /// readers going at the same pace find their chunks read by the other
    /// as often as by themselves, and seldom wait for one being read.
    fn chunk(&self, reader: usize, k: usize) -> io::Result<Option<Arc<Vec<u8>>>> {
        let mut s = self.lock();
        let c = loop {
            if let Some((kind, msg)) = &s.failed {
                return Err(io::Error::new(*kind, msg.clone()));
            }
            if self.past_end(k) {
                return Ok(None);
            }
            let Some(i) = k.checked_sub(s.first) else {
                // Passed by every reader, this one included: not asked in
                // order.
                return Err(io::Error::other("capture chunk asked for out of order"));
            };
            match s.held.get(i) {
                Some(Some(c)) => break Arc::clone(c),
                // Another reader is reading it.
                Some(None) => s = self.wait(s),
                // The next chunk of the file: this reader reads it, unless
                // it is too far ahead of the slowest.
                None if k >= slowest(&s).saturating_add(WINDOW) => s = self.wait(s),
                None => {
                    let read;
                    (s, read) = self.read_next(s);
                    read?;
                }
            }
        };
        self.moved_on(&mut s, reader, k + 1);
        loop {
            let j = s.first + s.held.len();
            if j > k + AHEAD
                || self.past_end(j)
                || j >= slowest(&s).saturating_add(WINDOW)
                || s.failed.is_some()
            {
                break;
            }
            // A failure is kept for whoever asks for that chunk.
            (s, _) = self.read_next(s);
        }
        Ok(Some(c))
    }

    fn past_end(&self, k: usize) -> bool {
        (k as u64).saturating_mul(self.chunk as u64) >= self.len
    }

    /// Reads the chunk after the last one begun (the lock is let go
    /// meanwhile); a failure is kept for every reader.
    fn read_next<'a>(
        &'a self,
        mut s: MutexGuard<'a, State>,
    ) -> (MutexGuard<'a, State>, io::Result<()>) {
        let k = s.first + s.held.len();
        s.held.push_back(None);
        let mut buf = s.spare.pop().unwrap_or_default();
        drop(s);
        let got = self.fill(&mut buf, k);
        let mut s = self.lock();
        match got {
            Ok(()) => {
                if let Some(slot) = k.checked_sub(s.first).and_then(|at| s.held.get_mut(at)) {
                    *slot = Some(Arc::new(buf));
                }
            }
            Err(ref e) => s.failed = Some((e.kind(), e.to_string())),
        }
        self.changed.notify_all();
        (s, got)
    }

    /// Reads chunk `k` into `buf` (to the end of the file at most).
    fn fill(&self, buf: &mut Vec<u8>, k: usize) -> io::Result<()> {
        buf.resize(self.chunk, 0);
        let at = k as u64 * self.chunk as u64;
        let mut got = 0;
        while got < self.chunk {
            match self.read_at(&mut buf[got..], at + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(got);
        Ok(())
    }

    /// Reader `reader` asks for chunk `next` from now on (`usize::MAX`: no
    /// more): chunks every reader has passed are let go, and readers
    /// waiting on the window or on a chunk are woken.
    fn moved_on(&self, s: &mut State, reader: usize, next: usize) {
        if let Some(n) = s.next.get_mut(reader) {
            *n = next;
        }
        // A reader whose next chunk is k still parses chunk k - 1.
        let keep_from = slowest(s).saturating_sub(1);
        // (A chunk being read is not passed: its reader is at it.)
        while s.first < keep_from && matches!(s.held.front(), Some(Some(_))) {
            let Some(Some(c)) = s.held.pop_front() else {
                break;
            };
            s.first += 1;
            // Kept for the next chunk unless a reader still holds it.
            if let Ok(buf) = Arc::try_unwrap(c) {
                if s.spare.len() < 2 {
                    s.spare.push(buf);
                }
            }
        }
        self.changed.notify_all();
    }
}

/// The chunk the slowest reader still in the file asks for next.
fn slowest(s: &State) -> usize {
    s.next.iter().copied().min().unwrap_or(usize::MAX)
}

/// One reader's place in a shared capture file, for
/// [`crate::CaptureReader::open_shared`]; dropped unused, it leaves the file.
pub struct Share(pub(crate) Cursor);

/// Opens `path` once for `readers` readers: one [`Share`] each. `Ok(None)`
/// where sharing does not apply (a gzip stream is decompressed by each
/// reader; fewer than two readers; platforms without positioned reads); the
/// caller then opens the file per reader, which also reports any error in
/// the usual way.
pub fn open_shared(path: &Path, readers: usize) -> io::Result<Option<Vec<Share>>> {
    open_shared_in(path, readers, CHUNK)
}

/// [`open_shared`] with chunks of `chunk` bytes.
pub(crate) fn open_shared_in(
    path: &Path,
    readers: usize,
    chunk: usize,
) -> io::Result<Option<Vec<Share>>> {
    let Some(file) = SharedFile::open(path, readers, chunk)? else {
        return Ok(None);
    };
    let file = Arc::new(file);
    Ok(Some(
        (0..readers)
            .map(|reader| {
                Share(Cursor {
                    file: Arc::clone(&file),
                    reader,
                    next: 0,
                    pending: None,
                })
            })
            .collect(),
    ))
}

/// One reader's place in a shared file; leaves it when dropped.
pub(crate) struct Cursor {
    file: Arc<SharedFile>,
    reader: usize,
    /// The next chunk to ask for.
    next: usize,
    /// A chunk whose bytes from the offset on are still to be used, while
    /// the reader's own buffer holds a record that straddled two chunks.
    pub(crate) pending: Option<(Arc<Vec<u8>>, usize)>,
}

impl Cursor {
    /// The bytes to read next: the rest of the pending chunk, or the next
    /// chunk (with the offset they start at); `None` past the end.
    pub(crate) fn next_bytes(&mut self) -> io::Result<Option<(Arc<Vec<u8>>, usize)>> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        let c = self.file.chunk(self.reader, self.next)?;
        if c.is_some() {
            self.next += 1;
        }
        Ok(c.map(|c| (c, 0)))
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        let mut s = self.file.lock();
        self.file.moved_on(&mut s, self.reader, usize::MAX);
    }
}

/// Reads `data` (written to a temporary file) through two shares with
/// chunks of 13 bytes, side by side, and panics unless each reader gets
/// what a reader of its own gets: the same packets, counters and issues,
/// or the same error (fuzzing; the corpora replay it in `cargo test`).
#[doc(hidden)]
pub fn exercise(data: &[u8]) {
    use crate::CaptureReader;
    static FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "wardwatch-shared-exercise-{}-{n}.pcap",
        std::process::id()
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let alone = read_out(CaptureReader::open(&path));
    if let Ok(Some(shares)) = open_shared_in(&path, 2, 13) {
        let got: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|sh| {
                    let path = &path;
                    s.spawn(move || read_out(CaptureReader::open_shared(path, sh)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for g in got {
            assert!(
                g == alone,
                "a shared reader read otherwise: {g:?} vs {alone:?}"
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Everything a reader gives, written out to compare readers: each packet
/// with the reader's offset after it, an error, then the final offset,
/// counters and issues (or the error opening it).
pub(crate) fn read_out(r: Result<crate::CaptureReader, crate::CaptureError>) -> Vec<String> {
    let mut r = match r {
        Ok(r) => r,
        Err(e) => return vec![format!("error at {}: {:?}", e.offset, e.kind)],
    };
    let mut out = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                let p = format!(
                    "{} {} {} {} {} {:?}",
                    p.frame, p.ts_ns, p.orig_len, p.linktype, p.iface, p.data
                );
                out.push(format!("{p} {}", r.offset()));
            }
            Ok(None) => break,
            Err(e) => {
                out.push(format!("error at {}: {:?}", e.offset, e.kind));
                break;
            }
        }
    }
    out.push(format!(
        "{} {} {} {} {:?}",
        r.offset(),
        r.snaplen_truncated(),
        r.truncated_records(),
        r.corrupt_blocks(),
        r.issues()
    ));
    out
}
