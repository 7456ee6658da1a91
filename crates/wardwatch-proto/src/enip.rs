//! EtherNet/IP (ODVA, CIP Volume 2) over UDP 44818: a device's answer to
//! List Identity (encapsulation command 0x63) carries its CIP Identity
//! object: vendor id, device type, product code, revision, serial number
//! and product name. In a hospital these are the PLCs, drives and I/O of
//! the facility (air handling, pneumatic tubes, pharmacy and lab
//! automation). The request, which names nothing, is not reported.

use crate::bytes::le16;
use crate::obs::{EnipIdentityFact, ObsKind};

/// Encapsulation header length.
const HEADER: usize = 24;
/// List Identity.
const LIST_IDENTITY: u16 = 0x63;
/// CPF item type of a CIP Identity item.
const CIP_IDENTITY: u16 = 0x0C;

/// The name of a CIP device type (CIP Volume 1, 6-42) a hospital's
/// facility uses, else its number.
fn device_type(t: u16) -> String {
    match t {
        0 | 43 => "Generic Device",
        2 => "AC Drive",
        7 => "General Purpose Discrete I/O",
        12 => "Communications Adapter",
        14 => "Programmable Logic Controller",
        24 => "Human-Machine Interface",
        44 => "Managed Ethernet Switch",
        _ => return t.to_string(),
    }
    .to_string()
}

/// Parses a List Identity answer (a request, with no items, gives `None`).
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    if le16(b, 0)? != LIST_IDENTITY {
        return None;
    }
    let len = usize::from(le16(b, 2)?);
    let data = b.get(HEADER..HEADER + len)?;
    let count = le16(data, 0)?;
    let mut at = 2;
    for _ in 0..count.min(4) {
        let kind = le16(data, at)?;
        let item_len = usize::from(le16(data, at + 2)?);
        let item = data.get(at + 4..at + 4 + item_len)?;
        at += 4 + item_len;
        if kind != CIP_IDENTITY {
            continue;
        }
        // Protocol version (2), socket address (16), then the identity.
        let id = item.get(18..)?;
        let serial = id
            .get(10..14)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))?;
        let name_len = usize::from(*id.get(14)?);
        let name = id.get(15..15 + name_len)?;
        return Some(ObsKind::EnipIdentity(Box::new(EnipIdentityFact {
            vendor_id: le16(id, 0)?,
            device_type: device_type(le16(id, 2)?),
            product_code: le16(id, 4)?,
            revision: format!("{}.{:03}", id.get(6)?, id.get(7)?),
            serial: format!("0x{serial:08x}"),
            product_name: crate::bytes::text_opt(name, 64),
        })));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A List Identity answer of an Allen-Bradley 1756-EN2T.
    fn answer() -> Vec<u8> {
        let name = b"1756-EN2T/D";
        let mut item = vec![1, 0];
        item.extend_from_slice(&[0, 2, 0xAF, 0x12, 10, 70, 1, 20]);
        item.extend_from_slice(&[0; 8]);
        item.extend_from_slice(&1u16.to_le_bytes());
        item.extend_from_slice(&12u16.to_le_bytes());
        item.extend_from_slice(&166u16.to_le_bytes());
        item.extend_from_slice(&[10, 7]);
        item.extend_from_slice(&0x0030u16.to_le_bytes());
        item.extend_from_slice(&0x00c0_ffeeu32.to_le_bytes());
        item.push(name.len() as u8);
        item.extend_from_slice(name);
        item.push(3);
        let mut data = 1u16.to_le_bytes().to_vec();
        data.extend_from_slice(&CIP_IDENTITY.to_le_bytes());
        data.extend_from_slice(&(item.len() as u16).to_le_bytes());
        data.extend_from_slice(&item);
        let mut b = LIST_IDENTITY.to_le_bytes().to_vec();
        b.extend_from_slice(&(data.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0; 20]);
        b.extend_from_slice(&data);
        b
    }

    #[test]
    fn a_list_identity_answer_names_the_device() {
        let Some(ObsKind::EnipIdentity(f)) = parse(&answer()) else {
            panic!("not parsed");
        };
        assert_eq!(
            (f.vendor_id, f.device_type.as_str(), f.product_code),
            (1, "Communications Adapter", 166)
        );
        assert_eq!(
            (f.revision.as_str(), f.serial.as_str()),
            ("10.007", "0x00c0ffee")
        );
        assert_eq!(f.product_name.as_deref(), Some("1756-EN2T/D"));
        // The request (no items) and other commands name nothing.
        let mut request = LIST_IDENTITY.to_le_bytes().to_vec();
        request.extend_from_slice(&[0; 22]);
        assert!(parse(&request).is_none());
        let mut other = answer();
        other[0] = 0x65;
        assert!(parse(&other).is_none());
        let a = answer();
        for n in 0..a.len() {
            let _ = parse(&a[..n]);
        }
    }
}
