//! The hospital's own asset list (a CMMS or asset-management export) and
//! the analysts' corrections.
//!
//! `wardwatch inventory import FILE.csv` reconciles the list with what was
//! observed: matched (by MAC, else IP, else serial), seen but not listed
//! (shadow devices), listed but never seen. Corrections
//! (`<data-dir>/corrections.toml`) set vendor, model, category, criticality
//! or medical for a device and win over inferred values on every run.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wardwatch_model::{Device, Evidence};

/// One row of the asset list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// Asset tag.
    pub tag: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// MAC (any notation).
    pub mac: Option<String>,
    /// IP address.
    pub ip: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Department.
    pub department: Option<String>,
}

/// The asset fields and the column names that fill them by default
/// (case-insensitive); `--map field=Column` overrides.
pub const DEFAULT_COLUMNS: [(&str, &[&str]); 8] = [
    (
        "tag",
        &[
            "asset tag",
            "asset_tag",
            "tag",
            "asset",
            "asset id",
            "assetid",
        ],
    ),
    (
        "serial",
        &["serial", "serial number", "serial_number", "sn"],
    ),
    ("mac", &["mac", "mac address", "mac_address"]),
    ("ip", &["ip", "ip address", "ip_address", "ipv4"]),
    ("vendor", &["vendor", "manufacturer", "make"]),
    ("model", &["model", "model name", "model_name"]),
    ("location", &["location", "room", "site"]),
    ("department", &["department", "dept", "unit"]),
];

/// Splits CSV text into rows (RFC 4180: quotes, doubled quotes, CRLF).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') | (false, ';') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.trim().is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        if row.iter().any(|f| !f.trim().is_empty()) {
            rows.push(row);
        }
    }
    rows
}

/// Reads an asset list; `mapping` gives `field → column` overrides. The
/// error names the file's problem (no header, no identifying column).
pub fn read_assets(text: &str, mapping: &[(String, String)]) -> Result<Vec<Asset>, String> {
    let rows = parse_csv(text.trim_start_matches('\u{feff}'));
    let Some((header, body)) = rows.split_first() else {
        return Err("empty file: no header row".into());
    };
    let find = |field: &str| -> Option<usize> {
        if let Some((_, col)) = mapping.iter().find(|(f, _)| f == field) {
            return header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(col));
        }
        let names = DEFAULT_COLUMNS.iter().find(|(f, _)| *f == field)?.1;
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    for (f, col) in mapping {
        if !DEFAULT_COLUMNS.iter().any(|(k, _)| k == f) {
            return Err(format!("--map {f}={col}: unknown field {f}"));
        }
        if find(f).is_none() {
            return Err(format!("--map {f}={col}: no column {col:?} in the header"));
        }
    }
    let cols: HashMap<&str, usize> = DEFAULT_COLUMNS
        .iter()
        .filter_map(|(f, _)| find(f).map(|i| (*f, i)))
        .collect();
    if !["mac", "ip", "serial"].iter().any(|f| cols.contains_key(f)) {
        return Err(format!(
            "no MAC, IP or serial column among {:?} (use --map mac=COLUMN)",
            header
        ));
    }
    let get = |row: &Vec<String>, f: &str| -> Option<String> {
        cols.get(f)
            .and_then(|i| row.get(*i))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Ok(body
        .iter()
        .map(|r| Asset {
            tag: get(r, "tag"),
            serial: get(r, "serial"),
            mac: get(r, "mac").and_then(|m| normalise_mac(&m)),
            ip: get(r, "ip"),
            vendor: get(r, "vendor"),
            model: get(r, "model"),
            location: get(r, "location"),
            department: get(r, "department"),
        })
        .collect())
}

/// `44-4B-5D-3C-81-0F`, `444b.5d3c.810f`, `444B5D3C810F` → `44:4b:5d:3c:81:0f`.
pub fn normalise_mac(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 12 {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(
        (0..6)
            .filter_map(|i| h.get(i * 2..i * 2 + 2))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// The reconciliation of a list with an inventory.
#[derive(Debug, Default, Serialize)]
pub struct Reconciliation {
    /// (asset, device id, how matched).
    pub matched: Vec<(Asset, String, String)>,
    /// Observed devices on the site's own addresses that no asset names.
    pub shadow: Vec<String>,
    /// Assets never seen.
    pub unseen: Vec<Asset>,
}

/// Matches assets to devices by MAC, else IP, else serial.
pub fn reconcile(assets: &[Asset], devices: &[Device]) -> Reconciliation {
    let mut out = Reconciliation::default();
    let mut used = vec![false; devices.len()];
    for a in assets {
        let hit = devices.iter().enumerate().find_map(|(i, d)| {
            if let (Some(am), Some(dm)) = (&a.mac, &d.mac) {
                if am == dm {
                    return Some((i, "mac"));
                }
            }
            None
        });
        let hit = hit.or_else(|| {
            a.ip.as_ref().and_then(|ip| {
                devices
                    .iter()
                    .position(|d| d.ips.iter().any(|x| x == ip))
                    .map(|i| (i, "ip"))
            })
        });
        let hit = hit.or_else(|| {
            a.serial.as_ref().and_then(|s| {
                devices
                    .iter()
                    .position(|d| d.serial.as_deref() == Some(s.as_str()))
                    .map(|i| (i, "serial"))
            })
        });
        match hit {
            Some((i, how)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                if let Some(d) = devices.get(i) {
                    out.matched.push((a.clone(), d.id.clone(), how.into()));
                }
            }
            None => out.unseen.push(a.clone()),
        }
    }
    for (d, u) in devices.iter().zip(used) {
        // Routed internet peers are not the hospital's assets.
        if !u && d.mac.is_some() {
            out.shadow.push(d.id.clone());
        }
    }
    out
}

/// An analyst's correction of one device.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// The device, by MAC.
    pub mac: Option<String>,
    /// The device, by IP (when routed).
    pub ip: Option<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware.
    pub firmware: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Clinical criticality.
    pub criticality: Option<String>,
    /// Medical.
    pub medical: Option<bool>,
    /// Asset tag (from the asset list).
    pub asset_tag: Option<String>,
    /// Who and why.
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionsFile {
    #[serde(default)]
    device: Vec<Correction>,
}

/// Parses `corrections.toml` (`[[device]]` tables).
pub fn parse_corrections(text: &str) -> Result<Vec<Correction>, String> {
    let f: CorrectionsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    for (i, c) in f.device.iter().enumerate() {
        if c.mac.is_none() && c.ip.is_none() {
            return Err(format!("device {}: needs mac or ip", i + 1));
        }
        if let Some(cat) = &c.category {
            if !crate::kb::CATEGORIES.contains(&cat.as_str()) {
                return Err(format!("device {}: unknown category {cat}", i + 1));
            }
        }
    }
    Ok(f.device)
}

/// Applies corrections: they win over inferred values (confidence 1.0) and
/// leave an `analyst` evidence entry.
pub fn apply_corrections(devices: &mut [Device], corrections: &[Correction]) {
    for c in corrections {
        let mac = c.mac.as_deref().and_then(normalise_mac);
        for d in devices.iter_mut() {
            let hit = match (&mac, &c.ip) {
                (Some(m), _) => d.mac.as_deref() == Some(m.as_str()),
                (None, Some(ip)) => d.ips.iter().any(|x| x == ip),
                _ => false,
            };
            if !hit {
                continue;
            }
            let set = |field: &'static str, value: &Option<String>, slot: &mut Option<String>| {
                if let Some(v) = value {
                    *slot = Some(v.clone());
                    d_evidence(field, v, c.note.as_deref())
                } else {
                    None
                }
            };
            let mut ev = Vec::new();
            ev.extend(set("vendor", &c.vendor, &mut d.vendor));
            ev.extend(set("model", &c.model, &mut d.model));
            ev.extend(set("firmware", &c.firmware, &mut d.firmware));
            ev.extend(set("criticality", &c.criticality, &mut d.criticality));
            if c.vendor.is_some() {
                d.confidence.vendor = 1.0;
            }
            if c.model.is_some() {
                d.confidence.model = 1.0;
            }
            if c.firmware.is_some() {
                d.confidence.firmware = 1.0;
            }
            if let Some(cat) = &c.category {
                d.category = cat.clone();
                d.confidence.category = 1.0;
                ev.extend(d_evidence("category", cat, c.note.as_deref()));
                if c.medical.is_none() {
                    d.medical = Some(crate::kb::is_medical_category(cat));
                }
                if c.criticality.is_none() {
                    d.criticality = crate::kb::criticality(cat).map(str::to_string);
                }
            }
            if let Some(m) = c.medical {
                d.medical = Some(m);
                ev.extend(d_evidence("medical", &m.to_string(), c.note.as_deref()));
            }
            if let Some(t) = &c.asset_tag {
                ev.extend(d_evidence("asset tag", t, c.note.as_deref()));
            }
            d.evidence.extend(ev);
        }
    }
}

fn d_evidence(field: &'static str, value: &str, note: Option<&str>) -> Option<Evidence> {
    Some(Evidence {
        source: "analyst".into(),
        field: field.into(),
        value: value.into(),
        input: None,
        frame: None,
        ts: None,
        rule: Some(
            note.map(|n| format!("correction: {n}").into())
                .unwrap_or_else(|| "correction".into()),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_mapping() {
        let text = "Asset Tag,Serial Number,MAC Address,IP,Manufacturer,Model,Room\r\n\
                    BME-0042,\"SN,1\",44-4B-5D-3C-81-0F,10.30.1.15,GE,\"LOGIQ \"\"E9\"\"\",US-3\r\n\
                    BME-0043,SN2,,10.40.3.99,B. Braun,Space,ICU\r\n";
        let a = read_assets(text, &[]).unwrap_or_default();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].serial.as_deref(), Some("SN,1"));
        assert_eq!(a[0].mac.as_deref(), Some("44:4b:5d:3c:81:0f"));
        assert_eq!(a[0].model.as_deref(), Some("LOGIQ \"E9\""));
        assert_eq!(a[0].location.as_deref(), Some("US-3"));
        let m = read_assets(
            "Kennung,Netz\nX,10.0.0.1\n",
            &[
                ("ip".into(), "Netz".into()),
                ("tag".into(), "Kennung".into()),
            ],
        );
        assert_eq!(m.map(|a| a[0].ip.clone()), Ok(Some("10.0.0.1".into())));
        assert!(read_assets("Name,Room\nx,y\n", &[]).is_err());
        assert!(read_assets("ip\n1\n", &[("ip".into(), "Nope".into())]).is_err());
    }

    #[test]
    fn reconcile_and_correct() {
        let dev = |id: &str, mac: Option<&str>, ip: &str| Device {
            id: id.into(),
            mac: mac.map(str::to_string),
            ips: vec![ip.into()],
            category: "unknown".into(),
            ..Default::default()
        };
        let mut devices = vec![
            dev("d1", Some("44:4b:5d:3c:81:0f"), "10.30.1.15"),
            dev("d2", Some("00:12:21:0a:0b:0c"), "10.40.3.9"),
            dev("d3", None, "8.8.8.8"),
        ];
        let assets = vec![
            Asset {
                mac: Some("44:4b:5d:3c:81:0f".into()),
                ..Default::default()
            },
            Asset {
                ip: Some("10.9.9.9".into()),
                tag: Some("LOST".into()),
                ..Default::default()
            },
        ];
        let r = reconcile(&assets, &devices);
        assert_eq!(r.matched.len(), 1);
        assert_eq!(r.shadow, vec!["d2".to_string()]);
        assert_eq!(r.unseen[0].tag.as_deref(), Some("LOST"));
        let c = parse_corrections("[[device]]\nmac = \"00-12-21-0A-0B-0C\"\nmodel = \"Space\"\ncategory = \"infusion-pump\"\nnote = \"BME checked 2026-11-25\"\n").unwrap_or_default();
        apply_corrections(&mut devices, &c);
        assert_eq!(devices[1].model.as_deref(), Some("Space"));
        assert_eq!(devices[1].confidence.model, 1.0);
        assert_eq!(devices[1].criticality.as_deref(), Some("critical"));
        assert_eq!(devices[1].medical, Some(true));
        assert!(devices[1].evidence.iter().any(|e| e.source == "analyst"));
        assert!(parse_corrections("[[device]]\nmodel = \"x\"\n").is_err());
    }
}
