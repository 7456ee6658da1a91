//! Indicators of compromise: a STIX 2.1 bundle (checked by the OASIS
//! stix2-validator) and a plain list, matched against flow peers, TLS SNI
//! and DNS queries; the finding names the indicator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{repo, shared};

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use wardwatch_detect::ioc::Indicators;
use wardwatch_engine::{analyze_files, config::read_indicator_file, EngineConfig};

fn indicators() -> Arc<Indicators> {
    let mut i = Indicators::default();
    assert_eq!(
        read_indicator_file(&repo("tests/indicators/hospital-isac.stix.json"), &mut i).unwrap(),
        3
    );
    assert_eq!(
        read_indicator_file(&repo("tests/indicators/blocklist.txt"), &mut i).unwrap(),
        3
    );
    wardwatch_proto::watch::set_watched_domains(i.domains());
    Arc::new(i)
}

#[test]
fn the_stix_bundle_is_valid_stix_2_1() {
    let out = Command::new("stix2_validator")
        .arg(repo("tests/indicators/hospital-isac.stix.json"))
        .output()
        .expect(
            "stix2_validator is required: pip install stix2-validator (scripts/setup.sh --test)",
        );
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("Valid"), "{text}");
}

#[test]
fn indicators_match_peers_sni_and_dns() {
    let cfg = EngineConfig {
        indicators: indicators(),
        ..Default::default()
    };
    let mut cases: Vec<(PathBuf, &str, &str, &str)> = vec![(
        repo("tests/scenarios/attacks.pcapng"),
        "ioc:ip",
        "10.30.1.15",
        "185.220.101.7",
    )];
    if let Some(p) = shared("pcap/it/tls12_full_handshake__ndpi-443-curl.pcap") {
        cases.push((p, "ioc:domain", "", "ntop.org"));
    }
    if let Some(p) = shared("pcap/it/tls13_firefox__ndpi.pcap") {
        cases.push((p, "ioc:domain", "", "iit.cnr.it"));
    }
    if let Some(p) = shared("pcap/it/dns_a_aaaa_mx__suricata.pcap") {
        cases.push((p, "ioc:domain", "", "google.com"));
    }
    for (path, rule, ip, indicator) in cases {
        let r = analyze_files(std::slice::from_ref(&path), &cfg)
            .unwrap()
            .report;
        let f = r
            .findings
            .iter()
            .find(|f| f.kind == "ioc-match" && f.rule == rule && f.summary.contains(indicator))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no {rule} for {indicator}: {:#?}",
                    path.display(),
                    r.findings
                )
            });
        if !ip.is_empty() {
            assert_eq!(f.ip.as_deref(), Some(ip));
        }
        assert!(!f.evidence.is_empty(), "evidence frame");
        println!("{}: {} {}", path.display(), f.severity, f.summary);
    }
    // Without indicators, nothing matches.
    let r = analyze_files(
        &[repo("tests/scenarios/attacks.pcapng")],
        &EngineConfig::default(),
    )
    .unwrap()
    .report;
    assert!(r.findings.iter().all(|f| f.kind != "ioc-match"));
}
