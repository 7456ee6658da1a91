//! The analyst's and engineer's workflows end to end through the command
//! line: segmentation (synthesize a policy from an hour of normal traffic,
//! replay the attack scenario against it, export to nftables checked by the
//! real `nft -c`, Cisco ACL), zones in the data directory raising
//! policy-violation findings, intel import and matching, the CMMS asset-list
//! reconciliation and analysts' corrections.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{repo, shared};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn scenario(name: &str) -> String {
    repo()
        .join("tests/scenarios")
        .join(name)
        .display()
        .to_string()
}

/// `analyze --format json` of one scenario capture with data dir `d`.
fn analyze_json(d: &Path, name: &str) -> Value {
    let out = ww(
        d,
        &[
            "analyze",
            "--format",
            "json",
            "--no-progress",
            &scenario(name),
        ],
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn data_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ww-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ww(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run wardwatch");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn segmentation_synthesize_simulate_export() {
    let d = data_dir("policy");
    let pol = d.join("learned.toml");
    ww(
        &d,
        &[
            "policy",
            "synthesize",
            &scenario("baseline.pcapng"),
            "--out",
            pol.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&pol).unwrap();
    assert!(
        text.contains("[[allow]]") && text.contains("to = \"pacs\""),
        "{text}"
    );
    // The policy learned on normal traffic blocks none of it…
    let out = ww(
        &d,
        &[
            "policy",
            "simulate",
            "--json",
            "--policy",
            pol.to_str().unwrap(),
            &scenario("baseline.pcapng"),
        ],
    );
    let blocked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(blocked.as_array().unwrap().len(), 0, "{blocked}");
    // …and would have stopped the exfiltration and the rogue DICOM store.
    let out = ww(
        &d,
        &[
            "policy",
            "simulate",
            "--json",
            "--policy",
            pol.to_str().unwrap(),
            &scenario("attacks.pcapng"),
        ],
    );
    let blocked: Value = serde_json::from_slice(&out.stdout).unwrap();
    let has = |server: &str, port: u64| {
        blocked
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["server"] == server && b["port"] == port && b["to"] == "internet")
    };
    assert!(
        has("185.220.101.7", 443) && has("45.155.205.10", 104),
        "{blocked}"
    );
    // nftables, checked by the real nft.
    let nft = d.join("policy.nft");
    ww(
        &d,
        &[
            "policy",
            "export",
            "--policy",
            pol.to_str().unwrap(),
            "--format",
            "nftables",
            &scenario("baseline.pcapng"),
            "--out",
            nft.to_str().unwrap(),
        ],
    );
    let check = Command::new("nft")
        .args(["-c", "-f"])
        .arg(&nft)
        .output()
        .expect("nft is required: apt-get install nftables (scripts/setup.sh --test)");
    assert!(
        check.status.success(),
        "nft -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = ww(
        &d,
        &[
            "policy",
            "export",
            "--policy",
            pol.to_str().unwrap(),
            "--format",
            "cisco",
        ],
    );
    let acl = String::from_utf8_lossy(&out.stdout);
    assert!(
        acl.contains("permit tcp host 10.30.1.21 host 10.20.1.10 eq 104"),
        "{acl}"
    );
    // Zones in the data directory: analyze reports what crosses them.
    std::fs::copy(&pol, d.join("zones.toml")).unwrap();
    let r = analyze_json(&d, "attacks.pcapng");
    let v: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "policy-violation")
        .collect();
    assert!(
        v.iter()
            .any(|f| f["ip"] == "10.30.1.15" && f["peer"] == "185.220.101.7"),
        "{v:#?}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn intel_import_status_and_matching() {
    let Some(shared) = shared("intel") else {
        return;
    };
    let d = data_dir("intel");
    let out = ww(&d, &["intel", "update", "--from", shared.to_str().unwrap()]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("1404 KEV entries") && s.contains("144 CSAF documents"),
        "{s}"
    );
    assert!(d.join("intel/kev.json").exists());
    // A second import keeps the previous copy.
    ww(&d, &["intel", "update", "--from", shared.to_str().unwrap()]);
    assert!(d.join("intel.prev/kev.json").exists());
    let out = ww(&d, &["intel", "status", "--max-age-days", "100000"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("kev") && s.contains("2025-08-25") && !s.contains("STALE"),
        "{s}"
    );
    // A broken feed directory is refused and nothing is replaced.
    let bad = d.join("bad");
    std::fs::create_dir_all(bad.join("csaf")).unwrap();
    std::fs::write(bad.join("csaf/x.json"), b"{not json").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("--data-dir")
        .arg(&d)
        .args(["intel", "update", "--from", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.json"));
    assert!(d.join("intel/kev.json").exists());
    // The BD Alaris PC unit of the inventory scenario meets its advisories.
    let r = analyze_json(&d, "inventory.pcapng");
    assert!(r["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "kev"));
    let alaris = r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ips"][0] == "10.40.3.10")
        .unwrap();
    let vulns = alaris["vulnerabilities"].as_array().unwrap();
    assert!(!vulns.is_empty(), "{alaris:#}");
    assert!(vulns.iter().all(
        |v| v["confidence"].as_f64().unwrap() > 0.0 && !v["match"].as_str().unwrap().is_empty()
    ));
    assert!(alaris["risk"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "cvss"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn asset_list_reconciliation_and_corrections() {
    let d = data_dir("assets");
    let csv = d.join("cmms.csv");
    std::fs::write(
        &csv,
        "Asset Tag,Serial Number,MAC Address,IP Address,Manufacturer,Model,Location\n\
         BME-0101,LE10-0042,44-4B-5D-3C-81-0F,,GE Healthcare,LOGIQ E10,US Room 3\n\
         BME-0301,SP-9912,00:12:21:0A:0B:0C,,B. Braun,Infusomat Space,ICU Bed 3\n\
         BME-0999,,,10.40.9.99,Draeger,Evita V500,ICU Bed 7\n",
    )
    .unwrap();
    let out = ww(
        &d,
        &[
            "inventory",
            "import",
            csv.to_str().unwrap(),
            "--format",
            "json",
            &scenario("inventory.pcapng"),
        ],
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["matched"].as_array().unwrap().len(), 2);
    assert_eq!(r["unseen"][0]["tag"], "BME-0999");
    // Every other device with its own MAC is a shadow device.
    let all = ww(
        &d,
        &[
            "inventory",
            "list",
            "--format",
            "json",
            &scenario("inventory.pcapng"),
        ],
    );
    let all: Value = serde_json::from_slice(&all.stdout).unwrap();
    let with_mac = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !x["mac"].is_null())
        .count();
    assert_eq!(r["shadow"].as_array().unwrap().len(), with_mac - 2);
    assert!(d.join("assets.csv").exists());
    // Column mapping for an export with other headers.
    let csv2 = d.join("other.csv");
    std::fs::write(&csv2, "Kennung;Netzadresse\nX-1;10.30.1.21\n").unwrap();
    let out = ww(
        &d,
        &[
            "inventory",
            "import",
            csv2.to_str().unwrap(),
            "--map",
            "tag=Kennung",
            "--map",
            "ip=Netzadresse",
            "--format",
            "json",
            &scenario("inventory.pcapng"),
        ],
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["matched"][0][2], "ip");
    // A correction wins over the inferred values on the next run.
    std::fs::write(
        d.join("corrections.toml"),
        "[[device]]\nmac = \"00:12:21:0a:0b:0c\"\nmodel = \"Infusomat Space\"\nfirmware = \"L81\"\nnote = \"BME verified, ticket 4711\"\n",
    )
    .unwrap();
    let out = ww(
        &d,
        &[
            "inventory",
            "list",
            "--format",
            "csv",
            &scenario("inventory.pcapng"),
        ],
    );
    let csv_out = String::from_utf8_lossy(&out.stdout);
    let line = csv_out
        .lines()
        .find(|l| l.contains("00:12:21:0a:0b:0c"))
        .unwrap();
    assert!(
        line.contains("Infusomat Space") && line.contains("L81") && line.contains("infusion-pump"),
        "{line}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sbom_and_vex_on_the_shared_samples() {
    let Some(shared) = shared("sbom") else {
        return;
    };
    // Every shared SBOM and VEX sample reads.
    for f in [
        "cyclonedx/laravel-7.12.0.cdx-1.4.json",
        "cyclonedx/proton-bridge-v1.8.0.cdx-1.2.json",
        "cyclonedx/hbom-pcie-sata-adapter.cdx-1.4.json",
        "cyclonedx/cbom-protocol-tls.cdx-1.6.json",
        "spdx/examplemaven-0.0.1-enriched.spdx-2.3.json",
        "spdx/ACME-v2.3.spdx.json",
        "spdx/sbom-with-security.spdx-2.3.json",
        "spdx/vexctl-example.spdx-2.3.json",
        "vex/cyclonedx-vex-companion-bom-1.3.json",
    ] {
        let b = std::fs::read(shared.join(f)).unwrap();
        let s = wardwatch_intel::sbom::read_sbom(&b, f).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !s.components.is_empty() || f.contains("cbom"),
            "{f}: no components"
        );
    }
    for f in [
        "vex/openvex-demo.openvex.json",
        "vex/openvex-wolfi-example.openvex.json",
        "vex/cyclonedx-vex-1.4.json",
    ] {
        let b = std::fs::read(shared.join(f)).unwrap();
        let v = wardwatch_intel::sbom::read_vex(&b, f).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !v.is_empty()
                && v.iter()
                    .all(|s| !s.vulnerability.is_empty() && !s.status.is_empty()),
            "{f}"
        );
    }
    let csaf_vex = std::fs::read(shared.join("vex/csaf-vex-wolfi-example.csaf.json")).unwrap();
    assert!(
        wardwatch_intel::feeds::read_csaf(&csaf_vex, "csaf-vex")
            .unwrap()
            .vex
    );

    // An SBOM attached to a model gives its devices the component's CVE…
    let d = data_dir("sbom");
    ww(
        &d,
        &[
            "intel",
            "update",
            "--from",
            repo().join("tests/intel").to_str().unwrap(),
        ],
    );
    ww(
        &d,
        &[
            "intel",
            "import-sbom",
            "--model",
            "Philips IntelliVue MX800",
            shared
                .join("vex/cyclonedx-vex-companion-bom-1.3.json")
                .to_str()
                .unwrap(),
        ],
    );
    let monitor = |d: &Path| -> (Value, Vec<Value>) {
        let r = analyze_json(d, "inventory.pcapng");
        let dev = r["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["ips"][0] == "10.40.2.7")
            .unwrap()
            .clone();
        let f: Vec<Value> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "vulnerability" && f["ip"] == "10.40.2.7")
            .cloned()
            .collect();
        (dev, f)
    };
    let (dev, findings) = monitor(&d);
    let v = &dev["vulnerabilities"][0];
    assert_eq!(v["id"], "CVE-2020-25649");
    assert_eq!(v["source"], "sbom");
    assert!(v["match"]
        .as_str()
        .unwrap()
        .contains("jackson-databind@2.10.0"));
    assert_eq!(findings.len(), 1);
    // …and a VEX `not_affected` statement removes the finding and the risk.
    ww(
        &d,
        &[
            "intel",
            "import-vex",
            shared.join("vex/cyclonedx-vex-1.4.json").to_str().unwrap(),
        ],
    );
    let (dev, findings) = monitor(&d);
    assert_eq!(dev["vulnerabilities"][0]["vex_status"], "not_affected");
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(dev["risk"]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["name"] != "cvss"));
    // The pre-purchase check reads the SBOM's own CVE references and missing fields.
    let out = ww(
        &d,
        &[
            "intel",
            "check-sbom",
            "--json",
            shared.join("spdx/ACME-v2.3.spdx.json").to_str().unwrap(),
        ],
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = r["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"CVE-2022-2274") && ids.contains(&"CVE-2020-28498"),
        "{ids:?}"
    );
    assert!(r["missing_fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["component"] == "alpine@latest"));
    // An unsupported component is flagged (jackson-databind 2.10 is a closed line).
    let out = ww(
        &d,
        &[
            "intel",
            "check-sbom",
            "--json",
            shared
                .join("vex/cyclonedx-vex-companion-bom-1.3.json")
                .to_str()
                .unwrap(),
        ],
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["unsupported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["component"] == "jackson-databind@2.10.0"),
        "{r:#}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn intel_download_from_a_real_http_server_with_conditional_requests() {
    let Some(shared) = shared("intel") else {
        return;
    };
    // A mirror of the official layout, served by Python's http.server
    // (which answers If-Modified-Since with 304).
    let d = data_dir("download");
    let www = d.join("www");
    std::fs::create_dir_all(www.join("csaf/2024")).unwrap();
    std::fs::copy(
        shared.join("kev/known_exploited_vulnerabilities.json"),
        www.join("kev.json"),
    )
    .unwrap();
    let mut index = String::new();
    for f in std::fs::read_dir(shared.join("csaf_icsma/2024"))
        .unwrap()
        .flatten()
        .take(4)
    {
        let name = f.file_name().to_string_lossy().into_owned();
        std::fs::copy(f.path(), www.join("csaf/2024").join(&name)).unwrap();
        index.push_str(&format!("2024/{name}\n"));
    }
    std::fs::write(www.join("csaf/index.txt"), index).unwrap();
    let epss = "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99957\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, epss.as_bytes()).unwrap();
    std::fs::write(www.join("epss.csv.gz"), gz.finish().unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(&www)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let args = [
        "intel".to_string(),
        "update".into(),
        "--kev-url".into(),
        format!("{base}/kev.json"),
        "--csaf-url".into(),
        format!("{base}/csaf"),
        "--epss-url".into(),
        format!("{base}/epss.csv.gz"),
    ];
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = String::from_utf8_lossy(&ww(&d, &a).stdout).to_string();
    let second = String::from_utf8_lossy(&ww(&d, &a).stdout).to_string();
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        first.contains("downloaded 6 files, 0 not modified"),
        "{first}"
    );
    assert!(
        first.contains("1404 KEV entries")
            && first.contains("4 CSAF documents")
            && first.contains("1 EPSS scores"),
        "{first}"
    );
    // The second run asks conditionally and keeps the copies it has.
    assert!(
        second.contains("downloaded 0 files, 6 not modified"),
        "{second}"
    );
    assert!(d.join("intel/kev.json").exists() && d.join("intel.prev/kev.json").exists());
    let out = ww(&d, &["intel", "status", "--max-age-days", "100000"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("epss"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn external_peers_get_their_country_and_asn_from_offline_databases() {
    let db = repo().join("tests/.cache/geo/geo-whois-asn-country-2.3.2026061719.mmdb");
    assert!(
        db.exists(),
        "{} is fetched by scripts/setup.sh --test",
        db.display()
    );
    let d = data_dir("geo");
    std::fs::create_dir_all(d.join("geo")).unwrap();
    std::fs::copy(&db, d.join("geo/country.mmdb")).unwrap();
    let asn = repo().join("tests/.cache/geo/asn-2.3.2026061719");
    for f in ["asn-ipv4.csv", "asn-ipv6.csv"] {
        std::fs::copy(asn.join(f), d.join("geo").join(f))
            .unwrap_or_else(|e| panic!("{f} (fetched by scripts/setup.sh --test): {e}"));
    }
    let r = analyze_json(&d, "attacks.pcapng");
    let rogue = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "dicom-cleartext-external")
        .unwrap();
    assert_eq!(rogue["peer"], "45.155.205.10");
    assert_eq!(rogue["peer_country"], "RU", "{rogue:#}");
    // AS number and organisation from the RouteViews/DB-IP range table.
    assert_eq!(rogue["peer_asn"], 208677, "{rogue:#}");
    assert!(
        rogue["summary"]
            .as_str()
            .unwrap()
            .contains("AS208677 \"Cloud Technologies\" LLC"),
        "{rogue:#}"
    );
    // Local peers get no country.
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["peer"].as_str().is_some_and(|p| p.starts_with("10.")))
        .all(|f| f["peer_country"].is_null()));
    let _ = std::fs::remove_dir_all(&d);
}

/// Findings of one analysis as (kind, rule, ip, peer).
fn finding_keys(r: &Value) -> Vec<(String, String, String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("kind"), s("rule"), s("ip"), s("peer"))
        })
        .collect()
}

#[test]
fn baselines_learned_from_normal_traffic_flag_the_ultrasound_upload_and_stay_quiet_on_normal_traffic(
) {
    let d = data_dir("baseline");
    // The baseline capture spans an hour; a device counts once it has half.
    std::fs::write(
        d.join("wardwatch.toml"),
        "[detect]\nbaseline_window_s = 1800\n",
    )
    .unwrap();
    let analyze = |name: &str| analyze_json(&d, name);
    let before = finding_keys(&analyze("attacks.pcapng"));
    ww(&d, &["baseline", "learn", &scenario("baseline.pcapng")]);
    let file: Value =
        serde_json::from_slice(&std::fs::read(d.join("baselines.json")).unwrap()).unwrap();
    assert_eq!(file["schema"], "wardwatch.baselines/1");
    let devices = file["devices"].as_object().unwrap();
    let pacs = devices
        .values()
        .find(|v| v["ip"] == "10.20.1.10")
        .expect("the PACS is learned");
    assert!(
        pacs["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "tcp/104"),
        "{pacs:#}"
    );
    let us = devices.values().find(|v| v["ip"] == "10.30.1.15").unwrap();
    assert!(us["peers"].as_array().unwrap().is_empty(), "{us:#}");

    // The same normal traffic raises nothing against its own baseline.
    let normal = finding_keys(&analyze("baseline.pcapng"));
    assert!(
        normal
            .iter()
            .all(|k| !k.1.starts_with("baseline-") && k.1 != "outbound-above-baseline"),
        "{normal:?}"
    );

    // The attack hour: the ultrasound's upload is far above its learned
    // peak, and both internet peers are new to it.
    let after = finding_keys(&analyze("attacks.pcapng"));
    let has = |rule: &str, peer: &str| {
        after
            .iter()
            .any(|k| k.1 == rule && k.2 == "10.30.1.15" && k.3 == peer)
    };
    assert!(has("outbound-above-baseline", "185.220.101.7"), "{after:?}");
    assert!(
        has("baseline-new-external-peer", "185.220.101.7"),
        "{after:?}"
    );
    assert!(
        has("baseline-new-external-peer", "45.155.205.10"),
        "{after:?}"
    );
    // The in-capture learning rule stands aside for a device with a
    // baseline (no second finding for the same peer) ...
    assert!(!after
        .iter()
        .any(|k| k.1 == "medical-device-new-external-peer" && k.2 == "10.30.1.15"));
    assert!(before
        .iter()
        .any(|k| k.1 == "medical-device-new-external-peer" && k.2 == "10.30.1.15"));
    // ... and nothing else changes.
    let rest = |v: &[(String, String, String, String)]| -> Vec<_> {
        v.iter()
            .filter(|k| !k.1.contains("baseline") && k.1 != "medical-device-new-external-peer")
            .cloned()
            .collect()
    };
    assert_eq!(rest(&before), rest(&after));

    // `baseline show` lists them; a damaged file is an error naming it.
    let show = ww(&d, &["baseline", "show"]);
    assert!(String::from_utf8_lossy(&show.stdout).contains("10.20.1.10"));
    std::fs::write(d.join("baselines.json"), "{\"schema\": 1").unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_wardwatch"))
        .arg("--data-dir")
        .arg(&d)
        .args(["analyze", "--no-progress", &scenario("baseline.pcapng")])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("baselines.json"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let _ = std::fs::remove_dir_all(&d);
}
