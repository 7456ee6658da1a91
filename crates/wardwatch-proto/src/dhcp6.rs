//! DHCPv6 client messages (RFC 8415, UDP 547): the client's FQDN (option
//! 39, RFC 4704), vendor class (16), option request list (6, a stack's
//! fingerprint) and the link-layer address in its DUID (option 1). Windows
//! hosts send them from their link-local address even where no DHCPv6
//! server answers, naming themselves. And servers' answers (port 546): what
//! address and resolver they give, to find a rogue one.

use crate::bytes::{be16, hex};
use std::net::IpAddr;

use crate::obs::{Dhcp6Fact, Dhcp6ServerView, ObsKind};

/// Client message types: Solicit, Request, Confirm, Renew, Rebind,
/// Release, Decline, Information-request.
fn from_client(t: u8) -> bool {
    matches!(t, 1 | 3 | 4 | 5 | 6 | 8 | 9 | 11)
}

/// The link-layer address a DUID carries (DUID-LLT and DUID-LL of
/// Ethernet), as `aa:bb:…`.
fn duid_mac(d: &[u8]) -> Option<String> {
    let at = match (be16(d, 0)?, be16(d, 2)?) {
        (1, 1) => 8,
        (3, 1) => 4,
        _ => return None,
    };
    d.get(at..at + 6).map(crate::bytes::mac_text)
}

/// The options of a message body, in order; a truncated last option ends
/// them.
fn options(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let code = be16(b, 0)?;
        let len = be16(b, 2)? as usize;
        let v = b.get(4..4 + len)?;
        b = &b[4 + len..];
        Some((code, v))
    })
}

/// The IPv6 address at the start of `b`.
fn ipv6(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(IpAddr::from(a))
}

/// Parses a DHCPv6 client message.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    let t = *b.first()?;
    if !from_client(t) {
        return None;
    }
    let mut f = Dhcp6Fact {
        message_type: t,
        ..Default::default()
    };
    for (code, v) in options(b.get(4..)?) {
        match code {
            1 => {
                f.duid = Some(hex(v));
                f.duid_mac = duid_mac(v);
            }
            6 => {
                f.option_request = Some(
                    v.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]).to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }
            16 => {
                // Enterprise number, then length-prefixed data items.
                let mut parts = Vec::new();
                let mut rest = v.get(4..).unwrap_or(&[]);
                while let Some(n) = be16(rest, 0) {
                    let Some(item) = rest.get(2..2 + n as usize) else {
                        break;
                    };
                    parts.push(crate::bytes::text(item, 64));
                    rest = &rest[2 + n as usize..];
                }
                let enterprise = v
                    .get(..4)
                    .map(|e| u32::from_be_bytes([e[0], e[1], e[2], e[3]]));
                f.vendor_class =
                    enterprise.map(|e| format!("{} (enterprise {e})", parts.join(" ")));
            }
            39 => {
                // Flags, then the name in DNS wire format (no compression).
                if let Some((name, _)) = v.get(1..).and_then(|n| crate::dns::read_name(n, 0)) {
                    let name = name.trim_end_matches('.').to_string();
                    if !name.is_empty() {
                        f.fqdn = Some(name);
                    }
                }
            }
            _ => {}
        }
    }
    Some(ObsKind::Dhcp6(Box::new(f)))
}

/// Parses a server's Advertise (2) or Reply (7): the client it answers
/// (its DUID, option 1), the server's DUID (2), the first address of an
/// IA_NA or IA_TA (3, 4) and the first DNS server (23). What a rogue server
/// gives (a link-local address, itself as the resolver) is the sign of a
/// man in the middle such as mitm6.
pub fn parse_server(b: &[u8]) -> Option<ObsKind> {
    let t = *b.first()?;
    if !matches!(t, 2 | 7) {
        return None;
    }
    let mut f = Dhcp6Fact {
        message_type: t,
        ..Default::default()
    };
    let mut view = Dhcp6ServerView::default();
    for (code, v) in options(b.get(4..)?) {
        match code {
            1 => {
                f.duid = Some(hex(v));
                f.duid_mac = duid_mac(v);
            }
            2 => view.duid = Some(hex(v)),
            // IAID, T1, T2 (IA_NA) or IAID (IA_TA), then options.
            3 | 4 if view.address.is_none() => {
                let inner = v.get(if code == 3 { 12 } else { 4 }..).unwrap_or(&[]);
                view.address = options(inner)
                    .find(|(c, _)| *c == 5)
                    .and_then(|(_, a)| ipv6(a));
            }
            23 if view.dns.is_none() => view.dns = ipv6(v),
            _ => {}
        }
    }
    f.server = Some(view);
    Some(ObsKind::Dhcp6(Box::new(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(code: u16, v: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend_from_slice(&(v.len() as u16).to_be_bytes());
        o.extend_from_slice(v);
        o
    }

    fn solicit() -> Vec<u8> {
        let mut b = vec![1, 0x12, 0x34, 0x56];
        // DUID-LLT, Ethernet, time, MAC.
        b.extend(option(
            1,
            &[0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 0, 0x14, 0x22, 1, 2, 3],
        ));
        b.extend(option(6, &[0, 17, 0, 23, 0, 24, 0, 39]));
        b.extend(option(
            39,
            &[
                0, 9, b'W', b'S', b'-', b'R', b'A', b'D', b'-', b'0', b'7', 3, b'r', b'a', b'd', 0,
            ],
        ));
        let mut vc = 311u32.to_be_bytes().to_vec();
        vc.extend_from_slice(&[0, 8]);
        vc.extend_from_slice(b"MSFT 5.0");
        b.extend(option(16, &vc));
        b
    }

    #[test]
    fn a_windows_solicit_names_the_host() {
        let Some(ObsKind::Dhcp6(f)) = parse(&solicit()) else {
            panic!("not parsed");
        };
        assert_eq!(f.message_type, 1);
        assert_eq!(f.fqdn.as_deref(), Some("WS-RAD-07.rad"));
        assert_eq!(f.vendor_class.as_deref(), Some("MSFT 5.0 (enterprise 311)"));
        assert_eq!(f.option_request.as_deref(), Some("17,23,24,39"));
        assert_eq!(f.duid_mac.as_deref(), Some("00:14:22:01:02:03"));
        // Truncated anywhere: a shorter fact or none, never a panic.
        let whole = solicit();
        for n in 0..whole.len() {
            let _ = parse(&whole[..n]);
        }
        // A server's Advertise is not a client's.
        let mut adv = whole.clone();
        adv[0] = 2;
        assert!(parse(&adv).is_none());
    }

    #[test]
    fn a_servers_advertise_gives_its_address_and_resolver() {
        let ll: [u8; 16] = "fe80::999:1"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        let dns: [u8; 16] = "fe80::66".parse::<std::net::Ipv6Addr>().unwrap().octets();
        let mut b = vec![2, 0x12, 0x34, 0x56];
        // Client DUID-LLT, server DUID-LL.
        b.extend(option(
            1,
            &[0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 0, 0x14, 0x22, 1, 2, 3],
        ));
        b.extend(option(2, &[0, 3, 0, 1, 2, 0, 10, 9, 0, 0x66]));
        b.extend(option(23, &dns));
        // IA_NA: IAID, T1, T2, then an IA address (address, lifetimes).
        let mut iaaddr = ll.to_vec();
        iaaddr.extend_from_slice(&[0, 0, 1, 44, 0, 0, 1, 44]);
        let mut iana = vec![0, 0, 0, 1, 0, 0, 0, 200, 0, 0, 0, 250];
        iana.extend(option(5, &iaaddr));
        b.extend(option(3, &iana));
        let Some(ObsKind::Dhcp6(f)) = parse_server(&b) else {
            panic!("not parsed");
        };
        assert_eq!(f.message_type, 2);
        assert_eq!(f.duid_mac.as_deref(), Some("00:14:22:01:02:03"));
        let view = f.server.unwrap();
        assert_eq!(view.duid.as_deref(), Some("0003000102000a090066"));
        assert_eq!(view.address, Some(IpAddr::from(ll)));
        assert_eq!(view.dns, Some(IpAddr::from(dns)));
        // Truncated anywhere: a shorter fact or none, never a panic.
        for n in 0..b.len() {
            let _ = parse_server(&b[..n]);
        }
        // A client's message is no answer.
        assert!(parse_server(&solicit()).is_none());
    }
}
