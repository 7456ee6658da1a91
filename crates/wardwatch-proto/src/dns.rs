//! DNS, mDNS and LLMNR messages: the names asked and answered (host names
//! and service instances identify devices). Name compression is followed
//! with a bound, so a pointer loop cannot hang the parser.

use crate::bytes::be16;
use crate::obs::ObsKind;

/// Reads a (possibly compressed) name at `at`; returns it and the offset
/// after it in the original position.
pub fn read_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    // Built in place (labels joined by dots as they come): names are parsed
    // for every DNS packet.
    let mut name = String::new();
    let mut first = true;
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(at)? as usize;
        if len == 0 {
            end.get_or_insert(at + 1);
            return Some((name, end?));
        }
        if len & 0xC0 == 0xC0 {
            let ptr = (be16(msg, at)? & 0x3FFF) as usize;
            end.get_or_insert(at + 2);
            at = ptr;
            continue;
        }
        if len > 63 {
            return None;
        }
        let l = msg.get(at + 1..at + 1 + len)?;
        if !first {
            name.push('.');
        }
        first = false;
        if l.iter().all(|c| (b' '..=b'~').contains(c)) {
            // Nearly every label: printable ASCII, copied whole.
            name.push_str(std::str::from_utf8(l).unwrap_or_default());
        } else {
            name.extend(String::from_utf8_lossy(l).chars().map(|c| {
                if c.is_control() {
                    '?'
                } else {
                    c
                }
            }));
        }
        // The labels with their length bytes: at most 255 (RFC 1035).
        if name.len() + 1 > 255 {
            return None;
        }
        at += 1 + len;
    }
    None
}

/// Appends a space and the record type's name (`TYPE<n>` for others).
fn push_type(out: &mut String, t: u16) {
    out.push(' ');
    out.push_str(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        255 => "ANY",
        t => {
            use std::fmt::Write;
            let _ = write!(out, "TYPE{t}");
            return;
        }
    });
}

/// Parses a DNS-format message; `flavour` is `dns`, `mdns` or `llmnr`.
pub fn parse(b: &[u8], flavour: &str) -> Option<ObsKind> {
    let flags = be16(b, 2)?;
    let qd = be16(b, 4)? as usize;
    let an = be16(b, 6)? as usize;
    let mut at = 12;
    let mut queries = Vec::new();
    for _ in 0..qd.min(32) {
        let (mut name, next) = read_name(b, at)?;
        let ty = be16(b, next)?;
        at = next + 4;
        if queries.len() < 16 {
            push_type(&mut name, ty);
            queries.push(name);
        }
    }
    let mut answers = Vec::new();
    for _ in 0..an.min(64) {
        let Some((name, next)) = read_name(b, at) else {
            break;
        };
        let (Some(ty), Some(rdlen)) = (be16(b, next), be16(b, next + 8)) else {
            break;
        };
        let rdata_at = next + 10;
        let Some(rdata) = b.get(rdata_at..rdata_at + rdlen as usize) else {
            break;
        };
        let value = match ty {
            1 if rdata.len() == 4 => format!("{}.{}.{}.{}", rdata[0], rdata[1], rdata[2], rdata[3]),
            28 if rdata.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                std::net::Ipv6Addr::from(a).to_string()
            }
            5 | 12 | 2 => read_name(b, rdata_at).map(|(n, _)| n).unwrap_or_default(),
            33 => read_name(b, rdata_at + 6)
                .map(|(n, _)| n)
                .unwrap_or_default(),
            _ => String::new(),
        };
        if answers.len() < 16 {
            let mut a = name;
            push_type(&mut a, ty);
            a.push(' ');
            a.push_str(&value);
            a.truncate(a.trim_end().len());
            answers.push(if a.starts_with(char::is_whitespace) {
                a.trim_start().to_string()
            } else {
                a
            });
        }
        at = rdata_at + rdlen as usize;
    }
    Some(ObsKind::Dns {
        flavour: flavour.into(),
        response: flags & 0x8000 != 0,
        queries,
        answers,
    })
}

/// Decodes a NetBIOS first-level encoded name (32 letters A–P) into the
/// name and its 16th-byte suffix.
pub fn netbios_decode(label: &str) -> Option<(String, u8)> {
    let first = label.split('.').next()?;
    let b = first.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = pair[0].checked_sub(b'A')?;
        let lo = pair[1].checked_sub(b'A')?;
        if hi > 15 || lo > 15 {
            return None;
        }
        raw[i] = (hi << 4) | lo;
    }
    let name: String = String::from_utf8_lossy(&raw[..15])
        .trim_end()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    Some((name, raw[15]))
}

/// Parses a NetBIOS name service message (UDP 137): the name asked,
/// registered or released.
pub fn parse_netbios(b: &[u8]) -> Option<ObsKind> {
    let flags = be16(b, 2)?;
    let opcode = ((flags >> 11) & 0xF) as u8;
    let qd = be16(b, 4)?;
    let an = be16(b, 6)?;
    let at = 12;
    if qd == 0 && an == 0 {
        return None;
    }
    let (label, _) = read_name(b, at)?;
    let (name, suffix) = netbios_decode(&label)?;
    Some(ObsKind::NetbiosName {
        name,
        suffix,
        registration: matches!(opcode, 5 | 8 | 15),
        response: flags & 0x8000 != 0,
    })
}

/// Shannon entropy of a string, bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a plain-DNS message can matter, decided from its bytes without
/// allocating (DNS is the busiest protocol of a network): anything when
/// domains are watched; else only a query whose first name has a label long
/// enough to look like tunnelled data.
pub fn worth_parsing(b: &[u8], to_server: bool, watching: bool) -> bool {
    if watching {
        return true;
    }
    if !to_server {
        return false;
    }
    let mut at = 12;
    let mut total = 0;
    while let Some(&len) = b.get(at) {
        if len == 0 || len & 0xC0 != 0 {
            break;
        }
        if len >= 24 {
            return true;
        }
        total += len as usize + 1;
        at += len as usize + 1;
    }
    total >= 100
}

/// Whether a query name looks like data: a long label of high entropy.
pub fn tunnel_like(name: &str) -> bool {
    let sub = name.trim_end_matches('.');
    if sub.len() >= 100 {
        return true;
    }
    let longest = sub.split('.').map(str::len).max().unwrap_or(0);
    if longest < 24 {
        return false;
    }
    let data: String = sub.split('.').filter(|l| l.len() >= 16).collect();
    entropy(&data) >= 3.5
}

/// Whether a plain-DNS message can be reported: one of its queries names a
/// watched domain, or a query's name looks like tunnelled data. Reads the
/// query names only (no answers, no record formatting); a message it passes
/// is then parsed whole and checked again.
pub fn worth_reporting(b: &[u8], to_server: bool, watching: bool) -> bool {
    if !worth_parsing(b, to_server, watching) {
        return false;
    }
    let (Some(flags), Some(qd)) = (be16(b, 2), be16(b, 4)) else {
        return false;
    };
    let response = flags & 0x8000 != 0;
    let mut at = 12;
    for _ in 0..qd.min(32) {
        let Some((name, next)) = read_name(b, at) else {
            return false;
        };
        let name = name.split(' ').next().unwrap_or("");
        if (!response && tunnel_like(name)) || crate::watch::is_watched(name) {
            return true;
        }
        at = next + 4;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netbios_names() {
        // "WORKSTATION" padded with spaces, suffix 0x00.
        let enc: String = b"WORKSTATION    \0"
            .iter()
            .flat_map(|c| [(b'A' + (c >> 4)) as char, (b'A' + (c & 15)) as char])
            .collect();
        assert_eq!(netbios_decode(&enc), Some(("WORKSTATION".into(), 0)));
        assert_eq!(netbios_decode("NOTNETBIOS"), None);
    }

    #[test]
    fn names_keep_printable_text_only() {
        let mut m = vec![0u8; 12];
        for l in [&b"a\x01b"[..], "\u{85}é".as_bytes(), b"local"] {
            m.push(l.len() as u8);
            m.extend_from_slice(l);
        }
        m.push(0);
        assert_eq!(read_name(&m, 12), Some(("a?b.?é.local".into(), m.len())));
    }

    #[test]
    fn compression_loops_end() {
        // A name pointing at itself.
        let mut m = vec![0u8; 12];
        m[5] = 1;
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert!(parse(&m, "dns").is_none());
        for n in 0..m.len() {
            let _ = parse(&m[..n], "dns");
        }
    }
}
#[cfg(test)]
mod tunnel_tests {
    #[test]
    fn dnscat_names_look_like_data() {
        let n = "dnscat.546b03f50000000000a6023ed4df184d6ac5c2628b47714fdee584fed739.5a03b5b1e1aa8f8fdb1bbe8d5e04952141f7d4f82c7e3b06dcc8b87fad7a.19e4d098dc8c618f8d81cfeb02";
        assert!(super::tunnel_like(n));
    }
}

#[cfg(test)]
mod prefilter_tests {
    use super::worth_parsing;

    fn query(labels: &[&str]) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        for l in labels {
            b.push(l.len() as u8);
            b.extend_from_slice(l.as_bytes());
        }
        b.push(0);
        b
    }

    #[test]
    fn only_long_labels_or_watched_domains_are_parsed() {
        assert!(!worth_parsing(
            &query(&["www", "google", "com"]),
            true,
            false
        ));
        assert!(worth_parsing(
            &query(&["546b03f50000000000a6023ed4df184d", "example", "com"]),
            true,
            false
        ));
        assert!(!worth_parsing(
            &query(&["www", "google", "com"]),
            false,
            false
        ));
        assert!(worth_parsing(
            &query(&["www", "google", "com"]),
            false,
            true
        ));
        assert!(!worth_parsing(&[], true, false));
    }

    /// A query as sent: one question, type A, class IN.
    fn question(name: &str) -> Vec<u8> {
        let mut b = query(&name.split('.').collect::<Vec<_>>());
        b[5] = 1;
        b.extend_from_slice(&[0, 1, 0, 1]);
        b
    }

    #[test]
    fn only_data_like_or_watched_names_are_reported() {
        let tunnel = "dnscat.546b03f50000000000a6023ed4df184d6ac5c2628b47714fdee584fed739.5a03b5b1e1aa8f8fdb1bbe8d5e04952141f7d4f82c7e3b06dcc8b87fad7a.19e4d098dc8c618f8d81cfeb02";
        assert!(super::worth_reporting(&question(tunnel), true, false));
        // A long label of low entropy passes the byte filter, not this one.
        let long = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com";
        assert!(worth_parsing(&question(long), true, false));
        assert!(!super::worth_reporting(&question(long), true, false));
        // Answers (responses) are not tunnel queries.
        let mut answer = question(tunnel);
        answer[2] = 0x80;
        assert!(!super::worth_reporting(&answer, false, false));
        // Truncated: nothing.
        assert!(!super::worth_reporting(
            &question(tunnel)[..40],
            true,
            false
        ));
    }
}
