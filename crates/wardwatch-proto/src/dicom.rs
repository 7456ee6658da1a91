//! DICOM upper layer (PS3.8) over a TCP stream, found by content on any
//! port. Association negotiation, DIMSE commands and, from datasets, only
//! the device identity elements; group 0010 and everything else is skipped
//! without being kept.

use crate::bytes::{be16, le16, le32};
use crate::obs::{ObsKind, PresentationContext, WireName};

/// A DICOM text value: padding, NULs and control characters removed.
fn text(b: &[u8]) -> String {
    crate::bytes::text(b, usize::MAX)
}

/// The largest non-data PDU buffered (association PDUs are small).
const MAX_CONTROL_PDU: usize = 256 * 1024;
/// Bytes of a dataset kept for identity extraction (the elements sit in
/// groups 0008 and 0018, near the start).
const DATASET_PREFIX: usize = 64 * 1024;
/// Dataset bytes buffered before its identity is first tried (then at each
/// doubling).
const FIRST_CHECK: usize = 2048;
/// Bytes of a DIMSE command kept.
const COMMAND_MAX: usize = 16 * 1024;

/// Whether a stream's first bytes look like an A-ASSOCIATE-RQ.
pub fn probe(b: &[u8]) -> bool {
    if b.len() < 10 || b[0] != 0x01 || b[1] != 0 {
        return false;
    }
    let len = u32::from_be_bytes([b[2], b[3], b[4], b[5]]) as usize;
    // Protocol version 1, and a plausible length for an association request.
    (68..=MAX_CONTROL_PDU).contains(&len)
        && b[6] == 0
        && b[7] == 1
        && b.get(10..26)
            .is_none_or(|ae| ae.iter().all(|c| (0x20..0x7f).contains(c)))
}

/// Whether a short stream head could still become an A-ASSOCIATE-RQ.
pub fn probe_prefix(b: &[u8]) -> bool {
    b.first() == Some(&0x01)
        && b.get(1).is_none_or(|c| *c == 0)
        && b.get(6).is_none_or(|c| *c == 0)
        && b.get(7).is_none_or(|c| *c == 1)
}

/// Well-known UIDs: their names, and the UIDs themselves kept static (a
/// proposal repeats them in every association; see [`uid`]).
macro_rules! uid_table {
    ($($uid:literal => $name:literal,)*) => {
        /// The static copy of a well-known UID and its name.
        fn known_uid(uid: &[u8]) -> Option<(&'static str, &'static str)> {
            Some(match uid {
                $(x if x == $uid.as_bytes() => ($uid, $name),)*
                _ => return None,
            })
        }
    };
}

uid_table! {
    "1.2.840.10008.1.1" => "Verification",
    "1.2.840.10008.3.1.1.1" => "DICOM Application Context",
    "1.2.840.10008.1.2" => "Implicit VR Little Endian",
    "1.2.840.10008.1.2.1" => "Explicit VR Little Endian",
    "1.2.840.10008.1.2.1.99" => "Deflated Explicit VR Little Endian",
    "1.2.840.10008.1.2.2" => "Explicit VR Big Endian",
    "1.2.840.10008.1.2.4.50" => "JPEG Baseline",
    "1.2.840.10008.1.2.4.70" => "JPEG Lossless",
    "1.2.840.10008.1.2.4.90" => "JPEG 2000 Lossless",
    "1.2.840.10008.1.2.4.91" => "JPEG 2000",
    "1.2.840.10008.1.2.5" => "RLE Lossless",
    "1.2.840.10008.5.1.4.1.1.1" => "CR Image Storage",
    "1.2.840.10008.5.1.4.1.1.1.1" => "Digital X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.1.2" => "Digital Mammography X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.2" => "CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.1" => "Enhanced CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.3.1" => "Ultrasound Multi-frame Image Storage",
    "1.2.840.10008.5.1.4.1.1.4" => "MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.4.1" => "Enhanced MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.6.1" => "US Image Storage",
    "1.2.840.10008.5.1.4.1.1.7" => "Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.1" => "12-lead ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.12.1" => "X-Ray Angiographic Image Storage",
    "1.2.840.10008.5.1.4.1.1.20" => "NM Image Storage",
    "1.2.840.10008.5.1.4.1.1.128" => "PET Image Storage",
    "1.2.840.10008.5.1.4.1.1.481.1" => "RT Image Storage",
    "1.2.840.10008.5.1.4.1.1.88.11" => "Basic Text SR Storage",
    "1.2.840.10008.5.1.4.1.1.104.1" => "Encapsulated PDF Storage",
    "1.2.840.10008.5.1.4.1.2.1.1" => "Patient Root Q/R FIND",
    "1.2.840.10008.5.1.4.1.2.1.2" => "Patient Root Q/R MOVE",
    "1.2.840.10008.5.1.4.1.2.1.3" => "Patient Root Q/R GET",
    "1.2.840.10008.5.1.4.1.2.2.1" => "Study Root Q/R FIND",
    "1.2.840.10008.5.1.4.1.2.2.2" => "Study Root Q/R MOVE",
    "1.2.840.10008.5.1.4.1.2.2.3" => "Study Root Q/R GET",
    "1.2.840.10008.5.1.4.31" => "Modality Worklist FIND",
    "1.2.840.10008.3.1.2.3.3" => "Modality Performed Procedure Step",
    "1.2.840.10008.1.20.1" => "Storage Commitment Push Model",
    "1.2.840.10008.5.1.1.9" => "Basic Grayscale Print Management",
}

/// Names of well-known SOP classes and transfer syntaxes.
pub fn uid_name(uid: &str) -> Option<&'static str> {
    known_uid(uid.as_bytes()).map(|(_, name)| name)
}

/// DIMSE command field names.
pub fn command_name(field: u16) -> WireName {
    let name = match field {
        0x0001 => "C-STORE-RQ",
        0x8001 => "C-STORE-RSP",
        0x0010 => "C-GET-RQ",
        0x8010 => "C-GET-RSP",
        0x0020 => "C-FIND-RQ",
        0x8020 => "C-FIND-RSP",
        0x0021 => "C-MOVE-RQ",
        0x8021 => "C-MOVE-RSP",
        0x0030 => "C-ECHO-RQ",
        0x8030 => "C-ECHO-RSP",
        0x0100 => "N-EVENT-REPORT-RQ",
        0x8100 => "N-EVENT-REPORT-RSP",
        0x0110 => "N-GET-RQ",
        0x8110 => "N-GET-RSP",
        0x0120 => "N-SET-RQ",
        0x8120 => "N-SET-RSP",
        0x0130 => "N-ACTION-RQ",
        0x8130 => "N-ACTION-RSP",
        0x0140 => "N-CREATE-RQ",
        0x8140 => "N-CREATE-RSP",
        0x0150 => "N-DELETE-RQ",
        0x8150 => "N-DELETE-RSP",
        0x0FFF | 0x8FFF => "C-CANCEL-RQ",
        _ => return WireName::Owned(format!("0x{field:04x}")),
    };
    WireName::Borrowed(name)
}

/// A UID as sent (NUL padding, a control character, is dropped by [`text`]).
fn uid(b: &[u8]) -> WireName {
    // A UID is digits and dots, padded to even length with NUL (or a space):
    // a well-known one is the static copy, another taken as it is; anything
    // else is wire text.
    let end = b
        .iter()
        .rposition(|c| *c != 0 && *c != b' ')
        .map_or(0, |i| i + 1);
    let core = b.get(..end).unwrap_or_default();
    if let Some((uid, _)) = known_uid(core) {
        return WireName::Borrowed(uid);
    }
    if core.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return String::from_utf8_lossy(core).into_owned().into();
    }
    text(b).into()
}

/// Parses A-ASSOCIATE-RQ (type 1) or -AC (type 2) after the 6-byte header.
pub fn parse_associate(request: bool, body: &[u8]) -> Option<ObsKind> {
    let called = text(body.get(4..20)?);
    let calling = text(body.get(20..36)?);
    let mut items = body.get(68..)?;
    let mut app = None;
    let mut contexts = Vec::new();
    let (mut impl_uid, mut impl_ver, mut max_pdu, mut user, mut pass) =
        (None, None, None, None, false);
    while items.len() >= 4 {
        let ty = items[0];
        let len = be16(items, 2)? as usize;
        let val = items.get(4..4 + len)?;
        match ty {
            0x10 => app = Some(uid(val)),
            0x20 | 0x21 => {
                let mut pc = PresentationContext {
                    id: *val.first()?,
                    abstract_syntax: None,
                    transfer_syntaxes: Vec::new(),
                    result: (ty == 0x21).then(|| val.get(2).copied()).flatten(),
                };
                let mut sub = val.get(4..)?;
                while sub.len() >= 4 {
                    let st = sub[0];
                    let sl = be16(sub, 2)? as usize;
                    let sv = sub.get(4..4 + sl)?;
                    match st {
                        0x30 => pc.abstract_syntax = Some(uid(sv)),
                        0x40 if pc.transfer_syntaxes.len() < 32 => {
                            pc.transfer_syntaxes.push(uid(sv))
                        }
                        _ => {}
                    }
                    sub = &sub[4 + sl..];
                }
                if contexts.len() < 128 {
                    contexts.push(pc);
                }
            }
            0x50 => {
                let mut sub = val;
                while sub.len() >= 4 {
                    let st = sub[0];
                    let sl = be16(sub, 2)? as usize;
                    let sv = sub.get(4..4 + sl)?;
                    match st {
                        0x51 if sv.len() >= 4 => {
                            max_pdu = Some(u32::from_be_bytes([sv[0], sv[1], sv[2], sv[3]]))
                        }
                        0x52 => impl_uid = Some(uid(sv).into_owned()),
                        0x55 => impl_ver = Some(text(sv)),
                        0x58 if request => {
                            // User identity: type, response requested,
                            // primary field (username), secondary (passcode).
                            let kind = *sv.first()?;
                            let plen = be16(sv, 2)? as usize;
                            if matches!(kind, 1 | 2) {
                                user = Some(text(sv.get(4..4 + plen)?));
                            }
                            let slen = be16(sv, 4 + plen).unwrap_or(0);
                            pass = kind == 2 && slen > 0;
                        }
                        _ => {}
                    }
                    sub = &sub[4 + sl..];
                }
            }
            _ => {}
        }
        items = &items[4 + len..];
    }
    Some(ObsKind::DicomAssociate(Box::new(
        crate::obs::DicomAssociateFact {
            request,
            called_ae: called,
            calling_ae: calling,
            application_context: app,
            contexts,
            implementation_class_uid: impl_uid,
            implementation_version: impl_ver,
            max_pdu,
            user_identity: user,
            user_passcode_present: pass,
        },
    )))
}

/// Parses a DIMSE command set (always implicit VR little endian).
pub fn parse_command(b: &[u8]) -> Option<(u16, Option<WireName>, Option<u16>, bool)> {
    let mut at = 0;
    let (mut field, mut sop, mut status, mut has_data) = (None, None, None, false);
    while at + 8 <= b.len() {
        let group = le16(b, at)?;
        let elem = le16(b, at + 2)?;
        let len = le32(b, at + 4)? as usize;
        let val = b.get(at + 8..at + 8 + len)?;
        if group != 0 {
            break;
        }
        match elem {
            0x0002 => sop = Some(uid(val)),
            // Requested SOP class: what N-SET, N-ACTION, N-GET and N-DELETE
            // requests name instead (storage commitment, print).
            0x0003 if sop.is_none() => sop = Some(uid(val)),
            0x0100 => field = le16(val, 0),
            0x0800 => has_data = le16(val, 0).is_some_and(|v| v != 0x0101),
            0x0900 => status = le16(val, 0),
            _ => {}
        }
        at += 8 + len;
    }
    Some((field?, sop, status, has_data))
}

/// The identity elements a dataset may give up: the observation's fact,
/// its transfer syntax set once the dataset is read.
pub type Identity = crate::obs::DicomIdentityFact;

impl Identity {
    /// Whether any element was found.
    pub fn is_empty(&self) -> bool {
        *self == Identity::default()
    }
}

const VR_LONG: [&[u8; 2]; 9] = [
    b"OB", b"OD", b"OF", b"OL", b"OW", b"SQ", b"UC", b"UR", b"UT",
];

/// Walks a dataset's top-level elements and keeps only the allow-listed
/// identity elements. Stops at the first element past group 0018 or at the
/// end of the bytes it has; sequences and everything else are skipped.
pub fn parse_identity(b: &[u8], explicit: bool) -> Identity {
    walk_identity(b, explicit).0
}

/// [`parse_identity`], and whether the walk reached an element past group
/// 0018: then more bytes of the dataset could not change the identity.
fn walk_identity(b: &[u8], explicit: bool) -> (Identity, bool) {
    let mut id = Identity::default();
    let mut at = 0usize;
    let mut passed = false;
    while at + 8 <= b.len() {
        let (Some(group), Some(elem)) = (le16(b, at), le16(b, at + 2)) else {
            break;
        };
        if group > 0x0018 {
            passed = true;
            break;
        }
        let (hdr, len) = if explicit && group != 0xFFFE {
            let vr = [b[at + 4], b[at + 5]];
            if VR_LONG.iter().any(|v| **v == vr) || &vr == b"UN" {
                let Some(l) = le32(b, at + 8) else { break };
                (12, l)
            } else {
                let Some(l) = le16(b, at + 6) else { break };
                (8, l as u32)
            }
        } else {
            let Some(l) = le32(b, at + 4) else { break };
            (8, l)
        };
        if len == u32::MAX {
            // Undefined length (a sequence) before the identity groups end:
            // find its delimiter without reading what is inside.
            match skip_undefined(b, at + hdr) {
                Some(next) => {
                    at = next;
                    continue;
                }
                None => break,
            }
        }
        let start = at + hdr;
        let end = start.saturating_add(len as usize);
        let Some(val) = b.get(start..end) else { break };
        let keep = match (group, elem) {
            (0x0008, 0x0070) => Some(&mut id.manufacturer),
            (0x0008, 0x1090) => Some(&mut id.model),
            (0x0018, 0x1020) => Some(&mut id.software_versions),
            (0x0018, 0x1000) => Some(&mut id.serial),
            (0x0008, 0x1010) => Some(&mut id.station_name),
            (0x0008, 0x0060) => Some(&mut id.modality),
            (0x0008, 0x0080) => Some(&mut id.institution),
            _ => None,
        };
        if let Some(slot) = keep {
            let v = text(val).replace('\\', " / ");
            if !v.is_empty() {
                *slot = Some(v.chars().take(128).collect());
            }
        }
        at = end;
    }
    (id, passed)
}

/// Finds the end of an undefined-length value: the sequence delimitation
/// item (FFFE,E0DD) at nesting depth zero.
fn skip_undefined(b: &[u8], mut at: usize) -> Option<usize> {
    let mut depth = 0u32;
    while at + 8 <= b.len() {
        let group = le16(b, at)?;
        let elem = le16(b, at + 2)?;
        let len = le32(b, at + 4)?;
        if group == 0xFFFE {
            match elem {
                0xE0DD if depth == 0 => return Some(at + 8),
                0xE0DD | 0xE00D => {
                    depth = depth.saturating_sub(1);
                    at += 8;
                }
                0xE000 if len == u32::MAX => {
                    depth += 1;
                    at += 8;
                }
                _ => at = at.checked_add(8 + len as usize)?,
            }
            if depth > 16 {
                return None;
            }
        } else {
            // Elements inside items: step over them by their own length
            // (explicit or implicit, guessed from the VR bytes).
            let vr = b.get(at + 4..at + 6)?;
            let explicit = vr.iter().all(|c| c.is_ascii_uppercase());
            let (hdr, l) = if explicit {
                if VR_LONG.iter().any(|v| v.as_slice() == vr) || vr == b"UN" {
                    (12, le32(b, at + 8)?)
                } else {
                    (8, le16(b, at + 6)? as u32)
                }
            } else {
                (8, len)
            };
            if l == u32::MAX {
                depth += 1;
                at += hdr;
            } else {
                at = at.checked_add(hdr + l as usize)?;
            }
        }
    }
    None
}

#[derive(Default)]
struct DirState {
    /// Bytes of an incomplete PDU header or control PDU.
    buf: Vec<u8>,
    /// Remaining bytes of the P-DATA PDU being streamed.
    pdata_left: usize,
    /// Remaining bytes of the current PDV item, its context and flags.
    pdv_left: usize,
    pdv_ctx: u8,
    pdv_flags: u8,
    /// Header bytes of the next PDV item.
    pdv_head: Vec<u8>,
    command: Vec<u8>,
    dataset: Vec<u8>,
    /// The current dataset's identity was read from its first bytes: the
    /// rest is only counted.
    dataset_read: bool,
    /// Dataset length at which its identity is tried next.
    dataset_check: usize,
    dataset_ctx: u8,
    dataset_bytes: u64,
    /// C-FIND requests sent in this direction (queries, never their keys).
    finds: u32,
    broken: bool,
}

/// The state of one DICOM association (one TCP connection).
#[derive(Default)]
pub struct DicomState {
    dirs: [DirState; 2],
    /// Accepted transfer syntax per presentation context id.
    accepted: Vec<(u8, WireName)>,
    identity_sent: bool,
    deflated: bool,
    /// Malformed PDUs seen.
    pub errors: u64,
}

impl DicomState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        let mut n = 0;
        for d in &mut self.dirs {
            n += crate::bytes::held(&mut d.buf)
                + d.pdv_head.capacity()
                + d.command.capacity()
                + d.dataset.capacity();
        }
        n
    }

    /// Feeds stream bytes of direction `dir` (0 client→server).
    pub fn feed(&mut self, dir: usize, mut data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(_) = self.dirs.get(dir) else { return };
        while !data.is_empty() {
            if self.dirs[dir].broken {
                return;
            }
            if self.dirs[dir].pdata_left > 0 {
                let n = self.stream_pdata(dir, data, out);
                data = &data[n..];
                continue;
            }
            // Need a PDU header (6 bytes) first.
            let d = &mut self.dirs[dir];
            let need_head = 6usize.saturating_sub(d.buf.len());
            if need_head > 0 {
                let n = need_head.min(data.len());
                d.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
                if d.buf.len() < 6 {
                    return;
                }
            }
            let ty = d.buf[0];
            let len = u32::from_be_bytes([d.buf[2], d.buf[3], d.buf[4], d.buf[5]]) as usize;
            if !(1..=7).contains(&ty) {
                d.broken = true;
                self.errors += 1;
                return;
            }
            if ty == 4 {
                d.buf.clear();
                d.pdata_left = len;
                if len == 0 {
                    continue;
                }
                continue;
            }
            if len > MAX_CONTROL_PDU {
                d.broken = true;
                self.errors += 1;
                return;
            }
            let have = d.buf.len() - 6;
            let n = (len - have).min(data.len());
            d.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if d.buf.len() - 6 < len {
                return;
            }
            let pdu = std::mem::take(&mut self.dirs[dir].buf);
            self.control_pdu(ty, pdu.get(6..).unwrap_or(&[]), out);
        }
    }

    fn control_pdu(&mut self, ty: u8, body: &[u8], out: &mut Vec<ObsKind>) {
        match ty {
            1 | 2 => match parse_associate(ty == 1, body) {
                Some(o) => {
                    // The accept says which transfer syntax each context uses.
                    let accepted = match &o {
                        ObsKind::DicomAssociate(a) if !a.request => a.contexts.as_slice(),
                        _ => &[],
                    };
                    // Context ids are odd bytes: 128 of them at most, and no
                    // more are kept whatever the stream repeats.
                    for c in accepted.iter().filter(|c| c.result == Some(0)) {
                        if self.accepted.len() >= 128 {
                            break;
                        }
                        if let Some(ts) = c.transfer_syntaxes.first() {
                            self.accepted.push((c.id, ts.clone()));
                        }
                    }
                    out.push(o);
                }
                None => self.errors += 1,
            },
            3 => {
                if let (Some(r), Some(s), Some(x)) = (body.get(1), body.get(2), body.get(3)) {
                    out.push(ObsKind::DicomReject {
                        result: *r,
                        source: *s,
                        reason: *x,
                    });
                } else {
                    self.errors += 1;
                }
            }
            5 => out.push(ObsKind::DicomRelease { abort: false }),
            7 => out.push(ObsKind::DicomRelease { abort: true }),
            _ => {}
        }
    }

    /// Streams P-DATA bytes through PDV items; returns bytes consumed.
    fn stream_pdata(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) -> usize {
        let mut used = 0;
        // Datasets are read for the device's identity once per association;
        // after that only their volume is counted.
        let keep_dataset = !self.identity_sent;
        while used < data.len() && self.dirs[dir].pdata_left > 0 {
            let d = &mut self.dirs[dir];
            let avail = (data.len() - used).min(d.pdata_left);
            if d.pdv_left == 0 {
                // PDV item header: length(4) context(1) flags(1).
                let n = (6 - d.pdv_head.len()).min(avail);
                d.pdv_head.extend_from_slice(&data[used..used + n]);
                used += n;
                d.pdata_left -= n;
                if d.pdv_head.len() < 6 {
                    continue;
                }
                let h = &d.pdv_head;
                let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
                d.pdv_ctx = h[4];
                d.pdv_flags = h[5];
                d.pdv_head.clear();
                if len < 2 || len - 2 > d.pdata_left {
                    d.broken = true;
                    self.errors += 1;
                    return data.len();
                }
                d.pdv_left = len - 2;
                // Room is made once for what is kept of the message, not by
                // doubling (and copying) segment by segment: this PDV's
                // length when it is the last fragment, else all that is kept.
                let last = d.pdv_flags & 2 != 0;
                let (buf, max) = if d.pdv_flags & 1 != 0 {
                    (&mut d.command, COMMAND_MAX)
                } else {
                    let keep = keep_dataset && !d.dataset_read;
                    (&mut d.dataset, if keep { DATASET_PREFIX } else { 0 })
                };
                let room = max.saturating_sub(buf.len());
                buf.reserve_exact(if last { d.pdv_left.min(room) } else { room });
                if d.pdv_left == 0 {
                    self.pdv_done(dir, out);
                }
                continue;
            }
            let n = d.pdv_left.min(avail);
            let chunk = &data[used..used + n];
            let mut try_identity = false;
            if d.pdv_flags & 1 != 0 {
                if d.command.len() + n <= COMMAND_MAX {
                    d.command.extend_from_slice(chunk);
                }
            } else {
                d.dataset_bytes += n as u64;
                d.dataset_ctx = d.pdv_ctx;
                if keep_dataset && !d.dataset_read {
                    let room = DATASET_PREFIX.saturating_sub(d.dataset.len());
                    d.dataset.extend_from_slice(&chunk[..n.min(room)]);
                    if d.dataset.len() >= d.dataset_check.max(FIRST_CHECK) {
                        // The identity groups come first: most datasets
                        // have passed them within a few KiB.
                        d.dataset_check = d.dataset.len() * 2;
                        try_identity = true;
                    }
                }
            }
            used += n;
            d.pdata_left -= n;
            d.pdv_left -= n;
            let done = d.pdv_left == 0;
            if try_identity {
                self.dataset_identity(dir, out, false);
            }
            if done {
                self.pdv_done(dir, out);
            }
        }
        used
    }

    fn pdv_done(&mut self, dir: usize, out: &mut Vec<ObsKind>) {
        let d = &mut self.dirs[dir];
        if d.pdv_flags & 2 == 0 {
            return; // more fragments follow
        }
        if d.pdv_flags & 1 != 0 {
            let cmd = std::mem::take(&mut d.command);
            match parse_command(&cmd) {
                Some((field, sop, status, _)) => {
                    if field == 0x0020 {
                        d.finds = d.finds.saturating_add(1);
                    }
                    out.push(ObsKind::DicomCommand {
                        command: command_name(field),
                        sop_class: sop,
                        status: if field & 0x8000 != 0 { status } else { None },
                    })
                }
                None => self.errors += 1,
            }
        } else {
            self.dataset_identity(dir, out, true);
            let d = &mut self.dirs[dir];
            d.dataset = Vec::new();
            d.dataset_read = false;
            d.dataset_check = 0;
        }
    }

    /// Reads the device identity from the dataset buffered in direction
    /// `dir`: at its end, or before (`at_end` false) once its bytes have
    /// passed the identity groups.
    fn dataset_identity(&mut self, dir: usize, out: &mut Vec<ObsKind>, at_end: bool) {
        let ctx = self.dirs[dir].dataset_ctx;
        let ts = self
            .accepted
            .iter()
            .find(|(id, _)| *id == ctx)
            .map(|(_, t)| t.clone());
        let implicit = ts.as_deref() == Some("1.2.840.10008.1.2");
        let deflated = ts.as_deref() == Some("1.2.840.10008.1.2.1.99");
        let big_endian = ts.as_deref() == Some("1.2.840.10008.1.2.2");
        if deflated && at_end {
            // Noted, not inflated.
            self.deflated = true;
        }
        let d = &mut self.dirs[dir];
        if d.dataset_read {
            return;
        }
        // A dataset that cannot be read (deflated, big endian) or need not be
        // (the identity was sent) is done with at its first try: nothing more
        // of it is copied.
        let readable = !deflated && !big_endian && !self.identity_sent;
        let (id, passed) = if readable {
            walk_identity(&d.dataset, !implicit)
        } else {
            (Identity::default(), true)
        };
        if !(at_end || passed) {
            return;
        }
        d.dataset_read = true;
        d.dataset = Vec::new();
        if !id.is_empty() {
            self.identity_sent = true;
            out.push(ObsKind::DicomIdentity(Box::new(Identity {
                transfer_syntax: ts.map(WireName::into_owned),
                ..id
            })));
        }
    }

    /// The association's volume, for its end.
    pub fn volume(&self) -> ObsKind {
        ObsKind::DicomVolume {
            to_server: self.dirs[0].dataset_bytes,
            to_client: self.dirs[1].dataset_bytes,
            deflated: self.deflated,
            finds: self.dirs[0].finds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_is_read_as_wire_text_is() {
        for b in crate::strings(0x1d, b"0123.\0 a\x01", 12, 5000) {
            assert_eq!(uid(&b), text(&b), "{b:?}");
        }
    }

    /// N-ACTION names the SOP class it acts on as the requested one
    /// (0000,0003): a storage commitment request is told from a print
    /// request by it. C-STORE names it as the affected one (0000,0002).
    #[test]
    fn commands_name_their_affected_or_requested_sop_class() {
        let implicit = |e: u16, v: &[u8]| {
            let mut o = vec![0, 0];
            o.extend_from_slice(&e.to_le_bytes());
            o.extend_from_slice(&(v.len() as u32).to_le_bytes());
            o.extend_from_slice(v);
            o
        };
        let commit = b"1.2.840.10008.1.20.1\0";
        let action = [
            implicit(0x0003, commit),
            implicit(0x0100, &0x0130u16.to_le_bytes()),
            implicit(0x0800, &0x0102u16.to_le_bytes()),
        ]
        .concat();
        let (field, sop, _, data) = parse_command(&action).unwrap();
        assert_eq!(
            (field, sop.as_deref(), data),
            (0x0130, Some("1.2.840.10008.1.20.1"), true)
        );
        let store = [
            implicit(0x0002, b"1.2.840.10008.5.1.4.1.1.2\0"),
            implicit(0x0100, &0x0001u16.to_le_bytes()),
        ]
        .concat();
        let (_, sop, _, _) = parse_command(&store).unwrap();
        assert_eq!(sop.as_deref(), Some("1.2.840.10008.5.1.4.1.1.2"));
    }

    fn elem(g: u16, e: u16, vr: &[u8; 2], v: &[u8]) -> Vec<u8> {
        let mut o = g.to_le_bytes().to_vec();
        o.extend_from_slice(&e.to_le_bytes());
        o.extend_from_slice(vr);
        o.extend_from_slice(&(v.len() as u16).to_le_bytes());
        o.extend_from_slice(v);
        o
    }

    #[test]
    fn identity_keeps_only_the_allow_list() {
        let mut ds = elem(0x0008, 0x0060, b"CS", b"US");
        ds.extend(elem(0x0008, 0x0070, b"LO", b"GE Healthcare "));
        ds.extend(elem(0x0008, 0x1090, b"LO", b"LOGIQ E9"));
        ds.extend(elem(0x0010, 0x0010, b"PN", b"DOE^JANE"));
        ds.extend(elem(0x0018, 0x1020, b"LO", b"R6.0.5"));
        ds.extend(elem(0x0020, 0x000D, b"UI", b"1.2.3"));
        let id = parse_identity(&ds, true);
        assert_eq!(id.manufacturer.as_deref(), Some("GE Healthcare"));
        assert_eq!(id.model.as_deref(), Some("LOGIQ E9"));
        assert_eq!(id.software_versions.as_deref(), Some("R6.0.5"));
        assert_eq!(id.modality.as_deref(), Some("US"));
        assert!(!format!("{id:?}").contains("DOE"));
    }

    fn pdu(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut o = vec![ty, 0];
        o.extend_from_slice(&(body.len() as u32).to_be_bytes());
        o.extend_from_slice(body);
        o
    }

    /// A P-DATA PDU holding one PDV.
    fn pdata(flags: u8, data: &[u8]) -> Vec<u8> {
        let mut pdv = ((data.len() + 2) as u32).to_be_bytes().to_vec();
        pdv.extend_from_slice(&[1, flags]);
        pdv.extend_from_slice(data);
        pdu(4, &pdv)
    }

    /// An association's two directions: the accept (context 1, explicit VR
    /// little endian) and a C-STORE whose dataset comes in PDVs of 4 KiB.
    fn store(dataset: &[u8]) -> (Vec<u8>, Vec<u8>) {
        store_as(b"1.2.840.10008.1.2.1\0", dataset)
    }

    /// [`store`] with the transfer syntax `ts` accepted.
    fn store_as(ts: &[u8], dataset: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut ctx = vec![1, 0, 0, 0, 0x40, 0];
        ctx.extend_from_slice(&(ts.len() as u16).to_be_bytes());
        ctx.extend_from_slice(ts);
        let mut ac = vec![0u8; 68];
        ac[1] = 1;
        ac.extend_from_slice(&[0x21, 0]);
        ac.extend_from_slice(&(ctx.len() as u16).to_be_bytes());
        ac.extend_from_slice(&ctx);
        let mut rq = pdata(3, &[0, 0, 0, 1, 2, 0, 0, 0, 1, 0]);
        let chunks: Vec<&[u8]> = dataset.chunks(4096).collect();
        for (i, c) in chunks.iter().enumerate() {
            rq.extend(pdata(if i + 1 == chunks.len() { 2 } else { 0 }, c));
        }
        (rq, pdu(2, &ac))
    }

    fn identities(rq: &[u8], ac: &[u8], cut: &mut impl FnMut(u64) -> u64) -> Vec<ObsKind> {
        let mut st = DicomState::default();
        let mut out = Vec::new();
        st.feed(1, ac, &mut out);
        let mut at = 0;
        while at < rq.len() {
            let n = (1 + cut(3000) as usize).min(rq.len() - at);
            st.feed(0, &rq[at..at + n], &mut out);
            at += n;
        }
        assert_eq!(st.errors, 0);
        out.retain(|o| matches!(o, ObsKind::DicomIdentity(_)));
        out
    }

    #[test]
    fn identity_read_early_is_the_identity_of_the_whole_dataset() {
        // The identity is read once the dataset has passed group 0018 (here
        // after a 6 KiB element, so not at the first try), the pixel data
        // after it only counted; any cut of the stream gives the same.
        let mut ds = elem(0x0008, 0x0070, b"LO", b"GE Healthcare");
        ds.extend(elem(0x0008, 0x2111, b"ST", &[b'x'; 6000]));
        ds.extend(elem(0x0018, 0x1020, b"LO", b"R6.0.5"));
        ds.extend(elem(0x0010, 0x0010, b"PN", b"DOE^JANE"));
        ds.extend(elem(0x7FE0, 0x0010, b"OB", &[0; 0]));
        ds.extend(vec![7u8; 40_000]);
        let (rq, ac) = store(&ds);
        let id = parse_identity(&ds, true);
        assert_eq!(id.software_versions.as_deref(), Some("R6.0.5"));
        let mut below = crate::below(0x1de);
        for _ in 0..200 {
            let got = identities(&rq, &ac, &mut below);
            assert_eq!(got.len(), 1);
            let ObsKind::DicomIdentity(d) = &got[0] else {
                unreachable!()
            };
            let crate::obs::DicomIdentityFact {
                manufacturer,
                software_versions,
                transfer_syntax,
                ..
            } = &**d;
            assert_eq!(manufacturer, &id.manufacturer);
            assert_eq!(software_versions, &id.software_versions);
            assert_eq!(transfer_syntax.as_deref(), Some("1.2.840.10008.1.2.1"));
        }
        // Read before the dataset's end: its last 30 KB are not needed.
        let mut st = DicomState::default();
        let mut out = Vec::new();
        st.feed(1, &ac, &mut out);
        st.feed(0, &rq[..rq.len() - 30_000], &mut out);
        assert!(out.iter().any(|o| matches!(o, ObsKind::DicomIdentity(_))));
        // A dataset that ends inside the identity groups is read at its end.
        let short = elem(0x0008, 0x0070, b"LO", b"Acme");
        let (rq, ac) = store(&short);
        assert_eq!(identities(&rq, &ac, &mut below).len(), 1);
    }

    #[test]
    fn a_deflated_dataset_is_noted_and_not_kept() {
        let mut ds = elem(0x0008, 0x0070, b"LO", b"Acme");
        ds.extend(vec![7u8; 40_000]);
        let (rq, ac) = store_as(b"1.2.840.10008.1.2.1.99\0", &ds);
        let mut st = DicomState::default();
        let mut out = Vec::new();
        st.feed(1, &ac, &mut out);
        st.feed(0, &rq[..rq.len() - 30_000], &mut out);
        // Given up at the first try: nothing of it is held.
        assert_eq!(st.dirs[0].dataset.capacity(), 0);
        st.feed(0, &rq[rq.len() - 30_000..], &mut out);
        assert_eq!(st.errors, 0);
        assert!(!out.iter().any(|o| matches!(o, ObsKind::DicomIdentity(_))));
        assert!(
            matches!(st.volume(), ObsKind::DicomVolume { deflated: true, to_server, .. } if to_server == ds.len() as u64)
        );
    }

    #[test]
    fn truncated_and_garbage_datasets_do_not_panic() {
        let mut ds = elem(0x0008, 0x0070, b"LO", b"Vendor");
        ds.extend(elem(0x0008, 0x1090, b"LO", b"Model"));
        for n in 0..ds.len() {
            let _ = parse_identity(&ds[..n], true);
            let _ = parse_identity(&ds[..n], false);
        }
        let _ = parse_identity(&[0xFF; 64], true);
        let _ = skip_undefined(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF], 0);
    }
}
