//! IPP (RFC 8010/8011), the printing protocol of every network printer
//! (port 631, HTTP POST with `Content-Type: application/ipp`): a printer
//! answering Get-Printer-Attributes names its make and model, its IEEE 1284
//! device id (maker, model, often the serial number) and, with IPP 2.x,
//! its firmware. A request names only its operation here.
//!
//! Privacy: a print job carries a document (a discharge summary, a label
//! with a patient's name) and attributes about it (`job-name`, the
//! document's title; `requesting-user-name`). Only the allow-listed
//! printer attributes below are read; the walk stops at the end of the
//! attribute groups, so the document is never looked at.

use crate::bytes::be16;
use crate::obs::{IppFact, ObsKind};

/// Longest attribute value kept.
const MAX_VALUE: usize = 128;
/// Firmware entries kept.
const MAX_FIRMWARE: usize = 4;

/// The name of an operation (RFC 8011 5.4.15, PWG 5100.x, CUPS).
pub fn operation_name(op: u16) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(match op {
        0x0002 => "Print-Job",
        0x0003 => "Print-URI",
        0x0004 => "Validate-Job",
        0x0005 => "Create-Job",
        0x0006 => "Send-Document",
        0x0007 => "Send-URI",
        0x0008 => "Cancel-Job",
        0x0009 => "Get-Job-Attributes",
        0x000A => "Get-Jobs",
        0x000B => "Get-Printer-Attributes",
        0x000C => "Hold-Job",
        0x000D => "Release-Job",
        0x000E => "Restart-Job",
        0x0010 => "Pause-Printer",
        0x0011 => "Resume-Printer",
        0x0012 => "Purge-Jobs",
        0x0016 => "Create-Printer-Subscriptions",
        0x0017 => "Create-Job-Subscriptions",
        0x001B => "Get-Notifications",
        0x003C => "Identify-Printer",
        0x4001 => "CUPS-Get-Default",
        0x4002 => "CUPS-Get-Printers",
        0x4003 => "CUPS-Add-Modify-Printer",
        0x4004 => "CUPS-Delete-Printer",
        0x4005 => "CUPS-Get-Classes",
        _ => return std::borrow::Cow::Owned(format!("operation 0x{op:04X}")),
    })
}

/// A printable, bounded copy of a text value.
fn text(v: &[u8]) -> Option<String> {
    crate::bytes::text_opt(v, MAX_VALUE)
}

/// The text of a value by its tag: textWithoutLanguage and its kin as they
/// are, textWithLanguage (0x35, 0x36) after its language.
fn string_value(tag: u8, v: &[u8]) -> Option<String> {
    match tag {
        0x41 | 0x42 | 0x44 | 0x45 => text(v),
        0x35 | 0x36 => {
            let lang = usize::from(be16(v, 0)?);
            let len = usize::from(be16(v, 2 + lang)?);
            text(v.get(4 + lang..4 + lang + len)?)
        }
        _ => None,
    }
}

/// The maker, model and serial number of an IEEE 1284 device id
/// (`MFG:HP;MDL:LaserJet Pro M404n;CMD:PCL;SN:VNB3K12345;`).
fn device_id(id: &str, f: &mut IppFact) {
    for pair in id.split(';') {
        let Some((k, v)) = pair.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        match k.trim().to_ascii_uppercase().as_str() {
            "MFG" | "MANUFACTURER" => f.maker = Some(v.to_string()),
            "MDL" | "MODEL" => f.model = Some(v.to_string()),
            "SN" | "SERN" | "SERIALNUMBER" => f.serial = Some(v.to_string()),
            _ => {}
        }
    }
}

/// Reads an IPP message (`request`: a client's) as far as its bytes go:
/// the operation of a request, the status and the allow-listed printer
/// attributes of a response. `queue`: the request went to a print server's
/// queue, whose answer describes the printer behind it (so does an answer
/// listing several printers, CUPS-Get-Printers'). `None` for what is not
/// IPP.
pub fn parse(body: &[u8], request: bool, queue: bool) -> Option<ObsKind> {
    let head = body.get(..8)?;
    // Versions 1.0 to 2.2.
    if !(1..=2).contains(&head[0]) || head[1] > 2 {
        return None;
    }
    let code = be16(head, 2)?;
    let mut f = IppFact {
        request,
        operation: request.then(|| operation_name(code).into_owned()),
        status: (!request).then_some(code),
        queue,
        ..IppFact::default()
    };
    let mut printer_groups = 0;
    let mut firmware_names: Vec<String> = Vec::new();
    let mut firmware_versions: Vec<String> = Vec::new();
    let mut at = 8;
    let mut name: &[u8] = b"";
    while let Some(&tag) = body.get(at) {
        at += 1;
        if tag == 0x03 {
            // End of the attributes: a document may follow, unread.
            break;
        }
        if tag < 0x10 {
            // Delimiter of an attribute group.
            printer_groups += usize::from(tag == 0x04);
            f.queue |= printer_groups > 1;
            continue;
        }
        let Some(name_len) = be16(body, at).map(usize::from) else {
            break;
        };
        let Some(this) = body.get(at + 2..at + 2 + name_len) else {
            break;
        };
        at += 2 + name_len;
        // An empty name is another value of the attribute before.
        if name_len > 0 {
            name = this;
        }
        let Some(value_len) = be16(body, at).map(usize::from) else {
            break;
        };
        let Some(value) = body.get(at + 2..at + 2 + value_len) else {
            break;
        };
        at += 2 + value_len;
        if request {
            continue;
        }
        let v = || string_value(tag, value);
        match name {
            b"printer-make-and-model" if f.make_and_model.is_none() => f.make_and_model = v(),
            b"printer-device-id" => {
                if let Some(id) = v() {
                    device_id(&id, &mut f);
                }
            }
            b"printer-firmware-name" if firmware_names.len() < MAX_FIRMWARE => {
                firmware_names.extend(v());
            }
            b"printer-firmware-string-version" if firmware_versions.len() < MAX_FIRMWARE => {
                firmware_versions.extend(v());
            }
            _ => {}
        }
    }
    // The firmware names and versions are parallel sets.
    f.firmware = firmware_versions
        .iter()
        .enumerate()
        .map(|(i, ver)| match firmware_names.get(i) {
            Some(n) => format!("{n} {ver}"),
            None => ver.clone(),
        })
        .collect();
    let identity = f.make_and_model.is_some()
        || f.maker.is_some()
        || f.model.is_some()
        || !f.firmware.is_empty();
    (request || identity).then(|| ObsKind::Ipp(Box::new(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(tag: u8, name: &str, value: &[u8]) -> Vec<u8> {
        let mut a = vec![tag];
        a.extend((name.len() as u16).to_be_bytes());
        a.extend(name.as_bytes());
        a.extend((value.len() as u16).to_be_bytes());
        a.extend(value);
        a
    }

    #[test]
    fn a_printers_identity_and_nothing_of_a_job() {
        let mut m = vec![2, 0, 0, 0, 0, 0, 0, 1, 0x01];
        m.extend(attr(0x47, "attributes-charset", b"utf-8"));
        m.push(0x04);
        m.extend(attr(
            0x41,
            "printer-make-and-model",
            b"HP LaserJet Pro M404n",
        ));
        m.extend(attr(
            0x41,
            "printer-device-id",
            b"MFG:HP;MDL:LaserJet Pro M404n;CMD:PCL;SN:VNB3K12345;",
        ));
        m.extend(attr(0x42, "printer-firmware-name", b"Formatter"));
        m.extend(attr(0x42, "", b"Engine"));
        m.extend(attr(0x41, "printer-firmware-string-version", b"002_2310A"));
        m.extend(attr(0x41, "", b"1.4"));
        m.push(0x03);
        let Some(ObsKind::Ipp(f)) = parse(&m, false, false) else {
            panic!("no fact")
        };
        assert!(!f.queue);
        assert_eq!(f.make_and_model.as_deref(), Some("HP LaserJet Pro M404n"));
        assert_eq!(
            (f.maker.as_deref(), f.model.as_deref(), f.serial.as_deref()),
            (Some("HP"), Some("LaserJet Pro M404n"), Some("VNB3K12345"))
        );
        assert_eq!(f.firmware, vec!["Formatter 002_2310A", "Engine 1.4"]);
        assert_eq!(f.status, Some(0));
        // Cut anywhere, it still reads what came before.
        for cut in 0..m.len() {
            let _ = parse(&m[..cut], false, false);
        }
        // A Print-Job: its operation, nothing of its job or document.
        let mut job = vec![1, 1, 0, 2, 0, 0, 0, 7, 0x01];
        job.extend(attr(0x42, "job-name", b"Discharge summary Jane Roe"));
        job.extend(attr(0x41, "printer-make-and-model", b"not from a client"));
        job.push(0x03);
        job.extend(b"%PDF-1.4 Jane Roe");
        let Some(ObsKind::Ipp(f)) = parse(&job, true, false) else {
            panic!("no fact")
        };
        assert_eq!(f.operation.as_deref(), Some("Print-Job"));
        assert!(f.make_and_model.is_none());
        assert!(!format!("{f:?}").contains("Roe"));
        assert!(parse(b"GET / HTTP/1.1\r\n", true, false).is_none());
        // A print server listing its queues (two printer groups): the
        // printers behind it, not itself.
        let mut list = m[..m.len() - 1].to_vec();
        list.push(0x04);
        list.extend(attr(0x41, "printer-make-and-model", b"Zebra ZD420"));
        list.push(0x03);
        let Some(ObsKind::Ipp(f)) = parse(&list, false, false) else {
            panic!("no fact")
        };
        assert!(f.queue);
    }
}
