//! Byte-level helpers the dissectors share: bounds-checked integer reads
//! (never a panic on short input), text cleaning, hex, and BER/DER elements.

/// Room an emptied buffer keeps for the next message; past it, the room is
/// given back (a connection that once carried a large message does not
/// hold its size for the rest of its life).
const KEEP_ROOM: usize = 16 * 1024;

/// The memory buffer `b` holds, once an empty one larger than
/// [`KEEP_ROOM`] has given its room back.
pub(crate) fn held(b: &mut Vec<u8>) -> usize {
    if b.is_empty() && b.capacity() > KEEP_ROOM {
        *b = Vec::new();
    }
    b.capacity()
}

/// Big-endian u16 at `at`, if the bytes are there.
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Big-endian u32 at `at`.
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The first bytes of both directions of a connection, up to a cap each:
/// for dissectors that read a short opening exchange whole (RDP, VNC) and
/// re-read it as it grows.
#[derive(Default)]
pub(crate) struct Opening {
    /// The client's bytes (0) and the server's (1).
    pub(crate) dirs: [Vec<u8>; 2],
}

impl Opening {
    /// Buffer memory held (see [`held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.dirs.iter_mut().map(held).sum()
    }

    /// Appends what fits under `cap` of `data` to direction `dir`; false
    /// for a direction that is neither.
    pub(crate) fn push(&mut self, dir: usize, data: &[u8], cap: usize) -> bool {
        let Some(b) = self.dirs.get_mut(dir) else {
            return false;
        };
        let take = cap.saturating_sub(b.len()).min(data.len());
        b.extend_from_slice(&data[..take]);
        true
    }

    /// Whether a direction reached `cap`: the exchange is longer than the
    /// dissector knows it.
    pub(crate) fn full(&self, cap: usize) -> bool {
        self.dirs.iter().any(|b| b.len() >= cap)
    }

    /// Frees both buffers.
    pub(crate) fn clear(&mut self) {
        self.dirs = Default::default();
    }
}

/// Little-endian u16 at `at`.
pub(crate) fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Little-endian u32 at `at`.
pub(crate) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Wire text for a report: lossy UTF-8, control characters dropped, at most
/// `max` characters, surrounding blanks trimmed.
pub(crate) fn text(b: &[u8], max: usize) -> String {
    if b.is_ascii() {
        // Nearly all wire text: no UTF-8 decoding, one allocation, and when
        // no control character sits inside, one copy. The only blank left
        // once control characters are gone is the space.
        let blank = |c: &u8| *c == b' ' || c.is_ascii_control();
        let start = b.iter().position(|c| !blank(c)).unwrap_or(b.len());
        let end = b.iter().rposition(|c| !blank(c)).map_or(start, |i| i + 1);
        let mid = b.get(start..end).unwrap_or_default();
        // Leading spaces count toward `max` before they are trimmed.
        let lead = b.iter().take(start).filter(|c| **c == b' ').count();
        let max = max.saturating_sub(lead);
        if mid.len() <= max && !mid.iter().any(u8::is_ascii_control) {
            return std::str::from_utf8(mid).unwrap_or_default().to_string();
        }
        let mut s = String::with_capacity(mid.len().min(max));
        s.extend(
            mid.iter()
                .filter(|c| !c.is_ascii_control())
                .take(max)
                .map(|&c| char::from(c)),
        );
        s.truncate(s.trim_end_matches(' ').len());
        return s;
    }
    any_text(b, max)
}

/// [`text`] of any bytes, by the definition.
fn any_text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// [`text`], or `None` when nothing is left.
pub(crate) fn text_opt(b: &[u8], max: usize) -> Option<String> {
    let s = text(b, max);
    (!s.is_empty()).then_some(s)
}

/// `s` with the five predefined XML entities decoded.
pub(crate) fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The raw text of the first XML element whose local name (namespace
/// prefix aside) is `local`, if any (`""` for `<x/>`); entities are left
/// as they are (see [`xml_unescape`]).
pub(crate) fn xml_element<'a>(xml: &'a str, local: &str) -> Option<&'a str> {
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        rest = rest.get(lt + 1..)?;
        let end = rest.find(['>', ' ', '\t', '\r', '\n', '/'])?;
        let name = rest.get(..end)?;
        let name = name.rsplit_once(':').map_or(name, |(_, n)| n);
        if name != local {
            continue;
        }
        let open = rest.find('>')?;
        // `<Scopes/>`: empty.
        if rest.get(..open)?.ends_with('/') {
            return Some("");
        }
        let body = rest.get(open + 1..)?;
        return body.find("</").and_then(|close| body.get(..close));
    }
    None
}

/// A link-layer address as `aa:bb:cc:…` (lower-case hex, colon-separated).
pub(crate) fn mac_text(b: &[u8]) -> String {
    let mut s = hex(b);
    for i in (1..b.len()).rev() {
        s.insert(2 * i, ':');
    }
    s
}

/// Lower-case hex of `b`.
pub(crate) fn hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// The header of the BER/DER element at the start of `b`: its tag, the
/// length of its contents and of the header itself. `Err(true)` while the
/// header is incomplete, `Err(false)` for a length form refused (indefinite,
/// or more than four bytes).
pub(crate) fn ber_header(b: &[u8]) -> Result<(u8, usize, usize), bool> {
    let (Some(&tag), Some(&first)) = (b.first(), b.get(1)) else {
        return Err(true);
    };
    if first < 0x80 {
        return Ok((tag, usize::from(first), 2));
    }
    let n = usize::from(first & 0x7F);
    if n == 0 || n > 4 {
        return Err(false);
    }
    let bytes = b.get(2..2 + n).ok_or(true)?;
    let len = bytes.iter().fold(0usize, |l, x| (l << 8) | usize::from(*x));
    Ok((tag, len, 2 + n))
}

/// One BER/DER element: tag, contents, and the bytes after it. Lengths of
/// more than four bytes, or past the input, are refused.
pub(crate) fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (tag, len, hdr) = ber_header(b).ok()?;
    let v = b.get(hdr..hdr.checked_add(len)?)?;
    Some((tag, v, &b[hdr + len..]))
}

/// A BER element of `v` (short or two-byte length): the test messages of
/// the BER protocols (Kerberos, CLDAP, LDAP).
#[cfg(test)]
pub(crate) fn der(tag: u8, v: &[u8]) -> Vec<u8> {
    let mut o = vec![tag];
    if v.len() < 0x80 {
        o.push(v.len() as u8);
    } else {
        o.push(0x82);
        o.extend_from_slice(&(v.len() as u16).to_be_bytes());
    }
    o.extend_from_slice(v);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_none_not_a_panic() {
        assert_eq!(be16(&[1], 0), None);
        assert_eq!(le32(&[1, 2, 3, 4], 1), None);
        assert_eq!(tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(
            tlv(&[0x04, 0x02, b'h', b'i', 9]),
            Some((0x04, &b"hi"[..], &[9u8][..]))
        );
        assert_eq!(text(b" a\x01b \n", 10), "ab");
        assert_eq!(text_opt(b"\x00\x01", 10), None);
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }

    /// The ASCII fast path of [`text`] gives what the general path gives.
    #[test]
    fn ascii_text_matches_the_general_path() {
        let alphabet = b" \0\t\r\nA.1\x7f~";
        let mut seed = 0x9e37_79b9_u32;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = (seed % 9) as usize;
            let b: Vec<u8> = (0..len)
                .map(|i| alphabet[((seed >> (i * 3)) % alphabet.len() as u32) as usize])
                .collect();
            for max in [0, 1, 3, usize::MAX] {
                assert_eq!(text(&b, max), any_text(&b, max), "{b:?} max {max}");
            }
        }
        assert_eq!(text(b"  1.2.840\0\0", usize::MAX), "1.2.840");
    }
}
