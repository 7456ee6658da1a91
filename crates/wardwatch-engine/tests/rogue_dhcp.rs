//! A rogue DHCP server (dnsmasq as a consumer router) answering a client
//! beside the site's two servers, which answer alike (a failover pair):
//! tests/captures/make_dhcp_rogue.py. The rogue is found, on its own
//! address, naming both servers it competed with, its evidence its first
//! answer by tshark; the pair raises nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

#[test]
fn a_rogue_dhcp_server_is_found_and_a_failover_pair_is_not() {
    let p = common::repo("tests/captures/dhcp_rogue.pcap");
    for threads in [1, 2] {
        let r = common::report_with_threads(&p, threads);
        let found: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.kind == "man-in-the-middle")
            .collect();
        assert_eq!(found.len(), 1, "{:?}", r.findings);
        let f = found[0];
        assert_eq!(
            (f.rule.as_str(), f.ip.as_deref(), f.severity.as_str()),
            ("rogue-dhcp-server", Some("192.168.50.1"), "high")
        );
        assert_eq!(f.peers, ["10.8.0.2", "10.8.0.3"]);
        assert!(
            f.summary
                .contains("gives 192.168.50.0/24, router 192.168.50.1, DNS 192.168.50.1"),
            "{}",
            f.summary
        );
        // The evidence: by tshark, an OFFER from the rogue, its first answer.
        let row = Command::new("tshark")
            .args(["-r", p.to_str().unwrap(), "-Y"])
            .arg(format!("frame.number=={}", f.evidence[0].frame))
            .args(["-T", "fields", "-e", "ip.src", "-e", "dhcp.option.dhcp"])
            .output()
            .expect("tshark is required");
        assert_eq!(
            String::from_utf8(row.stdout).unwrap().trim(),
            "192.168.50.1\t2"
        );
        let first = Command::new("tshark")
            .args(["-r", p.to_str().unwrap(), "-Y", "ip.src==192.168.50.1"])
            .args(["-T", "fields", "-e", "frame.number"])
            .output()
            .unwrap();
        let first = String::from_utf8(first.stdout).unwrap();
        assert_eq!(
            first.lines().next(),
            Some(f.evidence[0].frame.to_string().as_str())
        );
        // It answered one client twice (OFFER, ACK).
        assert_eq!(f.count, 2);
    }
}
