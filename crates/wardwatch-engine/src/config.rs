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
