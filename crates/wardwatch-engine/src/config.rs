//! The site's configuration, read from the data directory: `wardwatch.toml`
//! (every key optional, defaults below), `suppressions.toml` (findings the
//! site has decided to accept, each with a reason) and
//! `default-credentials.csv` (the site's own additions to the shipped
//! default-password list). `analyze` reads these and writes nothing.

use std::path::Path;

use serde::Deserialize;
use wardwatch_detect::{DetectConfig, Suppressions};

/// `wardwatch.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// Site name; scopes device and finding ids (the command line wins).
    pub site: Option<String>,
    /// The site's public address blocks, treated as local (CIDR strings).
    pub local_nets: Vec<String>,
    /// Detection thresholds (see `DetectConfig`).
    pub detect: DetectConfig,
    /// Risk weights (see `RiskConfig` and docs/risk.md).
    pub risk: wardwatch_risk::RiskConfig,
}

/// Everything read from the data directory.
#[derive(Debug, Default)]
pub struct DataDirConfig {
    /// `wardwatch.toml`.
    pub site: SiteConfig,
    /// `suppressions.toml`.
    pub suppressions: Suppressions,
    /// `default-credentials.csv` entries (vendor, user, password).
    pub default_credentials: Vec<(String, String, String)>,
    /// `corrections.toml`: analysts' corrections of devices.
    pub corrections: Vec<wardwatch_inventory::assets::Correction>,
    /// `indicators/*.json` (STIX 2.1 bundles) and `indicators/*.txt` (lists).
    pub indicators: wardwatch_detect::ioc::Indicators,
    /// `zones.toml`: zones and the allowed matrix.
    pub zones: wardwatch_detect::segment::Policy,
}

/// Reads one indicator file (STIX bundle if it ends in .json, else a list).
pub fn read_indicator_file(
    path: &Path,
    into: &mut wardwatch_detect::ioc::Indicators,
) -> Result<usize, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let before = into.len();
    if path.extension().is_some_and(|x| x == "json") {
        into.add_stix(&bytes, &name)?;
    } else {
        let text = String::from_utf8_lossy(&bytes);
        let bad = into.add_list(&text, &name);
        if bad > 0 && into.len() == before {
            return Err(format!(
                "{name}: no indicator in it ({bad} lines not understood)"
            ));
        }
    }
    Ok(into.len() - before)
}

/// Reads the configuration files that exist in `dir`; a file that exists
/// but cannot be read or parsed is an error naming it.
pub fn load(dir: &Path) -> Result<DataDirConfig, String> {
    let read = |name: &str| -> Result<Option<String>, String> {
        let p = dir.join(name);
        match std::fs::read_to_string(&p) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", p.display())),
        }
    };
    let mut out = DataDirConfig::default();
    if let Some(t) = read("wardwatch.toml")? {
        out.site = toml::from_str(&t)
            .map_err(|e| format!("{}: {e}", dir.join("wardwatch.toml").display()))?;
    }
    if let Some(t) = read("suppressions.toml")? {
        out.suppressions = Suppressions::parse(&t)
            .map_err(|e| format!("{}: {e}", dir.join("suppressions.toml").display()))?;
    }
    if let Some(t) = read("corrections.toml")? {
        out.corrections = wardwatch_inventory::assets::parse_corrections(&t)
            .map_err(|e| format!("{}: {e}", dir.join("corrections.toml").display()))?;
    }
    if let Some(t) = read("zones.toml")? {
        out.zones = wardwatch_detect::segment::Policy::parse(&t)
            .map_err(|e| format!("{}: {e}", dir.join("zones.toml").display()))?;
    }
    let ind_dir = dir.join("indicators");
    if let Ok(rd) = std::fs::read_dir(&ind_dir) {
        let mut files: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            read_indicator_file(&f, &mut out.indicators)?;
        }
    }
    if let Some(t) = read("default-credentials.csv")? {
        out.default_credentials = wardwatch_proto::creds::parse_defaults_csv(&t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses_and_errors_name_the_file() {
        let example = include_str!("../../../docs/wardwatch.toml.example");
        let c: SiteConfig = toml::from_str(example).unwrap_or_default();
        assert_eq!(c.detect.scan_ports, DetectConfig::default().scan_ports);
        assert!(!c.local_nets.is_empty());
        let dir = std::env::temp_dir().join(format!("ww-cfg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("wardwatch.toml"), "[detect]\nscan_portz = 3\n");
        let e = load(&dir).err().unwrap_or_default();
        assert!(
            e.contains("wardwatch.toml") && e.contains("scan_portz"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
