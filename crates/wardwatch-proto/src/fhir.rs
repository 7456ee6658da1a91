//! FHIR Device resources in cleartext HTTP bodies (JSON or XML, STU3 to
//! R5, alone or inside a Bundle): a device's maker, model, software version
//! and serial number. Nothing else of a body is read; a Device's patient
//! reference, notes, owner and location are never kept, and other resources
//! (Patient, Observation …) are not looked into.

use crate::obs::{FhirDeviceFact, ObsKind};
use serde_json::Value;

/// Largest body read for Device resources.
pub const MAX_BODY: usize = 64 * 1024;

/// Device resources of one body at most.
const MAX_DEVICES: usize = 8;

/// Whether a message may hold Device resources, by its content type
/// (lower case) and first line: a FHIR media type, or JSON/XML sent to a
/// Device path.
pub fn wanted(content_type: &str, first_line: &str) -> bool {
    content_type.contains("fhir+json")
        || content_type.contains("fhir+xml")
        || ((content_type.contains("json") || content_type.contains("xml"))
            && first_line
                .split(' ')
                .nth(1)
                .is_some_and(|p| p.to_ascii_lowercase().contains("/device")))
}

fn text(s: &str) -> Option<String> {
    crate::bytes::text_opt(s.as_bytes(), 128)
}

/// The Device resources of a body; `request`: it went client to server.
pub fn devices(body: &[u8], request: bool) -> Vec<ObsKind> {
    let start = body.iter().position(|c| !c.is_ascii_whitespace());
    let mut found = Vec::new();
    match start.map(|i| body[i]) {
        Some(b'{') => {
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                json_devices(&v, 0, &mut found);
            }
        }
        Some(b'<') => {
            if let Ok(s) = std::str::from_utf8(body) {
                xml_devices(s, &mut found);
            }
        }
        _ => {}
    }
    found
        .into_iter()
        .filter(|f| f.manufacturer.is_some() || f.model.is_some() || f.version.is_some())
        .map(|mut f| {
            f.request = request;
            ObsKind::FhirDevice(Box::new(f))
        })
        .collect()
}

/// Walks a JSON resource (and a Bundle's entries, contained resources) for
/// Device resources.
fn json_devices(v: &Value, depth: u8, out: &mut Vec<FhirDeviceFact>) {
    if depth > 6 || out.len() >= MAX_DEVICES {
        return;
    }
    match v {
        Value::Object(o) if o.get("resourceType").and_then(Value::as_str) == Some("Device") => {
            let s = |k: &str| o.get(k).and_then(Value::as_str).and_then(text);
            // R4/R5 deviceName (R5 name) entries typed model-name; STU3 model.
            let named_model = ["deviceName", "name"].iter().find_map(|k| {
                o.get(*k)?.as_array()?.iter().find_map(|n| {
                    let t = n.get("type");
                    let typ = t
                        .and_then(Value::as_str)
                        .or_else(|| t?.get("coding")?.get(0)?.get("code")?.as_str());
                    (typ == Some("model-name"))
                        .then(|| n.get("name").or(n.get("value"))?.as_str().and_then(text))
                        .flatten()
                })
            });
            // R4/R5 version[].value; STU3 version (a string).
            let version = o.get("version").and_then(|v| match v {
                Value::String(s) => text(s),
                Value::Array(a) => a
                    .iter()
                    .find_map(|x| x.get("value")?.as_str().and_then(text)),
                _ => None,
            });
            out.push(FhirDeviceFact {
                request: false,
                manufacturer: s("manufacturer"),
                model: s("modelNumber").or(named_model).or_else(|| s("model")),
                version,
                serial: s("serialNumber"),
            });
        }
        Value::Object(o) => {
            // A Bundle's entry[].resource, a resource's contained[].
            for k in ["entry", "resource", "contained"] {
                if let Some(x) = o.get(k) {
                    json_devices(x, depth + 1, out);
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter().take(256) {
                json_devices(x, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// The `value` attribute of the first `<name value="…"/>` element in `s`.
fn xml_value(s: &str, name: &str) -> Option<String> {
    let at = s.find(&format!("<{name} value=\""))? + name.len() + 9;
    let end = s.get(at..)?.find('"')? + at;
    text(&crate::bytes::xml_unescape(s.get(at..end)?))
}

/// Device elements of an XML body (FHIR XML: `<Device xmlns=…>`, values
/// in `value` attributes).
fn xml_devices(s: &str, out: &mut Vec<FhirDeviceFact>) {
    let mut rest = s;
    while out.len() < MAX_DEVICES {
        let Some(at) = rest.find("<Device ").or_else(|| rest.find("<Device>")) else {
            return;
        };
        let body = &rest[at..];
        let end = body.find("</Device>").unwrap_or(body.len());
        let d = &body[..end];
        // deviceName with type model-name (R4), version/value (R4), or
        // the STU3 elements.
        let named_model = d.split("<deviceName>").skip(1).find_map(|n| {
            let n = n.split("</deviceName>").next()?;
            (xml_value(n, "type").as_deref() == Some("model-name"))
                .then(|| xml_value(n, "name"))
                .flatten()
        });
        let version = d
            .split("<version>")
            .nth(1)
            .and_then(|v| xml_value(v.split("</version>").next()?, "value"))
            .or_else(|| xml_value(d, "version"));
        out.push(FhirDeviceFact {
            request: false,
            manufacturer: xml_value(d, "manufacturer"),
            model: xml_value(d, "modelNumber")
                .or(named_model)
                .or_else(|| xml_value(d, "model")),
            version,
            serial: xml_value(d, "serialNumber"),
        });
        rest = &body[end.max(1)..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R4: &str = r#"{"resourceType":"Bundle","type":"transaction","entry":[
        {"resource":{"resourceType":"Patient","name":[{"family":"DOE"}]}},
        {"resource":{"resourceType":"Device","manufacturer":"Acme Infusion",
         "deviceName":[{"name":"Bedside pump","type":"user-friendly-name"},
                       {"name":"AI-900","type":"model-name"}],
         "serialNumber":"SN-4471","version":[{"value":"3.2.1"}],
         "patient":{"reference":"Patient/123"}}}]}"#;

    #[test]
    fn json_devices_in_a_bundle() {
        let got = devices(R4.as_bytes(), true);
        let [ObsKind::FhirDevice(f)] = &got[..] else {
            panic!("{got:?}");
        };
        assert_eq!(f.manufacturer.as_deref(), Some("Acme Infusion"));
        assert_eq!(f.model.as_deref(), Some("AI-900"));
        assert_eq!(f.version.as_deref(), Some("3.2.1"));
        assert_eq!(f.serial.as_deref(), Some("SN-4471"));
        assert!(f.request);
        // The patient is nowhere in the fact.
        let text = format!("{got:?}");
        assert!(!text.contains("DOE") && !text.contains("Patient/123"));
        // Truncated bodies: no Device or a shorter list, never a panic.
        for n in 0..R4.len() {
            let _ = devices(&R4.as_bytes()[..n], false);
        }
    }

    #[test]
    fn xml_and_stu3_devices() {
        let xml = r#"<Device xmlns="http://hl7.org/fhir"><manufacturer value="Acme &amp; Co"/>
            <deviceName><name value="AI-900"/><type value="model-name"/></deviceName>
            <version><value value="3.2.1"/></version><serialNumber value="SN-1"/></Device>"#;
        let got = devices(xml.as_bytes(), false);
        let [ObsKind::FhirDevice(f)] = &got[..] else {
            panic!("{got:?}");
        };
        assert_eq!(
            (
                f.manufacturer.as_deref(),
                f.model.as_deref(),
                f.version.as_deref()
            ),
            (Some("Acme & Co"), Some("AI-900"), Some("3.2.1"))
        );
        let stu3 =
            r#"{"resourceType":"Device","manufacturer":"Acme","model":"AI-800","version":"2.0"}"#;
        let got = devices(stu3.as_bytes(), false);
        let [ObsKind::FhirDevice(f)] = &got[..] else {
            panic!("{got:?}");
        };
        assert_eq!(
            (f.model.as_deref(), f.version.as_deref()),
            (Some("AI-800"), Some("2.0"))
        );
        // Not a Device: nothing.
        assert!(devices(br#"{"resourceType":"Patient","manufacturer":"x"}"#, true).is_empty());
        for n in 0..xml.len() {
            let _ = devices(&xml.as_bytes()[..n], false);
        }
    }

    #[test]
    fn heads_that_may_carry_devices() {
        assert!(wanted(
            "application/fhir+json",
            "POST /fhir/Device HTTP/1.1"
        ));
        assert!(wanted(
            "application/fhir+xml;charset=utf-8",
            "HTTP/1.1 200 OK"
        ));
        assert!(wanted("application/json", "PUT /r4/Device/7 HTTP/1.1"));
        assert!(!wanted("application/json", "POST /login HTTP/1.1"));
        assert!(!wanted("text/html", "GET /Device HTTP/1.1"));
    }
}
