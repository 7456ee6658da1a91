//! `intel update --from DIR`: imports feed files into `<data-dir>/intel`
//! after validating every one, replacing the previous copy atomically (the
//! previous copy is kept as `intel.prev`).

use std::io::Read;
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
    /// NVD API 2.0 CVEs.
    pub nvd: usize,
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
        ("nvd", "nvd"),
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
            } else if into == "nvd" {
                n.nvd += feeds::read_nvd(&b, &name)?.len();
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
            "{}: no feed files found (kev.json, csaf/, cve/, nvd/, epss*.csv.gz)",
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

/// Where `intel update` downloads from. CSAF is a directory-based
/// distribution (CSAF 2.0 §7.1.13): its `index.txt` lists the documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// The KEV catalog JSON.
    pub kev: Option<String>,
    /// Base URL of a CSAF directory distribution (holding `index.txt`).
    pub csaf: Option<String>,
    /// The EPSS CSV (gzip).
    pub epss: Option<String>,
    /// CVE JSON 5 records (URLs, one each).
    pub cve: Vec<String>,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            kev: Some("https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json".into()),
            csaf: Some("https://raw.githubusercontent.com/cisagov/CSAF/develop/csaf_files/OT/white".into()),
            epss: Some("https://epss.cyentia.com/epss_scores-current.csv.gz".into()),
            cve: Vec::new(),
        }
    }
}

/// What a download did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Downloaded {
    /// Files fetched (200).
    pub fetched: usize,
    /// Files the server said were unchanged (304), kept from the last copy.
    pub not_modified: usize,
    /// What was then imported.
    pub imported: Imported,
}

/// Validators remembered per URL for conditional requests.
type Validators = std::collections::BTreeMap<String, (Option<String>, Option<String>)>;

fn load_validators(p: &Path) -> Validators {
    let Ok(t) = std::fs::read_to_string(p) else {
        return Validators::new();
    };
    let mut m = Validators::new();
    for line in t.lines() {
        let mut f = line.split('\t');
        if let (Some(u), Some(e), Some(l)) = (f.next(), f.next(), f.next()) {
            let o = |s: &str| (!s.is_empty()).then(|| s.to_string());
            m.insert(u.to_string(), (o(e), o(l)));
        }
    }
    m
}

fn save_validators(p: &Path, m: &Validators) -> Result<(), String> {
    let mut t = String::new();
    for (u, (e, l)) in m {
        t.push_str(&format!(
            "{u}\t{}\t{}\n",
            e.as_deref().unwrap_or(""),
            l.as_deref().unwrap_or("")
        ));
    }
    std::fs::write(p, t).map_err(|e| format!("{}: {e}", p.display()))
}

/// Downloads the feeds into a staging copy (conditional requests: a 304
/// keeps the previous file), then validates and swaps it in like an import.
/// `progress` is told (files done, files known, current URL).
pub fn download(
    sources: &Sources,
    intel_dir: &Path,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<Downloaded, String> {
    let parent = intel_dir
        .parent()
        .ok_or_else(|| format!("{}: no parent directory", intel_dir.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let stage = parent.join("intel.download");
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(stage.join("csaf")).map_err(|e| format!("{}: {e}", stage.display()))?;
    std::fs::create_dir_all(stage.join("cve")).map_err(|e| format!("{}: {e}", stage.display()))?;
    // NVD files of the last update are kept (the NVD API wants a key and
    // paging; they come in with --from).
    for f in feeds::json_files(&intel_dir.join("nvd")) {
        let dst = stage.join("nvd");
        let _ = std::fs::create_dir_all(&dst);
        if let Some(name) = f.file_name() {
            let _ = std::fs::copy(&f, dst.join(name));
        }
    }
    let vpath = parent.join("intel-validators.tsv");
    let mut validators = load_validators(&vpath);
    let agent = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(120))
        .user_agent(concat!("wardwatch/", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Downloaded::default();
    // (url, where to put it in the stage, where the last copy is)
    let mut jobs: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    if let Some(u) = &sources.kev {
        jobs.push((
            u.clone(),
            stage.join("kev.json"),
            intel_dir.join("kev.json"),
        ));
    }
    if let Some(u) = &sources.epss {
        jobs.push((
            u.clone(),
            stage.join("epss.csv.gz"),
            intel_dir.join("epss.csv.gz"),
        ));
    }
    for (i, u) in sources.cve.iter().enumerate() {
        let name = u
            .rsplit('/')
            .next()
            .filter(|n| n.ends_with(".json"))
            .map(str::to_string)
            .unwrap_or(format!("cve-{i}.json"));
        jobs.push((
            u.clone(),
            stage.join("cve").join(&name),
            intel_dir.join("cve").join(&name),
        ));
    }
    if let Some(base) = &sources.csaf {
        let base = base.trim_end_matches('/');
        let index_url = format!("{base}/index.txt");
        progress(0, jobs.len() + 1, &index_url);
        let index = agent
            .get(&index_url)
            .call()
            .map_err(|e| format!("{index_url}: {e}"))?
            .into_string()
            .map_err(|e| format!("{index_url}: {e}"))?;
        for rel in index
            .lines()
            .map(str::trim)
            .filter(|l| l.ends_with(".json"))
        {
            if rel.contains("..") {
                return Err(format!("{index_url}: refusing path {rel}"));
            }
            let flat = rel.replace('/', "_");
            jobs.push((
                format!("{base}/{rel}"),
                stage.join("csaf").join(&flat),
                intel_dir.join("csaf").join(&flat),
            ));
        }
    }
    let total = jobs.len();
    for (i, (url, dst, last)) in jobs.iter().enumerate() {
        progress(i, total, url);
        let mut req = agent.get(url);
        let known = validators.get(url).cloned().filter(|_| last.exists());
        if let Some((etag, modified)) = &known {
            if let Some(e) = etag {
                req = req.set("If-None-Match", e);
            }
            if let Some(m) = modified {
                req = req.set("If-Modified-Since", m);
            }
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(304, _)) => {
                std::fs::copy(last, dst).map_err(|e| format!("{}: {e}", last.display()))?;
                out.not_modified += 1;
                continue;
            }
            Err(e) => return Err(format!("{url}: {e}")),
        };
        if resp.status() == 304 {
            std::fs::copy(last, dst).map_err(|e| format!("{}: {e}", last.display()))?;
            out.not_modified += 1;
            continue;
        }
        let etag = resp.header("ETag").map(str::to_string);
        let modified = resp.header("Last-Modified").map(str::to_string);
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader().take(1 << 30), &mut body)
            .map_err(|e| format!("{url}: {e}"))?;
        std::fs::write(dst, &body).map_err(|e| format!("{}: {e}", dst.display()))?;
        validators.insert(url.clone(), (etag, modified));
        out.fetched += 1;
    }
    progress(total, total, "validating");
    out.imported = import(&stage, intel_dir)?;
    let _ = std::fs::remove_dir_all(&stage);
    save_validators(&vpath, &validators)?;
    Ok(out)
}
