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
