//! Findings on the shared public captures: each capture that carries a
//! login, scan, tunnel or insecure service raises the expected finding on
//! the right host (checked against the addresses tshark shows for the
//! evidence frame), no password appears in the report, and captures of
//! ordinary traffic raise nothing of medium severity or above.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::shared;

use std::path::Path;
use std::process::Command;

use wardwatch_engine::{analyze_files, EngineConfig};
use wardwatch_model::Finding;

fn findings(p: &Path) -> (Vec<Finding>, String) {
    let out = analyze_files(&[p.to_path_buf()], &EngineConfig::default()).unwrap();
    // The file name may spell the password (ftp_login_admin_qwerty): only
    // what wardwatch wrote counts.
    let json = serde_json::to_string(&out.report)
        .unwrap()
        .replace(&*p.to_string_lossy(), "INPUT");
    (out.report.findings, json)
}

/// Source and destination addresses tshark shows for a frame.
fn tshark_addrs(p: &Path, frame: u64) -> (String, String) {
    let out = Command::new("tshark")
        .args(["-r", p.to_str().unwrap(), "-Y"])
        .arg(format!("frame.number=={frame}"))
        .args([
            "-T", "fields", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
        ])
        .output()
        .expect("tshark is required");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let f: Vec<&str> = line.split('\t').filter(|s| !s.is_empty()).collect();
    assert!(
        f.len() >= 2,
        "tshark shows no addresses for frame {frame}: {line:?}"
    );
    (f[0].to_string(), f[1].to_string())
}

#[test]
fn expected_findings_on_public_captures() {
    // (capture, kind, rule, device address, secret that must not appear)
    let cases: [(&str, &str, &str, &str, Option<&str>); 17] = [
        (
            "pcap/it/telnet_login__ndpi.pcap",
            "cleartext-credentials",
            "telnet-cleartext-login",
            "192.168.0.1",
            None,
        ),
        (
            "pcap/it/telnet_login__ndpi.pcap",
            "insecure-protocol",
            "telnet-service",
            "192.168.0.1",
            None,
        ),
        (
            "pcap/it/ftp_login_admin_qwerty__zeek.pcap",
            "cleartext-credentials",
            "weak-password",
            "192.168.10.188",
            Some("qwerty"),
        ),
        (
            "pcap/it/http_basic_auth__ndpi.pcap",
            "cleartext-credentials",
            "http-basic-cleartext-login",
            // The site client that sent its password to an internet server.
            "192.168.0.4",
            Some("fail2"),
        ),
        (
            "pcap/it/http_basic_auth_port8000__zeek.pcap",
            "cleartext-credentials",
            "weak-password",
            "172.24.133.205",
            None,
        ),
        (
            "pcap/formats/rawip4_http_basic_auth__zeek.pcap",
            "cleartext-credentials",
            "http-basic-cleartext-login",
            "172.24.133.205",
            Some("1:34"),
        ),
        (
            "pcap/it/http_form_login_dvwa__chrissanders.pcapng",
            "default-credentials",
            "http-form-default-login",
            "10.2.2.104",
            None,
        ),
        (
            "pcap/it/mqtt311_userpass__suricata.pcap",
            "default-credentials",
            "mqtt-default-login",
            "::1",
            None,
        ),
        (
            "pcap/it/nmap_syn_scan__ndpi.pcap",
            "port-scan",
            "vertical-scan",
            "172.16.0.8",
            None,
        ),
        (
            "pcap/it/nmap_version_scan__zeek.pcap",
            "port-scan",
            "arp-sweep",
            "192.168.1.71",
            None,
        ),
        (
            "pcap/it/dns_exfiltration__ndpi.pcap",
            "exfiltration",
            "dns-tunnel",
            "192.168.220.56",
            None,
        ),
        (
            "pcap/it/smb1__ndpi.pcap",
            "insecure-protocol",
            "smbv1",
            "10.128.0.243",
            None,
        ),
        (
            "pcap/it/smb1__ndpi.pcap",
            "legacy-os",
            "unsupported-os",
            "10.128.0.243",
            None,
        ),
        (
            // MSFT 5.0 and the parameter list of Windows Vista to 8.1, all
            // past their end of support.
            "pcap/it/dhcp_option60_msft__suricata.pcap",
            "legacy-os",
            "unsupported-os",
            "192.168.1.111",
            None,
        ),
        (
            // The iMac sharing its connection: its mDNS device information
            // says Darwin 17, macOS 10.13.
            "pcap/it/mixed_iphone_dhcp_mdns_ssdp_tls__ndpi.pcap",
            "legacy-os",
            "unsupported-os",
            "192.168.2.1",
            None,
        ),
        (
            "pcap/it/snmp_v1_trap__suricata.pcap",
            "default-credentials",
            "snmp-default-community",
            "192.168.0.2",
            None,
        ),
        (
            "pcap/it/snmp_v2c_get__suricata.pcap",
            "insecure-protocol",
            "snmp-v1-v2c",
            "10.144.246.161",
            Some("R0_C@cti"),
        ),
    ];
    let mut checked = 0;
    for (rel, kind, rule, ip, secret) in cases {
        let Some(p) = shared(rel) else { continue };
        let (fs, json) = findings(&p);
        let f = fs
            .iter()
            .find(|f| f.kind == kind && f.rule == rule && f.ip.as_deref() == Some(ip))
            .unwrap_or_else(|| {
                panic!(
                    "{rel}: no {kind}/{rule} on {ip} in {:#?}",
                    fs.iter()
                        .map(|f| (&f.kind, &f.rule, &f.ip))
                        .collect::<Vec<_>>()
                )
            });
        assert!(f.id.starts_with("f-") && !f.summary.is_empty() && !f.remediation.is_empty());
        if let Some(s) = secret {
            assert!(
                !json.contains(s),
                "{rel}: the secret {s:?} leaked into the report"
            );
        }
        // The evidence frame is a frame between the two parties tshark sees.
        if let (Some(ev), Some(peer)) = (f.evidence.first(), f.peer.as_deref()) {
            let (src, dst) = tshark_addrs(&p, ev.frame);
            let mut got = [src, dst];
            got.sort();
            let mut want = [ip.to_string(), peer.to_string()];
            want.sort();
            assert_eq!(
                got, want,
                "{rel}: evidence frame {} is not between {ip} and {peer}",
                ev.frame
            );
        }
        println!(
            "{rel}: {} {} {} on {ip}: {}",
            f.severity, kind, rule, f.summary
        );
        checked += 1;
    }
    println!("{checked} expected findings checked");
}

#[test]
fn ordinary_traffic_raises_nothing_serious() {
    let quiet = [
        "pcap/it/dhcp_hostname__zeek.pcap",
        "pcap/it/dhcp_option60_msft__suricata.pcap",
        "pcap/it/dns_a_aaaa_mx__suricata.pcap",
        "pcap/it/mdns__zeek.pcap",
        "pcap/it/mixed_iphone_dhcp_mdns_ssdp_tls__ndpi.pcap",
        "pcap/it/tls12_full_handshake__ndpi-443-curl.pcap",
        "pcap/it/tls13_firefox__ndpi.pcap",
        "pcap/it/tls13_clienthello_only__ndpi.pcapng",
        "pcap/it/mqtt_paho__zeek.pcap",
        "pcap/it/smb3__suricata.pcap",
        "pcap/it/ssdp_notify__suricata.pcap",
        "pcap/it/modbus_tcp__ndpi.pcap",
        "pcap/medical/hl7_mllp_adt_a01__ndpi.pcap",
        "pcap/medical/generated/dicom_echo_store_find_reject_port104__generated.pcapng",
        "pcap/medical/generated/hl7_mllp_adt_oru_port2575__generated.pcapng",
        "pcap/formats/vlan_qinq__zeek.pcap",
    ];
    for rel in quiet {
        let Some(p) = shared(rel) else { continue };
        let (mut fs, _) = findings(&p);
        // Two of them hold an unsupported operating system (a Windows 7/8
        // workstation, a macOS 10.13 iMac), as they should; nothing else.
        if rel.contains("dhcp_option60") || rel.contains("mixed_iphone") {
            fs.retain(|f| f.rule != "unsupported-os");
        }
        let loud = common::serious(&fs);
        assert!(loud.is_empty(), "{rel}: false alarms {loud:#?}");
    }
}

#[test]
fn findings_are_deterministic_and_suppressible() {
    let Some(p) = shared("pcap/it/telnet_login__ndpi.pcap") else {
        return;
    };
    let (a, _) = findings(&p);
    let (b, _) = findings(&p);
    assert_eq!(a, b);
    let cfg = EngineConfig {
        suppressions: wardwatch_detect::Suppressions::parse(
            "[[suppress]]\nrule = \"telnet-service\"\nreason = \"lab router, replaced in Q3\"\n",
        )
        .unwrap(),
        ..Default::default()
    };
    let out = analyze_files(&[p], &cfg).unwrap();
    let s = out
        .report
        .findings
        .iter()
        .find(|f| f.rule == "telnet-service")
        .unwrap();
    assert_eq!(s.status, "suppressed");
    assert!(s.remediation.contains("lab router"));
    let other = out
        .report
        .findings
        .iter()
        .find(|f| f.rule == "telnet-cleartext-login")
        .unwrap();
    assert_eq!(other.status, "new");
}

/// A site host's anonymous download from a public FTP mirror (active mode:
/// the mirror connects back), and an FTP server on the internet refusing a
/// login, are nothing the site has to mend.
#[test]
fn an_internet_servers_own_posture_raises_nothing() {
    for rel in [
        "pcap/it/ftp_anonymous_retr__zeek.pcap",
        "pcap/it/ftp_login_failed__ndpi.pcap",
    ] {
        let Some(p) = shared(rel) else { continue };
        let (fs, _) = findings(&p);
        assert!(
            fs.is_empty(),
            "{rel}: {:?}",
            fs.iter().map(|f| (&f.rule, &f.ip)).collect::<Vec<_>>()
        );
    }
}
