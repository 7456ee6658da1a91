use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{CaptureError, CaptureErrorKind, InputIssue};
use crate::shared::{Cursor, Share};

/// The largest packet record accepted. Larger claims are corruption (a
/// 2 GB "packet") and are refused before any allocation.
pub const MAX_RECORD_LEN: u32 = 256 * 1024;
/// The largest pcapng block accepted (a packet record plus generous options).
const MAX_BLOCK_LEN: u32 = MAX_RECORD_LEN + 64 * 1024;
/// Read-buffer size: large enough that refills are rare, small enough that
/// memory stays bounded per input.
const BUF_SIZE: usize = 1 << 20;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_OPB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// 1-based frame number within its input, as Wireshark numbers frames.
    pub frame: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Length of the frame on the wire (may exceed `data.len()`).
    pub orig_len: u32,
    /// Link-layer type of this frame (pcapng: of its interface).
    pub linktype: u32,
    /// Interface index (pcapng), 0 for classic pcap.
    pub iface: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    units: u64,
    offset_s: i64,
}

#[derive(Debug)]
enum Format {
    Pcap {
        be: bool,
        nanos: bool,
        linktype: u32,
    },
    Pcapng {
        be: bool,
        ifaces: Vec<Iface>,
    },
}

/// Streaming reader for pcap and pcapng files, plain or gzip-compressed.
///
/// Problems after the header do not fail the read: a truncated last record
/// or a corrupt pcapng block becomes an [`InputIssue`] and a counter, and
/// reading ends or resumes at the next block as the format allows.
pub struct CaptureReader {
    path: PathBuf,
    src: Box<dyn Read + Send>,
    buf: Buf,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    /// The place in a file shared with other readers, whose chunks are
    /// parsed in place (see [`crate::open_shared`]); `src` is then unused.
    shared: Option<Cursor>,
    eof: bool,
    compressed: bool,
    format: Format,
    frame: u64,
    done: bool,
    issues: Vec<InputIssue>,
    snaplen_truncated: u64,
    truncated_records: u64,
    corrupt_blocks: u64,
}

/// The bytes being parsed: the reader's own buffer, or a chunk of a shared
/// file while one is in use.
struct Buf {
    own: Vec<u8>,
    chunk: Option<std::sync::Arc<Vec<u8>>>,
}

impl std::ops::Deref for Buf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.chunk {
            Some(c) => c,
            None => &self.own,
        }
    }
}

fn rd16(b: &[u8], at: usize, be: bool) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(at..at + 2) {
        a.copy_from_slice(s);
    }
    if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    }
}

fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

fn ts_to_ns(ts: u64, units: u64, offset_s: i64) -> i64 {
    let units = units.max(1) as u128;
    let ns = (ts as u128 / units) * 1_000_000_000 + (ts as u128 % units) * 1_000_000_000 / units;
    let ns = i64::try_from(ns).unwrap_or(i64::MAX);
    ns.saturating_add(offset_s.saturating_mul(1_000_000_000))
}

impl CaptureReader {
    /// Opens a capture file, detecting pcap, pcapng and gzip by content.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let path = path.as_ref().to_path_buf();
        let err = |kind| CaptureError::new(path.clone(), 0, kind);
        let meta = std::fs::metadata(&path).map_err(|e| err(CaptureErrorKind::Io(e)))?;
        if meta.is_dir() {
            return Err(err(CaptureErrorKind::IsDirectory));
        }
        if meta.len() == 0 {
            return Err(err(CaptureErrorKind::Empty));
        }
        let file = File::open(&path).map_err(|e| err(CaptureErrorKind::Io(e)))?;
        Self::from_reader(path.clone(), Box::new(file))
    }

    /// Opens a capture file through one reader's [`Share`] of it (see
    /// [`crate::open_shared`]): the same packets as [`CaptureReader::open`],
    /// parsed from chunks the file's readers read once between them.
    pub fn open_shared(path: impl AsRef<Path>, share: Share) -> Result<Self, CaptureError> {
        let mut r = Self::new(path.as_ref().to_path_buf(), Box::new(io::empty()));
        r.buf.own = Vec::new();
        r.shared = Some(share.0);
        r.read_file_header()?;
        Ok(r)
    }

    /// Wraps any byte source; `name` is used in messages.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        src: Box<dyn Read + Send>,
    ) -> Result<Self, CaptureError> {
        let mut r = Self::new(name.into(), src);
        r.read_file_header()?;
        Ok(r)
    }

    fn new(path: PathBuf, src: Box<dyn Read + Send>) -> Self {
        CaptureReader {
            path,
            src,
            buf: Buf {
                own: vec![0; BUF_SIZE],
                chunk: None,
            },
            pos: 0,
            end: 0,
            base: 0,
            shared: None,
            eof: false,
            compressed: false,
            format: Format::Pcap {
                be: false,
                nanos: false,
                linktype: 0,
            },
            frame: 0,
            done: false,
            issues: Vec::new(),
            snaplen_truncated: 0,
            truncated_records: 0,
            corrupt_blocks: 0,
        }
    }

    /// The input's name as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed so far (decompressed bytes for gzip input).
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Whether the input is gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Problems met so far that did not stop analysis.
    pub fn issues(&self) -> &[InputIssue] {
        &self.issues
    }

    /// Frames whose captured length is below their wire length (snaplen).
    pub fn snaplen_truncated(&self) -> u64 {
        self.snaplen_truncated
    }

    /// Records cut short by the end of the file.
    pub fn truncated_records(&self) -> u64 {
        self.truncated_records
    }

    /// pcapng blocks skipped as corrupt plus records refused as corrupt.
    pub fn corrupt_blocks(&self) -> u64 {
        self.corrupt_blocks
    }

    fn error(&self, offset: u64, kind: CaptureErrorKind) -> CaptureError {
        let mut e = CaptureError::new(self.path.clone(), offset, kind);
        e.compressed = self.compressed;
        e
    }

    fn issue(&mut self, offset: u64, message: String, fatal: bool) {
        if fatal {
            self.done = true;
            // Nothing more is read: other readers of a shared file need not
            // wait for this one.
            self.shared = None;
        }
        // Bounded: a corrupt file could otherwise produce one issue per block.
        if self.issues.len() < 100 {
            self.issues.push(InputIssue {
                offset,
                message,
                fatal_for_file: fatal,
            });
        }
    }

    /// Makes at least `need` bytes available at `pos`. Returns the number of
    /// bytes available, which is below `need` only at end of input.
    #[inline]
    fn fill(&mut self, need: usize) -> io::Result<usize> {
        if self.end - self.pos >= need {
            return Ok(self.end - self.pos);
        }
        self.refill(need)
    }

    /// [`CaptureReader::fill`] when the buffer holds too little: once per
    /// buffer, not per record.
    #[cold]
    #[inline(never)]
    fn refill(&mut self, need: usize) -> io::Result<usize> {
        if self.shared.is_some() {
            return self.refill_shared(need);
        }
        if self.pos > 0 {
            self.buf.own.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if need > self.buf.own.len() {
            self.buf.own.resize(need.next_power_of_two(), 0);
        }
        while self.end < need && !self.eof {
            match self.src.read(&mut self.buf.own[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    /// [`CaptureReader::refill`] from a shared file: records are parsed in
    /// the chunk that holds them; one that straddles two chunks is joined
    /// in the reader's own buffer (its bytes only), and parsing goes on in
    /// the second chunk after it.
    fn refill_shared(&mut self, need: usize) -> io::Result<usize> {
        loop {
            if self.end - self.pos >= need {
                return Ok(self.end - self.pos);
            }
            let Some(cursor) = &mut self.shared else {
                return Ok(self.end - self.pos);
            };
            if self.pos == self.end {
                // Nothing left to join: on to the rest of the chunk a joined
                // record came from, or to the next one.
                self.buf.chunk = None;
                let Some((chunk, at)) = cursor.next_bytes()? else {
                    self.end_of_shared();
                    return Ok(0);
                };
                // `base + pos` is the offset of the next byte, chunk[at].
                self.base = (self.base + self.pos as u64) - at as u64;
                self.pos = at;
                self.end = chunk.len();
                self.buf.chunk = Some(chunk);
                continue;
            }
            // Join: what is left goes to the front of the own buffer, then
            // the bytes still needed from the next chunk.
            let left = self.end - self.pos;
            if self.buf.own.len() < need {
                self.buf.own.resize(need.next_power_of_two(), 0);
            }
            match self.buf.chunk.take() {
                Some(c) => self.buf.own[..left].copy_from_slice(&c[self.pos..self.end]),
                None => self.buf.own.copy_within(self.pos..self.end, 0),
            }
            self.base += self.pos as u64;
            self.pos = 0;
            self.end = left;
            let Some((chunk, at)) = cursor.next_bytes()? else {
                self.end_of_shared();
                return Ok(self.end);
            };
            let take = (need - self.end).min(chunk.len() - at);
            self.buf.own[self.end..self.end + take].copy_from_slice(&chunk[at..at + take]);
            self.end += take;
            if at + take < chunk.len() {
                cursor.pending = Some((chunk, at + take));
            }
        }
    }

    /// A shared file has no more chunks: this reader leaves it.
    fn end_of_shared(&mut self) {
        self.eof = true;
        self.shared = None;
    }

    fn read_file_header(&mut self) -> Result<(), CaptureError> {
        let have = self
            .fill(4)
            .map_err(|e| self.error(0, CaptureErrorKind::Io(e)))?;
        if have == 0 {
            return Err(self.error(0, CaptureErrorKind::Empty));
        }
        let head = &self.buf[self.pos..self.end];
        if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b && !self.compressed {
            // Restart on the decompressed stream; offsets now count
            // decompressed bytes.
            let rest = self.buf[self.pos..self.end].to_vec();
            let inner = std::mem::replace(&mut self.src, Box::new(io::empty()));
            let chained = io::Cursor::new(rest).chain(inner);
            self.src = Box::new(flate2::read::MultiGzDecoder::new(chained));
            self.compressed = true;
            self.pos = 0;
            self.end = 0;
            self.base = 0;
            self.eof = false;
            return self.read_file_header();
        }
        if have < 4 {
            return Err(self.error(0, CaptureErrorKind::TruncatedHeader { have, need: 24 }));
        }
        let magic_le = rd32(head, 0, false);
        match magic_le {
            0xA1B2_C3D4 | 0xD4C3_B2A1 | 0xA1B2_3C4D | 0x4D3C_B2A1 => self.read_pcap_header(),
            PCAPNG_SHB => {
                self.format = Format::Pcapng {
                    be: false,
                    ifaces: Vec::new(),
                };
                // The section header block is read like any other block.
                let have = self
                    .fill(28)
                    .map_err(|e| self.error(0, CaptureErrorKind::Io(e)))?;
                if have < 28 {
                    return Err(self.error(0, CaptureErrorKind::TruncatedHeader { have, need: 28 }));
                }
                Ok(())
            }
            0xA1B2_CD34 | 0x34CD_B2A1 => Err(self.error(
                0,
                CaptureErrorKind::Unsupported(
                    "Kuznetzov modified pcap; convert with `editcap -F pcap`".into(),
                ),
            )),
            other => Err(self.error(0, CaptureErrorKind::BadMagic(other.swap_bytes()))),
        }
    }

    fn read_pcap_header(&mut self) -> Result<(), CaptureError> {
        let have = self
            .fill(24)
            .map_err(|e| self.error(0, CaptureErrorKind::Io(e)))?;
        if have < 24 {
            return Err(self.error(0, CaptureErrorKind::TruncatedHeader { have, need: 24 }));
        }
        let h = &self.buf[self.pos..self.pos + 24];
        let (be, nanos) = match rd32(h, 0, false) {
            0xA1B2_C3D4 => (false, false),
            0xD4C3_B2A1 => (true, false),
            0xA1B2_3C4D => (false, true),
            _ => (true, true),
        };
        let major = rd16(h, 4, be);
        if major != 2 {
            return Err(self.error(
                4,
                CaptureErrorKind::Unsupported(format!("pcap version {major} (expected 2)")),
            ));
        }
        // The link type is in the low 16 bits; the upper bits carry FCS info.
        let linktype = rd32(h, 20, be) & 0x0FFF_FFFF;
        self.format = Format::Pcap {
            be,
            nanos,
            linktype,
        };
        self.pos += 24;
        Ok(())
    }

    /// Reads the next packet. `Ok(None)` at the end of the input (or after a
    /// problem that ends the file, recorded in [`issues`](Self::issues)).
    /// `Err` only for I/O errors of the underlying source.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        match self.format {
            Format::Pcap { .. } => self.next_pcap(),
            Format::Pcapng { .. } => self.next_pcapng(),
        }
    }

    fn io_err(&self, e: io::Error) -> CaptureError {
        self.error(self.offset(), CaptureErrorKind::Io(e))
    }

    fn next_pcap(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        let Format::Pcap {
            be,
            nanos,
            linktype,
        } = self.format
        else {
            return Ok(None);
        };
        let at = self.offset();
        let have = self.fill(16).map_err(|e| self.io_err(e))?;
        if have == 0 {
            self.done = true;
            return Ok(None);
        }
        if have < 16 {
            self.truncated_records += 1;
            self.issue(
                at,
                format!("truncated record header ({have} of 16 bytes) at end of file"),
                true,
            );
            return Ok(None);
        }
        let h = &self.buf[self.pos..self.pos + 16];
        let sec = rd32(h, 0, be) as u64;
        let frac = rd32(h, 4, be) as u64;
        let incl = rd32(h, 8, be);
        let orig = rd32(h, 12, be);
        if incl > MAX_RECORD_LEN {
            self.corrupt_blocks += 1;
            self.issue(
                at,
                format!(
                    "record claims {incl} bytes (limit {MAX_RECORD_LEN}); file is corrupt from here on"
                ),
                true,
            );
            return Ok(None);
        }
        let need = 16 + incl as usize;
        let have = self.fill(need).map_err(|e| self.io_err(e))?;
        if have < need {
            self.truncated_records += 1;
            self.issue(
                at,
                format!(
                    "truncated last record: {} of {incl} bytes present",
                    have.saturating_sub(16)
                ),
                true,
            );
            return Ok(None);
        }
        let ns = if nanos { frac } else { frac * 1000 };
        // Seconds are 32-bit: the sum fits a u64, and past i64 it saturates
        // (as `ts_to_ns` would, without its division).
        let ts_ns = i64::try_from(sec * 1_000_000_000 + ns).unwrap_or(i64::MAX);
        if orig > incl {
            self.snaplen_truncated += 1;
        }
        let start = self.pos + 16;
        self.pos += need;
        self.frame += 1;
        Ok(Some(Packet {
            frame: self.frame,
            ts_ns,
            orig_len: orig.max(incl),
            linktype,
            iface: 0,
            data: &self.buf[start..start + incl as usize],
        }))
    }

    fn next_pcapng(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            let at = self.offset();
            let have = self.fill(12).map_err(|e| self.io_err(e))?;
            if have == 0 {
                self.done = true;
                return Ok(None);
            }
            if have < 12 {
                self.truncated_records += 1;
                self.issue(
                    at,
                    format!("truncated block header ({have} bytes) at end of file"),
                    true,
                );
                return Ok(None);
            }
            let head = &self.buf[self.pos..self.pos + 12];
            let btype_le = rd32(head, 0, false);
            if btype_le == PCAPNG_SHB {
                // Byte order is per section.
                let bom = rd32(head, 8, false);
                let be = match bom {
                    PCAPNG_BOM => false,
                    0x4D3C_2B1A => true,
                    _ => {
                        self.corrupt_blocks += 1;
                        self.issue(
                            at,
                            format!("section header with bad byte-order magic 0x{bom:08x}"),
                            true,
                        );
                        return Ok(None);
                    }
                };
                self.format = Format::Pcapng {
                    be,
                    ifaces: Vec::new(),
                };
            }
            let be = match &self.format {
                Format::Pcapng { be, .. } => *be,
                Format::Pcap { .. } => return Ok(None),
            };
            let head = &self.buf[self.pos..self.pos + 12];
            let btype = rd32(head, 0, be);
            let blen = rd32(head, 4, be);
            if !(12..=MAX_BLOCK_LEN).contains(&blen) || !blen.is_multiple_of(4) {
                self.corrupt_blocks += 1;
                self.issue(
                    at,
                    format!("block of type 0x{btype:x} claims length {blen}; file is corrupt from here on"),
                    true,
                );
                return Ok(None);
            }
            let blen = blen as usize;
            let have = self.fill(blen).map_err(|e| self.io_err(e))?;
            if have < blen {
                self.truncated_records += 1;
                self.issue(
                    at,
                    format!("truncated last block: {have} of {blen} bytes present at end of file"),
                    true,
                );
                return Ok(None);
            }
            let block_start = self.pos;
            let trailer = rd32(&self.buf, block_start + blen - 4, be) as usize;
            self.pos += blen;
            if trailer != blen {
                // The framing is inconsistent; we cannot know where the next
                // block starts.
                self.corrupt_blocks += 1;
                self.issue(
                    at,
                    format!("block trailer length {trailer} differs from header length {blen}; file is corrupt from here on"),
                    true,
                );
                return Ok(None);
            }
            let body = block_start + 8..block_start + blen - 4;
            match btype {
                PCAPNG_IDB => {
                    let b = &self.buf[body];
                    if b.len() < 8 {
                        self.skip_corrupt(at, "interface description block too short");
                        continue;
                    }
                    let linktype = rd16(b, 0, be) as u32;
                    let snaplen = rd32(b, 4, be);
                    let (units, offset_s) = parse_idb_options(&b[8..], be);
                    if let Format::Pcapng { ifaces, .. } = &mut self.format {
                        if ifaces.len() < 4096 {
                            ifaces.push(Iface {
                                linktype,
                                snaplen,
                                units,
                                offset_s,
                            });
                        }
                    }
                }
                PCAPNG_EPB | PCAPNG_OPB => {
                    let b = &self.buf[body.clone()];
                    if b.len() < 20 {
                        self.skip_corrupt(at, "packet block too short");
                        continue;
                    }
                    let iface_id = if btype == PCAPNG_EPB {
                        rd32(b, 0, be)
                    } else {
                        rd16(b, 0, be) as u32
                    };
                    let ts = ((rd32(b, 4, be) as u64) << 32) | rd32(b, 8, be) as u64;
                    let caplen = rd32(b, 12, be) as usize;
                    let orig = rd32(b, 16, be);
                    if caplen > b.len() - 20 {
                        self.skip_corrupt(at, "packet block captured length exceeds block");
                        continue;
                    }
                    let Some(iface) = self.iface(iface_id) else {
                        self.skip_corrupt(at, "packet refers to an undeclared interface");
                        continue;
                    };
                    let start = body.start + 20;
                    return Ok(Some(self.emit(
                        iface_id,
                        &iface,
                        ts_to_ns(ts, iface.units, iface.offset_s),
                        orig,
                        start,
                        caplen,
                    )));
                }
                PCAPNG_SPB => {
                    let b = &self.buf[body.clone()];
                    if b.len() < 4 {
                        self.skip_corrupt(at, "simple packet block too short");
                        continue;
                    }
                    let orig = rd32(b, 0, be);
                    let Some(iface) = self.iface(0) else {
                        self.skip_corrupt(at, "simple packet block before any interface");
                        continue;
                    };
                    let mut caplen = (orig as usize).min(b.len() - 4);
                    if iface.snaplen > 0 {
                        caplen = caplen.min(iface.snaplen as usize);
                    }
                    let start = body.start + 4;
                    // SPBs carry no timestamp.
                    return Ok(Some(self.emit(0, &iface, 0, orig, start, caplen)));
                }
                _ => {} // SHB (handled above), ISB, NRB, DSB, custom: skipped.
            }
        }
    }

    fn iface(&self, id: u32) -> Option<Iface> {
        match &self.format {
            Format::Pcapng { ifaces, .. } => ifaces.get(id as usize).copied(),
            Format::Pcap { .. } => None,
        }
    }

    fn skip_corrupt(&mut self, at: u64, what: &str) {
        self.corrupt_blocks += 1;
        self.issue(at, format!("{what}; block skipped"), false);
    }

    fn emit(
        &mut self,
        iface_id: u32,
        iface: &Iface,
        ts_ns: i64,
        orig: u32,
        start: usize,
        caplen: usize,
    ) -> Packet<'_> {
        if (orig as usize) > caplen {
            self.snaplen_truncated += 1;
        }
        self.frame += 1;
        Packet {
            frame: self.frame,
            ts_ns,
            orig_len: orig.max(caplen as u32),
            linktype: iface.linktype,
            iface: iface_id,
            data: &self.buf[start..start + caplen],
        }
    }
}

/// Reads `if_tsresol` (9) and `if_tsoffset` (14) from IDB options.
fn parse_idb_options(mut opts: &[u8], be: bool) -> (u64, i64) {
    let mut units = 1_000_000u64;
    let mut offset = 0i64;
    while opts.len() >= 4 {
        let code = rd16(opts, 0, be);
        let len = rd16(opts, 2, be) as usize;
        let padded = (len + 3) & !3;
        let Some(val) = opts.get(4..4 + len) else {
            break;
        };
        match code {
            0 => break,
            9 if len >= 1 => {
                let r = val[0];
                let exp = (r & 0x7f) as u32;
                units = if r & 0x80 == 0 {
                    10u64.checked_pow(exp).unwrap_or(1_000_000)
                } else {
                    1u64.checked_shl(exp).unwrap_or(1_000_000)
                };
            }
            14 if len >= 8 => {
                let hi = rd32(val, 0, be) as u64;
                let lo = rd32(val, 4, be) as u64;
                let v = if be { (hi << 32) | lo } else { (lo << 32) | hi };
                offset = v as i64;
            }
            _ => {}
        }
        opts = opts.get(4 + padded..).unwrap_or(&[]);
    }
    (units, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_bytes(b: Vec<u8>) -> Result<CaptureReader, CaptureError> {
        CaptureReader::from_reader("mem.pcap", Box::new(io::Cursor::new(b)))
    }

    fn pcap_header(be: bool, nanos: bool, linktype: u32) -> Vec<u8> {
        let magic: u32 = if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 };
        let mut v = Vec::new();
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        let w16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        w32(&mut v, magic);
        w16(&mut v, 2);
        w16(&mut v, 4);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        v
    }

    fn pcap_record(be: bool, sec: u32, frac: u32, data: &[u8], orig: u32) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [sec, frac, data.len() as u32, orig] {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn pcap_both_byte_orders_and_resolutions() {
        for be in [false, true] {
            for nanos in [false, true] {
                let mut f = pcap_header(be, nanos, 1);
                f.extend(pcap_record(be, 10, 5, b"abcd", 4));
                f.extend(pcap_record(be, 11, 0, b"xy", 60));
                let mut r = open_bytes(f).unwrap();
                let p = r.next_packet().unwrap().unwrap();
                assert_eq!(p.data, b"abcd");
                assert_eq!(p.frame, 1);
                let want = 10_000_000_000 + if nanos { 5 } else { 5000 };
                assert_eq!(p.ts_ns, want);
                let p = r.next_packet().unwrap().unwrap();
                assert_eq!(p.orig_len, 60);
                assert!(r.next_packet().unwrap().is_none());
                assert_eq!(r.snaplen_truncated(), 1);
                assert!(r.issues().is_empty());
            }
        }
    }

    #[test]
    fn bad_inputs_name_offset() {
        let e = open_bytes(vec![]).err().unwrap();
        assert!(e.to_string().contains("byte 0"), "{e}");
        let e = open_bytes(b"hello world, not a capture".to_vec())
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a pcap"), "{e}");
        let e = open_bytes(pcap_header(false, false, 1)[..10].to_vec())
            .err()
            .unwrap();
        assert!(e.to_string().contains("10 of 24"), "{e}");
    }

    #[test]
    fn huge_record_is_refused_without_allocation() {
        let mut f = pcap_header(false, false, 1);
        f.extend(pcap_record(false, 1, 0, b"ok", 2));
        let mut rec = pcap_record(false, 2, 0, b"", 0);
        rec[8..12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        f.extend(rec);
        let mut r = open_bytes(f).unwrap();
        assert!(r.next_packet().unwrap().is_some());
        assert!(r.next_packet().unwrap().is_none());
        assert_eq!(r.issues().len(), 1);
        assert_eq!(r.issues()[0].offset, 24 + 18);
        assert!(r.issues()[0].message.contains("2147483648"));
    }

    #[test]
    fn truncated_last_record_is_a_warning() {
        let mut f = pcap_header(false, false, 1);
        f.extend(pcap_record(false, 1, 0, b"full", 4));
        let rec = pcap_record(false, 2, 0, b"cut-here", 8);
        f.extend(&rec[..20]);
        let mut r = open_bytes(f).unwrap();
        assert!(r.next_packet().unwrap().is_some());
        assert!(r.next_packet().unwrap().is_none());
        assert_eq!(r.truncated_records(), 1);
        assert!(r.issues()[0].message.contains("truncated last record"));
    }

    #[test]
    fn gzip_is_streamed() {
        use std::io::Write;
        let mut f = pcap_header(false, false, 1);
        f.extend(pcap_record(false, 1, 0, b"zipped", 6));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&f).unwrap();
        let z = enc.finish().unwrap();
        let mut r = open_bytes(z).unwrap();
        assert!(r.is_compressed());
        assert_eq!(r.next_packet().unwrap().unwrap().data, b"zipped");
    }

    fn block(btype: u32, body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        let len = (b.len() + 12) as u32;
        let mut v = btype.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend(b);
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    fn shb() -> Vec<u8> {
        let mut body = PCAPNG_BOM.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        block(PCAPNG_SHB, &body)
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&0u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&9u16.to_le_bytes());
            body.extend_from_slice(&1u16.to_le_bytes());
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(PCAPNG_IDB, &body)
    }

    fn epb(iface: u32, ts: u64, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        block(PCAPNG_EPB, &body)
    }

    #[test]
    fn pcapng_interfaces_resolutions_blocks_and_sections() {
        let mut f = shb();
        f.extend(idb(1, None)); // iface 0: Ethernet, microseconds
        f.extend(idb(101, Some(9))); // iface 1: raw IP, nanoseconds
        f.extend(block(0x0BAD, b"unknown block is skipped"));
        f.extend(epb(0, 1_500_000, b"eth"));
        f.extend(epb(1, 2_000_000_123, b"raw"));
        // Simple packet block: interface 0, no timestamp.
        let mut spb = 3u32.to_le_bytes().to_vec();
        spb.extend_from_slice(b"spb");
        f.extend(block(PCAPNG_SPB, &spb));
        // Obsolete packet block on interface 1.
        let mut opb = 1u16.to_le_bytes().to_vec();
        opb.extend_from_slice(&0u16.to_le_bytes());
        opb.extend_from_slice(&0u32.to_le_bytes());
        opb.extend_from_slice(&5u32.to_le_bytes());
        opb.extend_from_slice(&3u32.to_le_bytes());
        opb.extend_from_slice(&3u32.to_le_bytes());
        opb.extend_from_slice(b"opb");
        f.extend(block(PCAPNG_OPB, &opb));
        // A second section starts over with its own interfaces.
        f.extend(shb());
        f.extend(idb(113, None));
        f.extend(epb(0, 7_000_000, b"sll"));
        let mut r = open_bytes(f).unwrap();
        let mut got = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            got.push((p.data.to_vec(), p.linktype, p.ts_ns, p.iface));
        }
        assert_eq!(
            got,
            vec![
                (b"eth".to_vec(), 1, 1_500_000_000, 0),
                (b"raw".to_vec(), 101, 2_000_000_123, 1),
                (b"spb".to_vec(), 1, 0, 0),
                (b"opb".to_vec(), 101, 5, 1),
                (b"sll".to_vec(), 113, 7_000_000_000, 0),
            ]
        );
        assert!(r.issues().is_empty(), "{:?}", r.issues());
    }

    /// A shared file gives each of its readers, reading side by side, what
    /// a reader of its own gets: records cut by chunk ends anywhere (chunks
    /// of a few bytes to larger than most records, records larger than a
    /// chunk), pcap and pcapng, a truncated last record, a corrupt one.
    #[test]
    fn shared_readers_read_what_one_reader_reads() {
        let dir = std::env::temp_dir().join(format!("ww-shared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut files = Vec::new();
        // Classic pcap, both byte orders, records of 0 to 3000 bytes.
        for be in [false, true] {
            let mut f = pcap_header(be, false, 1);
            for i in 0..400u32 {
                let data: Vec<u8> = (0..rand(3000)).map(|j| (i as u64 + j) as u8).collect();
                let orig = data.len() as u32 + (i % 3);
                f.extend(pcap_record(be, i, i * 7, &data, orig));
            }
            files.push(f);
        }
        // pcapng, two interfaces, with an unknown block among the packets.
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(idb(101, Some(9)));
        for i in 0..300u64 {
            let data: Vec<u8> = (0..rand(2000)).map(|j| (i + j) as u8).collect();
            f.extend(epb((i % 2) as u32, i * 1000, &data));
            if i % 50 == 7 {
                f.extend(block(0x0BAD, &data[..data.len().min(100)]));
            }
        }
        files.push(f.clone());
        // The last record cut short; a record claiming 2 GB halfway.
        let mut cut = files[0].clone();
        cut.truncate(cut.len() - 5);
        files.push(cut);
        let mut corrupt = pcap_header(false, false, 1);
        for i in 0..200u32 {
            corrupt.extend(pcap_record(false, i, 0, &vec![i as u8; 700], 700));
        }
        let mut rec = pcap_record(false, 1, 0, b"", 0);
        rec[8..12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        corrupt.extend(rec);
        corrupt.extend(vec![0u8; 5000]);
        files.push(corrupt);
        for (n, bytes) in files.iter().enumerate() {
            let path = dir.join(format!("f{n}.pcap"));
            std::fs::write(&path, bytes).unwrap();
            let want = crate::shared::read_out(CaptureReader::open(&path));
            // Its packets, then one line of counters.
            assert!(want.len() > 200, "file {n}: {} packets", want.len() - 1);
            for chunk in [7, 64, 1000, 4096, 100_000] {
                for readers in [2, 3] {
                    let shares = crate::shared::open_shared_in(&path, readers, chunk)
                        .unwrap()
                        .unwrap();
                    let got: Vec<_> = std::thread::scope(|s| {
                        let handles: Vec<_> = shares
                            .into_iter()
                            .map(|sh| {
                                let path = &path;
                                s.spawn(move || {
                                    crate::shared::read_out(CaptureReader::open_shared(path, sh))
                                })
                            })
                            .collect();
                        handles.into_iter().map(|h| h.join().unwrap()).collect()
                    });
                    for g in got {
                        assert!(g == want, "file {n}, chunks of {chunk}, {readers} readers");
                    }
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A reader that stops early, or whose share is dropped unused, holds
    /// no other back: with chunks far smaller than the file (the window is
    /// four of them), the others read it all.
    #[test]
    fn shared_readers_do_not_wait_for_one_that_stopped() {
        let dir = std::env::temp_dir().join(format!("ww-shared-stop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.pcap");
        let mut f = pcap_header(false, false, 1);
        for i in 0..2000u32 {
            f.extend(pcap_record(false, i, 0, &[i as u8; 100], 100));
        }
        std::fs::write(&path, &f).unwrap();
        let mut shares = crate::shared::open_shared_in(&path, 3, 512)
            .unwrap()
            .unwrap();
        drop(shares.pop());
        let quitter = shares.pop().unwrap();
        let full = shares.pop().unwrap();
        let mut q = CaptureReader::open_shared(&path, quitter).unwrap();
        for _ in 0..10 {
            q.next_packet().unwrap().unwrap();
        }
        // `q` holds its place until it is dropped, on another thread a
        // little later; the other waits at the window until then and reads
        // on. (A reader that waited for ever fails the test, not hangs it.)
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let mut r = CaptureReader::open_shared(&p, full).unwrap();
            let mut n = 0;
            while r.next_packet().unwrap().is_some() {
                n += 1;
            }
            tx.send(n).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(q);
        let n = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a reader waited for one that was gone");
        assert_eq!(n, 2000);
        // Gzip files are not shared (each reader decompresses its own).
        let gz = dir.join("f.pcap.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &f).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert!(crate::open_shared(&gz, 2).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pcapng_bad_block_length_stops_with_offset() {
        let mut f = shb();
        f.extend(idb(1, None));
        let at = f.len();
        let mut b = epb(0, 1, b"x");
        b[4..8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        f.extend(b);
        let mut r = open_bytes(f).unwrap();
        assert!(r.next_packet().unwrap().is_none());
        assert_eq!(r.issues()[0].offset, at as u64);
    }
}
