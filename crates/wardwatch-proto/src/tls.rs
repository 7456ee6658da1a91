//! TLS handshakes in the clear: ClientHello (SNI, ALPN, offered versions,
//! JA3 and JA4 client fingerprints) and ServerHello (chosen version and
//! cipher). JA4 here is the client fingerprint only (BSD-licensed); JA4S,
//! JA4H and JA4X are not implemented because their licence forbids shipping
//! them.

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::bytes::{be16, hex};
use crate::obs::ObsKind;

/// Most handshake bytes gathered per direction (a ClientHello with many
/// extensions stays well below this).
const MAX_HANDSHAKE: usize = 64 * 1024;

/// Whether a stream starts with a TLS handshake record.
pub fn probe(b: &[u8]) -> bool {
    b.len() >= 6 && b[0] == 0x16 && b[1] == 3 && b[2] <= 4 && (b[5] == 1 || b[5] == 2)
}

/// GREASE values (RFC 8701): 0x?A?A with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Reads a vector with a `n`-byte length prefix at `*at`.
fn vec_at<'a>(b: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let len = match n {
        1 => *b.get(*at)? as usize,
        2 => be16(b, *at)? as usize,
        _ => return None,
    };
    let v = b.get(*at + n..*at + n + len)?;
    *at += n + len;
    Some(v)
}

fn u16s(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// TLS version names as JA4 writes them.
fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// Human names of protocol versions.
pub fn version_name(v: u16) -> String {
    match v {
        0x0304 => "TLS 1.3".into(),
        0x0303 => "TLS 1.2".into(),
        0x0302 => "TLS 1.1".into(),
        0x0301 => "TLS 1.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0002 => "SSL 2.0".into(),
        v => format!("0x{v:04x}"),
    }
}

/// The fields of a ClientHello that the fingerprints use.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// Handshake (legacy) version.
    pub version: u16,
    /// Cipher suites in order, GREASE included.
    pub ciphers: Vec<u16>,
    /// Extension types in order, GREASE included.
    pub extensions: Vec<u16>,
    /// Supported groups.
    pub groups: Vec<u16>,
    /// EC point formats.
    pub point_formats: Vec<u8>,
    /// Signature algorithms in order.
    pub sig_algs: Vec<u16>,
    /// supported_versions.
    pub versions: Vec<u16>,
    /// Server name.
    pub sni: Option<String>,
    /// ALPN protocols in order.
    pub alpn: Vec<String>,
}

/// Parses a ClientHello handshake body (after the 4-byte handshake header).
pub fn parse_client_hello(b: &[u8]) -> Option<ClientHello> {
    let mut h = ClientHello {
        version: be16(b, 0)?,
        ..Default::default()
    };
    let mut at = 2 + 32;
    vec_at(b, &mut at, 1)?; // session id
    h.ciphers = u16s(vec_at(b, &mut at, 2)?);
    vec_at(b, &mut at, 1)?; // compression methods
    let Some(exts) = vec_at(b, &mut at, 2) else {
        return Some(h); // no extensions (SSL 3.0 style)
    };
    let mut e = 0;
    while e + 4 <= exts.len() {
        let ty = be16(exts, e)?;
        let data = vec_at(exts, &mut { e + 2 }, 2)?;
        e += 4 + data.len();
        h.extensions.push(ty);
        match ty {
            0 => {
                // server_name_list: type 0 host_name.
                let mut a = 0;
                let list = vec_at(data, &mut a, 2)?;
                if list.first() == Some(&0) {
                    let mut n = 1;
                    let name = vec_at(list, &mut n, 2)?;
                    h.sni = Some(
                        String::from_utf8_lossy(name)
                            .chars()
                            .filter(|c| !c.is_control())
                            .collect(),
                    );
                }
            }
            10 => {
                let mut a = 0;
                h.groups = u16s(vec_at(data, &mut a, 2)?);
            }
            11 => {
                let mut a = 0;
                h.point_formats = vec_at(data, &mut a, 1)?.to_vec();
            }
            13 => {
                let mut a = 0;
                h.sig_algs = u16s(vec_at(data, &mut a, 2)?);
            }
            16 => {
                let mut a = 0;
                let list = vec_at(data, &mut a, 2)?;
                let mut p = 0;
                while p < list.len() && h.alpn.len() < 16 {
                    let v = vec_at(list, &mut p, 1)?;
                    h.alpn.push(String::from_utf8_lossy(v).into_owned());
                }
            }
            43 => {
                let mut a = 0;
                h.versions = u16s(vec_at(data, &mut a, 1)?);
            }
            _ => {}
        }
    }
    Some(h)
}

/// Appends the decimal values joined by `-` (written in place: a
/// fingerprint is built for every ClientHello).
fn join_dec<T: std::fmt::Display>(out: &mut String, v: impl Iterator<Item = T>) {
    use std::fmt::Write;
    for (i, x) in v.enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{x}");
    }
}

/// The JA3 string and its MD5 (GREASE removed, as the JA3 authors do).
pub fn ja3(h: &ClientHello) -> (String, String) {
    use std::fmt::Write;
    let mut s = String::with_capacity(16 + 6 * (h.ciphers.len() + h.extensions.len()));
    let _ = write!(s, "{},", h.version);
    join_dec(&mut s, h.ciphers.iter().filter(|c| !is_grease(**c)));
    s.push(',');
    join_dec(&mut s, h.extensions.iter().filter(|c| !is_grease(**c)));
    s.push(',');
    join_dec(&mut s, h.groups.iter().filter(|c| !is_grease(**c)));
    s.push(',');
    join_dec(&mut s, h.point_formats.iter());
    let digest = Md5::digest(s.as_bytes());
    (s, hex(&digest))
}

/// The first 12 hex digits of SHA-256 of `s`, or twelve zeros for nothing.
pub fn ja4_hash(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let d = Sha256::digest(s.as_bytes());
    hex(&d[..6])
}

/// Appends each value as four hex digits, joined by `,`.
fn push_hex4(out: &mut String, v: impl Iterator<Item = u16>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, c) in v.enumerate() {
        if i > 0 {
            out.push(',');
        }
        for shift in [12, 8, 4, 0] {
            out.push(HEX[usize::from((c >> shift) & 15)] as char);
        }
    }
}

fn hex4_sorted(v: impl Iterator<Item = u16>) -> String {
    let mut x: Vec<u16> = v.collect();
    x.sort_unstable();
    let mut s = String::with_capacity(5 * x.len());
    push_hex4(&mut s, x.into_iter());
    s
}

/// The JA4 client fingerprint (`t` for TLS over TCP).
pub fn ja4(h: &ClientHello) -> String {
    let version = h
        .versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(h.version);
    let ciphers: Vec<u16> = h
        .ciphers
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let exts: Vec<u16> = h
        .extensions
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let alpn = match h.alpn.first().map(|a| a.as_bytes()) {
        Some([]) | None => "00".to_string(),
        Some(a) => {
            let (f, l) = (a[0], a[a.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", f as char, l as char)
            } else {
                // Non-alphanumeric: first and last hex digit of the value.
                let hx = hex(a);
                format!("{}{}", &hx[..1], &hx[hx.len() - 1..])
            }
        }
    };
    let a = format!(
        "t{}{}{:02}{:02}{}",
        ja4_version(version),
        if h.sni.is_some() { "d" } else { "i" },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn
    );
    let b = ja4_hash(&hex4_sorted(ciphers.iter().copied()));
    let mut c_input = hex4_sorted(exts.iter().copied().filter(|e| *e != 0 && *e != 0x10));
    let mut sigs = h
        .sig_algs
        .iter()
        .copied()
        .filter(|s| !is_grease(*s))
        .peekable();
    if sigs.peek().is_some() {
        c_input.push('_');
        push_hex4(&mut c_input, sigs);
    }
    format!("{a}_{b}_{}", ja4_hash(&c_input))
}

/// What the fingerprints of a ClientHello are made of: the legacy and
/// offered versions, whether a name was sent, the cipher, extension, group,
/// point-format and signature lists, and the first ALPN value.
fn fingerprint_key(h: &ClientHello) -> Vec<u16> {
    let alpn = h.alpn.first().map(String::as_bytes).unwrap_or_default();
    let mut k = Vec::with_capacity(
        16 + h.ciphers.len() + h.extensions.len() + h.groups.len() + h.sig_algs.len() + alpn.len(),
    );
    k.extend([h.version, u16::from(h.sni.is_some())]);
    for list in [
        &h.ciphers,
        &h.extensions,
        &h.groups,
        &h.sig_algs,
        &h.versions,
    ] {
        k.push(list.len() as u16);
        k.extend_from_slice(list);
    }
    k.push(h.point_formats.len() as u16);
    k.extend(h.point_formats.iter().map(|p| u16::from(*p)));
    k.push(alpn.len() as u16);
    k.extend(alpn.iter().map(|c| u16::from(*c)));
    k
}

/// The JA3 string, JA3 hash and JA4 of a ClientHello, remembered per thread
/// by what they are made of: a site's clients run a few TLS stacks, and the
/// fingerprints (an MD5 and two SHA-256 over formatted lists) cost more than
/// the rest of the handshake's parse.
fn fingerprints(h: &ClientHello) -> (String, String, String) {
    type Seen = std::collections::HashMap<Vec<u16>, (String, String, String)>;
    thread_local! {
        static SEEN: std::cell::RefCell<Seen> = std::cell::RefCell::new(Seen::new());
    }
    let key = fingerprint_key(h);
    SEEN.with(|seen| {
        if let Some(known) = seen.borrow().get(&key) {
            return known.clone();
        }
        let (ja3_string, ja3_hash) = ja3(h);
        let made = (ja3_string, ja3_hash, ja4(h));
        let mut seen = seen.borrow_mut();
        if seen.len() >= 4096 {
            seen.clear();
        }
        seen.insert(key, made.clone());
        made
    })
}

#[derive(Default)]
struct DirState {
    records: Vec<u8>,
    handshake: Vec<u8>,
    done: bool,
}

/// TLS state of one connection: the first handshake message each way.
#[derive(Default)]
pub struct TlsState {
    dirs: [DirState; 2],
}

impl TlsState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.dirs
            .iter_mut()
            .map(|d| crate::bytes::held(&mut d.records) + crate::bytes::held(&mut d.handshake))
            .sum()
    }

    /// Whether both hellos were seen (nothing more to read).
    pub fn done(&self) -> bool {
        self.dirs[0].done && self.dirs[1].done
    }

    /// Feeds stream bytes of direction `dir`.
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(d) = self.dirs.get_mut(dir) else {
            return;
        };
        if d.done {
            return;
        }
        d.records
            .extend_from_slice(&data[..data.len().min(MAX_HANDSHAKE)]);
        // Gather handshake bytes from whole handshake records, up to the
        // first record of another type (ChangeCipherSpec, application data).
        let mut other_record = false;
        loop {
            if d.records.len() < 5 {
                break;
            }
            let len = u16::from_be_bytes([d.records[3], d.records[4]]) as usize;
            if d.records[0] != 0x16 {
                other_record = true;
                break;
            }
            if d.records.len() < 5 + len {
                break;
            }
            d.handshake.extend_from_slice(&d.records[5..5 + len]);
            d.records.drain(..5 + len);
        }
        if d.handshake.len() < 4 {
            if other_record || d.records.len() + d.handshake.len() > MAX_HANDSHAKE {
                d.done = true;
            }
            return;
        }
        let ty = d.handshake[0];
        let hlen = u32::from_be_bytes([0, d.handshake[1], d.handshake[2], d.handshake[3]]) as usize;
        if hlen > MAX_HANDSHAKE {
            d.done = true;
            return;
        }
        if d.handshake.len() < 4 + hlen {
            if other_record {
                d.done = true;
            }
            return;
        }
        let body = &d.handshake[4..4 + hlen];
        match ty {
            1 => {
                if let Some(h) = parse_client_hello(body) {
                    let (ja3_string, ja3_hash, ja4) = fingerprints(&h);
                    out.push(ObsKind::TlsClientHello(Box::new(
                        crate::obs::TlsClientHelloFact {
                            versions: if h.versions.is_empty() {
                                vec![version_name(h.version)]
                            } else {
                                h.versions
                                    .iter()
                                    .filter(|v| !is_grease(**v))
                                    .map(|v| version_name(*v))
                                    .collect()
                            },
                            sni: h.sni,
                            alpn: h.alpn,
                            ja3: ja3_hash,
                            ja3_string,
                            ja4,
                        },
                    )));
                }
            }
            2 => {
                if let Some((version, cipher)) = parse_server_hello(body) {
                    out.push(ObsKind::TlsServerHello {
                        version: version_name(version),
                        cipher: format!("0x{cipher:04x}"),
                    });
                    // Before TLS 1.3 the Certificate message follows in the
                    // clear: read it too.
                    if version < 0x0304 {
                        let next = 4 + hlen;
                        d.handshake.drain(..next.min(d.handshake.len()));
                        return self.feed(dir, &[], out);
                    }
                }
            }
            11 => {
                // Certificate: a 3-byte list length, then 3-byte-length certs;
                // the first is the server's own.
                if let Some(first) = body.get(3..6).and_then(|l| {
                    let n = u32::from_be_bytes([0, l[0], l[1], l[2]]) as usize;
                    body.get(6..6 + n)
                }) {
                    if let Some(c) = crate::x509::parse(first) {
                        out.push(ObsKind::TlsCertificate(Box::new(c)));
                    }
                }
            }
            _ => {}
        }
        d.done = true;
        d.records = Vec::new();
        d.handshake = Vec::new();
    }
}

/// The chosen version (supported_versions wins) and cipher of a ServerHello.
pub fn parse_server_hello(b: &[u8]) -> Option<(u16, u16)> {
    let mut version = be16(b, 0)?;
    let mut at = 2 + 32;
    vec_at(b, &mut at, 1)?;
    let cipher = be16(b, at)?;
    at += 3; // cipher + compression method
    if let Some(exts) = vec_at(b, &mut at, 2) {
        let mut e = 0;
        while e + 4 <= exts.len() {
            let ty = be16(exts, e)?;
            let data = vec_at(exts, &mut { e + 2 }, 2)?;
            e += 4 + data.len();
            if ty == 43 && data.len() == 2 {
                version = be16(data, 0)?;
            }
        }
    }
    Some((version, cipher))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JA4 authors' published example (technical_details/JA4.md):
    /// `t13d1516h2_8daaf6152771_e5627efa2ab1` from these raw lists.
    #[test]
    fn ja4_hashes_match_the_published_example() {
        assert_eq!(
            ja4_hash("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"),
            "8daaf6152771"
        );
        assert_eq!(
            ja4_hash("0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"),
            "e5627efa2ab1"
        );
        // The same client, built as a ClientHello with GREASE, SNI and ALPN.
        let h = ClientHello {
            version: 0x0303,
            ciphers: vec![
                0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
                0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x1a1a, 0x0000, 0x0033, 0x000d, 0x0023, 0x000b, 0xff01, 0x000a, 0x001b, 0x4469,
                0x0012, 0x002d, 0x0010, 0x0005, 0x002b, 0x0017, 0x0015, 0x2a2a,
            ],
            sig_algs: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            versions: vec![0x3a3a, 0x0304, 0x0303],
            sni: Some("example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            ..Default::default()
        };
        assert_eq!(ja4(&h), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        // Remembered fingerprints are the ones computed, for this hello and
        // for each that differs from it in one of the fields they read.
        let mut variants = vec![h.clone()];
        let mut v = h.clone();
        v.sni = None;
        variants.push(v);
        let mut v = h.clone();
        v.alpn = vec!["http/1.1".into()];
        variants.push(v);
        let mut v = h.clone();
        v.groups = vec![0x001d];
        variants.push(v);
        let mut v = h.clone();
        v.point_formats = vec![0];
        variants.push(v);
        let mut v = h.clone();
        v.sig_algs.pop();
        variants.push(v);
        let mut v = h;
        v.versions = vec![0x0303];
        variants.push(v);
        for _ in 0..2 {
            for v in &variants {
                let (s, hash) = ja3(v);
                assert_eq!(fingerprints(v), (s, hash, ja4(v)));
            }
        }
        let distinct: std::collections::HashSet<_> = variants.iter().map(fingerprints).collect();
        assert_eq!(distinct.len(), variants.len());
    }

    #[test]
    fn grease_and_truncation() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x0a1a));
        let hello = [0x16, 3, 1, 0, 10, 1, 0, 0, 200, 3];
        for n in 0..hello.len() {
            let mut st = TlsState::default();
            let mut out = Vec::new();
            st.feed(0, &hello[..n], &mut out);
            assert!(out.is_empty());
        }
        assert!(parse_client_hello(&[3, 3]).is_none());
    }
}
