//! `wardwatch bench …`: throughput and peak memory of the stages that have
//! no peer to compare with (inventory folding, intelligence loading and
//! matching). Not part of the tests; numbers go in the notes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Instant;

use wardwatch_inventory::hosts::InputNames;
use wardwatch_model::{Confidence, Device};
use wardwatch_proto::{ObsKind, Observation, Origin, Side};

/// Peak resident memory of this process so far (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn ip(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))
}

/// Folds `observations` synthetic observations into `devices` devices and
/// classifies them.
pub fn inventory(devices: u32, observations: u64) -> String {
    let t0 = Instant::now();
    let devs: Vec<Device> = (0..devices)
        .map(|i| Device {
            id: format!("dev-{i:08x}"),
            mac: Some(format!(
                "00:12:21:{:02x}:{:02x}:{:02x}",
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            )),
            ips: vec![ip(i + 1).to_string()],
            category: "unknown".into(),
            confidence: Confidence::default(),
            ..Default::default()
        })
        .collect();
    // A hospital mix: most facts are repeats of a few kinds per device.
    let kinds = [
        ObsKind::DicomIdentity(Box::new(wardwatch_proto::DicomIdentityFact {
            manufacturer: Some("GE MEDICAL SYSTEMS".into()),
            model: Some("LOGIQ E9".into()),
            software_versions: Some("R6.0.5".into()),
            serial: None,
            station_name: None,
            modality: Some("US".into()),
            institution: None,
            transfer_syntax: None,
        })),
        ObsKind::HttpResponse {
            status: 200,
            server: Some("GoAhead-Webs".into()),
            rtsp: false,
        },
        ObsKind::Banner {
            protocol: "ssh".into(),
            text: "SSH-2.0-OpenSSH_7.4".into(),
        },
        ObsKind::Hl7Message(Box::new(wardwatch_proto::obs::Hl7Header {
            mllp: true,
            encoding: "^~\\&".into(),
            sending_application: "MX800".into(),
            sending_facility: "ICU".into(),
            receiving_application: "IE".into(),
            receiving_facility: "GH".into(),
            message_type: "ORU".into(),
            trigger: "R01".into(),
            control_id: "1".into(),
            version: "2.6".into(),
            ack_code: None,
            software: vec![],
            equipment: vec!["MX800^Philips^IntelliVue MX800".into()],
        })),
    ];
    let obs: Vec<Observation> = (0..observations)
        .map(|n| {
            let d = (n % devices as u64) as u32;
            Observation {
                origin: Origin {
                    input: 0,
                    frame: n,
                    ts_ns: n as i64 * 1000,
                },
                client: (ip(d + 1), 40000),
                server: (ip(devices + 10), 104),
                subject: Side::Client,
                mac: None,
                kind: kinds[(n as usize / devices as usize + d as usize) % kinds.len()].clone(),
            }
        })
        .collect();
    let built = t0.elapsed();
    let t1 = Instant::now();
    let out =
        wardwatch_inventory::apply_observations(devs, &obs, &InputNames(vec!["bench".into()]));
    let fold = t1.elapsed();
    let classified = out.iter().filter(|d| d.category != "unknown").count();
    format!(
        "inventory: {devices} devices, {observations} observations: fold+classify {:.2} s ({:.1} M observations/s), {classified} classified; synthetic input built in {:.2} s; peak RSS {:.0} MiB (input included)",
        fold.as_secs_f64(),
        observations as f64 / fold.as_secs_f64() / 1e6,
        built.as_secs_f64(),
        peak_rss_mib()
    )
}

/// Loads the full KEV, `advisories` CSAF advisories (the shared ones, then
/// copies with new ids), a full-size EPSS list, then matches `devices`
/// devices drawn from the advisories' product trees.
pub fn intel(from: &Path, advisories: usize, devices: usize) -> Result<String, String> {
    let kb = wardwatch_inventory::kb::kb();
    let kev_path = from.join("kev/known_exploited_vulnerabilities.json");
    let csaf_dir = from.join("csaf_icsma");
    // Build the input files in memory first: reading them is part of the
    // load time, making them is not.
    let kev_bytes = std::fs::read(&kev_path).map_err(|e| format!("{}: {e}", kev_path.display()))?;
    let files = wardwatch_intel::feeds::json_files(&csaf_dir);
    if files.is_empty() {
        return Err(format!("{}: no CSAF files", csaf_dir.display()));
    }
    let originals: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    let mut csaf: Vec<Vec<u8>> = Vec::with_capacity(advisories);
    for i in 0..advisories {
        let b = &originals[i % originals.len()];
        if i < originals.len() {
            csaf.push(b.clone());
        } else {
            // A copy with its own tracking id.
            let t = String::from_utf8_lossy(b).replacen(
                "\"id\": \"ICSMA-",
                &format!("\"id\": \"SYN{i}-ICSMA-"),
                1,
            );
            csaf.push(t.into_bytes());
        }
    }
    // EPSS publishes a score for every CVE: about 270,000 rows.
    let mut epss = String::from(
        "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000\ncve,epss,percentile\n",
    );
    for i in 0..270_000u32 {
        epss.push_str(&format!(
            "CVE-{}-{:05},{:.5},{:.5}\n",
            1999 + i % 27,
            i,
            (i % 1000) as f64 / 1000.0,
            (i % 997) as f64 / 997.0
        ));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, epss.as_bytes()).map_err(|e| e.to_string())?;
    let epss_gz = gz.finish().map_err(|e| e.to_string())?;

    let t0 = Instant::now();
    let mut intel = wardwatch_intel::Intel::default();
    let (kev, kev_date) = wardwatch_intel::feeds::read_kev(&kev_bytes, "kev")?;
    intel.kev = kev;
    intel.kev_date = Some(kev_date);
    for (i, b) in csaf.iter().enumerate() {
        intel
            .advisories
            .push(wardwatch_intel::feeds::read_csaf(b, &format!("csaf-{i}"))?);
    }
    let (e, d) = wardwatch_intel::feeds::read_epss(&epss_gz, "epss.csv.gz")?;
    intel.epss = e;
    intel.epss_date = Some(d);
    intel.reindex(kb);
    let load = t0.elapsed();

    // Devices from the product trees, at the versions they name.
    let mut devs: Vec<Device> = Vec::with_capacity(devices);
    'outer: loop {
        for a in intel.advisories.iter().take(originals.len()) {
            for p in &a.products {
                if devs.len() >= devices {
                    break 'outer;
                }
                devs.push(Device {
                    id: format!("dev-{}", devs.len()),
                    vendor: Some(p.vendor.clone()),
                    model: Some(p.name.clone()),
                    firmware: p.versions.as_ref().and_then(|s| s.example_inside()),
                    category: "unknown".into(),
                    confidence: Confidence {
                        vendor: 0.9,
                        model: 0.9,
                        category: 0.0,
                        firmware: 0.9,
                    },
                    ..Default::default()
                });
            }
        }
        if devs.is_empty() {
            break;
        }
    }
    let t1 = Instant::now();
    intel.apply(kb, &mut devs);
    let matching = t1.elapsed();
    let matched = devs
        .iter()
        .filter(|d| !d.vulnerabilities.is_empty())
        .count();
    let vulns: usize = devs.iter().map(|d| d.vulnerabilities.len()).sum();
    Ok(format!(
        "intel: load {} KEV entries + {} CSAF advisories + {} EPSS scores in {:.3} s (target < 2 s); match {} devices in {:.3} s (target < 1 s), {matched} with vulnerabilities, {vulns} matches; one core; peak RSS {:.0} MiB",
        intel.kev.len(),
        intel.advisories.len(),
        intel.epss.len(),
        load.as_secs_f64(),
        devs.len(),
        matching.as_secs_f64(),
        peak_rss_mib()
    ))
}
