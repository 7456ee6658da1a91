use std::fmt;
use std::path::PathBuf;

/// Why a capture could not be opened or read further. Every error names the
/// file and the byte offset where reading stopped (for gzip-compressed files,
/// the offset in the decompressed stream).
#[derive(Debug)]
pub struct CaptureError {
    /// The input as the user named it.
    pub path: PathBuf,
    /// Byte offset in the (decompressed) input where the problem was found.
    pub offset: u64,
    /// What went wrong.
    pub kind: CaptureErrorKind,
    /// Whether the offset counts decompressed bytes of a gzip input.
    pub compressed: bool,
}

/// The kinds of capture error, each with its own message.
#[derive(Debug)]
pub enum CaptureErrorKind {
    /// The path could not be opened or read.
    Io(std::io::Error),
    /// The path is a directory.
    IsDirectory,
    /// The file holds no bytes at all.
    Empty,
    /// The first four bytes are no capture magic.
    BadMagic(u32),
    /// The file header ends early.
    TruncatedHeader { have: usize, need: usize },
    /// A known but unsupported variant.
    Unsupported(String),
    /// A structure inside the file is inconsistent.
    Corrupt(String),
    /// A live capture failed.
    Live(String),
}

impl CaptureError {
    pub(crate) fn new(path: impl Into<PathBuf>, offset: u64, kind: CaptureErrorKind) -> Self {
        CaptureError {
            path: path.into(),
            offset,
            kind,
            compressed: false,
        }
    }
}

impl fmt::Display for CaptureErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureErrorKind::Io(e) => write!(f, "{e}"),
            CaptureErrorKind::IsDirectory => write!(f, "is a directory, not a capture file"),
            CaptureErrorKind::Empty => write!(f, "empty file (0 bytes), not a capture"),
            CaptureErrorKind::BadMagic(m) => write!(
                f,
                "not a pcap or pcapng capture (magic 0x{m:08x}; expected a1b2c3d4, a1b23c4d, 0a0d0d0a or gzip)"
            ),
            CaptureErrorKind::TruncatedHeader { have, need } => {
                write!(f, "truncated file header: {have} of {need} bytes")
            }
            CaptureErrorKind::Unsupported(s) => write!(f, "unsupported: {s}"),
            CaptureErrorKind::Corrupt(s) => write!(f, "corrupt: {s}"),
            CaptureErrorKind::Live(s) => write!(f, "live capture: {s}"),
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let z = if self.compressed {
            " (decompressed)"
        } else {
            ""
        };
        write!(
            f,
            "{}: byte {}{}: {}",
            self.path.display(),
            self.offset,
            z,
            self.kind
        )
    }
}

impl std::error::Error for CaptureError {}

/// A problem inside a capture that did not stop analysis: a truncated last
/// record, a corrupt block that was skipped. Reported as a warning and
/// counted; analysis goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputIssue {
    /// Byte offset in the (decompressed) input.
    pub offset: u64,
    /// One-line description.
    pub message: String,
    /// True when the rest of the file could not be read.
    pub fatal_for_file: bool,
}
