//! A site on public address space that nobody configured: its hosts' own
//! packets (a TTL no router lowered, from a MAC that carries no other
//! address) make them the site's; internet servers behind the router, or
//! answered for by a proxy, stay the internet's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{frame, tcp, udp};
use wardwatch_engine::{analyze_files, EngineConfig};
use wardwatch_model::Report;

const HOST: [u8; 6] = [0x00, 0x1d, 0x09, 0, 0, 1];
const ROUTER: [u8; 6] = [0x00, 0x1b, 0x21, 0, 0, 0xfe];

/// A question and its answer: `a` asks `b` on UDP `port`; each side sends
/// with its own TTL.
fn exchange(a: ([u8; 6], &str, u8), b: ([u8; 6], &str, u8), port: u16) -> [Vec<u8>; 2] {
    [
        frame((a.0, a.1), (b.0, b.1), a.2, 17, &udp(40000, port, b"q")),
        frame((b.0, b.1), (a.0, a.1), b.2, 17, &udp(port, 40000, b"a")),
    ]
}

/// A TCP handshake: `a` connects to `b`'s `port`.
fn connect(a: ([u8; 6], &str, u8), b: ([u8; 6], &str, u8), port: u16) -> [Vec<u8>; 3] {
    [
        frame((a.0, a.1), (b.0, b.1), a.2, 6, &tcp(50000, port, 0x02, &[])),
        frame((b.0, b.1), (a.0, a.1), b.2, 6, &tcp(port, 50000, 0x12, &[])),
        frame((a.0, a.1), (b.0, b.1), a.2, 6, &tcp(50000, port, 0x10, &[])),
    ]
}

fn run(name: &str, frames: Vec<Vec<u8>>) -> Report {
    let t0 = 1_700_000_000;
    let p = std::env::temp_dir().join(format!("ww-site-{}-{name}.pcap", std::process::id()));
    let stamped = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| ((t0 + i as u32, 0), f));
    std::fs::write(&p, common::pcap(stamped)).unwrap();
    let r = analyze_files(std::slice::from_ref(&p), &EngineConfig::default())
        .unwrap()
        .report;
    std::fs::remove_file(&p).unwrap();
    r
}

/// Each device's addresses and MAC, and whether it carries the evidence
/// that makes a public address the site's.
fn devices(r: &Report) -> Vec<(Vec<String>, Option<String>, bool)> {
    r.devices
        .iter()
        .map(|d| {
            let learned = d.evidence.iter().any(|e| e.field == "site");
            (d.ips.clone(), d.mac.clone(), learned)
        })
        .collect()
}

#[test]
fn a_host_on_public_addresses_is_the_sites_and_its_peers_are_not() {
    let host = (HOST, "141.142.228.5", 64);
    let mut frames = Vec::new();
    // Two internet servers behind the router (their TTLs lowered), and one
    // internet client reaching the host's Telnet port.
    frames.extend(exchange(host, (ROUTER, "192.150.187.43", 47), 53));
    frames.extend(connect(host, (ROUTER, "8.8.4.4", 118), 443));
    frames.extend(connect((ROUTER, "45.33.32.156", 50), host, 23));
    let r = run("public", frames);
    assert_eq!(
        devices(&r),
        vec![(
            vec!["141.142.228.5".to_string()],
            Some("00:1d:09:00:00:01".to_string()),
            true
        )]
    );
    let exposed: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "inbound-from-internet")
        .map(|f| (f.ip.clone(), f.peer.clone(), f.severity.as_str()))
        .collect();
    assert_eq!(
        exposed,
        vec![(
            Some("141.142.228.5".to_string()),
            Some("45.33.32.156".to_string()),
            "critical"
        )]
    );
}

#[test]
fn a_proxy_answering_for_internet_servers_teaches_nothing() {
    // A transparent proxy (or a NAT that re-originates connections) answers
    // for internet servers with its own TTL, from the MAC that also carries
    // its own address: those servers are not the site's.
    let host = (HOST, "10.0.0.5", 128);
    let mut frames = Vec::new();
    frames.extend(exchange(host, (ROUTER, "10.0.0.1", 64), 53));
    frames.extend(connect(host, (ROUTER, "93.184.216.34", 64), 80));
    let r = run("proxy", frames);
    let ips: Vec<_> = devices(&r).into_iter().flat_map(|d| d.0).collect();
    assert!(ips.contains(&"10.0.0.5".to_string()), "{ips:?}");
    assert!(!ips.contains(&"93.184.216.34".to_string()), "{ips:?}");
    // Nor does a public address whose packets came through a router.
    let frames = exchange(
        (HOST, "141.142.228.5", 63),
        (ROUTER, "192.150.187.43", 47),
        53,
    );
    assert_eq!(devices(&run("routed", frames.to_vec())), vec![]);
}

#[test]
fn a_dual_stack_host_keeps_its_mac_with_its_global_ipv6_address() {
    // Private IPv4 and global IPv6 addresses on one MAC: one host, not a
    // router fronting internet addresses; twelve temporary IPv6 addresses
    // over the days (more than the eight private addresses that make a MAC
    // a router's) change nothing.
    let mut frames = Vec::new();
    frames.extend(exchange(
        (HOST, "10.0.0.5", 64),
        (ROUTER, "10.0.0.1", 64),
        53,
    ));
    let internet = (ROUTER, "2a00:800:1010::1", 58);
    frames.extend(connect((HOST, "2a00:d40:1:3::5", 64), internet, 443));
    let temporary: Vec<String> = (0..12)
        .map(|i| format!("2a00:d40:1:3::{:x}", 0x100 + i))
        .collect();
    for t in &temporary {
        frames.extend(connect((HOST, t, 64), internet, 443));
    }
    let r = run("dual", frames);
    let host = r
        .devices
        .iter()
        .find(|d| d.ips.contains(&"10.0.0.5".to_string()))
        .expect("the host");
    assert_eq!(host.mac.as_deref(), Some("00:1d:09:00:00:01"));
    assert_eq!(host.ips.len(), 14, "{:?}", host.ips);
    assert_eq!(host.ips[..2], ["10.0.0.5", "2a00:d40:1:3::5"]);
    // The router and the host, nothing else.
    assert_eq!(r.devices.len(), 2);
    assert!(!r
        .devices
        .iter()
        .any(|d| d.ips.contains(&"2a00:800:1010::1".to_string())));
}

#[test]
fn shared_captures_of_public_sites_name_their_hosts() {
    // VLAN-tagged HTTP between a campus host and a web server; an IPv6
    // FTP client; an NFLOG capture without MACs (nothing learned: only the
    // private VirtualBox guest).
    let cases = [
        (
            "pcap/formats/vlan_8021q_http__zeek.pcap",
            vec!["141.142.228.5"],
        ),
        (
            "pcap/it/ftp_login_failed__ndpi.pcap",
            vec!["2a00:d40:1:3:192:12:193:11"],
        ),
        ("pcap/formats/nflog_http__zeek.pcap", vec!["10.0.2.15"]),
    ];
    for (rel, want) in cases {
        let Some(p) = common::shared(rel) else {
            continue;
        };
        let r = analyze_files(&[p], &EngineConfig::default())
            .unwrap()
            .report;
        let ips: Vec<_> = r.devices.iter().flat_map(|d| d.ips.clone()).collect();
        assert_eq!(ips, want, "{rel}");
    }
}
