//! The inventory on shared public captures: DHCP clients that have no
//! address yet become devices by MAC, DHCP fingerprints name their OS,
//! DNS/DHCP servers get their role.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::shared;
use wardwatch_engine::{analyze_files, EngineConfig};

fn devices(rel: &str) -> Option<Vec<wardwatch_model::Device>> {
    let p = shared(rel)?;
    Some(
        analyze_files(&[p], &EngineConfig::default())
            .unwrap()
            .report
            .devices,
    )
}

fn by_mac<'a>(d: &'a [wardwatch_model::Device], mac: &str) -> &'a wardwatch_model::Device {
    d.iter()
        .find(|x| x.mac.as_deref() == Some(mac))
        .unwrap_or_else(|| {
            panic!(
                "no device {mac}: {:#?}",
                d.iter().map(|x| &x.mac).collect::<Vec<_>>()
            )
        })
}

#[test]
fn dhcp_clients_fingerprints_and_roles() {
    if let Some(d) = devices("pcap/it/mixed_iphone_dhcp_mdns_ssdp_tls__ndpi.pcap") {
        let imac = by_mac(&d, "d8:30:62:56:00:1c");
        assert_eq!(imac.hostname.as_deref(), Some("Lucas-iMac"));
        // Its mDNS device information: model iMac11,3, osxvers 17.
        assert_eq!(imac.os.as_deref(), Some("macOS 10.13"));
        assert_eq!(imac.model.as_deref(), Some("iMac11,3"));
        assert_eq!(imac.category, "workstation");
        let phone = by_mac(&d, "c4:61:8b:35:82:a9");
        assert_eq!(phone.hostname.as_deref(), Some("Lucas-iPhone"));
        assert_eq!(phone.os.as_deref(), Some("iOS"));
        assert_eq!(phone.medical, Some(false));
        let router = by_mac(&d, "c6:2c:03:60:6a:64");
        let roles: Vec<&str> = router
            .evidence
            .iter()
            .filter(|e| e.field == "role")
            .map(|e| e.value.as_str())
            .collect();
        assert!(
            roles.contains(&"DNS server") && roles.contains(&"DHCP server"),
            "{roles:?}"
        );
    }
    if let Some(d) = devices("pcap/formats/pcapng_dhcp_dora__chrissanders.pcapng") {
        let c = by_mac(&d, "00:0c:29:59:fd:21");
        assert_eq!(c.hostname.as_deref(), Some("ubuntu2"));
        assert_eq!(c.ips, vec!["192.168.1.10".to_string()]);
        assert!(by_mac(&d, "00:0c:29:c0:60:a4")
            .evidence
            .iter()
            .any(|e| e.value == "DHCP server"));
    }
    if let Some(d) = devices("pcap/it/dhcp_option60_msft__suricata.pcap") {
        let c = by_mac(&d, "28:cf:da:dc:8d:76");
        assert_eq!(c.hostname.as_deref(), Some("NicksMacBook"));
        // MSFT 5.0 and a Windows 7/8 parameter list: Windows on Apple hardware.
        assert_eq!(c.vendor.as_deref(), Some("Apple"));
        // The parameter list names the release more precisely than the
        // vendor class, and wins over it.
        assert_eq!(c.os.as_deref(), Some("Windows 7/8"));
    }
}

/// However many workers share the flows, a device gets the same evidence
/// and the run counts the same repeated facts: the facts two workers both
/// kept (the same HL7 header or DICOM command on two connections) are
/// dropped once the workers are done, keeping the earliest.
#[test]
fn workers_share_facts_without_changing_the_evidence() {
    let mut repeated = None;
    for rel in [
        "pcap/medical/generated/dicom_echo_store_find_reject_port104__generated.pcapng",
        "pcap/medical/generated/hl7_mllp_adt_oru_port2575__generated.pcapng",
        "pcap/medical/hl7_2575_synthetic_alerts__mpa.pcap",
    ] {
        let Some(p) = shared(rel) else {
            continue;
        };
        let run = |p: &std::path::Path, threads: usize| {
            let cfg = EngineConfig {
                threads,
                ..EngineConfig::default()
            };
            let r = analyze_files(&[p.to_path_buf()], &cfg).unwrap().report;
            let evidence: Vec<(String, Vec<wardwatch_model::Evidence>)> =
                r.devices.into_iter().map(|d| (d.id, d.evidence)).collect();
            (evidence, r.stats.observations_repeated)
        };
        let one = run(&p, 1);
        *repeated.get_or_insert(0) += one.1;
        for threads in [2, 3, 4] {
            assert_eq!(run(&p, threads), one, "{rel}, {threads} threads");
        }
        // Timestamps that step back (merged mirror ports, clocks set
        // back): the earliest sighting of a fact is its evidence, not the
        // first one read, with one worker as with several.
        let back = time_reversed(&p);
        let one = run(&back, 1);
        for threads in [2, 3, 4] {
            assert_eq!(
                run(&back, threads),
                one,
                "{rel} reversed, {threads} threads"
            );
        }
        let forward = run(&p, 1);
        assert_ne!(
            one.0, forward.0,
            "{rel}: reversing time changed no evidence"
        );
        std::fs::remove_file(&back).unwrap();
    }
    // Skipped only without ../shared/data (which says so).
    if let Some(n) = repeated {
        assert!(n > 0, "no repeated fact to share");
    }
}

/// A classic pcap copy of `p` whose packets carry their times in reverse:
/// the last packet read is the earliest.
fn time_reversed(p: &std::path::Path) -> std::path::PathBuf {
    let mut r = wardwatch_capture::CaptureReader::open(p).unwrap();
    let mut packets = Vec::new();
    while let Some(k) = r.next_packet().unwrap() {
        packets.push((k.ts_ns, k.linktype, k.orig_len, k.data.to_vec()));
    }
    let last = packets.iter().map(|k| k.0).max().unwrap();
    let first = packets.iter().map(|k| k.0).min().unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&packets[0].1.to_le_bytes());
    for (ts, _, orig, data) in &packets {
        let t = first + (last - ts);
        out.extend_from_slice(&((t / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((t % 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&orig.to_le_bytes());
        out.extend_from_slice(data);
    }
    let name = p.file_name().unwrap().to_string_lossy();
    let dest = std::env::temp_dir().join(format!("ww-reversed-{}-{name}.pcap", std::process::id()));
    std::fs::write(&dest, out).unwrap();
    dest
}

/// A DICOM association's later C-STOREs of the same SOP class repeat a
/// command the flow already showed: counted as repeated facts, not as facts
/// dropped (which tells the analyst something was lost).
#[test]
fn repeated_dimse_commands_are_repeats_not_losses() {
    let Some(p) =
        shared("pcap/medical/generated/dicom_echo_store_find_reject_port104__generated.pcapng")
    else {
        return;
    };
    let r = analyze_files(&[p], &EngineConfig::default())
        .unwrap()
        .report;
    assert_eq!(r.stats.observations_dropped, 0, "{:?}", r.stats);
    let stores = r
        .devices
        .iter()
        .flat_map(|d| &d.evidence)
        .filter(|e| e.value.starts_with("C-STORE-RQ"))
        .count();
    assert_eq!(stores, 1, "one C-STORE-RQ kept as evidence");
    assert!(r.stats.observations_repeated >= 1, "{:?}", r.stats);
}
