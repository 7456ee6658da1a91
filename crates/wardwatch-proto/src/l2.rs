//! Link-layer discovery: LLDP (EtherType 0x88CC) and CDP (SNAP 0x2000).
//! Switches, IP phones and some medical devices announce their name,
//! description and platform here.

use crate::obs::ObsKind;

fn text(b: &[u8]) -> Option<String> {
    crate::bytes::text_opt(b, 256)
}

/// LLDP-MED inventory TLVs (organisation 00-12-BB, subtypes 5 to 10); the
/// asset id (11) is the hospital's own label, not the device's.
pub const MED_INVENTORY: [&str; 6] = [
    "hardware revision",
    "firmware revision",
    "software revision",
    "serial number",
    "manufacturer",
    "model",
];

/// Parses an LLDPDU (after the Ethernet header).
pub fn parse_lldp(mut b: &[u8]) -> Option<ObsKind> {
    let (mut chassis, mut port, mut name, mut descr) = (None, None, None, None);
    let mut inventory = Vec::new();
    for _ in 0..64 {
        let h = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
        let ty = h >> 9;
        let len = (h & 0x1FF) as usize;
        let v = b.get(2..2 + len)?;
        match ty {
            0 => break,
            1 if len > 1 => {
                chassis = Some(if v[0] == 4 && len == 7 {
                    crate::bytes::mac_text(&v[1..])
                } else {
                    text(&v[1..]).unwrap_or_default()
                })
            }
            2 if len > 1 => port = text(&v[1..]),
            5 => name = text(v),
            6 => descr = text(v),
            127 if v.starts_with(&[0x00, 0x12, 0xBB]) => {
                let field = v
                    .get(3)
                    .and_then(|s| MED_INVENTORY.get(usize::from(s.wrapping_sub(5))));
                if let (Some(f), Some(t)) = (field, v.get(4..).and_then(text)) {
                    inventory.push((f.to_string(), t));
                }
            }
            _ => {}
        }
        b = &b[2 + len..];
    }
    Some(ObsKind::LinkNeighbor(Box::new(
        crate::obs::LinkNeighborFact {
            protocol: "lldp".into(),
            chassis_id: chassis,
            port_id: port,
            system_name: name,
            system_description: descr,
            platform: None,
            inventory,
        },
    )))
}

/// Parses a CDP message (after the SNAP header).
pub fn parse_cdp(b: &[u8]) -> Option<ObsKind> {
    let mut t = b.get(4..)?; // version, ttl, checksum
    let (mut device, mut software, mut platform, mut port) = (None, None, None, None);
    for _ in 0..64 {
        if t.len() < 4 {
            break;
        }
        let ty = u16::from_be_bytes([t[0], t[1]]);
        let len = u16::from_be_bytes([t[2], t[3]]) as usize;
        if len < 4 {
            break;
        }
        let v = t.get(4..len)?;
        match ty {
            1 => device = text(v),
            3 => port = text(v),
            5 => software = text(v),
            6 => platform = text(v),
            _ => {}
        }
        t = &t[len..];
    }
    Some(ObsKind::LinkNeighbor(Box::new(
        crate::obs::LinkNeighborFact {
            protocol: "cdp".into(),
            chassis_id: None,
            port_id: port,
            system_name: device,
            system_description: software,
            platform,
            inventory: Vec::new(),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lldp_tlvs_and_garbage() {
        let mut p = vec![0x02, 0x07, 0x04, 0, 0x12, 0x21, 1, 2, 3];
        p.extend_from_slice(&[0x04, 0x04, 0x05, b'p', b'1', b'2']);
        p.extend_from_slice(&[0x0A, 0x05]);
        p.extend_from_slice(b"pump7");
        p.extend_from_slice(&[0x00, 0x00]);
        let Some(ObsKind::LinkNeighbor(n)) = parse_lldp(&p) else {
            panic!()
        };
        let crate::obs::LinkNeighborFact {
            chassis_id,
            system_name,
            port_id,
            ..
        } = *n;
        assert_eq!(chassis_id.as_deref(), Some("00:12:21:01:02:03"));
        assert_eq!(system_name.as_deref(), Some("pump7"));
        assert_eq!(port_id.as_deref(), Some("p12"));
        for n in 0..p.len() {
            let _ = parse_lldp(&p[..n]);
            let _ = parse_cdp(&p[..n]);
        }
    }
}
