//! Reading the feeds. Each reader takes bytes and names the file in its
//! errors; none needs the network.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::version::VersionSpec;

/// EPSS (probability, percentile) by CVE.
pub type EpssScores = HashMap<String, (f64, f64)>;

/// A product an advisory or CVE record names.
#[derive(Debug, Clone)]
pub struct Product {
    /// Vendor as written.
    pub vendor: String,
    /// Product name as written.
    pub name: String,
    /// Versions, when the source names them (`None`: unparseable text).
    pub versions: Option<VersionSpec>,
    /// The version text as written.
    pub version_text: String,
}

/// One vulnerability of an advisory.
#[derive(Debug, Clone)]
pub struct AdvisoryVuln {
    /// CVE id.
    pub cve: String,
    /// Highest CVSS base score given.
    pub cvss: Option<f64>,
    /// Products affected (indexes into the advisory's products).
    pub affected: Vec<usize>,
    /// Products fixed.
    pub fixed: Vec<usize>,
    /// Products not affected.
    pub not_affected: Vec<usize>,
    /// First remediation text.
    pub remediation: Option<String>,
}

/// A CSAF 2.0 advisory (CISA ICSMA or a vendor's).
#[derive(Debug, Clone)]
pub struct Advisory {
    /// Tracking id (`ICSMA-24-023-01`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Current release date (YYYY-MM-DD).
    pub date: String,
    /// Products of the product tree.
    pub products: Vec<Product>,
    /// Vulnerabilities.
    pub vulns: Vec<AdvisoryVuln>,
    /// `csaf_vex` documents state VEX status rather than advisories.
    pub vex: bool,
    /// File read.
    pub file: String,
}

/// A CVE JSON 5 record.
#[derive(Debug, Clone)]
pub struct CveRecord {
    /// CVE id.
    pub id: String,
    /// Highest CVSS base score (CNA or ADP).
    pub cvss: Option<f64>,
    /// Affected products.
    pub products: Vec<Product>,
    /// Date updated.
    pub date: String,
}

/// A KEV catalog entry.
#[derive(Debug, Clone)]
pub struct KevEntry {
    /// Vendor/project.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Date added.
    pub date_added: String,
    /// Known ransomware use.
    pub ransomware: bool,
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Reads the CISA KEV catalog: entries by CVE and the release date.
pub fn read_kev(bytes: &[u8], file: &str) -> Result<(HashMap<String, KevEntry>, String), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    let list = v
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{file}: no \"vulnerabilities\" array: not a KEV catalog"))?;
    let mut out = HashMap::with_capacity(list.len());
    for e in list {
        let id = s(e, "cveID");
        if id.is_empty() {
            continue;
        }
        out.insert(
            id,
            KevEntry {
                vendor: s(e, "vendorProject"),
                product: s(e, "product"),
                date_added: s(e, "dateAdded"),
                ransomware: s(e, "knownRansomwareCampaignUse").eq_ignore_ascii_case("known"),
            },
        );
    }
    let date = s(&v, "dateReleased").chars().take(10).collect();
    Ok((out, date))
}

fn walk_tree(
    node: &Value,
    vendor: &str,
    name: &str,
    ids: &mut HashMap<String, usize>,
    products: &mut Vec<Product>,
) {
    let Some(branches) = node.get("branches").and_then(Value::as_array) else {
        return;
    };
    for b in branches {
        let cat = s(b, "category");
        let bname = s(b, "name");
        let (vendor, name) = match cat.as_str() {
            "vendor" => (bname.as_str(), name),
            "product_name" | "product_family" => (vendor, bname.as_str()),
            _ => (vendor, name),
        };
        if let Some(p) = b.get("product") {
            let id = s(p, "product_id");
            let version_text = match cat.as_str() {
                "product_version" | "product_version_range" => bname.clone(),
                _ => String::new(),
            };
            let versions = if version_text.is_empty() {
                Some(VersionSpec::All)
            } else {
                VersionSpec::parse(&version_text)
            };
            ids.insert(id, products.len());
            products.push(Product {
                vendor: vendor.to_string(),
                name: name.to_string(),
                versions,
                version_text,
            });
        }
        walk_tree(b, vendor, name, ids, products);
    }
}

/// Reads a CSAF 2.0 document (advisory or VEX).
pub fn read_csaf(bytes: &[u8], file: &str) -> Result<Advisory, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    let doc = v
        .get("document")
        .ok_or_else(|| format!("{file}: no \"document\": not a CSAF document"))?;
    let tracking = doc.get("tracking").cloned().unwrap_or(Value::Null);
    let mut ids = HashMap::new();
    let mut products = Vec::new();
    if let Some(tree) = v.get("product_tree") {
        walk_tree(tree, "", "", &mut ids, &mut products);
    }
    let pick = |list: Option<&Value>| -> Vec<usize> {
        list.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|id| ids.get(id).copied())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut vulns = Vec::new();
    for vu in v
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let cve = s(vu, "cve");
        if cve.is_empty() {
            continue;
        }
        let st = vu.get("product_status");
        let g = |k: &str| st.and_then(|x| x.get(k));
        let mut affected = pick(g("known_affected"));
        affected.extend(pick(g("first_affected")));
        affected.extend(pick(g("last_affected")));
        let mut fixed = pick(g("fixed"));
        fixed.extend(pick(g("first_fixed")));
        let not_affected = pick(g("known_not_affected"));
        let cvss = vu
            .get("scores")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|sc| {
                sc.get("cvss_v3")
                    .or_else(|| sc.get("cvss_v2"))
                    .and_then(|c| c.get("baseScore"))
                    .and_then(Value::as_f64)
            })
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let remediation = vu
            .get("remediations")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .map(|r| s(r, "details"))
            .filter(|d| !d.is_empty());
        vulns.push(AdvisoryVuln {
            cve,
            cvss,
            affected,
            fixed,
            not_affected,
            remediation,
        });
    }
    Ok(Advisory {
        id: s(&tracking, "id"),
        title: s(doc, "title"),
        date: s(&tracking, "current_release_date")
            .chars()
            .take(10)
            .collect(),
        products,
        vulns,
        vex: s(doc, "category") == "csaf_vex",
        file: file.to_string(),
    })
}

/// Reads a CVE JSON 5 record.
pub fn read_cve(bytes: &[u8], file: &str) -> Result<CveRecord, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    let meta = v
        .get("cveMetadata")
        .ok_or_else(|| format!("{file}: no \"cveMetadata\": not a CVE JSON 5 record"))?;
    let id = s(meta, "cveId");
    let containers = v.get("containers");
    let cna = containers.and_then(|c| c.get("cna"));
    let mut products = Vec::new();
    for a in cna
        .and_then(|c| c.get("affected"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let vendor = s(a, "vendor");
        let name = s(a, "product");
        if vendor == "n/a" && name == "n/a" {
            continue;
        }
        let default_affected = s(a, "defaultStatus") == "affected";
        let versions = a.get("versions").and_then(Value::as_array);
        if versions.is_none_or(|x| x.is_empty()) && default_affected {
            products.push(Product {
                vendor: vendor.clone(),
                name: name.clone(),
                versions: Some(VersionSpec::All),
                version_text: "all versions".into(),
            });
        }
        for ver in versions.into_iter().flatten() {
            if s(ver, "status") != "affected" {
                continue;
            }
            let base = s(ver, "version");
            let lt = ver.get("lessThan").and_then(Value::as_str);
            let le = ver.get("lessThanOrEqual").and_then(Value::as_str);
            let text = match (lt, le) {
                (Some(l), _) => format!("{base} to < {}", l.trim()),
                (None, Some(l)) => format!("{base} to <= {}", l.trim()),
                _ => base.clone(),
            };
            products.push(Product {
                vendor: vendor.clone(),
                name: name.clone(),
                versions: VersionSpec::from_cve(&base, lt, le),
                version_text: text,
            });
        }
    }
    // CVSS from any container (CNA or ADP such as CISA Vulnrichment).
    let mut cvss: Option<f64> = None;
    let mut all: Vec<&Value> = cna.into_iter().collect();
    all.extend(
        containers
            .and_then(|c| c.get("adp"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    for c in all {
        for m in c
            .get("metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for k in ["cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0"] {
                if let Some(b) = m
                    .get(k)
                    .and_then(|x| x.get("baseScore"))
                    .and_then(Value::as_f64)
                {
                    cvss = Some(cvss.map_or(b, |x: f64| x.max(b)));
                }
            }
        }
    }
    Ok(CveRecord {
        id,
        cvss,
        products,
        date: s(meta, "dateUpdated").chars().take(10).collect(),
    })
}

/// Reads a FIRST EPSS CSV (plain or gzip): scores by CVE and the score date.
pub fn read_epss(bytes: &[u8], file: &str) -> Result<(EpssScores, String), String> {
    let mut text = String::new();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| format!("{file}: gzip: {e}"))?;
    } else {
        text = String::from_utf8_lossy(bytes).into_owned();
    }
    let mut date = String::new();
    let mut out = HashMap::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        if let Some(meta) = line.strip_prefix('#') {
            if let Some(d) = meta
                .split(',')
                .find_map(|kv| kv.strip_prefix("score_date:"))
            {
                date = d.chars().take(10).collect();
            }
            continue;
        }
        if !header_seen {
            if !line.starts_with("cve,epss") {
                return Err(format!(
                    "{file}: line {}: expected the header cve,epss,percentile",
                    i + 1
                ));
            }
            header_seen = true;
            continue;
        }
        let mut f = line.split(',');
        let (Some(cve), Some(e), p) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (Ok(e), p) = (
            e.trim().parse::<f64>(),
            p.and_then(|p| p.trim().parse::<f64>().ok()),
        ) else {
            return Err(format!("{file}: line {}: bad score", i + 1));
        };
        out.insert(cve.to_string(), (e, p.unwrap_or(0.0)));
    }
    if !header_seen {
        return Err(format!("{file}: empty: no EPSS header"));
    }
    Ok((out, date))
}

/// JSON files under a directory, sorted (deterministic).
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads an NVD API 2.0 response (`/rest/json/cves/2.0`): each CVE's CPE
/// configurations (vulnerable `cpeMatch` entries with their version bounds)
/// become products, with the highest CVSS base score.
pub fn read_nvd(bytes: &[u8], file: &str) -> Result<Vec<CveRecord>, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
    let list = v
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .filter(|_| v.get("format").and_then(Value::as_str) == Some("NVD_CVE"))
        .ok_or_else(|| format!("{file}: not an NVD API 2.0 response (format NVD_CVE)"))?;
    let mut out = Vec::new();
    for item in list {
        let Some(cve) = item.get("cve") else { continue };
        let id = s(cve, "id");
        let mut cvss: Option<f64> = None;
        if let Some(m) = cve.get("metrics").and_then(Value::as_object) {
            for arr in m.values().filter_map(Value::as_array) {
                for x in arr {
                    if let Some(b) = x
                        .get("cvssData")
                        .and_then(|d| d.get("baseScore"))
                        .and_then(Value::as_f64)
                    {
                        cvss = Some(cvss.map_or(b, |c: f64| c.max(b)));
                    }
                }
            }
        }
        let mut products = Vec::new();
        let configs = cve.get("configurations").and_then(Value::as_array);
        for node in configs.into_iter().flatten().flat_map(|c| {
            c.get("nodes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        }) {
            for m in node
                .get("cpeMatch")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if m.get("vulnerable").and_then(Value::as_bool) != Some(true) {
                    continue;
                }
                let crit = s(m, "criteria");
                let parts: Vec<&str> = crit.split(':').collect();
                let (Some(vendor), Some(product)) = (parts.get(3), parts.get(4)) else {
                    continue;
                };
                let mut cons = Vec::new();
                for (k, op) in [
                    ("versionStartIncluding", ">="),
                    ("versionStartExcluding", ">"),
                    ("versionEndIncluding", "<="),
                    ("versionEndExcluding", "<"),
                ] {
                    if let Some(x) = m.get(k).and_then(Value::as_str) {
                        cons.push(format!("{op}{x}"));
                    }
                }
                let exact = parts.get(5).copied().filter(|x| *x != "*" && *x != "-");
                let text = match (exact, cons.is_empty()) {
                    (Some(e), _) => e.to_string(),
                    (None, true) => "vers:all/*".to_string(),
                    (None, false) => cons.join(" | "),
                };
                products.push(Product {
                    vendor: vendor.replace('_', " "),
                    name: product.replace('_', " "),
                    versions: VersionSpec::parse(&text),
                    version_text: text,
                });
            }
        }
        out.push(CveRecord {
            id,
            cvss,
            products,
            date: s(cve, "lastModified").chars().take(10).collect(),
        });
    }
    Ok(out)
}
