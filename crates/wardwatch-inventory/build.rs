//! Turns data/oui.tsv (IEEE registries) into sorted static tables, so that
//! vendor look-ups need no parsing at start-up.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=data/oui.tsv");
    let text = std::fs::read_to_string("data/oui.tsv").unwrap_or_default();
    let mut t24: Vec<(u64, String)> = Vec::new();
    let mut t28 = Vec::new();
    let mut t36 = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut it = line.splitn(3, '\t');
        let (Some(p), Some(b), Some(org)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let Ok(v) = u64::from_str_radix(p, 16) else {
            continue;
        };
        let org = org.to_string();
        match b {
            "24" => t24.push((v, org)),
            "28" => t28.push((v, org)),
            "36" => t36.push((v, org)),
            _ => {}
        }
    }
    let mut out = String::new();
    for (name, mut t) in [("OUI24", t24), ("OUI28", t28), ("OUI36", t36)] {
        t.sort();
        t.dedup_by_key(|e| e.0);
        let _ = writeln!(out, "static {name}: &[(u64, &str)] = &[");
        for (k, v) in t {
            let _ = writeln!(out, "(0x{k:x}, {v:?}),");
        }
        out.push_str("];\n");
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()))
        .join("oui_tables.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
    }
}
