//! Matching devices to the products feeds name: vendor by canonical name,
//! product by name tokens, firmware by version range. Every match says why
//! (`match`) and how sure it is (`confidence`); nothing fuzzy is reported as
//! certain.

use std::collections::{BTreeMap, HashMap};

use wardwatch_inventory::kb::Kb;
use wardwatch_model::{Device, Vulnerability};

use crate::feeds::Product;
use crate::version::{Version, VersionSpec};
use crate::Intel;

/// Words that say nothing about which product it is.
const STOP: [&str; 22] = [
    "the",
    "and",
    "for",
    "with",
    "of",
    "inc",
    "ltd",
    "co",
    "system",
    "systems",
    "medical",
    "device",
    "devices",
    "software",
    "version",
    "versions",
    "series",
    "model",
    "models",
    "all",
    "corporation",
    "company",
];

/// Significant lowercase tokens of a name.
pub fn tokens(s: &str) -> Vec<String> {
    let lower = s.to_lowercase();
    let mut t: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 2 && !STOP.contains(w))
        .map(str::to_string)
        .collect();
    // Advisories list models as "MX700/800" or "MP2/X2": a bare number
    // after a slash takes the letters of the model before it ("mx800").
    for pair in lower.split(|c: char| !(c.is_alphanumeric() || c == '/')) {
        let parts: Vec<&str> = pair.split('/').collect();
        for w in parts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let prefix: String = a.chars().take_while(|c| c.is_alphabetic()).collect();
            if !prefix.is_empty() && !b.is_empty() && b.chars().all(|c| c.is_ascii_digit()) {
                t.push(format!("{prefix}{b}"));
            }
        }
    }
    t.sort();
    t.dedup();
    t
}

/// Tokens of a product name without the vendor's own words ("Baxter
/// Spectrum" is "spectrum" under Baxter), unless nothing else is left
/// ("OpenClinic GA" by OpenClinic GA).
pub fn product_tokens(vendor: &str, name: &str) -> Vec<String> {
    let vt = tokens(vendor);
    let all = tokens(name);
    let rest: Vec<String> = all.iter().filter(|t| !vt.contains(t)).cloned().collect();
    if rest.is_empty() {
        all
    } else {
        rest
    }
}

/// The key under which a vendor's products are indexed.
pub fn vendor_key(kb: &Kb, vendor: &str) -> String {
    kb.canonical_vendor(vendor).to_lowercase()
}

/// How well a device model names a product: 0 when it does not.
pub fn name_score(model: &[String], product: &[String]) -> f64 {
    if model.is_empty() || product.is_empty() {
        return 0.0;
    }
    let in_model = product.iter().filter(|t| model.contains(t)).count();
    if in_model == product.len() {
        return if model.len() == product.len() {
            0.95
        } else {
            0.9
        };
    }
    let in_product = model.iter().filter(|t| product.contains(t)).count();
    // Every word of the model is in the product name, and either they cover
    // half of it or one is a model number in a list ("… MX700/800").
    let numbered = model.iter().any(|t| t.chars().any(|c| c.is_ascii_digit()));
    if in_product == model.len() && (in_product * 2 >= product.len() || numbered) {
        return 0.75;
    }
    0.0
}

/// Whether the device's firmware is in the product's versions, and why.
pub fn version_verdict(firmware: Option<&Version>, p: &Product) -> Option<(f64, String)> {
    let Some(spec) = p.versions.as_ref() else {
        // "Rev B-M", "all with wireless module": a person has to compare.
        return Some((
            0.4,
            format!(
                "affected versions \"{}\" cannot be compared automatically{}",
                p.version_text,
                firmware
                    .map(|f| format!(" with {}", f.as_str()))
                    .unwrap_or_default()
            ),
        ));
    };
    match (spec, firmware) {
        (VersionSpec::All, _) => Some((1.0, "all versions affected".into())),
        (spec, Some(v)) => spec.contains(v).then(|| {
            (
                1.0,
                format!("version {} within \"{}\"", v.as_str(), p.version_text),
            )
        }),
        (_, None) => Some((
            0.5,
            format!("firmware not observed; affected: \"{}\"", p.version_text),
        )),
    }
}

/// A CVE a product carries: id, CVSS, advisory naming it.
type Hit = (String, Option<f64>, Option<String>);

/// A product of a feed with its source.
#[derive(Debug, Clone, Copy)]
pub enum ProductRef {
    /// Advisory index, product index.
    Advisory(usize, usize),
    /// CVE record index, product index.
    Cve(usize, usize),
}

/// Products indexed by vendor key, with their name tokens.
#[derive(Debug, Default)]
pub struct Index {
    pub(crate) by_vendor: HashMap<String, Vec<(ProductRef, Vec<String>)>>,
}

impl Index {
    /// Indexes every product of the loaded feeds.
    pub fn build(intel: &Intel, kb: &Kb) -> Index {
        let mut by_vendor: HashMap<String, Vec<(ProductRef, Vec<String>)>> = HashMap::new();
        let mut add = |r: ProductRef, p: &Product| {
            let key = vendor_key(kb, &p.vendor);
            let nt = product_tokens(&p.vendor, &p.name);
            by_vendor.entry(key).or_default().push((r, nt));
        };
        for (ai, a) in intel.advisories.iter().enumerate() {
            if a.vex {
                continue;
            }
            for (pi, p) in a.products.iter().enumerate() {
                add(ProductRef::Advisory(ai, pi), p);
            }
        }
        for (ci, c) in intel.cves.iter().enumerate() {
            for (pi, p) in c.products.iter().enumerate() {
                add(ProductRef::Cve(ci, pi), p);
            }
        }
        Index { by_vendor }
    }
}

/// The vulnerabilities of one device, one per CVE, surest first.
pub fn match_device(intel: &Intel, kb: &Kb, d: &Device) -> Vec<Vulnerability> {
    let (Some(vendor), Some(model)) = (d.vendor.as_deref(), d.model.as_deref()) else {
        return Vec::new();
    };
    let none = Vec::new();
    let candidates = intel
        .index
        .by_vendor
        .get(&vendor_key(kb, vendor))
        .unwrap_or(&none);
    let mt = product_tokens(vendor, model);
    let firmware = d.firmware.as_deref().and_then(Version::parse);
    let mut out: BTreeMap<String, Vulnerability> = BTreeMap::new();
    for (r, pt) in candidates {
        let name = name_score(&mt, pt);
        if name == 0.0 {
            continue;
        }
        let (product, hits): (&Product, Vec<Hit>) = match *r {
            ProductRef::Advisory(ai, pi) => {
                let Some(a) = intel.advisories.get(ai) else {
                    continue;
                };
                let Some(p) = a.products.get(pi) else {
                    continue;
                };
                let cves = a
                    .vulns
                    .iter()
                    .filter(|v| v.affected.contains(&pi))
                    .map(|v| (v.cve.clone(), v.cvss, Some(a.id.clone())))
                    .collect();
                (p, cves)
            }
            ProductRef::Cve(ci, pi) => {
                let Some(c) = intel.cves.get(ci) else {
                    continue;
                };
                let Some(p) = c.products.get(pi) else {
                    continue;
                };
                (p, vec![(c.id.clone(), c.cvss, None)])
            }
        };
        let Some((vconf, why)) = version_verdict(firmware.as_ref(), product) else {
            continue;
        };
        // The device's own identity bounds how sure a match can be.
        let conf = (name * vconf * d.confidence.model.max(0.5)).clamp(0.0, 1.0);
        let conf = (conf * 100.0).round() / 100.0;
        for (cve, cvss, adv) in hits {
            let source = if adv.is_some() { "csaf" } else { "cve" };
            let text = format!("{} {}: {}", product.vendor, product.name, why);
            let e = out.entry(cve.clone()).or_insert_with(|| Vulnerability {
                id: cve.clone(),
                kev: intel.kev.contains_key(&cve),
                epss: intel.epss.get(&cve).map(|x| x.0),
                cvss,
                advisories: Vec::new(),
                source: source.into(),
                vex_status: None,
                confidence: conf,
                match_reason: text.clone(),
            });
            if let Some(a) = adv {
                if !e.advisories.contains(&a) {
                    e.advisories.push(a);
                }
            }
            if conf > e.confidence {
                e.confidence = conf;
                e.match_reason = text;
                e.source = source.into();
            }
            if let (Some(x), Some(y)) = (cvss, e.cvss) {
                e.cvss = Some(x.max(y));
            } else if e.cvss.is_none() {
                e.cvss = cvss;
            }
        }
    }
    sbom_matches(intel, kb, vendor, &mt, &mut out);
    let mut v: Vec<Vulnerability> = out.into_values().collect();
    for x in v.iter_mut() {
        x.advisories.sort();
        if let Some(status) = intel.vex_status(kb, d, &x.id) {
            x.vex_status = Some(status);
        }
    }
    v.sort_by(|a, b| {
        b.kev
            .cmp(&a.kev)
            .then(b.confidence.total_cmp(&a.confidence))
            .then(b.cvss.unwrap_or(0.0).total_cmp(&a.cvss.unwrap_or(0.0)))
            .then(a.id.cmp(&b.id))
    });
    v
}

/// Vulnerabilities of the components of SBOMs attached to the device's
/// model: the SBOM's own CVE references, CVE records naming the component
/// at its version, KEV entries naming it; VEX statements about the
/// component set `vex_status`.
fn sbom_matches(
    intel: &Intel,
    kb: &Kb,
    vendor: &str,
    model_tokens: &[String],
    out: &mut BTreeMap<String, Vulnerability>,
) {
    for (sv, sm, sb) in &intel.sboms {
        if vendor_key(kb, sv) != vendor_key(kb, vendor)
            || name_score(model_tokens, &product_tokens(sv, sm)) < 0.75
        {
            continue;
        }
        for c in &sb.components {
            let at = format!("{}@{}", c.name, c.version.as_deref().unwrap_or("?"));
            let mut hits: Vec<(String, Option<f64>, f64, String)> = c
                .cves
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        None,
                        0.9,
                        format!("SBOM of {sv} {sm}: component {at} listed with {id}"),
                    )
                })
                .collect();
            for rec in &intel.cves {
                for p in &rec.products {
                    if crate::sbom::component_affected(c, &p.name, p.versions.as_ref()) {
                        hits.push((
                            rec.id.clone(),
                            rec.cvss,
                            0.85,
                            format!(
                                "SBOM of {sv} {sm}: component {at} within \"{}\" ({})",
                                p.version_text, rec.id
                            ),
                        ));
                    }
                }
            }
            for (id, k) in &intel.kev {
                if k.product.eq_ignore_ascii_case(&c.name) {
                    hits.push((id.clone(), None, 0.5, format!("SBOM of {sv} {sm}: component {at} is KEV product {} (version not checked)", k.product)));
                }
            }
            for (id, cvss, conf, why) in hits {
                let vex = intel.vex.iter().find(|s| {
                    s.vulnerability == id
                        && s.products
                            .iter()
                            .any(|p| crate::sbom::names_component(p, c))
                });
                let e = out.entry(id.clone()).or_insert_with(|| Vulnerability {
                    id: id.clone(),
                    kev: intel.kev.contains_key(&id),
                    epss: intel.epss.get(&id).map(|x| x.0),
                    cvss,
                    advisories: Vec::new(),
                    source: "sbom".into(),
                    vex_status: None,
                    confidence: conf,
                    match_reason: why.clone(),
                });
                if let Some(s) = vex {
                    e.vex_status = Some(s.status.clone());
                    if let Some(j) = &s.justification {
                        e.match_reason = format!("{}; VEX {}: {j}", e.match_reason, s.status);
                    }
                }
                if conf > e.confidence {
                    e.confidence = conf;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let m = tokens("Sigma Spectrum");
        assert_eq!(name_score(&m, &tokens("Sigma Spectrum")), 0.95);
        assert_eq!(
            name_score(&tokens("Sigma Spectrum LVP 8"), &tokens("Sigma Spectrum")),
            0.9
        );
        assert_eq!(name_score(&m, &tokens("Sigma Spectrum LVP")), 0.75);
        assert_eq!(name_score(&m, &tokens("Alaris PC Unit")), 0.0);
        assert_eq!(name_score(&tokens("LOGIQ E9"), &tokens("Vivid")), 0.0);
        // Slash lists of models.
        let mp = tokens(
            "IntelliVue Patient Monitors MP Series (includingMP2/X2/MP30/MP50/MP70/NP90/MX700/800)",
        );
        assert!(mp.contains(&"mx800".to_string()));
        assert_eq!(name_score(&tokens("IntelliVue MX800"), &mp), 0.75);
    }
}
