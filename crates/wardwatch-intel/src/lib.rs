//! Vulnerability intelligence: feeds read from dated local files (CISA KEV,
//! CSAF 2.0 advisories and VEX, CVE JSON 5 records, FIRST EPSS), matched to
//! the devices of the inventory by normalised vendor and product names and
//! version ranges, each match saying why and how sure it is.
//!
//! The feeds live under `<data-dir>/intel/`: `kev.json`, `csaf/**.json`,
//! `cve/*.json`, `epss.csv.gz` (or `epss.csv`). `intel update --from DIR`
//! fills it; analysis only reads it.

pub mod feeds;
pub mod matcher;
pub mod sbom;
pub mod update;
pub mod version;

use std::collections::HashMap;
use std::path::Path;

use wardwatch_inventory::kb::Kb;
use wardwatch_model::{Device, Feed};

pub use feeds::{Advisory, CveRecord, KevEntry, Product};

/// Everything loaded.
#[derive(Debug, Default)]
pub struct Intel {
    /// KEV entries by CVE.
    pub kev: HashMap<String, KevEntry>,
    /// KEV catalog date.
    pub kev_date: Option<String>,
    /// CSAF advisories (and CSAF VEX documents).
    pub advisories: Vec<Advisory>,
    /// CVE records.
    pub cves: Vec<CveRecord>,
    /// EPSS (probability, percentile) by CVE.
    pub epss: HashMap<String, (f64, f64)>,
    /// EPSS score date.
    pub epss_date: Option<String>,
    /// Files that could not be read, with why (analysis goes on).
    pub problems: Vec<String>,
    index: matcher::Index,
    /// Indexes of the CSAF VEX documents among `advisories`.
    vex_docs: Vec<usize>,
    /// SBOMs attached to device models: (vendor, model, SBOM).
    pub sboms: Vec<(String, String, sbom::Sbom)>,
    /// OpenVEX and CycloneDX VEX statements.
    pub vex: Vec<sbom::VexStatement>,
}

/// One entry of `<data-dir>/sbom/index.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct SbomEntry {
    /// Vendor of the model.
    pub vendor: String,
    /// Model.
    pub model: String,
    /// File name inside the sbom directory.
    pub file: String,
}

/// Reads `index.json` of an sbom directory (empty when absent).
pub fn sbom_index(dir: &Path) -> Result<Vec<SbomEntry>, String> {
    let p = dir.join("index.json");
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

impl Intel {
    /// Loads the feeds found in `dir` (any may be missing). A file that is
    /// present but broken is recorded in `problems` and skipped.
    pub fn load_dir(dir: &Path, kb: &Kb) -> Intel {
        let mut i = Intel::default();
        let kev = dir.join("kev.json");
        if kev.exists() {
            match read(&kev).and_then(|b| feeds::read_kev(&b, &kev.display().to_string())) {
                Ok((k, d)) => {
                    i.kev = k;
                    i.kev_date = Some(d);
                }
                Err(e) => i.problems.push(e),
            }
        }
        for f in feeds::json_files(&dir.join("csaf")) {
            let name = f.display().to_string();
            match read(&f).and_then(|b| feeds::read_csaf(&b, &name)) {
                Ok(a) => i.advisories.push(a),
                Err(e) => i.problems.push(e),
            }
        }
        for f in feeds::json_files(&dir.join("cve")) {
            let name = f.display().to_string();
            match read(&f).and_then(|b| feeds::read_cve(&b, &name)) {
                Ok(c) => i.cves.push(c),
                Err(e) => i.problems.push(e),
            }
        }
        for f in feeds::json_files(&dir.join("nvd")) {
            let name = f.display().to_string();
            match read(&f).and_then(|b| feeds::read_nvd(&b, &name)) {
                Ok(c) => i.cves.extend(c),
                Err(e) => i.problems.push(e),
            }
        }
        for name in ["epss.csv.gz", "epss.csv"] {
            let p = dir.join(name);
            if p.exists() {
                match read(&p).and_then(|b| feeds::read_epss(&b, &p.display().to_string())) {
                    Ok((e, d)) => {
                        i.epss = e;
                        i.epss_date = Some(d);
                    }
                    Err(e) => i.problems.push(e),
                }
                break;
            }
        }
        i.reindex(kb);
        i
    }

    /// Loads the SBOMs of `<data-dir>/sbom` (index.json names vendor,
    /// model and file) and the VEX documents of `<data-dir>/vex`.
    pub fn load_sboms_and_vex(&mut self, sbom_dir: &Path, vex_dir: &Path) {
        match sbom_index(sbom_dir) {
            Ok(entries) => {
                for e in entries {
                    let p = sbom_dir.join(&e.file);
                    match read(&p).and_then(|b| sbom::read_sbom(&b, &p.display().to_string())) {
                        Ok(s) => self.sboms.push((e.vendor, e.model, s)),
                        Err(err) => self.problems.push(err),
                    }
                }
            }
            Err(e) => self.problems.push(e),
        }
        for f in feeds::json_files(vex_dir) {
            let name = f.display().to_string();
            match read(&f).and_then(|b| sbom::read_vex(&b, &name)) {
                Ok(v) => self.vex.extend(v),
                Err(e) => self.problems.push(e),
            }
        }
    }

    /// Rebuilds the product index after feeds were added.
    pub fn reindex(&mut self, kb: &Kb) {
        self.index = matcher::Index::build(self, kb);
        self.vex_docs = (0..self.advisories.len())
            .filter(|i| self.advisories.get(*i).is_some_and(|a| a.vex))
            .collect();
    }

    /// The feeds loaded and their dates, for the report.
    pub fn feeds(&self) -> Vec<Feed> {
        let mut out = Vec::new();
        if let Some(d) = &self.kev_date {
            out.push(Feed {
                name: "kev".into(),
                date: d.clone(),
            });
        }
        let newest = |it: &mut dyn Iterator<Item = &String>| it.max().cloned();
        let csaf: Vec<&Advisory> = self.advisories.iter().filter(|a| !a.vex).collect();
        if let Some(d) = newest(&mut csaf.iter().map(|a| &a.date)) {
            out.push(Feed {
                name: "csaf".into(),
                date: d,
            });
        }
        if let Some(d) = newest(&mut self.cves.iter().map(|c| &c.date)) {
            out.push(Feed {
                name: "cve".into(),
                date: d,
            });
        }
        if let Some(d) = &self.epss_date {
            out.push(Feed {
                name: "epss".into(),
                date: d.clone(),
            });
        }
        out
    }

    /// Whether anything was loaded.
    pub fn is_empty(&self) -> bool {
        self.kev.is_empty()
            && self.advisories.is_empty()
            && self.cves.is_empty()
            && self.sboms.is_empty()
    }

    /// A VEX statement (CSAF VEX) about this device's product and `cve`.
    pub fn vex_status(&self, kb: &Kb, d: &Device, cve: &str) -> Option<String> {
        if self.vex_docs.is_empty() {
            return None;
        }
        let vendor = matcher::vendor_key(kb, d.vendor.as_deref()?);
        let mt = matcher::tokens(d.model.as_deref()?);
        for a in self.vex_docs.iter().filter_map(|i| self.advisories.get(*i)) {
            for v in a.vulns.iter().filter(|v| v.cve == cve) {
                for (list, status) in [
                    (&v.not_affected, "not_affected"),
                    (&v.fixed, "fixed"),
                    (&v.affected, "affected"),
                ] {
                    for pi in list {
                        let Some(p) = a.products.get(*pi) else {
                            continue;
                        };
                        if matcher::vendor_key(kb, &p.vendor) == vendor
                            && matcher::name_score(&mt, &matcher::tokens(&p.name)) > 0.0
                        {
                            return Some(status.into());
                        }
                    }
                }
            }
        }
        None
    }

    /// Fills `vulnerabilities` of every device.
    pub fn apply(&self, kb: &Kb, devices: &mut [Device]) {
        for d in devices.iter_mut() {
            d.vulnerabilities = matcher::match_device(self, kb, d);
        }
    }
}

/// Runs every reader and parser of untrusted feed files on `data` (fuzzing
/// and corpus replay): none may panic.
pub fn exercise(data: &[u8]) {
    let _ = feeds::read_kev(data, "fuzz");
    let _ = feeds::read_csaf(data, "fuzz");
    let _ = feeds::read_cve(data, "fuzz");
    let _ = feeds::read_epss(data, "fuzz");
    let _ = feeds::read_nvd(data, "fuzz");
    let text = String::from_utf8_lossy(data);
    for line in text.lines().take(64) {
        let v = version::Version::parse(line);
        if let Some(s) = version::VersionSpec::parse(line) {
            if let Some(v) = &v {
                let _ = s.contains(v);
            }
            let _ = s.example_inside();
            let _ = s.example_outside();
        }
        let _ = matcher::tokens(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Version;

    #[test]
    fn nvd_cpe_configurations() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/intel/nvd/nvd-log4shell.json");
        let b = std::fs::read(&p).unwrap_or_default();
        let recs = feeds::read_nvd(&b, "nvd").unwrap_or_default();
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.cvss, Some(10.0));
        assert_eq!(
            r.products.len(),
            3,
            "the non-vulnerable platform is not a product"
        );
        let v = |s: &str| Version::parse(s).unwrap_or_else(|| panic!("{s}"));
        let hit = |x: &str| {
            r.products
                .iter()
                .any(|p| p.versions.as_ref().is_some_and(|s| s.contains(&v(x))))
        };
        assert!(hit("2.14.1") && hit("2.0.1") && hit("2.12.1"));
        assert!(!hit("2.15.0") && !hit("2.17.1") && !hit("2.3.1"));
        assert_eq!(r.products[0].vendor, "apache");
        assert!(feeds::read_nvd(b"{\"format\":\"x\"}", "f").is_err());
    }
}
