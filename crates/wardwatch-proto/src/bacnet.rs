//! BACnet/IP (ASHRAE 135, Annex J; UDP 47808): the building automation of a
//! hospital (air handling, operating-room pressure, chillers, lighting)
//! names itself in `I-Am` (device instance and vendor identifier) and in the
//! answers it gives to a `ReadProperty` or `ReadPropertyMultiple` of its
//! device object (vendor name, model name, firmware revision, application
//! software version, object name). Only a device object's identity
//! properties are read; point values never are.
//!
//! A message relayed by a broadcast management device (`Forwarded-NPDU`) or
//! routed from another BACnet network (a source network in the NPDU) speaks
//! for a device other than its UDP sender, and is not read.

use crate::obs::{BacnetFact, ObsKind};

/// The device object type.
const DEVICE: u32 = 8;
/// Longest property text kept.
const MAX_TEXT: usize = 128;

/// Parses one BACnet/IP datagram.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    // BVLC: type 0x81, function, length. Original-Unicast-NPDU (0x0a) and
    // Original-Broadcast-NPDU (0x0b) carry the sender's own message.
    if b.len() < 4 || b[0] != 0x81 || !matches!(b[1], 0x0a | 0x0b) {
        return None;
    }
    let npdu = b.get(4..usize::from(u16::from_be_bytes([b[2], b[3]])))?;
    let apdu = apdu_of(npdu)?;
    let fact = match (apdu.first()? >> 4, apdu.get(1)) {
        // Unconfirmed-Request, I-Am.
        (1, Some(0)) => i_am(apdu.get(2..)?)?,
        // Unconfirmed-Request, Who-Has and Who-Is.
        (1, Some(7)) => request("Who-Has"),
        (1, Some(8)) => request("Who-Is"),
        // Confirmed-Request: the service after max segments/APDU and the
        // invoke id (and, segmented, the sequence number and window).
        (0, _) => {
            let at = if apdu[0] & 0x08 != 0 { 5 } else { 3 };
            request(confirmed_service(*apdu.get(at)?)?)
        }
        // Complex-ACK (not segmented): ReadProperty (12) and
        // ReadPropertyMultiple (14).
        (3, _) if apdu[0] & 0x08 == 0 => match apdu.get(2)? {
            12 => read_property(apdu.get(3..)?)?,
            14 => read_property_multiple(apdu.get(3..)?)?,
            _ => return None,
        },
        _ => return None,
    };
    Some(ObsKind::Bacnet(Box::new(fact)))
}

/// A client's request, by its service's name.
fn request(service: &str) -> BacnetFact {
    BacnetFact {
        request: Some(service.to_string()),
        ..Default::default()
    }
}

/// The name of a confirmed service (ASHRAE 135 21, BACnetConfirmedServiceChoice),
/// for the services a front-end or a controller uses.
fn confirmed_service(choice: u8) -> Option<&'static str> {
    Some(match choice {
        0 => "AcknowledgeAlarm",
        5 => "SubscribeCOV",
        6 => "AtomicReadFile",
        7 => "AtomicWriteFile",
        12 => "ReadProperty",
        14 => "ReadPropertyMultiple",
        15 => "WriteProperty",
        16 => "WritePropertyMultiple",
        17 => "DeviceCommunicationControl",
        20 => "ReinitializeDevice",
        26 => "ReadRange",
        28 => "SubscribeCOVProperty",
        _ => return None,
    })
}

/// The APDU of an NPDU, if it holds one from its sender's own network.
fn apdu_of(n: &[u8]) -> Option<&[u8]> {
    let (&1, &control) = (n.first()?, n.get(1)?) else {
        return None;
    };
    // A network layer message, or a source network: not the sender's.
    if control & 0x80 != 0 || control & 0x08 != 0 {
        return None;
    }
    let mut at = 2;
    if control & 0x20 != 0 {
        // DNET, DLEN, DADR, then the hop count.
        let dlen = usize::from(*n.get(at + 2)?);
        at += 3 + dlen + 1;
    }
    n.get(at..)
}

/// A tag: (number, context class, length or opening/closing marker, the
/// bytes after the tag's header).
#[derive(Debug, PartialEq)]
enum Tag<'a> {
    /// Number, context class, content, what follows it.
    Value(u8, bool, &'a [u8], &'a [u8]),
    /// An opening tag's number and what follows it.
    Open(u8, &'a [u8]),
    /// A closing tag's number and what follows it.
    Close(u8, &'a [u8]),
}

/// Reads one tag (ASHRAE 135 20.2.1).
fn tag(b: &[u8]) -> Option<Tag<'_>> {
    let first = *b.first()?;
    let mut at = 1;
    let mut number = first >> 4;
    if number == 15 {
        number = *b.get(at)?;
        at += 1;
    }
    let context = first & 0x08 != 0;
    let lvt = first & 7;
    if context && lvt == 6 {
        return Some(Tag::Open(number, b.get(at..)?));
    }
    if context && lvt == 7 {
        return Some(Tag::Close(number, b.get(at..)?));
    }
    // An application Boolean holds its value in the length bits.
    if !context && number == 1 {
        return Some(Tag::Value(number, false, &[], b.get(at..)?));
    }
    let len = match lvt {
        5 => {
            let l = *b.get(at)?;
            at += 1;
            match l {
                254 => {
                    at += 2;
                    usize::from(u16::from_be_bytes([*b.get(at - 2)?, *b.get(at - 1)?]))
                }
                255 => return None,
                l => usize::from(l),
            }
        }
        l => usize::from(l),
    };
    let content = b.get(at..at.checked_add(len)?)?;
    Some(Tag::Value(number, context, content, b.get(at + len..)?))
}

/// An unsigned integer's content (at most four octets).
fn unsigned(c: &[u8]) -> Option<u32> {
    if c.is_empty() || c.len() > 4 {
        return None;
    }
    Some(c.iter().fold(0u32, |v, b| (v << 8) | u32::from(*b)))
}

/// An object identifier's (type, instance).
fn object_id(c: &[u8]) -> Option<(u32, u32)> {
    let v = u32::from_be_bytes(c.try_into().ok()?);
    Some((v >> 22, v & 0x3F_FFFF))
}

/// I-Am: device identifier, max APDU, segmentation, vendor identifier.
fn i_am(b: &[u8]) -> Option<BacnetFact> {
    let Tag::Value(12, false, id, rest) = tag(b)? else {
        return None;
    };
    let (DEVICE, instance) = object_id(id)? else {
        return None;
    };
    let mut fact = BacnetFact {
        instance: Some(instance),
        ..Default::default()
    };
    let Tag::Value(2, false, _, rest) = tag(rest)? else {
        return Some(fact);
    };
    let Tag::Value(9, false, _, rest) = tag(rest)? else {
        return Some(fact);
    };
    if let Some(Tag::Value(2, false, v, _)) = tag(rest) {
        fact.vendor_id = unsigned(v).and_then(|v| u16::try_from(v).ok());
    }
    Some(fact)
}

/// A character string's text (UTF-8 / ANSI X3.4 or ISO 8859-1 only).
fn char_string(c: &[u8]) -> Option<String> {
    let (&set, text) = c.split_first()?;
    match set {
        0 => crate::bytes::text_opt(text, MAX_TEXT),
        5 => {
            let s: String = text.iter().map(|&b| char::from(b)).collect();
            crate::bytes::text_opt(s.as_bytes(), MAX_TEXT)
        }
        _ => None,
    }
}

/// Puts a device property's value (the bytes between its opening and
/// closing tags) into `fact`.
fn property(fact: &mut BacnetFact, id: u32, value: &[u8]) {
    let Some(Tag::Value(number, false, c, _)) = tag(value) else {
        return;
    };
    let text = || (number == 7).then(|| char_string(c)).flatten();
    match id {
        77 => fact.object_name = text(),
        121 => fact.vendor_name = text(),
        70 => fact.model_name = text(),
        44 => fact.firmware_revision = text(),
        12 => fact.application_software = text(),
        120 if number == 2 => fact.vendor_id = unsigned(c).and_then(|v| u16::try_from(v).ok()),
        _ => {}
    }
}

/// The bytes from after an opening tag `n` to its closing tag (nested
/// constructed values skipped), and what follows the closing tag.
fn constructed(mut b: &[u8], n: u8) -> Option<(&[u8], &[u8])> {
    let start = b;
    let mut depth = 0u32;
    loop {
        let before = start.len() - b.len();
        b = match tag(b)? {
            Tag::Open(_, rest) => {
                depth += 1;
                rest
            }
            Tag::Close(m, rest) if depth == 0 => {
                return if m == n {
                    Some((start.get(..before)?, rest))
                } else {
                    None
                };
            }
            Tag::Close(_, rest) => {
                depth -= 1;
                rest
            }
            Tag::Value(_, _, _, rest) => rest,
        };
    }
}

/// ReadProperty-ACK: object identifier [0], property identifier [1],
/// optional array index [2], value [3].
fn read_property(b: &[u8]) -> Option<BacnetFact> {
    let Tag::Value(0, true, id, rest) = tag(b)? else {
        return None;
    };
    let (DEVICE, instance) = object_id(id)? else {
        return None;
    };
    let Tag::Value(1, true, p, mut rest) = tag(rest)? else {
        return None;
    };
    if let Some(Tag::Value(2, true, _, after)) = tag(rest) {
        rest = after;
    }
    let Tag::Open(3, rest) = tag(rest)? else {
        return None;
    };
    let (value, _) = constructed(rest, 3)?;
    let mut fact = BacnetFact {
        instance: Some(instance),
        ..Default::default()
    };
    property(&mut fact, unsigned(p)?, value);
    fact.has_identity().then_some(fact)
}

/// ReadPropertyMultiple-ACK: for each object, its identifier [0] and
/// results [1]: property identifier [2], optional array index [3], then a
/// value [4] or an error [5]. Only device objects are read.
fn read_property_multiple(mut b: &[u8]) -> Option<BacnetFact> {
    let mut fact = BacnetFact::default();
    for _ in 0..16 {
        if b.is_empty() {
            break;
        }
        let Tag::Value(0, true, id, rest) = tag(b)? else {
            return None;
        };
        let Tag::Open(1, mut results) = tag(rest)? else {
            return None;
        };
        let (kind, instance) = object_id(id)?;
        loop {
            match tag(results)? {
                Tag::Close(1, rest) => {
                    b = rest;
                    break;
                }
                Tag::Value(2, true, p, rest) => {
                    let mut rest = rest;
                    if let Some(Tag::Value(3, true, _, after)) = tag(rest) {
                        rest = after;
                    }
                    let (n, inner) = match tag(rest)? {
                        Tag::Open(n @ (4 | 5), inner) => (n, inner),
                        _ => return None,
                    };
                    let (value, after) = constructed(inner, n)?;
                    if kind == DEVICE && n == 4 {
                        fact.instance = Some(instance);
                        property(&mut fact, unsigned(p)?, value);
                    }
                    results = after;
                }
                _ => return None,
            }
        }
    }
    fact.has_identity().then_some(fact)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BVLC Original-Unicast-NPDU around `apdu` (NPDU without routing).
    pub(crate) fn bip(apdu: &[u8]) -> Vec<u8> {
        let mut b = vec![0x81, 0x0a, 0, 0, 0x01, 0x00];
        b.extend_from_slice(apdu);
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        b
    }

    fn chars(s: &str) -> Vec<u8> {
        let mut v = vec![0x75, (s.len() + 1) as u8, 0];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn fact(b: &[u8]) -> BacnetFact {
        match parse(b) {
            Some(ObsKind::Bacnet(f)) => *f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn i_am_names_instance_and_vendor() {
        // Device 260001, max APDU 1476, segmented both, vendor 5.
        let b = bip(&[
            0x10, 0x00, 0xC4, 0x02, 0x03, 0xF7, 0xA1, 0x22, 0x05, 0xC4, 0x91, 0x00, 0x21, 0x05,
        ]);
        let f = fact(&b);
        assert_eq!((f.instance, f.vendor_id), (Some(260_001), Some(5)));
        // Broadcast too; routed from another network or relayed: not read.
        let mut broadcast = b.clone();
        broadcast[1] = 0x0b;
        assert_eq!(fact(&broadcast).instance, Some(260_001));
        let mut relayed = b.clone();
        relayed[1] = 0x04;
        assert!(parse(&relayed).is_none());
        let mut routed = b.clone();
        routed[5] = 0x08;
        assert!(parse(&routed).is_none());
        // Every truncation is refused or read partly, never a panic.
        for n in 0..b.len() {
            let mut t = b[..n].to_vec();
            if t.len() >= 4 {
                let len = t.len() as u16;
                t[2..4].copy_from_slice(&len.to_be_bytes());
            }
            let _ = parse(&t);
        }
    }

    #[test]
    fn read_property_answers_name_model_and_firmware() {
        let mut apdu = vec![
            0x30, 0x07, 0x0C, 0x0C, 0x02, 0x03, 0xF7, 0xA1, 0x19, 70, 0x3E,
        ];
        apdu.extend(chars("FEC2611-0"));
        apdu.push(0x3F);
        let f = fact(&bip(&apdu));
        assert_eq!(f.model_name.as_deref(), Some("FEC2611-0"));
        assert_eq!(f.instance, Some(260_001));
        // A point's property (analog input 1's present value) is not read.
        let point = [
            0x30, 0x07, 0x0C, 0x0C, 0x00, 0, 0, 1, 0x19, 85, 0x3E, 0x44, 0x41, 0xA0, 0, 0, 0x3F,
        ];
        assert!(parse(&bip(&point)).is_none());
    }

    #[test]
    fn read_property_multiple_answers_are_read_for_the_device() {
        let mut apdu = vec![0x30, 0x01, 0x0E, 0x0C, 0x02, 0x03, 0xF7, 0xA1, 0x1E];
        for (p, v) in [
            (121u8, "Johnson Controls, Inc."),
            (44, "10.1"),
            (77, "AHU-3"),
        ] {
            apdu.extend([0x29, p, 0x4E]);
            apdu.extend(chars(v));
            apdu.push(0x4F);
        }
        // An error result [5] for application-software-version.
        apdu.extend([0x29, 12, 0x5E, 0x91, 0x02, 0x91, 0x20, 0x5F]);
        apdu.push(0x1F);
        let f = fact(&bip(&apdu));
        assert_eq!(f.vendor_name.as_deref(), Some("Johnson Controls, Inc."));
        assert_eq!(f.firmware_revision.as_deref(), Some("10.1"));
        assert_eq!(f.object_name.as_deref(), Some("AHU-3"));
        assert_eq!(f.application_software, None);
    }
}
