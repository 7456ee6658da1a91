//! DNS, mDNS and LLMNR messages: the names asked and answered (host names
//! and service instances identify devices). Name compression is followed
//! with a bound, so a pointer loop cannot hang the parser.

use crate::bytes::be16;
use crate::obs::ObsKind;

/// Walks the labels of a (possibly compressed) name at `at`, handing each
/// to `f` until it returns false; returns the offset after the name in the
/// original position. `None` for a malformed name (a label over 63 bytes,
/// past the end, more than 128 steps: a pointer loop) or when `f` stops.
pub(crate) fn walk_labels(
    msg: &[u8],
    mut at: usize,
    mut f: impl FnMut(&[u8]) -> bool,
) -> Option<usize> {
    let mut end = None;
    for _ in 0..128 {
        let len = *msg.get(at)? as usize;
        if len == 0 {
            end.get_or_insert(at + 1);
            return end;
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
        if !f(msg.get(at + 1..at + 1 + len)?) {
            return None;
        }
        at += 1 + len;
    }
    None
}

/// Printable ASCII: copied as is into a name.
fn printable(l: &[u8]) -> bool {
    l.iter().all(|c| (b' '..=b'~').contains(c))
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset
/// after it in the original position.
pub fn read_name(msg: &[u8], at: usize) -> Option<(String, usize)> {
    // Sized first (the labels' lengths), then built in place: names are
    // parsed for every DNS packet, and tunnelled ones are long.
    let mut size = 0;
    walk_labels(msg, at, |l| {
        size += l.len() + 1;
        true
    })?;
    let mut name = String::with_capacity(size.min(256));
    let end = walk_labels(msg, at, |l| {
        if !name.is_empty() {
            name.push('.');
        }
        if printable(l) {
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
        // The labels with their length bytes (the name and one): at most
        // 255 (RFC 1035).
        name.len() < 255
    })?;
    Some((name, end))
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

/// Services whose TXT records say what the device is: Apple's device
/// information, printers and scanners (Bonjour Printing: IPP, LPD, raw
/// socket, eSCL), AirPlay receivers, Google Cast devices.
const IDENTITY_SERVICES: [&str; 8] = [
    "._device-info._tcp.",
    "._ipp._tcp.",
    "._ipps._tcp.",
    "._printer._tcp.",
    "._pdl-datastream._tcp.",
    "._uscan._tcp.",
    "._airplay._tcp.",
    "._googlecast._tcp.",
];

/// The TXT keys of those services that name a make or model (never a
/// friendly name, a location note, an address or an id).
const IDENTITY_KEYS: [&str; 7] = [
    "model", "osxvers", "ty", "product", "usb_MFG", "usb_MDL", "md",
];

/// The identity keys of one TXT record's strings, added to `pairs`.
fn identity_pairs(rdata: &[u8], pairs: &mut Vec<(String, String)>) {
    let mut t = rdata;
    while let Some((&n, rest)) = t.split_first() {
        let Some(item) = rest.get(..usize::from(n)) else {
            return;
        };
        t = &rest[usize::from(n)..];
        let Some(eq) = item.iter().position(|c| *c == b'=') else {
            continue;
        };
        let (k, v) = (&item[..eq], &item[eq + 1..]);
        let Some(key) = IDENTITY_KEYS
            .iter()
            .find(|c| c.as_bytes().eq_ignore_ascii_case(k))
        else {
            continue;
        };
        let v = crate::bytes::text(v, 64);
        // `product` is written in parentheses by Bonjour Printing.
        let v = v
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim()
            .to_string();
        if !v.is_empty() && pairs.len() < 8 && !pairs.iter().any(|(k, _)| k == key) {
            pairs.push((key.to_string(), v));
        }
    }
}

/// Parses a DNS-format message; `flavour` is `dns`, `mdns` or `llmnr`.
pub fn parse(b: &[u8], flavour: &str) -> Option<ObsKind> {
    let flags = be16(b, 2)?;
    let qd = be16(b, 4)? as usize;
    let an = be16(b, 6)? as usize;
    let mdns = flavour == "mdns";
    // mDNS puts a host's addresses and TXT records in the authority and
    // additional sections as often as in the answers: all are read.
    let records = if mdns {
        (an + be16(b, 8)? as usize + be16(b, 10)? as usize).min(128)
    } else {
        an.min(64)
    };
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
    let mut pairs = Vec::new();
    let mut hosts: Vec<(String, std::net::IpAddr)> = Vec::new();
    for i in 0..records {
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
        at = rdata_at + rdlen as usize;
        let addr = match ty {
            1 if rdata.len() == 4 => Some(std::net::IpAddr::from([
                rdata[0], rdata[1], rdata[2], rdata[3],
            ])),
            28 if rdata.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(rdata);
                Some(std::net::IpAddr::from(a))
            }
            _ => None,
        };
        if mdns {
            if let Some(a) = addr {
                if hosts.len() < 16 {
                    hosts.push((name.to_ascii_lowercase(), a));
                }
            } else if ty == 16 {
                let lower = name.to_ascii_lowercase() + ".";
                if IDENTITY_SERVICES.iter().any(|s| lower.contains(s)) {
                    identity_pairs(rdata, &mut pairs);
                }
            }
        }
        if i >= an {
            continue;
        }
        let value = match ty {
            1 | 28 => addr.map(|a| a.to_string()).unwrap_or_default(),
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
    }
    // Whose identity: the host the message's address records name (a
    // sleep proxy answers for a sleeping Mac), or the sender when they name
    // none; records of several hosts leave it unknown. A query's records
    // are answers its sender already knows, other hosts': never read.
    let identity = (!pairs.is_empty() && flags & 0x8000 != 0)
        .then(|| {
            let one_host = hosts.windows(2).all(|w| w[0].0 == w[1].0);
            let host = hosts
                .iter()
                .find(|(_, a)| a.is_ipv4())
                .or(hosts.first())
                .map(|(_, a)| *a);
            one_host.then(|| Box::new(crate::obs::MdnsIdentity { pairs, host }))
        })
        .flatten();
    Some(ObsKind::Dns {
        flavour: flavour.into(),
        response: flags & 0x8000 != 0,
        queries,
        answers,
        identity,
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
    let n = tally(&mut counts, s.as_bytes());
    entropy_of(&counts, n)
}

/// Counts the bytes of `b` into `counts`; returns how many.
fn tally(counts: &mut [u32; 256], b: &[u8]) -> usize {
    for c in b {
        counts[*c as usize] += 1;
    }
    b.len()
}

/// Entropy of `n` bytes counted in `counts`.
fn entropy_of(counts: &[u32; 256], n: usize) -> f64 {
    let n = n as f64;
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
    // The entropy of the long labels joined, counted in place.
    let mut counts = [0u32; 256];
    let mut n = 0;
    for l in sub.split('.').filter(|l| l.len() >= 16) {
        n += tally(&mut counts, l.as_bytes());
    }
    entropy_of(&counts, n) >= 3.5
}

/// [`tunnel_like`] of the name at `at` read from its labels, without
/// building it: `None` when that needs the name (a label holding a dot or a
/// space, or not printable), `Some(None)` when the name is malformed, else
/// `Some(Some((tunnel_like, offset after the name)))`.
fn tunnel_like_at(msg: &[u8], at: usize) -> Option<Option<(bool, usize)>> {
    let (mut size, mut longest, mut plain) = (0usize, 0usize, true);
    let end = walk_labels(msg, at, |l| {
        plain &= printable(l) && !l.contains(&b'.') && !l.contains(&b' ');
        size += l.len() + 1;
        longest = longest.max(l.len());
        plain && size <= 255
    });
    if !plain {
        return None;
    }
    let Some(end) = end else {
        return Some(None);
    };
    // The name's length is `size - 1`; no label ends in a dot.
    if size > 100 {
        return Some(Some((true, end)));
    }
    if longest < 24 {
        return Some(Some((false, end)));
    }
    let mut counts = [0u32; 256];
    let mut n = 0;
    walk_labels(msg, at, |l| {
        if l.len() >= 16 {
            n += tally(&mut counts, l);
        }
        true
    });
    Some(Some((entropy_of(&counts, n) >= 3.5, end)))
}

/// The registered domain of a name, approximated by its last two labels
/// (three under a two-letter country code with a short second level).
/// Names whose last label is no top-level domain (dnscat sends data
/// straight to the resolver) share the key `(no domain)`.
pub fn base_domain(name: &str) -> &str {
    let name = name.trim_end_matches('.');
    let mut labels = name.rsplit('.');
    let tld = labels.next().unwrap_or("");
    let plausible = (2..=24).contains(&tld.len())
        && (tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--"));
    if !plausible {
        return "(no domain)";
    }
    let second = labels.next().unwrap_or("");
    let take = if labels.next().is_some() && tld.len() == 2 && second.len() <= 3 {
        3
    } else {
        2
    };
    // The last `take` labels: what follows the take-th dot from the end.
    let mut cut = name.len();
    for _ in 0..take {
        match name.get(..cut).and_then(|h| h.rfind('.')) {
            Some(i) => cut = i,
            None => return name,
        }
    }
    name.get(cut + 1..).unwrap_or(name)
}

/// A hash of a query name, the same in every run (distinct names of a
/// tunnel are counted by it).
pub fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0xd45).hash_one(name)
}

/// What to make of a plain-DNS message (see [`reporting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to report.
    Skip,
    /// Parse it whole: a domain is watched.
    Parse,
    /// No domain is watched and query `n` (from 0) is the first whose name
    /// looks like tunnelled data: [`tunnel_query`] reads that one.
    Tunnel(usize),
}

/// Whether a plain-DNS message can be reported: one of its queries names a
/// watched domain, or a query's name looks like tunnelled data. Reads the
/// query names only (no answers, no record formatting).
pub fn worth_reporting(b: &[u8], to_server: bool, watching: bool) -> bool {
    reporting(b, to_server, watching) != Verdict::Skip
}

/// [`worth_reporting`], and which query makes a tunnel query of the
/// message when no domain is watched: a message it passes with
/// [`Verdict::Parse`] is then parsed whole and checked again.
pub fn reporting(b: &[u8], to_server: bool, watching: bool) -> Verdict {
    if !worth_parsing(b, to_server, watching) {
        return Verdict::Skip;
    }
    let (Some(flags), Some(qd)) = (be16(b, 2), be16(b, 4)) else {
        return Verdict::Skip;
    };
    let response = flags & 0x8000 != 0;
    let mut at = 12;
    let none_watched = !crate::watch::any();
    for q in 0..qd.min(32) as usize {
        // Most names are decided from their labels; the rest are built.
        if let (true, false, Some(read)) = (none_watched, response, tunnel_like_at(b, at)) {
            let Some((tunnel, next)) = read else {
                return Verdict::Skip;
            };
            if tunnel {
                return Verdict::Tunnel(q);
            }
            at = next + 4;
            continue;
        }
        let Some((name, next)) = read_name(b, at) else {
            return Verdict::Skip;
        };
        let name = name.split(' ').next().unwrap_or("");
        if crate::watch::is_watched(name) {
            return Verdict::Parse;
        }
        if !response && tunnel_like(name) {
            return if none_watched {
                Verdict::Tunnel(q)
            } else {
                Verdict::Parse
            };
        }
        at = next + 4;
    }
    Verdict::Skip
}

/// The tunnel query of a message [`reporting`] found query `n` of to be
/// tunnel-like: its domain, a hash of its name and the name's length.
/// `None` where a whole parse would find none: a query the message cannot
/// be read to (every one of the first 32 needs its name and type), or one
/// past the 16 names a parse keeps.
pub fn tunnel_query(b: &[u8], n: usize) -> Option<ObsKind> {
    if n >= 16 {
        return None;
    }
    let qd = be16(b, 4)? as usize;
    let mut at = 12;
    let mut found = None;
    for q in 0..qd.min(32) {
        let (name, next) = read_name(b, at)?;
        be16(b, next)?;
        if q == n {
            found = Some(name);
        }
        at = next + 4;
    }
    let name = found?;
    Some(tunnel_fact(name.split(' ').next().unwrap_or("")))
}

/// What is kept of a tunnel-like query name: its domain, a hash of it and
/// its length (never the name, which is the data).
pub fn tunnel_fact(name: &str) -> ObsKind {
    ObsKind::DnsTunnel {
        domain: base_domain(name).to_string(),
        name_hash: name_hash(name),
        length: u16::try_from(name.len()).unwrap_or(u16::MAX),
    }
}

/// Whether an address is a site's by its range alone: RFC 1918 and
/// unique-local IPv6 (`fc00::/7`).
fn private(a: std::net::IpAddr) -> bool {
    match a {
        std::net::IpAddr::V4(v) => v.is_private(),
        std::net::IpAddr::V6(v) => v.segments()[0] & 0xFE00 == 0xFC00,
    }
}

/// The address a reverse-lookup name (`4.3.2.1.in-addr.arpa`, or 32
/// nibbles under `ip6.arpa`) stands for.
fn reverse_address(name: &str) -> Option<std::net::IpAddr> {
    let lower = name.to_ascii_lowercase();
    if let Some(v4) = lower.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let mut parts = v4.split('.');
        for o in octets.iter_mut().rev() {
            *o = parts.next()?.parse().ok()?;
        }
        return parts
            .next()
            .is_none()
            .then(|| std::net::IpAddr::from(octets));
    }
    let v6 = lower.strip_suffix(".ip6.arpa")?;
    let mut bits = 0u128;
    let mut n = 0;
    for nibble in v6.split('.').rev() {
        bits = (bits << 4)
            | u128::from(
                u8::from_str_radix(nibble, 16)
                    .ok()
                    .filter(|_| nibble.len() == 1)?,
            );
        n += 1;
    }
    (n == 32).then(|| std::net::IpAddr::from(std::net::Ipv6Addr::from(bits)))
}

/// A host name: letters, digits, hyphens and underscores in dot-separated
/// labels (what a site names its hosts; anything else is not taken for one).
fn host_like(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// The first name a DNS response gives a site address: an address record
/// (A, AAAA) of a private address, or a pointer record of one's reverse
/// name. Only these are read, without building any other name: most
/// answers a site's resolvers give are internet addresses. Passive DNS is
/// how servers, which take no DHCP lease, get their names.
pub fn site_name(b: &[u8]) -> Option<ObsKind> {
    let flags = be16(b, 2)?;
    // A response, no error, with answers.
    if flags & 0x8000 == 0 || flags & 0x000F != 0 {
        return None;
    }
    let (qd, an) = (be16(b, 4)?, be16(b, 6)?);
    if an == 0 {
        return None;
    }
    let mut at = 12;
    for _ in 0..qd.min(4) {
        at = walk_labels(b, at, |_| true)? + 4;
    }
    for _ in 0..an.min(16) {
        let owner = at;
        at = walk_labels(b, at, |_| true)?;
        let (rtype, class, len) = (be16(b, at)?, be16(b, at + 2)?, be16(b, at + 8)? as usize);
        let rdata = at + 10;
        let data = b.get(rdata..rdata + len)?;
        at = rdata + len;
        if class & 0x7FFF != 1 {
            continue;
        }
        let address = match rtype {
            1 => <[u8; 4]>::try_from(data).ok().map(std::net::IpAddr::from),
            28 => <[u8; 16]>::try_from(data).ok().map(std::net::IpAddr::from),
            _ => None,
        };
        let found = match (rtype, address) {
            // An address record: its owner names the address (read only
            // for a site's: most answers are internet addresses).
            (_, Some(a)) if private(a) => read_name(b, owner).map(|(n, _)| (n, a, false)),
            // A pointer record: its owner is the reverse name, its data
            // the name.
            (12, None) => read_name(b, owner)
                .and_then(|(n, _)| reverse_address(&n))
                .filter(|a| private(*a))
                .and_then(|a| read_name(b, rdata).map(|(n, _)| (n, a, true))),
            _ => None,
        };
        if let Some((name, addr, ptr)) = found {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if host_like(&name) {
                return Some(ObsKind::DnsName { name, addr, ptr });
            }
        }
    }
    None
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

    /// An mDNS message with `records` (owner, type, rdata) in its answers.
    fn mdns(response: bool, records: &[(&str, u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = vec![0, 0, if response { 0x84 } else { 0 }, 0, 0, 0];
        m.extend_from_slice(&(records.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        for (name, ty, rdata) in records {
            for l in name.split('.') {
                m.push(l.len() as u8);
                m.extend_from_slice(l.as_bytes());
            }
            m.push(0);
            m.extend_from_slice(&ty.to_be_bytes());
            m.extend_from_slice(&[0x80, 1, 0, 0, 0x11, 0x94]);
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    fn txt(items: &[&str]) -> Vec<u8> {
        items
            .iter()
            .flat_map(|i| [vec![i.len() as u8], i.as_bytes().to_vec()].concat())
            .collect()
    }

    #[test]
    fn mdns_txt_records_name_make_and_model() {
        let printer = (
            "Ward 3 printer._ipp._tcp.local",
            16,
            txt(&[
                "txtvers=1",
                "ty=HP LaserJet Pro M404n",
                "note=Ward 3",
                "product=(HP LaserJet Pro M404n)",
                "USB_MFG=HP",
            ]),
        );
        let own = ("NPI1.local", 1, vec![10, 0, 0, 9]);
        let Some(ObsKind::Dns {
            identity: Some(id), ..
        }) = parse(&mdns(true, &[printer.clone(), own.clone()]), "mdns")
        else {
            panic!("no identity");
        };
        let pairs: Vec<(&str, &str)> = id.pairs.iter().map(|(k, v)| (&**k, &**v)).collect();
        // Only the identity keys, `product` without its parentheses, keys
        // in any case.
        assert_eq!(
            pairs,
            [
                ("ty", "HP LaserJet Pro M404n"),
                ("product", "HP LaserJet Pro M404n"),
                ("usb_MFG", "HP")
            ]
        );
        assert_eq!(id.host, Some("10.0.0.9".parse().unwrap()));
        // A query's known answers are other hosts' records.
        assert!(matches!(
            parse(&mdns(false, std::slice::from_ref(&printer)), "mdns"),
            Some(ObsKind::Dns { identity: None, .. })
        ));
        // Records of two hosts: whose is unknown.
        let other = ("NPI2.local", 1, vec![10, 0, 0, 10]);
        assert!(matches!(
            parse(&mdns(true, &[printer.clone(), own, other]), "mdns"),
            Some(ObsKind::Dns { identity: None, .. })
        ));
        // Another service's TXT record names nothing, nor does plain DNS.
        let chat = ("x._chat._tcp.local", 16, txt(&["model=iMac11,3"]));
        assert!(matches!(
            parse(&mdns(true, &[chat]), "mdns"),
            Some(ObsKind::Dns { identity: None, .. })
        ));
        assert!(matches!(
            parse(&mdns(true, &[printer]), "dns"),
            Some(ObsKind::Dns { identity: None, .. })
        ));
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

#[cfg(test)]
mod label_tests {
    use super::*;

    /// Messages of random names: labels of every length, alphabets of low
    /// and high entropy, dots, spaces and bytes that are not printable,
    /// compression pointers (loops too) and cut ends.
    fn messages() -> Vec<Vec<u8>> {
        let mut next = crate::below(0x9e37_79b9_7f4a_7c15);
        let mut out = Vec::new();
        for _ in 0..20_000 {
            let mut m = vec![0u8; 12];
            let labels = next(12);
            for _ in 0..labels {
                let len = match next(4) {
                    0 => next(64),
                    1 => 16 + next(48),
                    _ => next(12),
                } as usize;
                m.push(len as u8);
                let alphabet: &[u8] = match next(6) {
                    0 => b"ab",
                    1 => b"0123456789abcdef",
                    2 => b"abcdefghijklmnopqrstuvwxyz0123456789-",
                    3 => b"a. b",
                    4 => b"ab\x01\xc2\x85\xff",
                    _ => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                };
                for _ in 0..len {
                    m.push(alphabet[next(alphabet.len() as u64) as usize]);
                }
            }
            match next(8) {
                0 => m.extend_from_slice(&[0xC0, 12]),
                1 => m.extend_from_slice(&[0xC0, next(m.len() as u64 + 4) as u8]),
                2 => {}
                _ => m.push(0),
            }
            if next(10) == 0 {
                let cut = next(m.len() as u64) as usize;
                m.truncate(cut);
            }
            out.push(m);
        }
        out
    }

    #[test]
    fn names_read_from_labels_decide_as_built_names() {
        let mut decided = 0;
        for m in messages() {
            let built = read_name(&m, 12)
                .map(|(n, end)| (tunnel_like(n.split(' ').next().unwrap_or("")), end));
            match tunnel_like_at(&m, 12) {
                Some(read) => {
                    decided += 1;
                    assert_eq!(read, built, "{m:?}");
                }
                None => assert!(built.is_none() || m.len() > 12, "{m:?}"),
            }
        }
        assert!(decided > 5_000, "{decided}");
    }

    #[test]
    fn the_tunnel_query_is_the_one_a_whole_parse_finds() {
        // The random names as queries: one, two or seventeen (past the
        // 16 names a parse keeps), with their type and class or cut short.
        let names = messages();
        let mut tunnels = 0;
        for (i, m) in names.iter().enumerate() {
            let other = &names[(i * 7 + 3) % names.len()];
            let (qd, cut) = ([1usize, 2, 17][i % 3], i % 11 == 0);
            let mut b = m.clone();
            let Some(count) = b.get_mut(5) else {
                continue;
            };
            *count = qd as u8;
            b.extend_from_slice(&[0, 1, 0, 1]);
            // Seventeen: sixteen times the first name, then another.
            for q in 1..qd {
                let next = if q + 1 < qd && qd > 2 { m } else { other };
                b.extend_from_slice(next.get(12..).unwrap_or_default());
                b.extend_from_slice(&[0, 16, 0, 1]);
            }
            if cut {
                b.truncate(b.len() - 3);
            }
            let Verdict::Tunnel(n) = reporting(&b, true, false) else {
                continue;
            };
            tunnels += 1;
            let whole = match parse(&b, "dns") {
                Some(ObsKind::Dns { queries, .. }) => queries
                    .iter()
                    .map(|q| q.split(' ').next().unwrap_or(""))
                    .find(|q| tunnel_like(q))
                    .map(|q| (base_domain(q).to_string(), name_hash(q), q.len())),
                _ => None,
            };
            let fast = match tunnel_query(&b, n) {
                Some(ObsKind::DnsTunnel {
                    domain,
                    name_hash,
                    length,
                }) => Some((domain, name_hash, usize::from(length))),
                None => None,
                Some(o) => panic!("{o:?}"),
            };
            assert_eq!(fast, whole, "{b:?}");
        }
        assert!(tunnels > 1_000, "{tunnels}");
    }

    #[test]
    fn names_are_built_with_their_size() {
        for m in messages() {
            if let Some((n, _)) = read_name(&m, 12) {
                assert!(n.len() < 255, "{m:?}");
                // Printable names (nothing replaced) are allocated once, to
                // their size.
                if n.bytes().all(|c| (b' '..=b'~').contains(&c)) && !n.contains('?') {
                    let size = if n.is_empty() { 0 } else { n.len() + 1 };
                    assert_eq!(n.capacity(), size, "{m:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod site_name_tests {
    use super::*;

    fn name(n: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for l in n.split('.') {
            b.push(l.len() as u8);
            b.extend_from_slice(l.as_bytes());
        }
        b.push(0);
        b
    }

    /// A response to one question, with answers (owner, type, rdata);
    /// `None` as owner points back at the question's name.
    fn response(question: &str, qtype: u16, answers: &[(Option<&str>, u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![
            0x12,
            0x34,
            0x81,
            0x80,
            0,
            1,
            0,
            answers.len() as u8,
            0,
            0,
            0,
            0,
        ];
        b.extend(name(question));
        b.extend(qtype.to_be_bytes());
        b.extend([0, 1]);
        for (owner, t, rdata) in answers {
            match owner {
                Some(o) => b.extend(name(o)),
                None => b.extend([0xC0, 12]),
            }
            b.extend(t.to_be_bytes());
            b.extend([0, 1, 0, 0, 0x0e, 0x10]);
            b.extend((rdata.len() as u16).to_be_bytes());
            b.extend(rdata);
        }
        b
    }

    fn got(b: &[u8]) -> Option<(String, std::net::IpAddr, bool)> {
        match site_name(b)? {
            ObsKind::DnsName { name, addr, ptr } => Some((name, addr, ptr)),
            _ => None,
        }
    }

    #[test]
    fn address_and_pointer_records_of_site_addresses_name_them() {
        // A CNAME chain: the address record's owner is the host.
        let a = response(
            "pacs.hospital.example",
            1,
            &[
                (None, 5, name("PACS01.hospital.example")),
                (Some("PACS01.hospital.example"), 1, vec![10, 20, 2, 10]),
            ],
        );
        assert_eq!(
            got(&a),
            Some((
                "pacs01.hospital.example".into(),
                "10.20.2.10".parse().unwrap(),
                false
            ))
        );
        let ptr = response(
            "21.5.40.10.in-addr.arpa",
            12,
            &[(None, 12, name("rad-ws-21.hospital.example"))],
        );
        assert_eq!(
            got(&ptr),
            Some((
                "rad-ws-21.hospital.example".into(),
                "10.40.5.21".parse().unwrap(),
                true
            ))
        );
        let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
        let ptr6 = response(v6, 12, &[(None, 12, name("lab-7.hospital.example"))]);
        assert_eq!(
            got(&ptr6),
            Some((
                "lab-7.hospital.example".into(),
                "fd00::1".parse().unwrap(),
                true
            ))
        );
        let aaaa = response(
            "ehr.hospital.example",
            28,
            &[(
                None,
                28,
                "fd12::5"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets()
                    .to_vec(),
            )],
        );
        assert!(got(&aaaa).is_some());
    }

    #[test]
    fn internet_addresses_queries_errors_and_odd_names_give_none() {
        assert_eq!(
            got(&response(
                "www.example.com",
                1,
                &[(None, 1, vec![93, 184, 216, 34])]
            )),
            None
        );
        assert_eq!(
            got(&response(
                "8.8.8.8.in-addr.arpa",
                12,
                &[(None, 12, name("dns.google"))]
            )),
            None
        );
        let mut query = response("pacs.hospital.example", 1, &[(None, 1, vec![10, 0, 0, 1])]);
        query[2] = 0x01;
        assert_eq!(got(&query), None);
        let mut nx = response("pacs.hospital.example", 1, &[(None, 1, vec![10, 0, 0, 1])]);
        nx[3] = 0x83;
        assert_eq!(got(&nx), None);
        assert_eq!(
            got(&response(
                "a b.hospital",
                1,
                &[(None, 1, vec![10, 0, 0, 1])]
            )),
            None
        );
        // Cut short: no panic, nothing.
        let a = response("pacs.hospital.example", 1, &[(None, 1, vec![10, 0, 0, 1])]);
        for n in 0..a.len() {
            assert_eq!(got(&a[..n]), None);
        }
        assert_eq!(reverse_address("1.2.3.in-addr.arpa"), None);
        assert_eq!(reverse_address("1.2.3.4.5.in-addr.arpa"), None);
    }
}
