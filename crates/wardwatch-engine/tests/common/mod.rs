//! Helpers the integration tests share.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A file of the shared public data (`../shared/data`), or `None` with a
/// SKIPPED line when that folder is absent.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: ../shared/data/{rel} is absent");
        None
    }
}

/// A file of this repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Findings of severity medium or above, one line each.
pub fn serious(findings: &[wardwatch_model::Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| matches!(f.severity.as_str(), "critical" | "high" | "medium"))
        .map(|f| {
            format!(
                "{} {} {} {:?}: {}",
                f.severity, f.kind, f.rule, f.ip, f.summary
            )
        })
        .collect()
}
