//! SSDP (UPnP discovery) over UDP 1900: the SERVER, USN and LOCATION
//! headers name the device's software and model.

use crate::obs::ObsKind;

/// Parses an SSDP NOTIFY, M-SEARCH or response.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    let text = std::str::from_utf8(b.get(..b.len().min(4096))?).ok()?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let first = lines.next()?;
    let method = first.split(' ').next()?.to_string();
    if !(method == "NOTIFY" || method == "M-SEARCH" || method.starts_with("HTTP/1.")) {
        return None;
    }
    let get = |name: &str| -> Option<String> {
        text.split("\r\n")
            .flat_map(|l| l.split('\n'))
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().chars().take(256).collect())
            })
    };
    Some(ObsKind::Ssdp(Box::new(crate::obs::SsdpFact {
        method,
        server: get("server"),
        usn: get("usn"),
        location: get("location"),
    })))
}

/// The text of the first `<name>…</name>` element in `s`, unescaped.
fn element(s: &str, name: &str) -> Option<String> {
    let raw = crate::bytes::xml_element(s, name)?;
    crate::bytes::text_opt(crate::bytes::xml_unescape(raw).as_bytes(), 128)
}

/// A UPnP device description (the XML an SSDP LOCATION points to, UPnP
/// Device Architecture 2.3): the root device's type, maker, model name and
/// number, and serial. Its friendly name (often a person's: "Anna's TV") is
/// not kept.
pub fn description(body: &[u8]) -> Option<ObsKind> {
    let s = std::str::from_utf8(body).ok()?;
    if !s.contains("urn:schemas-upnp-org:device-1-0") {
        return None;
    }
    // The root device's elements come before its embedded devices'.
    let root = s.find("<device>").map_or(s, |i| &s[i..]);
    let root = root.find("<deviceList>").map_or(root, |i| &root[..i]);
    let f = crate::obs::UpnpDeviceFact {
        device_type: element(root, "deviceType"),
        manufacturer: element(root, "manufacturer"),
        model_name: element(root, "modelName"),
        model_number: element(root, "modelNumber"),
        serial: element(root, "serialNumber"),
    };
    (f.manufacturer.is_some() || f.model_name.is_some()).then(|| ObsKind::UpnpDevice(Box::new(f)))
}

#[cfg(test)]
mod description_tests {
    use super::*;

    #[test]
    fn a_root_device_names_itself() {
        let xml = b"<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\">\
            <specVersion><major>1</major></specVersion><device>\
            <deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>\
            <friendlyName>Anna's TV</friendlyName><manufacturer>Sony Corporation</manufacturer>\
            <modelName>BRAVIA KD-55X85J</modelName><modelNumber>KD-55X85J</modelNumber>\
            <serialNumber>4011234</serialNumber><deviceList><device>\
            <manufacturer>Other &amp; Co</manufacturer></device></deviceList></device></root>";
        let Some(ObsKind::UpnpDevice(f)) = description(xml) else {
            panic!("not parsed");
        };
        assert_eq!(f.manufacturer.as_deref(), Some("Sony Corporation"));
        assert_eq!(f.model_name.as_deref(), Some("BRAVIA KD-55X85J"));
        assert_eq!(f.model_number.as_deref(), Some("KD-55X85J"));
        assert_eq!(f.serial.as_deref(), Some("4011234"));
        assert_eq!(
            f.device_type.as_deref(),
            Some("urn:schemas-upnp-org:device:MediaRenderer:1")
        );
        assert!(!format!("{f:?}").contains("Anna"));
        assert!(
            description(b"<root><device><manufacturer>x</manufacturer></device></root>").is_none()
        );
        for n in 0..xml.len() {
            let _ = description(&xml[..n]);
        }
    }
}
