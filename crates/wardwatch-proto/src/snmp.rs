//! SNMP v1/v2c over UDP: the community is never kept — only whether it is
//! one of the well-known defaults — and sysDescr, sysObjectID and sysName
//! from responses. SNMPv3 messages are noted by version only.

use crate::bytes::tlv;
use crate::obs::ObsKind;

fn text(v: &[u8]) -> String {
    crate::bytes::text(v, 256)
}

fn int(v: &[u8]) -> i64 {
    v.iter().take(8).fold(
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            -1
        } else {
            0
        },
        |a, b| (a << 8) | *b as i64,
    )
}

/// Decodes an OID to dotted form.
pub fn oid(v: &[u8]) -> String {
    let Some((&first, rest)) = v.split_first() else {
        return String::new();
    };
    let mut parts = vec![
        (first / 40).min(2) as u64,
        (first as u64).saturating_sub(40 * (first / 40).min(2) as u64),
    ];
    let mut acc = 0u64;
    for b in rest.iter().take(64) {
        acc = (acc << 7) | (b & 0x7F) as u64;
        if b & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    parts
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// Parses an SNMP message.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    let (tag, msg, _) = tlv(b)?;
    if tag != 0x30 {
        return None;
    }
    let (t, ver, rest) = tlv(msg)?;
    if t != 0x02 {
        return None;
    }
    let version = int(ver);
    if version == 3 {
        // msgGlobalData, then msgSecurityParameters: an OCTET STRING holding
        // the USM SEQUENCE { engineID, boots, time, userName, auth, priv }.
        let (engine_id, user) = (|| {
            let (_, _global, r) = tlv(rest)?;
            let (t, sec, _) = tlv(r)?;
            if t != 0x04 {
                return None;
            }
            let (_, usm, _) = tlv(sec)?;
            let (_, engine, r) = tlv(usm)?;
            let (_, _, r) = tlv(r)?;
            let (_, _, r) = tlv(r)?;
            let (_, user, _) = tlv(r)?;
            let hex = crate::bytes::hex(engine);
            Some((hex, text(user)))
        })()
        .unwrap_or_default();
        return Some(ObsKind::Snmp(Box::new(crate::obs::SnmpFact {
            version: "v3".into(),
            community: None,
            pdu: String::new(),
            sys_descr: None,
            sys_object_id: None,
            sys_name: None,
            engine_id: (!engine_id.is_empty()).then_some(engine_id),
            user: (!user.is_empty()).then_some(user),
        })));
    }
    let (t, community, rest) = tlv(rest)?;
    if t != 0x04 {
        return None;
    }
    let class = match community {
        b"public" => "public (default)",
        b"private" => "private (default)",
        _ => "other (masked)",
    };
    let (pdu_tag, pdu, _) = tlv(rest)?;
    let pdu_name = match pdu_tag {
        0xA0 => "get-request",
        0xA1 => "get-next-request",
        0xA2 => "response",
        0xA3 => "set-request",
        0xA4 => "trap",
        0xA5 => "get-bulk-request",
        0xA6 => "inform-request",
        0xA7 => "snmpv2-trap",
        0xA8 => "report",
        _ => "unknown",
    };
    let (mut descr, mut objid, mut name) = (None, None, None);
    if pdu_tag == 0xA2 {
        // request-id, error-status, error-index, then the varbind list.
        let (_, _, r) = tlv(pdu)?;
        let (_, _, r) = tlv(r)?;
        let (_, _, r) = tlv(r)?;
        let (_, mut binds, _) = tlv(r)?;
        for _ in 0..64 {
            let Some((_, vb, next)) = tlv(binds) else {
                break;
            };
            binds = next;
            let Some((_, o, after)) = tlv(vb) else {
                continue;
            };
            let Some((vt, val, _)) = tlv(after) else {
                continue;
            };
            match oid(o).as_str() {
                "1.3.6.1.2.1.1.1.0" if vt == 0x04 => descr = Some(text(val)),
                "1.3.6.1.2.1.1.2.0" if vt == 0x06 => objid = Some(oid(val)),
                "1.3.6.1.2.1.1.5.0" if vt == 0x04 => name = Some(text(val)),
                _ => {}
            }
        }
    }
    Some(ObsKind::Snmp(Box::new(crate::obs::SnmpFact {
        version: if version == 0 {
            "v1".into()
        } else {
            "v2c".into()
        },
        community: Some(class.into()),
        pdu: pdu_name.into(),
        sys_descr: descr,
        sys_object_id: objid,
        sys_name: name,
        engine_id: None,
        user: None,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_and_garbage() {
        assert_eq!(oid(&[0x2b, 6, 1, 2, 1, 1, 1, 0]), "1.3.6.1.2.1.1.1.0");
        assert_eq!(
            oid(&[0x2b, 6, 1, 4, 1, 0x81, 0x8b, 0x3a]),
            "1.3.6.1.4.1.17850"
        );
        for b in [&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..], &[0x30][..], &[]] {
            assert!(parse(b).is_none());
        }
    }
}
