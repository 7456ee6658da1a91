//! SBOMs and VEX: CycloneDX 1.2–1.6 and SPDX 2.3 JSON component lists
//! attached to a device model, so a component's vulnerabilities apply to
//! every device of that model; OpenVEX and CycloneDX VEX statements (CSAF
//! VEX is read with the advisories) that mark a vulnerability of a product
//! `not_affected`, `fixed`, `affected` or `under_investigation`.

use serde_json::Value;

use crate::version::{Version, VersionSpec};

/// One component of an SBOM.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Component {
    /// Name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// Supplier, group or publisher.
    pub supplier: Option<String>,
    /// CycloneDX bom-ref.
    pub bom_ref: Option<String>,
    /// CVEs the SBOM itself names for the component (SPDX security
    /// references, CycloneDX vulnerabilities).
    pub cves: Vec<String>,
}

/// A parsed SBOM.
#[derive(Debug, Clone, Default)]
pub struct Sbom {
    /// `CycloneDX 1.4`, `SPDX-2.3` …
    pub format: String,
    /// What it describes.
    pub subject: Option<String>,
    /// Components.
    pub components: Vec<Component>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|x| !x.is_empty())
}

fn cve_in(text: &str) -> Option<String> {
    let i = text.find("CVE-")?;
    let id: String = text[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (id.len() >= 13).then_some(id)
}

fn cdx_components(list: &Value, out: &mut Vec<Component>) {
    for c in list.as_array().into_iter().flatten() {
        out.push(Component {
            name: s(c, "name").unwrap_or_default(),
            version: s(c, "version"),
            purl: s(c, "purl"),
            supplier: s(c, "group")
                .or_else(|| c.get("supplier").and_then(|x| s(x, "name")))
                .or_else(|| s(c, "publisher")),
            bom_ref: s(c, "bom-ref"),
            cves: Vec::new(),
        });
        if let Some(sub) = c.get("components") {
            cdx_components(sub, out);
        }
    }
}

/// Parses a CycloneDX or SPDX JSON SBOM; the error says what it is not.
pub fn read_sbom(bytes: &[u8], file: &str) -> Result<Sbom, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let mut sb = Sbom {
            format: format!("CycloneDX {}", s(&v, "specVersion").unwrap_or_default()),
            subject: v
                .get("metadata")
                .and_then(|m| m.get("component"))
                .and_then(|c| s(c, "name")),
            components: Vec::new(),
        };
        if let Some(c) = v.get("components") {
            cdx_components(c, &mut sb.components);
        }
        // Vulnerabilities the BOM itself lists, by the refs they affect.
        for vu in v
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(id) = s(vu, "id") else { continue };
            for a in vu
                .get("affects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = s(a, "ref").unwrap_or_default();
                for c in sb.components.iter_mut() {
                    if c.bom_ref.as_deref().is_some_and(|b| r.ends_with(b)) && !c.cves.contains(&id)
                    {
                        c.cves.push(id.clone());
                    }
                }
            }
        }
        return Ok(sb);
    }
    if let Some(ver) = s(&v, "spdxVersion") {
        let mut sb = Sbom {
            format: ver,
            subject: s(&v, "name"),
            components: Vec::new(),
        };
        for p in v
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let mut c = Component {
                name: s(p, "name").unwrap_or_default(),
                version: s(p, "versionInfo"),
                supplier: s(p, "supplier")
                    .map(|x| x.trim_start_matches("Organization: ").to_string()),
                bom_ref: s(p, "SPDXID"),
                ..Default::default()
            };
            for r in p
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let loc = s(r, "referenceLocator").unwrap_or_default();
                match s(r, "referenceType").as_deref() {
                    Some("purl") => c.purl = Some(loc),
                    _ => {
                        if let Some(id) = cve_in(&loc) {
                            if !c.cves.contains(&id) {
                                c.cves.push(id);
                            }
                        }
                    }
                }
            }
            sb.components.push(c);
        }
        return Ok(sb);
    }
    Err(format!(
        "{file}: neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON"
    ))
}

/// One VEX statement.
#[derive(Debug, Clone, PartialEq)]
pub struct VexStatement {
    /// CVE (or other vulnerability id).
    pub vulnerability: String,
    /// Product identifiers: purls, bom-refs or names.
    pub products: Vec<String>,
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    /// Justification or detail.
    pub justification: Option<String>,
}

/// Parses an OpenVEX or CycloneDX VEX document.
pub fn read_vex(bytes: &[u8], file: &str) -> Result<Vec<VexStatement>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    let mut out = Vec::new();
    if let Some(st) = v.get("statements").and_then(Value::as_array) {
        for x in st {
            let vuln = x
                .get("vulnerability")
                .and_then(|u| s(u, "name").or_else(|| s(u, "@id")))
                .unwrap_or_default();
            let products = x
                .get("products")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| s(p, "@id").or_else(|| p.as_str().map(str::to_string)))
                .collect();
            out.push(VexStatement {
                vulnerability: vuln,
                products,
                status: s(x, "status").unwrap_or_default(),
                justification: s(x, "justification").or_else(|| s(x, "impact_statement")),
            });
        }
        return Ok(out);
    }
    if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        for vu in v
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(a) = vu.get("analysis") else {
                continue;
            };
            let products = vu
                .get("affects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| s(r, "ref"))
                .collect();
            out.push(VexStatement {
                vulnerability: s(vu, "id").unwrap_or_default(),
                products,
                status: match s(a, "state").as_deref() {
                    Some("resolved") => "fixed".into(),
                    Some("exploitable") => "affected".into(),
                    Some("in_triage") => "under_investigation".into(),
                    Some(other) => other.into(),
                    None => String::new(),
                },
                justification: s(a, "justification").or_else(|| s(a, "detail")),
            });
        }
        return Ok(out);
    }
    Err(format!(
        "{file}: neither OpenVEX (statements) nor CycloneDX VEX"
    ))
}

/// Whether a VEX product identifier names a component: the same purl
/// (qualifiers ignored), a CycloneDX ref ending in its bom-ref, or
/// `name@version`.
pub fn names_component(id: &str, c: &Component) -> bool {
    let base = |p: &str| p.split(['?', '#']).next().unwrap_or(p).to_string();
    if let Some(p) = &c.purl {
        if base(id) == base(p) || id.ends_with(&format!("#{p}")) {
            return true;
        }
    }
    if let Some(b) = &c.bom_ref {
        if id == b || id.ends_with(&format!("#{b}")) {
            return true;
        }
    }
    c.version
        .as_ref()
        .is_some_and(|v| id.eq_ignore_ascii_case(&format!("{}@{v}", c.name)))
}

/// Whether a component is the product a feed names at an affected version.
pub fn component_affected(c: &Component, product: &str, spec: Option<&VersionSpec>) -> bool {
    let norm = |x: &str| x.to_ascii_lowercase().replace(['_', ' '], "-");
    if norm(&c.name) != norm(product) {
        return false;
    }
    match (spec, c.version.as_deref().and_then(Version::parse)) {
        (Some(VersionSpec::All), _) => true,
        (Some(s), Some(v)) => s.contains(&v),
        _ => false,
    }
}

/// Fields a buyer should expect of every component (NTIA minimum elements).
pub fn missing_fields(c: &Component) -> Vec<&'static str> {
    let mut m = Vec::new();
    if c.version
        .as_deref()
        .is_none_or(|v| v == "latest" || v == "NOASSERTION")
    {
        m.push("version");
    }
    if c.purl.is_none() {
        m.push("purl");
    }
    if c.supplier.as_deref().is_none_or(|x| x == "NOASSERTION") {
        m.push("supplier");
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let c = Component {
            name: "jackson-databind".into(),
            version: Some("2.10.0".into()),
            purl: Some(
                "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar".into(),
            ),
            bom_ref: Some(
                "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar".into(),
            ),
            ..Default::default()
        };
        assert!(names_component(
            "urn:cdx:3e671687/1#pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar",
            &c
        ));
        assert!(names_component(
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0",
            &c
        ));
        assert!(!names_component("pkg:maven/x/y@1", &c));
        let spec = VersionSpec::from_cve("2.10.0", Some("2.10.5.1"), None);
        assert!(component_affected(&c, "jackson-databind", spec.as_ref()));
        assert_eq!(
            cve_in("https://nvd.nist.gov/vuln/detail/CVE-2022-2274").as_deref(),
            Some("CVE-2022-2274")
        );
    }
}

const EOL_CSV: &str = include_str!("../data/end-of-life.csv");

/// Whether a component is past its end of support: the date and source.
pub fn end_of_life(c: &Component) -> Option<(String, String)> {
    let v = c.version.as_deref().and_then(Version::parse)?;
    let name = c.name.to_ascii_lowercase();
    for line in EOL_CSV.lines().skip_while(|l| l.starts_with('#')).skip(1) {
        let mut f = line.splitn(4, ',');
        let (Some(n), Some(range), Some(ended), Some(src)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        if n != name {
            continue;
        }
        if VersionSpec::parse(range).is_some_and(|s| s.contains(&v)) {
            return Some((ended.to_string(), src.to_string()));
        }
    }
    None
}

#[cfg(test)]
mod eol_tests {
    use super::*;

    #[test]
    fn unsupported_components() {
        let c = |n: &str, v: &str| Component {
            name: n.into(),
            version: Some(v.into()),
            ..Default::default()
        };
        assert!(end_of_life(&c("OpenSSL", "1.1.1k")).is_some());
        assert!(end_of_life(&c("OpenSSL", "3.0.4")).is_none());
        assert!(end_of_life(&c("jackson-databind", "2.10.0")).is_some());
        assert!(end_of_life(&c("elliptic", "6.5.2")).is_none());
    }
}
