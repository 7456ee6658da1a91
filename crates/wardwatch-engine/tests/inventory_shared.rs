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
        assert_eq!(imac.os.as_deref(), Some("macOS"));
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
        assert!(c.os.as_deref().unwrap_or("").starts_with("Windows"));
    }
}
