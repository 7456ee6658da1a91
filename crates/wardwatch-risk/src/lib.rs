//! The risk score: deterministic, documented in `docs/risk.md`, every
//! contribution listed in `risk.factors`. A device's score is the sum of its
//! factors, capped at 100; devices are ranked by score (ties: clinical
//! criticality, then id) and the top ceil(5 %) — at least one — are marked
//! `top5`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wardwatch_model::{Device, Finding, RiskFactor};

/// Weights (points at full strength). Set in `wardwatch.toml` under `[risk]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// A matched vulnerability is in CISA KEV (exploited in the wild).
    pub kev: f64,
    /// Highest EPSS probability of a matched vulnerability (× probability).
    pub epss: f64,
    /// Highest CVSS base score of a matched vulnerability (× score / 10).
    pub cvss: f64,
    /// Accepted connections from the internet.
    pub internet_exposed: f64,
    /// A medical device talking to the internet.
    pub external_communication: f64,
    /// Default credentials seen working (or offered) on the device.
    pub default_credentials: f64,
    /// Cleartext or weak credentials used on the device.
    pub cleartext_credentials: f64,
    /// Insecure protocols offered (Telnet, FTP, SMBv1, old TLS …).
    pub insecure_protocol: f64,
    /// An operating system without security updates.
    pub legacy_os: f64,
    /// Signs of an incident on the device (exfiltration, beaconing, scans
    /// from it, indicator matches).
    pub active_threat: f64,
    /// Clinical criticality `critical` (life-sustaining: ventilators,
    /// infusion pumps, patient monitors).
    pub criticality_critical: f64,
    /// Clinical criticality `high` (imaging, lab, PACS, interface engines).
    pub criticality_high: f64,
    /// Clinical criticality `medium`.
    pub criticality_medium: f64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            kev: 30.0,
            epss: 10.0,
            cvss: 15.0,
            internet_exposed: 20.0,
            external_communication: 8.0,
            default_credentials: 15.0,
            cleartext_credentials: 8.0,
            insecure_protocol: 5.0,
            legacy_os: 10.0,
            active_threat: 15.0,
            criticality_critical: 15.0,
            criticality_high: 10.0,
            criticality_medium: 4.0,
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Factors of one device.
pub fn factors(d: &Device, findings: &[&Finding], w: &RiskConfig) -> Vec<RiskFactor> {
    let mut out = Vec::new();
    let mut push = |name: &str, points: f64, detail: String| {
        if points > 0.0 {
            out.push(RiskFactor {
                name: name.into(),
                contribution: round1(points),
                detail,
            });
        }
    };
    // VEX `not_affected` and `fixed` statements take a vulnerability out.
    let live: Vec<_> = d.vulnerabilities.iter().filter(|v| v.applies()).collect();
    if let Some(v) = live
        .iter()
        .filter(|v| v.kev)
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
    {
        let n = live.iter().filter(|v| v.kev).count();
        push(
            "kev",
            w.kev * v.confidence,
            format!(
                "{n} known-exploited (CISA KEV), e.g. {} (match confidence {:.2})",
                v.id, v.confidence
            ),
        );
    }
    if let Some((v, e)) = live
        .iter()
        .filter_map(|v| v.epss.map(|e| (v, e * v.confidence)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
    {
        push(
            "epss",
            w.epss * e,
            format!(
                "{} EPSS {:.3} (exploitation probability in 30 days)",
                v.id,
                v.epss.unwrap_or(0.0)
            ),
        );
    }
    if let Some((v, c)) = live
        .iter()
        .filter_map(|v| v.cvss.map(|c| (v, c / 10.0 * v.confidence)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
    {
        push(
            "cvss",
            w.cvss * c,
            format!(
                "{} CVSS {:.1}; {} matched vulnerabilities",
                v.id,
                v.cvss.unwrap_or(0.0),
                live.len()
            ),
        );
    }
    let open: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.status != "suppressed")
        .collect();
    let kind = |k: &str| {
        open.iter()
            .copied()
            .filter(|f| f.kind == k)
            .collect::<Vec<_>>()
    };
    let rules = |fs: &[&Finding]| {
        let mut r: Vec<&str> = fs.iter().map(|f| f.rule.as_str()).collect();
        r.sort();
        r.dedup();
        r.join(", ")
    };
    for (k, weight, name) in [
        ("internet-exposed", w.internet_exposed, "internet_exposed"),
        (
            "external-communication",
            w.external_communication,
            "external_communication",
        ),
        (
            "default-credentials",
            w.default_credentials,
            "default_credentials",
        ),
        (
            "cleartext-credentials",
            w.cleartext_credentials,
            "cleartext_credentials",
        ),
        (
            "insecure-protocol",
            w.insecure_protocol,
            "insecure_protocol",
        ),
        ("legacy-os", w.legacy_os, "legacy_os"),
    ] {
        let fs = kind(k);
        if !fs.is_empty() {
            push(
                name,
                weight,
                format!("{} finding(s): {}", fs.len(), rules(&fs)),
            );
        }
    }
    let threats: Vec<&Finding> = open
        .iter()
        .copied()
        .filter(|f| {
            matches!(
                f.kind.as_str(),
                "exfiltration"
                    | "beaconing"
                    | "ioc-match"
                    | "port-scan"
                    | "man-in-the-middle"
                    | "denial-of-service"
            )
        })
        .collect();
    if !threats.is_empty() {
        push(
            "active_threat",
            w.active_threat,
            format!("{} finding(s): {}", threats.len(), rules(&threats)),
        );
    }
    let crit = match d.criticality.as_deref() {
        Some("critical") => w.criticality_critical,
        Some("high") => w.criticality_high,
        Some("medium") => w.criticality_medium,
        _ => 0.0,
    };
    push(
        "criticality",
        crit,
        format!(
            "{} ({}): clinical criticality {}",
            d.category,
            if d.medical == Some(true) {
                "medical"
            } else {
                "not known to be medical"
            },
            d.criticality.as_deref().unwrap_or("-")
        ),
    );
    out
}

/// An integer that orders as `f64::total_cmp` orders the floats.
fn total_order(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

fn criticality_rank(c: Option<&str>) -> u8 {
    match c {
        Some("critical") => 0,
        Some("high") => 1,
        Some("medium") => 2,
        Some("low") => 3,
        _ => 4,
    }
}

/// Scores and ranks every device; returns them riskiest first.
pub fn rank(mut devices: Vec<Device>, findings: &[Finding], w: &RiskConfig) -> Vec<Device> {
    let mut by_device: HashMap<&str, Vec<&Finding>> = HashMap::new();
    for f in findings {
        if let Some(d) = f.device.as_deref() {
            by_device.entry(d).or_default().push(f);
        }
    }
    for d in devices.iter_mut() {
        let fs = by_device
            .get(d.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let fx = factors(d, fs, w);
        let total: f64 = fx.iter().fold(0.0, |s, f| s + f.contribution);
        d.risk.score = round1(total.min(100.0));
        d.risk.factors = fx;
    }
    // Highest score first, then criticality, then id. The keys are sorted,
    // not the devices (large structures), and the devices moved once.
    devices.sort_by_cached_key(|d| {
        (
            std::cmp::Reverse(total_order(d.risk.score)),
            criticality_rank(d.criticality.as_deref()),
            d.id.clone(),
        )
    });
    let top = devices.len().div_ceil(20).max(1);
    for (i, d) in devices.iter_mut().enumerate() {
        d.risk.rank = i as u32 + 1;
        d.risk.top5 = i < top;
    }
    devices
}

#[cfg(test)]
mod tests {
    use super::*;
    use wardwatch_model::Vulnerability;

    #[test]
    fn total_order_orders_as_total_cmp() {
        let xs = [
            -1e300,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            0.1,
            7.0,
            100.0,
            f64::INFINITY,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order(a).cmp(&total_order(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
    }

    fn dev(id: &str, crit: Option<&str>) -> Device {
        Device {
            id: id.into(),
            category: "unknown".into(),
            criticality: crit.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn kev_and_exposure_rank_first_and_vex_removes() {
        let mut pump = dev("dev-pump", Some("critical"));
        pump.vulnerabilities.push(Vulnerability {
            id: "CVE-2020-0001".into(),
            kev: true,
            epss: Some(0.9),
            cvss: Some(9.8),
            advisories: vec![],
            source: "csaf".into(),
            vex_status: None,
            confidence: 1.0,
            match_reason: "test".into(),
        });
        let mut vexed = pump.clone();
        vexed.id = "dev-vexed".into();
        vexed.vulnerabilities[0].vex_status = Some("not_affected".into());
        let quiet: Vec<Device> = (0..30).map(|i| dev(&format!("dev-{i:02}"), None)).collect();
        let mut all = vec![quiet[0].clone(), vexed, pump];
        all.extend(quiet.into_iter().skip(1));
        let ranked = rank(all, &[], &RiskConfig::default());
        assert_eq!(ranked[0].id, "dev-pump");
        assert_eq!(ranked[0].risk.rank, 1);
        // 30 + 9 (EPSS 0.9 × 10) + 14.7 (CVSS 9.8) + 15 (critical).
        assert_eq!(ranked[0].risk.score, 68.7);
        assert_eq!(ranked[1].id, "dev-vexed");
        assert_eq!(ranked[1].risk.score, 15.0);
        // 32 devices: ceil(5 %) = 2 in the top 5 %.
        assert_eq!(ranked.iter().filter(|d| d.risk.top5).count(), 2);
        let sum: f64 = ranked[0].risk.factors.iter().map(|f| f.contribution).sum();
        assert_eq!(sum, ranked[0].risk.score);
    }

    #[test]
    fn a_spoofer_and_a_flooded_device_are_active_threats() {
        let finding = |device: &str, kind: &str| Finding {
            id: format!("f-{device}"),
            kind: kind.into(),
            rule: "r".into(),
            severity: "high".into(),
            status: "new".into(),
            device: Some(device.into()),
            ip: None,
            peer: None,
            peers: vec![],
            peer_count: 0,
            peer_country: None,
            peer_asn: None,
            summary: String::new(),
            evidence: vec![],
            first_seen: String::new(),
            last_seen: String::new(),
            count: 1,
            remediation: String::new(),
        };
        let findings = [
            finding("dev-spoofer", "man-in-the-middle"),
            finding("dev-target", "denial-of-service"),
            finding("dev-other", "insecure-protocol"),
        ];
        let devices = ["dev-spoofer", "dev-target", "dev-other"].map(|d| dev(d, None));
        for d in rank(devices.to_vec(), &findings, &RiskConfig::default()) {
            let threat = d.risk.factors.iter().any(|f| f.name == "active_threat");
            assert_eq!(threat, d.id != "dev-other", "{}", d.id);
        }
    }
}
