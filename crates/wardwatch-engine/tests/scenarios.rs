//! The repository's labelled scenarios (tests/scenarios, made with real
//! programs by make_scenarios.py): inventory precision and recall per field,
//! attack findings recall and false positives per kind, and silence on an
//! hour of normal traffic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use wardwatch_engine::{analyze_files, EngineConfig};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

fn truth(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir().join(name)).unwrap()).unwrap()
}

fn analyze(files: &[&str]) -> wardwatch_model::Report {
    let paths: Vec<PathBuf> = files.iter().map(|f| dir().join(f)).collect();
    analyze_files(&paths, &EngineConfig::default())
        .unwrap()
        .report
}

/// Per field: true positives, false positives, false negatives.
type Counts = BTreeMap<&'static str, (u32, u32, u32)>;

const FIELDS: [&str; 5] = ["vendor", "model", "firmware", "category", "medical"];

/// Scores one labelled capture set against its truth file.
fn score(files: &[&str], truth_file: &str, counts: &mut Counts, misses: &mut Vec<String>) {
    let t = truth(truth_file);
    let r = analyze(files);
    let by_ip: BTreeMap<&str, &wardwatch_model::Device> = r
        .devices
        .iter()
        .flat_map(|d| d.ips.iter().map(move |ip| (ip.as_str(), d)))
        .collect();
    for (ip, want) in t["devices"].as_object().unwrap() {
        let d = by_ip.get(ip.as_str()).copied();
        for f in FIELDS {
            let w = &want[f];
            if w.is_null() {
                continue;
            }
            let got: Option<String> = d.and_then(|d| match f {
                "vendor" => d.vendor.clone(),
                "model" => d.model.clone(),
                "firmware" => d.firmware.clone(),
                "category" => Some(d.category.clone()).filter(|c| c != "unknown"),
                _ => d.medical.map(|m| m.to_string()),
            });
            let want_s = match w {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let c = counts.entry(f).or_default();
            match got {
                Some(g) if g.eq_ignore_ascii_case(&want_s) => c.0 += 1,
                Some(g) => {
                    c.1 += 1;
                    c.2 += 1;
                    misses.push(format!(
                        "{truth_file} {ip} {f}: got {g:?}, truth {want_s:?}"
                    ));
                }
                None => {
                    c.2 += 1;
                    misses.push(format!("{truth_file} {ip} {f}: unknown, truth {want_s:?}"));
                }
            }
        }
    }
}

#[test]
fn inventory_precision_and_recall_per_field() {
    let mut counts = Counts::new();
    let mut misses = Vec::new();
    score(
        &["inventory.pcapng", "dhcp.pcapng"],
        "inventory.truth.json",
        &mut counts,
        &mut misses,
    );
    score(
        &["../../samples/demo-hospital.pcapng"],
        "demo.truth.json",
        &mut counts,
        &mut misses,
    );
    println!("field      precision  recall  (tp/fp/fn)");
    let mut worst: f64 = 1.0;
    for f in FIELDS {
        let (a, b, c) = counts.get(f).copied().unwrap_or((0, 0, 0));
        let p = a as f64 / (a + b).max(1) as f64;
        let rc = a as f64 / (a + c).max(1) as f64;
        worst = worst.min(p).min(rc);
        println!("{f:<10} {p:>9.3} {rc:>7.3}  ({a}/{b}/{c})");
    }
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(worst >= 0.9, "a field is below 0.9 precision or recall");
}

#[test]
fn attack_findings_recall_and_false_positives() {
    let t = truth("attacks.truth.json");
    let r = analyze(&["attacks.pcapng"]);
    let key = |k: &str, rule: &str, ip: &str| (k.to_string(), rule.to_string(), ip.to_string());
    let keys = |list: &Value| -> BTreeSet<(String, String, String)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                key(
                    e["kind"].as_str().unwrap(),
                    e["rule"].as_str().unwrap(),
                    e["ip"].as_str().unwrap(),
                )
            })
            .collect()
    };
    let expected = keys(&t["expected"]);
    let acceptable = keys(&t["also_acceptable"]);
    let got: BTreeSet<(String, String, String)> = r
        .findings
        .iter()
        .map(|f| key(&f.kind, &f.rule, f.ip.as_deref().unwrap_or("")))
        .collect();
    let mut per_kind: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for e in &expected {
        let k = per_kind.entry(e.0.clone()).or_default();
        k.0 += 1;
        if got.contains(e) {
            k.1 += 1;
        }
    }
    let mut fps = Vec::new();
    for f in &r.findings {
        let k = key(&f.kind, &f.rule, f.ip.as_deref().unwrap_or(""));
        let serious = matches!(f.severity.as_str(), "critical" | "high" | "medium");
        if serious && !expected.contains(&k) && !acceptable.contains(&k) {
            per_kind.entry(f.kind.clone()).or_default().2 += 1;
            fps.push(format!(
                "{} {} {} {:?}: {}",
                f.severity, f.kind, f.rule, f.ip, f.summary
            ));
        }
    }
    println!("kind                          expected  found  false+");
    for (k, (e, g, x)) in &per_kind {
        println!("{k:<30} {e:>8} {g:>6} {x:>7}");
    }
    for f in &fps {
        println!("  false positive: {f}");
    }
    let missing: Vec<_> = expected.difference(&got).collect();
    assert!(
        missing.is_empty(),
        "expected findings not raised: {missing:?}"
    );
    assert!(fps.is_empty(), "false positives: {fps:#?}");
}

#[test]
fn an_hour_of_normal_traffic_raises_nothing_serious() {
    let r = analyze(&["baseline.pcapng"]);
    assert!(
        r.stats.duration_s >= 3600.0,
        "baseline spans {} s",
        r.stats.duration_s
    );
    let loud = common::serious(&r.findings);
    println!(
        "baseline: {} packets over {:.0} s, {} devices, {} findings ({} medium or above)",
        r.stats.packets,
        r.stats.duration_s,
        r.devices.len(),
        r.findings.len(),
        loud.len()
    );
    assert!(loud.is_empty(), "{loud:#?}");
}
