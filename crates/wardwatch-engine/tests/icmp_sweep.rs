//! ICMP host discovery on a real capture (Debian's ping through a router
//! that drops what it does not hold, `tests/captures/make_icmp_sweep.py`):
//! a sender pinging many addresses within a minute, most unanswered, is a
//! sweep; a monitoring server pinging the hosts it knows (they answer) is
//! not. What each sender asked and what was answered is read from tshark.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Per sender, from tshark's echo requests: (distinct targets, targets
/// none of whose requests was answered, first request frame).
fn echoes(path: &std::path::Path) -> BTreeMap<String, (usize, usize, u64)> {
    let out = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            // Two passes: a request learns of its reply.
            "-2",
            "-Y",
            "icmp.type == 8",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "icmp.resp_in",
        ])
        .output()
        .expect("tshark is required: apt-get install tshark");
    assert!(out.status.success());
    let mut per: BTreeMap<String, (BTreeMap<String, bool>, u64)> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let frame: u64 = f[0].parse().unwrap();
        let e = per
            .entry(f[1].to_string())
            .or_insert((BTreeMap::new(), frame));
        e.1 = e.1.min(frame);
        *e.0.entry(f[2].to_string()).or_default() |= !f[3].is_empty();
    }
    per.into_iter()
        .map(|(src, (targets, first))| {
            let unanswered = targets.values().filter(|a| !**a).count();
            (src, (targets.len(), unanswered, first))
        })
        .collect()
}

#[test]
fn a_ping_sweep_is_found_and_a_monitoring_server_is_not() {
    let path = repo("tests/captures/icmp_sweep.pcap");
    let theirs = echoes(&path);
    // The capture as made: the sweeper and the monitoring server.
    assert_eq!(theirs["10.77.0.2"].0, 100);
    assert_eq!(theirs["10.77.0.3"], (70, 0, theirs["10.77.0.3"].2));
    let expected: BTreeSet<(String, String, u64)> = theirs
        .iter()
        .filter(|(_, (n, unanswered, _))| *n >= 64 && unanswered * 2 >= *n)
        .map(|(src, (n, unanswered, first))| {
            (
                src.clone(),
                format!("ICMP echo requests to {n} addresses, {unanswered} unanswered"),
                *first,
            )
        })
        .collect();
    assert_eq!(expected.len(), 1);
    for threads in [1, 2] {
        let r = common::report_with_threads(&path, threads);
        let got: BTreeSet<(String, String, u64)> = r
            .findings
            .iter()
            .filter(|f| f.rule == "icmp-sweep")
            .map(|f| {
                let summary = f.summary.split(", ").take(2).collect::<Vec<_>>().join(", ");
                let summary = summary.trim_start_matches("Host discovery: ").to_string();
                (f.ip.clone().unwrap(), summary, f.evidence[0].frame)
            })
            .collect();
        assert_eq!(got, expected, "threads {threads}");
        // Unanswered addresses are no devices.
        assert!(!r
            .devices
            .iter()
            .any(|d| d.ips.iter().any(|a| a == "10.78.0.50")));
    }
}
