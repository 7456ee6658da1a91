//! The types that cross stage (and, later, process) boundaries: the
//! `wardwatch.report/1` document, device and finding records with their
//! evidence, deterministic ids and timestamp formatting. Nothing here refers
//! into a packet buffer.

pub mod report;
pub mod time;

pub use report::*;

use sha2::{Digest, Sha256};

/// A deterministic id: `prefix-` and the first 16 hex digits of
/// SHA-256(site, parts…). The same inputs give the same id on every run.
pub fn stable_id(prefix: &str, site: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(site.as_bytes());
    for p in parts {
        h.update([0x1f]);
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut s = String::with_capacity(prefix.len() + 17);
    s.push_str(prefix);
    s.push('-');
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in &d[..8] {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_site_scoped() {
        let a = stable_id("dev", "default", &["mac", "44:4b:5d:3c:81:0f"]);
        assert_eq!(
            a,
            stable_id("dev", "default", &["mac", "44:4b:5d:3c:81:0f"])
        );
        assert_ne!(a, stable_id("dev", "other", &["mac", "44:4b:5d:3c:81:0f"]));
        assert!(a.starts_with("dev-") && a.len() == 20);
    }
}
