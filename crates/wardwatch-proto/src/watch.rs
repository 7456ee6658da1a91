//! Domains the site watches for (indicators of compromise). Plain DNS is
//! not reported per message; a query or answer naming a watched domain (or
//! a name under it) is.

use std::collections::HashSet;
use std::sync::OnceLock;

static WATCHED: OnceLock<HashSet<String>> = OnceLock::new();

/// Installs the watched domains (lowercase, no trailing dot) before
/// analysis. Returns false when a set was installed already.
pub fn set_watched_domains(domains: HashSet<String>) -> bool {
    WATCHED.set(domains).is_ok()
}

/// Whether any domain is watched (a cheap check before parsing DNS).
pub fn any() -> bool {
    WATCHED.get().is_some_and(|w| !w.is_empty())
}

/// Whether `name` is a watched domain or under one.
pub fn is_watched(name: &str) -> bool {
    let Some(w) = WATCHED.get() else { return false };
    if w.is_empty() {
        return false;
    }
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let mut rest = n.as_str();
    loop {
        if w.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, r)) if r.contains('.') || w.contains(r) => rest = r,
            _ => return false,
        }
    }
}
