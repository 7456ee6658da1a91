//! `intel update --from DIR`: imports feed files into `<data-dir>/intel`
//! after validating every one, replacing the previous copy atomically (the
//! previous copy is kept as `intel.prev`).

use std::path::{Path, PathBuf};

use crate::feeds;

/// What an import brought in.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// KEV entries.
    pub kev: usize,
    /// CSAF documents.
    pub csaf: usize,
    /// CVE records.
    pub cve: usize,
    /// EPSS scores.
    pub epss: usize,
}

fn find_first(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.exists())
}

/// Validates and imports the feeds found in `from` (either our layout —
/// `kev.json`, `csaf/`, `cve/`, `epss.csv.gz` — or the layout of the
/// official downloads: `kev/known_exploited_vulnerabilities.json`,
/// `csaf_icsma/`, `cve_json5/`, `epss_scores-*.csv.gz`) into `intel_dir`.
/// Nothing is replaced unless every file validates.
pub fn import(from: &Path, intel_dir: &Path) -> Result<Imported, String> {
    let parent = intel_dir
        .parent()
        .ok_or_else(|| format!("{}: no parent directory", intel_dir.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let stage = parent.join("intel.new");
    let _ = std::fs::remove_dir_all(&stage);
    let mk = |p: &Path| std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()));
    mk(&stage)?;
    let copy = |src: &Path, dst: &Path| -> Result<Vec<u8>, String> {
        let b = std::fs::read(src).map_err(|e| format!("{}: {e}", src.display()))?;
        std::fs::write(dst, &b).map_err(|e| format!("{}: {e}", dst.display()))?;
        Ok(b)
    };
    let mut n = Imported::default();
    if let Some(k) = find_first(
        from,
        &[
            "kev.json",
            "kev/known_exploited_vulnerabilities.json",
            "known_exploited_vulnerabilities.json",
        ],
    ) {
        let b = copy(&k, &stage.join("kev.json"))?;
        n.kev = feeds::read_kev(&b, &k.display().to_string())?.0.len();
    }
    for (sub, into) in [
        ("csaf", "csaf"),
        ("csaf_icsma", "csaf"),
        ("cve", "cve"),
        ("cve_json5", "cve"),
    ] {
        let src = from.join(sub);
        if !src.is_dir() {
            continue;
        }
        let dst = stage.join(into);
        mk(&dst)?;
        for f in feeds::json_files(&src) {
            let rel = f.strip_prefix(&src).map_err(|e| e.to_string())?;
            let flat = rel.to_string_lossy().replace(['/', '\\'], "_");
            let b = copy(&f, &dst.join(flat))?;
            let name = f.display().to_string();
            if into == "csaf" {
                feeds::read_csaf(&b, &name)?;
                n.csaf += 1;
            } else {
                feeds::read_cve(&b, &name)?;
                n.cve += 1;
            }
        }
    }
    let epss = std::fs::read_dir(from)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|f| f.to_str()).is_some_and(|f| {
                f.starts_with("epss") && (f.ends_with(".csv.gz") || f.ends_with(".csv"))
            })
        })
        .min();
    if let Some(e) = epss {
        let gz = e.to_string_lossy().ends_with(".gz");
        let b = copy(&e, &stage.join(if gz { "epss.csv.gz" } else { "epss.csv" }))?;
        n.epss = feeds::read_epss(&b, &e.display().to_string())?.0.len();
    }
    if n == Imported::default() {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(format!(
            "{}: no feed files found (kev.json, csaf/, cve/, epss*.csv.gz)",
            from.display()
        ));
    }
    // Swap: the current copy becomes intel.prev, the stage becomes current.
    let prev = parent.join("intel.prev");
    if intel_dir.exists() {
        let _ = std::fs::remove_dir_all(&prev);
        std::fs::rename(intel_dir, &prev).map_err(|e| format!("{}: {e}", intel_dir.display()))?;
    }
    std::fs::rename(&stage, intel_dir).map_err(|e| format!("{}: {e}", intel_dir.display()))?;
    Ok(n)
}
