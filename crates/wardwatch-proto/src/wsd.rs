//! WS-Discovery (OASIS WS-DD 1.1, and the 2005 draft Windows and ONVIF
//! use) over UDP 3702: a device's Hello and its ProbeMatches answer name
//! what it is in `Types` (an ONVIF `NetworkVideoTransmitter`, a WSD
//! `PrintDeviceType`, a Windows `Computer`) and, for ONVIF cameras and
//! recorders, its maker's name and hardware model in `Scopes`
//! (`onvif://www.onvif.org/hardware/DS-2CD2143G0-I`). The location scope
//! (a room, set by the site) and endpoint addresses are not kept.

use crate::bytes::xml_element as element;
use crate::obs::{ObsKind, WsDiscoveryFact};

/// `%XX` escapes of a URI decoded (lossy on bad UTF-8).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a WS-Discovery message; `Some` for a device describing itself
/// (Hello, ProbeMatches, ResolveMatches), not for a client's Probe or a Bye.
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    let xml = std::str::from_utf8(b.get(..b.len().min(16 * 1024))?).ok()?;
    let action = element(xml, "Action")?.trim();
    let message = action.rsplit('/').next()?.to_string();
    if !matches!(
        message.as_str(),
        "Hello" | "ProbeMatches" | "ResolveMatches"
    ) {
        return None;
    }
    let types: Vec<String> = element(xml, "Types")
        .unwrap_or("")
        .split_whitespace()
        .map(|t| t.rsplit_once(':').map_or(t, |(_, n)| n))
        .filter(|t| !t.is_empty())
        .take(8)
        .map(|t| crate::bytes::text(t.as_bytes(), 64))
        .collect();
    let mut fact = WsDiscoveryFact {
        message,
        types,
        hardware: None,
        name: None,
    };
    for scope in element(xml, "Scopes").unwrap_or("").split_whitespace() {
        let Some(path) = scope
            .get(..19)
            .filter(|p| p.eq_ignore_ascii_case("onvif://www.onvif.o"))
            .and_then(|_| scope.get(19..))
            .and_then(|p| p.strip_prefix("rg/"))
        else {
            continue;
        };
        let (key, value) = path.split_once('/').unwrap_or((path, ""));
        let slot = match key.to_ascii_lowercase().as_str() {
            "hardware" => &mut fact.hardware,
            "name" => &mut fact.name,
            _ => continue,
        };
        if slot.is_none() {
            *slot = crate::bytes::text_opt(percent_decode(value).as_bytes(), 128);
        }
    }
    Some(ObsKind::WsDiscovery(Box::new(fact)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">
<SOAP-ENV:Header><wsa:MessageID>urn:uuid:1</wsa:MessageID><wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>
<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</wsa:Action></SOAP-ENV:Header>
<SOAP-ENV:Body><d:Hello><wsa:EndpointReference><wsa:Address>urn:uuid:4c2a</wsa:Address></wsa:EndpointReference>
<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>
<d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/hardware/DS-2CD2143G0-I onvif://www.onvif.org/name/HIKVISION%20Camera onvif://www.onvif.org/location/ICU%20Bed%2012</d:Scopes>
<d:XAddrs>http://10.60.0.21/onvif/device_service</d:XAddrs><d:MetadataVersion>10</d:MetadataVersion></d:Hello></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;

    #[test]
    fn a_camera_says_what_it_is_and_not_where() {
        let Some(ObsKind::WsDiscovery(f)) = parse(HELLO.as_bytes()) else {
            panic!("not parsed");
        };
        assert_eq!(f.message, "Hello");
        assert_eq!(f.types, ["NetworkVideoTransmitter", "Device"]);
        assert_eq!(f.hardware.as_deref(), Some("DS-2CD2143G0-I"));
        assert_eq!(f.name.as_deref(), Some("HIKVISION Camera"));
        assert!(!format!("{f:?}").contains("ICU"));
        // A client's probe and a goodbye name nobody.
        for action in ["Probe", "Bye"] {
            let m = HELLO.replace("discovery/Hello<", &format!("discovery/{action}<"));
            assert!(parse(m.as_bytes()).is_none(), "{action}");
        }
        for n in 0..HELLO.len() {
            let _ = parse(&HELLO.as_bytes()[..n]);
        }
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(element("<a:x/><b:x>t</b:x>", "x"), Some(""));
    }
}
