//! CLDAP domain controller pings (MS-ADTS 6.3.3, LDAP over UDP 389): a
//! domain member looking for a controller sends a search whose filter names
//! its domain (`DnsDomain`), its own NetBIOS name (`Host`, or `DnsHostName`)
//! and its machine account (`User`, `NAME$`). Like a Kerberos logon, it names
//! a Windows host where no broadcast reaches the sensor. Only those three
//! attributes are read; a person's account in `User` is never kept.

use crate::bytes::tlv;
use crate::kerberos::host_name;
use crate::obs::{DomainMemberFact, ObsKind};

/// The equality assertions of a filter (and its `and`/`or` branches), as
/// (attribute, value), depth-limited.
fn assertions<'a>(filter: &'a [u8], depth: u8, out: &mut Vec<(&'a [u8], &'a [u8])>) {
    let Some((tag, v, _)) = tlv(filter) else {
        return;
    };
    match tag {
        // and [0], or [1]: a set of filters.
        0xA0 | 0xA1 if depth < 4 => {
            let mut rest = v;
            while let Some((_, _, next)) = tlv(rest) {
                assertions(rest, depth + 1, out);
                rest = next;
            }
        }
        // equalityMatch [3]: attribute description, assertion value.
        0xA3 => {
            if let Some((0x04, attr, rest)) = tlv(v) {
                if let Some((0x04, value, _)) = tlv(rest) {
                    if out.len() < 16 {
                        out.push((attr, value));
                    }
                }
            }
        }
        _ => {}
    }
}

/// Parses an LDAP message sent to UDP 389: a search request naming a host.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    let (0x30, msg, _) = tlv(b)? else {
        return None;
    };
    let (0x02, _, mut rest) = tlv(msg)? else {
        return None;
    };
    // RFC 1798 CLDAP puts the user's DN before the operation.
    if let Some((0x04, _, after)) = tlv(rest) {
        rest = after;
    }
    let (0x63, search, _) = tlv(rest)? else {
        return None;
    };
    // baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly,
    // then the filter.
    let mut fields = search;
    for _ in 0..6 {
        fields = tlv(fields)?.2;
    }
    let mut found = Vec::new();
    assertions(fields, 0, &mut found);
    let value = |name: &str| {
        found
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| crate::bytes::text(v, 255))
    };
    let netbios = value("Host")
        .or_else(|| value("DnsHostName").map(|d| d.split('.').next().unwrap_or("").to_string()))
        .and_then(|h| host_name(&h));
    let machine = value("User").and_then(|u| u.strip_suffix('$').and_then(host_name));
    if netbios.is_none() && machine.is_none() {
        return None;
    }
    Some(ObsKind::DomainMember(Box::new(DomainMemberFact {
        protocol: "cldap".into(),
        machine,
        domain: value("DnsDomain").filter(|d| !d.is_empty()),
        netbios,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bytes::der;

    fn ping(user: &[u8], cldap_dn: bool) -> Vec<u8> {
        let eq = |a: &[u8], v: &[u8]| der(0xA3, &[der(0x04, a), der(0x04, v)].concat());
        let filter = der(
            0xA0,
            &[
                eq(b"DnsDomain", b"rad.example"),
                eq(b"Host", b"WS-RAD-07"),
                eq(b"User", user),
                eq(b"NtVer", &[0x16, 0, 0, 0x20]),
            ]
            .concat(),
        );
        let mut search = der(0x04, b"");
        search.extend(der(0x0A, &[0]));
        search.extend(der(0x0A, &[0]));
        search.extend(der(0x02, &[0]));
        search.extend(der(0x02, &[0]));
        search.extend(der(0x01, &[0]));
        search.extend(filter);
        search.extend(der(0x30, &der(0x04, b"Netlogon")));
        let mut msg = der(0x02, &[1]);
        if cldap_dn {
            msg.extend(der(0x04, b""));
        }
        msg.extend(der(0x63, &search));
        der(0x30, &msg)
    }

    #[test]
    fn a_domain_controller_ping_names_its_host() {
        for dn in [false, true] {
            let m = ping(b"WS-RAD-07$", dn);
            let Some(ObsKind::DomainMember(f)) = parse(&m) else {
                panic!("not parsed");
            };
            assert_eq!(f.protocol, "cldap");
            assert_eq!(f.netbios.as_deref(), Some("WS-RAD-07"));
            assert_eq!(f.machine.as_deref(), Some("WS-RAD-07"));
            assert_eq!(f.domain.as_deref(), Some("rad.example"));
            for n in 0..m.len() {
                let _ = parse(&m[..n]);
            }
        }
        // A person's account is not kept; the host still is.
        let Some(ObsKind::DomainMember(f)) = parse(&ping(b"jdoe", false)) else {
            panic!("not parsed");
        };
        assert_eq!(f.machine, None);
        assert!(!format!("{f:?}").contains("jdoe"));
    }
}
