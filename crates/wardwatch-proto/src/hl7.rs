//! HL7 v2 over MLLP (0x0B … 0x1C 0x0D), unframed, and in batches (FHS/BHS).
//! Framing is check-then-parse: a message is parsed only once it is whole,
//! and a segment boundary in the middle of a message is not an error.
//!
//! Privacy: only an allow-list leaves the parser — MSH (separators,
//! applications, facilities, type, control id, version), MSA, SFT, PRT and
//! OBX-18 equipment identifiers, segment names and counts. PID, NK1, PV1,
//! AL1 and OBX-5 values are never copied.

use crate::obs::ObsKind;
use std::borrow::Cow;

/// Largest message buffered; a longer one is skipped to its end.
const MAX_MESSAGE: usize = 1 << 20;

const SB: u8 = 0x0B;
const EB: u8 = 0x1C;
const CR: u8 = 0x0D;

/// Whether a stream starts like HL7 (MLLP framed or bare MSH/FHS/BHS).
pub fn probe(b: &[u8]) -> bool {
    let b = b.strip_prefix(&[SB]).unwrap_or(b);
    let b = trim_leading_ws(b);
    // The field separator follows the segment name: any printable
    // non-alphanumeric character (it is `|` in practice).
    b.len() >= 8
        && (b.starts_with(b"MSH") || b.starts_with(b"FHS") || b.starts_with(b"BHS"))
        && b[3].is_ascii_punctuation()
}

fn trim_leading_ws(mut b: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = b.split_first() {
        if c == b'\r' || c == b'\n' || c == b' ' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Splits a field into components by the component separator.
fn component(field: &str, comp_sep: char, i: usize) -> &str {
    let Some(sep) = ascii(comp_sep) else {
        return field.split(comp_sep).nth(i).unwrap_or("");
    };
    // Split by byte: an ASCII byte is always a character boundary.
    let mut pieces = field.as_bytes().split(|c| *c == sep);
    let mut start = 0;
    for _ in 0..i {
        match pieces.next() {
            Some(p) => start += p.len() + 1,
            None => return "",
        }
    }
    pieces
        .next()
        .and_then(|p| field.get(start..start + p.len()))
        .unwrap_or("")
}

/// Field `i` of a segment (0: the segment's name; `None` past its last),
/// decoded alone when the separator is ASCII (as it is in practice), else
/// from the whole segment; the same text either way.
fn field(seg: &[u8], fs: char, i: usize) -> Option<Cow<'_, str>> {
    match ascii(fs) {
        Some(b) => {
            // The field ends at separator `i` and starts after separator `i - 1`.
            let mut seps = memchr::memchr_iter(b, seg);
            let start = match i.checked_sub(1) {
                Some(k) => seps.nth(k)? + 1,
                None => 0,
            };
            let end = seps.next().unwrap_or(seg.len());
            seg.get(start..end).map(String::from_utf8_lossy)
        }
        None => String::from_utf8_lossy(seg)
            .split(fs)
            .nth(i)
            .map(|f| Cow::Owned(f.to_string())),
    }
}

/// The separator as a byte, when it is ASCII.
fn ascii(fs: char) -> Option<u8> {
    u8::try_from(fs).ok().filter(u8::is_ascii)
}

/// Adds an equipment identifier (its components joined by the standard `^`)
/// unless it is empty or already there; an ORU repeats it on every OBX, so
/// it is compared before it is copied.
fn add_equipment(equipment: &mut Vec<String>, field: &str, comp: char) {
    if field.is_empty() {
        return;
    }
    let e: Cow<'_, str> = if comp == '^' {
        Cow::Borrowed(field.trim())
    } else {
        Cow::Owned(field.replace(comp, "^").trim().to_string())
    };
    if !equipment.iter().any(|x| *x == *e) {
        equipment.push(e.into_owned());
    }
}

/// The message split at every CR and LF (as `split` would, found by SIMD
/// search: an OBX-5 may carry a whole document).
fn segments(msg: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut from = 0;
    let ends = memchr::memchr2_iter(b'\r', b'\n', msg).chain(std::iter::once(msg.len()));
    ends.map(move |end| {
        let seg = msg.get(from..end).unwrap_or_default();
        from = end + 1;
        seg
    })
}

/// Parses one whole message (segments separated by CR, or LF leniently).
pub fn parse_message(msg: &[u8], mllp: bool) -> Option<ObsKind> {
    // Segments are split on bytes; only the few that are read are decoded.
    let mut segments = segments(msg)
        .map(<[u8]>::trim_ascii_start)
        .filter(|s| !s.is_empty());
    // Batches: skip file and batch headers to the first MSH.
    let msh = segments.find(|s| s.starts_with(b"MSH"))?;
    // MSH-1 is the separator itself (so MSH-n is field n-1 of the
    // segment), MSH-2 the encoding characters: both within the first nine
    // characters, which the first 40 bytes hold whatever their encoding.
    let head = String::from_utf8_lossy(msh.get(..40).unwrap_or(msh));
    let fs = head.chars().nth(3)?;
    let enc: String = head
        .chars()
        .skip(4)
        .take_while(|c| *c != fs)
        .take(5)
        .collect();
    // The header's first twelve fields, split once (by byte when the
    // separator is ASCII, as it is in practice).
    let mut fields: [&[u8]; 12] = [&[]; 12];
    if let Some(b) = ascii(fs) {
        for (slot, f) in fields.iter_mut().zip(msh.split(|c| *c == b)) {
            *slot = f;
        }
    }
    let msh_field = |n: usize| -> Cow<'_, str> {
        if ascii(fs).is_some() {
            let f = fields.get(n - 1).copied().unwrap_or_default();
            std::str::from_utf8(f).map_or_else(|_| String::from_utf8_lossy(f), Cow::Borrowed)
        } else {
            field(msh, fs, n - 1).unwrap_or_default()
        }
    };
    let comp = enc.chars().next().unwrap_or('^');
    // The first component of a header field, trimmed around the field.
    let first = |n: usize| component(msh_field(n).trim(), comp, 0).to_string();
    let msh9 = msh_field(9);
    let mut ack_code = None;
    let mut software = Vec::new();
    let mut equipment = Vec::new();
    for seg in segments {
        let Some(name) = seg
            .get(..3)
            .filter(|n| n.iter().all(u8::is_ascii_alphanumeric))
            .and_then(|n| std::str::from_utf8(n).ok())
        else {
            continue;
        };
        if !matches!(name, "MSA" | "SFT" | "OBX" | "PRT") {
            // Only these are read (and never PID, NK1, PV1 or OBX-5).
            continue;
        }
        // Only the fields read are decoded (an OBX carries its value, maybe
        // a whole document, in OBX-5).
        let field = |i: usize| field(seg, fs, i);
        match name {
            "MSA" => ack_code = field(1).map(|s| s.trim().to_string()),
            "SFT" if software.len() < 8 => {
                // SFT-1 vendor organisation, SFT-2 version, SFT-3 product.
                let (org, ver, prod) = (
                    field(1).unwrap_or_default(),
                    field(2).unwrap_or_default(),
                    field(3).unwrap_or_default(),
                );
                let s = [component(&org, comp, 0), &*prod, &*ver]
                    .iter()
                    .filter(|x| !x.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !s.is_empty() {
                    software.push(s);
                }
            }
            "OBX" if equipment.len() < 16 => {
                // OBX-18: equipment instance identifier (never OBX-5), its
                // components joined by the standard `^` whatever MSH-2 said.
                if let Some(e) = field(18) {
                    add_equipment(&mut equipment, &e, comp);
                }
            }
            "PRT" if equipment.len() < 16 => {
                // PRT-10 participation device, PRT-16 UDI.
                for i in [10, 16] {
                    if let Some(e) = field(i) {
                        add_equipment(&mut equipment, &e, comp);
                    }
                }
            }
            _ => {}
        }
    }
    Some(ObsKind::Hl7Message(Box::new(crate::obs::Hl7Header {
        mllp,
        encoding: {
            let mut e = String::with_capacity(fs.len_utf8() + enc.len());
            e.push(fs);
            e.push_str(&enc);
            e
        },
        sending_application: first(3),
        sending_facility: first(4),
        receiving_application: first(5),
        receiving_facility: first(6),
        message_type: component(&msh9, comp, 0).trim().to_string(),
        trigger: component(&msh9, comp, 1).trim().to_string(),
        control_id: msh_field(10).trim().to_string(),
        version: first(12),
        ack_code,
        software,
        equipment,
    })))
}

/// Per-direction framing state.
#[derive(Default)]
struct DirState {
    buf: Vec<u8>,
    /// Skipping an oversized message to its end block.
    skipping: bool,
    /// Unframed: how far `buf` was searched for the next message's MSH
    /// without finding one (the search resumes there, not at the start).
    unframed_searched: usize,
}

/// HL7 state of one TCP connection.
#[derive(Default)]
pub struct Hl7State {
    dirs: [DirState; 2],
    /// Messages that could not be parsed.
    pub errors: u64,
}

impl Hl7State {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.dirs
            .iter_mut()
            .map(|d| crate::bytes::held(&mut d.buf))
            .sum()
    }

    /// Feeds stream bytes of direction `dir`.
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(d) = self.dirs.get_mut(dir) else {
            return;
        };
        if d.skipping {
            match memchr::memchr(EB, data) {
                Some(i) => {
                    d.skipping = false;
                    return self.feed(dir, data.get(i + 1..).unwrap_or(&[]), out);
                }
                None => return,
            }
        }
        // The bytes held before these hold no end block after their start
        // block (else they would have been taken): the search for one
        // resumes at the new bytes.
        let mut searched = d.buf.len();
        d.buf.extend_from_slice(data);
        // Messages taken off the front so far (removed once, at the end).
        let mut taken = 0;
        loop {
            let d = &mut self.dirs[dir];
            let buf = d.buf.get(taken..).unwrap_or_default();
            // Check: is a whole message here?
            let start = match memchr::memchr(SB, buf) {
                Some(s) => s,
                None => {
                    if taken > 0 {
                        d.buf.drain(..taken);
                        d.unframed_searched = 0;
                        taken = 0;
                    }
                    // Unframed HL7: messages start at MSH; a message is whole
                    // when the next MSH begins (or the stream ends).
                    if let Some(parsed) = take_unframed(d, false) {
                        searched = 0;
                        match parsed {
                            Some(o) => out.push(o),
                            None => self.errors += 1,
                        }
                        continue;
                    }
                    if d.buf.len() > MAX_MESSAGE {
                        d.buf.clear();
                        d.unframed_searched = 0;
                        self.errors += 1;
                    }
                    return;
                }
            };
            let from = start.max(searched.saturating_sub(1));
            let Some(end) = end_block(buf, from).map(|i| i - start) else {
                if buf.len() - start > MAX_MESSAGE {
                    d.buf.clear();
                    d.unframed_searched = 0;
                    d.skipping = true;
                    self.errors += 1;
                } else {
                    d.buf.drain(..taken);
                    d.unframed_searched = 0;
                }
                return;
            };
            // Parse.
            let parsed = parse_message(buf.get(start + 1..start + end).unwrap_or_default(), true);
            taken += start + end + 2;
            searched = 0;
            match parsed {
                Some(o) => out.push(o),
                None => self.errors += 1,
            }
        }
    }

    /// Bytes were lost in direction `dir`: drop the partial message.
    pub fn resync(&mut self, dir: usize) {
        if let Some(d) = self.dirs.get_mut(dir) {
            d.buf.clear();
            d.unframed_searched = 0;
            d.skipping = false;
        }
    }

    /// The stream ended: an unframed message still buffered is whole now.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        for d in &mut self.dirs {
            while let Some(parsed) = take_unframed(d, true) {
                if let Some(o) = parsed {
                    out.push(o);
                }
            }
            d.buf.clear();
            d.unframed_searched = 0;
        }
    }
}

/// `MSH`, looked for in every unframed stream: its searcher is built once.
static MSH: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"MSH"));

/// Parses and takes off the front of the buffer one unframed message, when
/// the next one has begun (an MSH at the start of a line) or, at the end,
/// whatever is left: `None` while there is none, `Some(None)` for a message
/// that does not parse.
fn take_unframed(d: &mut DirState, at_end: bool) -> Option<Option<ObsKind>> {
    let buf = &d.buf;
    let Some(first) = MSH.find(buf) else {
        // No message starts in these bytes (nor can one but in their last
        // two): they are not kept to be searched again.
        let keep = buf.len().saturating_sub(2);
        d.buf.drain(..keep);
        d.unframed_searched = 0;
        return None;
    };
    // Resume where the last search stopped, a few bytes back for an MSH
    // (and its line end) cut by the end of the bytes then held.
    let mut from = (first + 3).max(d.unframed_searched.saturating_sub(3));
    let next = loop {
        let Some(i) = buf.get(from..).and_then(|t| MSH.find(t)) else {
            break None;
        };
        let at = from + i;
        if matches!(
            at.checked_sub(1).and_then(|p| buf.get(p)),
            Some(b'\r' | b'\n')
        ) {
            break Some(at);
        }
        from = at + 3;
    };
    let end = match next {
        Some(n) => n,
        None if at_end => buf.len(),
        None => {
            d.unframed_searched = buf.len();
            return None;
        }
    };
    let parsed = parse_message(buf.get(first..end).unwrap_or_default(), false);
    d.buf.drain(..end);
    d.unframed_searched = 0;
    Some(parsed)
}

/// Where the first MLLP end block (0x1C 0x0D) at or after `from` starts.
fn end_block(h: &[u8], from: usize) -> Option<usize> {
    let h = h.get(from..)?;
    memchr::memchr_iter(EB, h)
        .find(|&i| h.get(i + 1) == Some(&CR))
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORU: &str = "MSH|^~\\&|MX800|ICU|IE|HOSP|20260101||ORU^R01^ORU_R01|MSG1|P|2.5.1\rPID|1||123^^^H^MR||DOE^JANE||19700101|F\rOBX|1|NM|8867-4^HR^LN||72|/min|||||F|||||||MX800^Philips^IntelliVue MX800\r";

    fn framed(m: &str) -> Vec<u8> {
        let mut v = vec![SB];
        v.extend_from_slice(m.as_bytes());
        v.extend_from_slice(&[EB, CR]);
        v
    }

    /// [`ORU`] and its acknowledgement, framed.
    fn oru_and_ack() -> Vec<u8> {
        let mut stream = framed(ORU);
        stream.extend(framed(
            "MSH|^~\\&|IE|HOSP|MX800|ICU|20260101||ACK^R01|A1|P|2.5.1\rMSA|AA|MSG1\r",
        ));
        stream
    }

    #[test]
    fn searched_splits_are_the_byte_splits() {
        // Segments and fields found by SIMD search are `split`'s pieces.
        for msg in crate::strings(0x5e9, b"AB|^\r\n\x0b", 40, 3000) {
            let split: Vec<&[u8]> = msg.split(|c| *c == b'\r' || *c == b'\n').collect();
            assert_eq!(segments(&msg).collect::<Vec<_>>(), split, "{msg:?}");
            let by_split: Vec<&[u8]> = msg.split(|c| *c == b'|').collect();
            for i in 0..by_split.len() + 2 {
                let want = by_split.get(i).map(|f| String::from_utf8_lossy(f));
                assert_eq!(field(&msg, '|', i), want, "{msg:?} field {i}");
            }
            let text = String::from_utf8_lossy(&msg);
            for i in 0..6 {
                let want = text.split('^').nth(i).unwrap_or("");
                assert_eq!(component(&text, '^', i), want, "{text:?} component {i}");
            }
        }
    }

    #[test]
    fn msh_fields_are_the_split_of_the_decoded_segment() {
        // The header as its definition reads it: the segment decoded, split
        // at the character after "MSH", whatever bytes it holds.
        for tail in crate::strings(0x4d5, b"AB1|^~\\&\xa7\xc2\xe9 ", 60, 4000) {
            let mut msg = b"MSH".to_vec();
            msg.extend_from_slice(&tail);
            let text = String::from_utf8_lossy(&msg);
            let want = text.chars().nth(3).map(|fs| {
                let f: Vec<&str> = text.split(fs).collect();
                let get = |n: usize| f.get(n - 1).copied().unwrap_or("").trim().to_string();
                let enc: String = text
                    .chars()
                    .skip(4)
                    .take_while(|c| *c != fs)
                    .take(5)
                    .collect();
                let comp = enc.chars().next().unwrap_or('^');
                let msh9 = f.get(8).copied().unwrap_or("");
                (
                    format!("{fs}{enc}"),
                    component(&get(3), comp, 0).to_string(),
                    component(msh9, comp, 1).trim().to_string(),
                    get(10),
                    component(&get(12), comp, 0).to_string(),
                )
            });
            let got = parse_message(&msg, false).map(|o| {
                let ObsKind::Hl7Message(h) = o else {
                    panic!("{o:?}")
                };
                (
                    h.encoding,
                    h.sending_application,
                    h.trigger,
                    h.control_id,
                    h.version,
                )
            });
            assert_eq!(got, want, "{msg:?}");
        }
    }

    #[test]
    fn messages_in_any_cut_give_the_same_headers() {
        let mut stream = oru_and_ack();
        stream.extend(framed(
            "MSH|^~\\&|PUMP|ICU|EHR|HOSP|2026||RGV^O15|7|P|2.8\rSFT|Acme^L^^^^X|3.1|InfuseOS|b7\rPRT|1|UC||AP|||||PUMP-1^ACME|||||||0101234\rOBX|1|ED|PDF||\u{e9}\u{ff}data|||||F\r",
        ));
        let mut whole = Vec::new();
        Hl7State::default().feed(0, &stream, &mut whole);
        assert_eq!(whole.len(), 3);
        for size in 1..=13 {
            let mut out = Vec::new();
            let mut st = Hl7State::default();
            for c in stream.chunks(size) {
                st.feed(0, c, &mut out);
            }
            assert_eq!(out, whole, "chunks of {size}");
        }
        // Fields are read the same when the separator is not ASCII.
        let m = "MSH\u{a7}^~\\&\u{a7}A\u{a7}B\u{a7}C\u{a7}D\u{a7}1\u{a7}\u{a7}ACK\u{a7}9\u{a7}P\u{a7}2.5\rMSA\u{a7}AE\u{a7}9\r";
        let Some(ObsKind::Hl7Message(h)) = parse_message(m.as_bytes(), false) else {
            panic!()
        };
        assert_eq!(h.ack_code.as_deref(), Some("AE"));
        assert_eq!(h.sending_application, "A");
    }

    #[test]
    fn mllp_split_anywhere_and_two_per_segment() {
        let stream = oru_and_ack();
        for cut in [1, 5, 40, stream.len() / 2, stream.len() - 1] {
            let mut st = Hl7State::default();
            let mut out = Vec::new();
            st.feed(0, &stream[..cut], &mut out);
            st.feed(0, &stream[cut..], &mut out);
            assert_eq!(out.len(), 2, "cut at {cut}");
            let ObsKind::Hl7Message(m) = &out[0] else {
                panic!()
            };
            let crate::obs::Hl7Header {
                sending_application,
                message_type,
                trigger,
                control_id,
                equipment,
                ..
            } = &**m;
            assert_eq!(sending_application, "MX800");
            assert_eq!((message_type.as_str(), trigger.as_str()), ("ORU", "R01"));
            assert_eq!(control_id, "MSG1");
            assert_eq!(
                equipment,
                &vec!["MX800^Philips^IntelliVue MX800".to_string()]
            );
            let ObsKind::Hl7Message(m) = &out[1] else {
                panic!()
            };
            assert_eq!(m.ack_code.as_deref(), Some("AA"));
            let dump = format!("{out:?}");
            assert!(
                !dump.contains("DOE")
                    && !dump.contains("JANE")
                    && !dump.contains("19700101")
                    && !dump.contains("72")
            );
        }
    }

    #[test]
    fn unframed_messages_split_on_msh() {
        let mut st = Hl7State::default();
        let mut out = Vec::new();
        let two = format!("{ORU}{ORU}");
        st.feed(0, two.as_bytes(), &mut out);
        assert_eq!(out.len(), 1);
        st.finish(&mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn unframed_messages_in_any_cut_give_the_same_messages() {
        // Bytes before the first message, an ACK ended by LF (not CR), and
        // an MSH inside a field that starts no message.
        let ack = "MSH|^~\\&|IE|HOSP|MX800|ICU|20260101||ACK^R01|A1|P|2.5.1\rMSA|AA|MSG1\n";
        let odd = ORU.replace("F|||||||MX800", "F|||||||MSH-like MX800");
        let stream = format!("\r\n{ORU}{ack}{odd}{ORU}");
        let whole = {
            let mut st = Hl7State::default();
            let mut out = Vec::new();
            st.feed(0, stream.as_bytes(), &mut out);
            st.finish(&mut out);
            out
        };
        assert_eq!(whole.len(), 4, "{whole:?}");
        assert!(matches!(&whole[1], ObsKind::Hl7Message(m) if m.ack_code.as_deref() == Some("AA")));
        for size in 1..=23 {
            let mut st = Hl7State::default();
            let mut out = Vec::new();
            for c in stream.as_bytes().chunks(size) {
                st.feed(0, c, &mut out);
            }
            st.finish(&mut out);
            assert_eq!(out, whole, "chunks of {size}");
        }
    }
}
