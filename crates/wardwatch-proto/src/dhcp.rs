//! DHCPv4 (BOOTP with the magic cookie): the client's host name (12),
//! vendor class (60), parameter request list (55, a fingerprint), client id
//! (61), FQDN (81) and the address asked for (50) or given (yiaddr); of a
//! server's answer, the network it gives: server identifier (54), subnet
//! mask (1), router (3) and DNS server (6), the first of each.

use std::net::{IpAddr, Ipv4Addr};

use crate::obs::ObsKind;

fn printable(b: &[u8]) -> String {
    crate::bytes::text(b, 128)
}

/// Whether a UDP payload is DHCP (ports are checked by the caller).
pub fn probe(b: &[u8]) -> bool {
    b.len() >= 240 && b.get(236..240) == Some(&[99, 130, 83, 99][..])
}

/// Parses a DHCP message.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    if !probe(b) {
        return None;
    }
    let op = b[0];
    let hlen = (b[2] as usize).min(16);
    let chaddr = b.get(28..28 + hlen)?;
    let client_mac = crate::bytes::mac_text(chaddr);
    let yiaddr = Ipv4Addr::new(b[16], b[17], b[18], b[19]);
    let (mut mtype, mut host, mut vendor, mut params, mut cid, mut fqdn, mut req) =
        (0u8, None, None, None, None, None, None);
    let (mut server_id, mut mask, mut router, mut dns) = (None, None, None, None);
    // The first address of an option's list.
    let first = |val: &[u8]| {
        val.first_chunk::<4>()
            .map(|a| IpAddr::V4(Ipv4Addr::from(*a)))
    };
    let mut opts = &b[240..];
    while let Some((&code, rest)) = opts.split_first() {
        match code {
            0 => {
                opts = rest;
                continue;
            }
            255 => break,
            _ => {}
        }
        let (&len, rest) = rest.split_first()?;
        let val = rest.get(..len as usize)?;
        match code {
            53 => mtype = *val.first()?,
            12 => host = Some(printable(val)),
            60 => vendor = Some(printable(val)),
            55 => {
                params = Some(
                    val.iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                )
            }
            61 => cid = Some(crate::bytes::hex(val)),
            81 if val.len() > 3 => fqdn = Some(printable(&val[3..])),
            50 if val.len() == 4 => {
                req = Some(IpAddr::V4(Ipv4Addr::new(val[0], val[1], val[2], val[3])))
            }
            54 => server_id = first(val),
            1 => mask = first(val),
            3 => router = first(val),
            6 => dns = first(val),
            _ => {}
        }
        opts = &rest[len as usize..];
    }
    let address = if op == 2 && !yiaddr.is_unspecified() {
        Some(IpAddr::V4(yiaddr))
    } else {
        req
    };
    Some(ObsKind::Dhcp(Box::new(crate::obs::DhcpFact {
        message_type: mtype,
        client_mac,
        hostname: host.filter(|h| !h.is_empty()),
        vendor_class: vendor.filter(|v| !v.is_empty()),
        parameter_list: params,
        client_id: cid,
        fqdn: fqdn.filter(|f| !f.is_empty()),
        address,
        server: (op == 2).then_some(crate::obs::DhcpServerView {
            server_id,
            subnet_mask: mask,
            router,
            dns,
        }),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_garbage() {
        let mut m = vec![0u8; 240];
        m[0] = 1;
        m[2] = 6;
        m[28..34].copy_from_slice(&[0x28, 0xcf, 0xda, 0xdc, 0x8d, 0x76]);
        m[236..240].copy_from_slice(&[99, 130, 83, 99]);
        m.extend_from_slice(&[53, 1, 3, 12, 4, b'p', b'u', b'm', b'p', 60, 8]);
        m.extend_from_slice(b"MSFT 5.0");
        m.extend_from_slice(&[55, 3, 1, 3, 6, 255]);
        let Some(ObsKind::Dhcp(d)) = parse(&m) else {
            panic!()
        };
        let crate::obs::DhcpFact {
            hostname,
            vendor_class,
            parameter_list,
            client_mac,
            message_type,
            ..
        } = *d;
        assert_eq!(message_type, 3);
        assert_eq!(hostname.as_deref(), Some("pump"));
        assert_eq!(vendor_class.as_deref(), Some("MSFT 5.0"));
        assert_eq!(parameter_list.as_deref(), Some("1,3,6"));
        assert_eq!(client_mac, "28:cf:da:dc:8d:76");
        for n in 0..m.len() {
            let _ = parse(&m[..n]);
        }
    }
}
