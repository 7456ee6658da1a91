//! ARP spoofing: two real tools (dsniff's arpspoof, ettercap) poisoning
//! caches on a bridged LAN of network namespaces, beside an ordinary
//! address handover (tests/captures/make_arpspoof.py). Each tool is found,
//! on its own address, with the addresses it took over; the handover,
//! which tshark's expert analysis calls a duplicate address, raises
//! nothing. The claims the rule reads are checked against tshark's ARP
//! fields; synthetic captures check what must stay quiet.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use wardwatch_engine::{analyze_files, EngineConfig};

fn tshark(p: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    common::tshark_rows(p, filter, fields)
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn spoofing_tools_are_found_and_a_handover_is_not() {
    let p = common::repo("tests/captures/arpspoof.pcap");
    for threads in [1, 2] {
        let cfg = EngineConfig {
            threads,
            ..Default::default()
        };
        let out = analyze_files(std::slice::from_ref(&p), &cfg).unwrap();
        // The claims, per address and MAC, are tshark's: every ARP request
        // and reply names its sender's address at its sender's MAC.
        let mut theirs: BTreeMap<(String, String), u64> = BTreeMap::new();
        for f in tshark(&p, "arp", &["arp.src.proto_ipv4", "arp.src.hw_mac"]) {
            *theirs.entry((f[0].clone(), f[1].clone())).or_default() += 1;
        }
        let mut ours: BTreeMap<(String, String), u64> = BTreeMap::new();
        for ((vlan, addr), claimants) in out.digest.claims.iter().filter(|(k, _)| k.1.is_ipv4()) {
            assert_eq!(*vlan, None);
            for c in claimants {
                ours.insert((addr.to_string(), mac_text(&c.mac)), c.claims);
            }
        }
        assert_eq!(ours, theirs, "{threads} threads");
        assert_eq!(ours.len(), 11, "{ours:?}");

        let spoofs: Vec<_> = out
            .report
            .findings
            .iter()
            .filter(|f| f.rule == "arp-spoofing")
            .collect();
        let found: Vec<(Option<&str>, Vec<&str>, &str)> = spoofs
            .iter()
            .map(|f| {
                (
                    f.ip.as_deref(),
                    f.peers.iter().map(String::as_str).collect(),
                    f.kind.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    Some("10.9.0.66"),
                    vec!["10.9.0.1", "10.9.0.20"],
                    "man-in-the-middle"
                ),
                (
                    Some("10.9.0.77"),
                    vec!["10.9.0.5", "10.9.0.20"],
                    "man-in-the-middle"
                ),
            ],
            "{threads} threads"
        );
        for (f, mac) in spoofs
            .iter()
            .zip(["02:00:0a:09:00:42", "02:00:0a:09:00:4d"])
        {
            assert_eq!(f.severity, "high");
            // On the tool's own device, the one holding its address.
            let own = out
                .report
                .devices
                .iter()
                .find(|d| d.ips.iter().any(|a| Some(a) == f.ip.as_ref()))
                .unwrap();
            assert_eq!(f.device.as_ref(), Some(&own.id));
            assert_eq!(own.mac.as_deref(), Some(mac));
            assert!(f.count >= 6, "{f:?}");
            assert!(f.summary.contains(mac), "{}", f.summary);
            // Each evidence frame is, by tshark, a reply from the tool's
            // own MAC naming a taken address at that MAC.
            assert_eq!(f.evidence.len(), 2);
            for e in &f.evidence {
                let row = &tshark(
                    &p,
                    &format!("frame.number=={}", e.frame),
                    &[
                        "arp.opcode",
                        "eth.src",
                        "arp.src.hw_mac",
                        "arp.src.proto_ipv4",
                    ],
                )[0];
                assert_eq!(row[..3], ["2", mac, mac], "frame {}", e.frame);
                assert!(f.peers.contains(&row[3]), "frame {}: {row:?}", e.frame);
            }
        }
        // tshark's expert analysis calls the handover of 10.9.0.30 a
        // duplicate address; no finding names it.
        let dup = tshark(
            &p,
            "arp.duplicate-address-detected",
            &["arp.src.proto_ipv4"],
        );
        assert!(dup.iter().any(|r| r[0] == "10.9.0.30"), "{dup:?}");
        let json = serde_json::to_string(&out.report.findings).unwrap();
        assert!(!json.contains("10.9.0.30"), "{json}");
        assert!(!json.contains("02:00:0a:09:01:1e"), "{json}");
    }
}

/// IPv6 neighbour spoofing: bettercap's ndp.spoof telling two
/// workstations the router's address is at its MAC, beside an address
/// handed over and announced to all nodes (tests/captures/make_ndpspoof.py).
/// The claims are tshark's neighbour discovery fields; bettercap is found
/// on its own address, its unasked advertisements counted as tshark's
/// timestamps give them; the announcement raises nothing.
#[test]
fn neighbour_spoofing_is_found_and_an_announcement_is_not() {
    let p = common::repo("tests/captures/ndpspoof.pcap");
    let tool = "02:00:0a:0a:00:66";
    // By tshark: solicitations claim their source address at their source
    // link-layer address, advertisements their target at theirs (else the
    // frame's source), hop limit 255 only.
    let rows = tshark(
        &p,
        "(icmpv6.type==135 or icmpv6.type==136) and ipv6.hlim==255",
        &[
            "icmpv6.type",
            "ipv6.src",
            "icmpv6.nd.ns.target_address",
            "icmpv6.nd.na.target_address",
            "icmpv6.opt.linkaddr",
            "eth.src",
            "frame.time_epoch",
            "frame.number",
        ],
    );
    let mut theirs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in &rows {
        let mac = if r[4].is_empty() { &r[5] } else { &r[4] };
        let addr = if r[0] == "135" { &r[1] } else { &r[3] };
        if addr != "::" {
            *theirs.entry((addr.clone(), mac.clone())).or_default() += 1;
        }
    }
    // bettercap's advertisements for the router's address that no
    // solicitation for it preceded within a second.
    let ns_at: Vec<f64> = rows
        .iter()
        .filter(|r| r[0] == "135" && r[2] == "fd00:9::1")
        .map(|r| r[6].parse().unwrap())
        .collect();
    let unasked: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[0] == "136" && r[5] == tool && r[3] == "fd00:9::1")
        .filter(|r| {
            let t: f64 = r[6].parse().unwrap();
            !ns_at.iter().any(|&n| n <= t && t - n <= 1.0)
        })
        .collect();
    assert!(unasked.len() >= 10, "{unasked:?}");
    for threads in [1, 2] {
        let cfg = EngineConfig {
            threads,
            ..Default::default()
        };
        let out = analyze_files(std::slice::from_ref(&p), &cfg).unwrap();
        let mut ours: BTreeMap<(String, String), u64> = BTreeMap::new();
        for ((vlan, addr), claimants) in out.digest.claims.iter() {
            assert_eq!((*vlan, addr.is_ipv6()), (None, true));
            for c in claimants {
                ours.insert((addr.to_string(), mac_text(&c.mac)), c.claims);
            }
        }
        assert_eq!(ours, theirs, "{threads} threads");
        let found: Vec<_> = out
            .report
            .findings
            .iter()
            .filter(|f| f.kind == "man-in-the-middle")
            .collect();
        assert_eq!(found.len(), 1, "{:?}", out.report.findings);
        let f = found[0];
        assert_eq!(
            (f.rule.as_str(), f.ip.as_deref(), f.severity.as_str()),
            ("ndp-spoofing", Some("fd00:9::66"), "high")
        );
        assert_eq!(f.peers, ["fd00:9::1"]);
        assert_eq!(f.count, unasked.len() as u64);
        assert_eq!(f.evidence[0].frame.to_string(), unasked[0][7]);
        assert!(
            f.summary
                .contains("held by 02:00:0a:0a:00:01) to fd00:9::11, fd00:9::12"),
            "{}",
            f.summary
        );
        let own = out
            .report
            .devices
            .iter()
            .find(|d| Some(&d.id) == f.device.as_ref())
            .unwrap();
        assert_eq!(own.mac.as_deref(), Some(tool));
        // The address handed over and announced names no finding.
        let json = serde_json::to_string(&out.report.findings).unwrap();
        assert!(!json.contains("fd00:9::50"), "{json}");
    }
}

/// An ARP message from `sha`/`spa` to `tha`/`tpa` (op 1 request, 2
/// reply), its frame sent by `src` to `dst`.
fn arp(op: u8, src: [u8; 6], dst: [u8; 6], sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, op]);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa);
    f.extend_from_slice(if op == 1 { &[0; 6] } else { &dst });
    f.extend_from_slice(&tpa);
    f
}

const BROADCAST: [u8; 6] = [0xff; 6];
const GATEWAY: [u8; 4] = [10, 1, 0, 1];
const CLIENT: [u8; 4] = [10, 1, 0, 20];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 1, 0, 0x20];

/// The arp-spoofing findings of a capture of `frames`: (address, peers,
/// whether a device is named).
fn spoofing(name: &str, frames: Vec<((u32, u32), Vec<u8>)>) -> Vec<(String, Vec<String>, bool)> {
    common::findings_of(&format!("arpspoof-{name}"), frames)
        .into_iter()
        .filter(|f| f.rule == "arp-spoofing")
        .map(|f| (f.ip.unwrap_or_default(), f.peers, f.device.is_some()))
        .collect()
}

/// The gateway at `owner` answering the client's request at second `s`,
/// then `claimant` telling the client, unasked, the gateway is at its MAC
/// at seconds `s + 2`, `s + 4` … (`n` times).
fn contest(owner: [u8; 6], claimant: [u8; 6], n: u32) -> Vec<((u32, u32), Vec<u8>)> {
    let t0 = 1_700_000_000;
    let mut frames = vec![
        (
            (t0, 0),
            arp(1, CLIENT_MAC, BROADCAST, CLIENT_MAC, CLIENT, GATEWAY),
        ),
        ((t0, 300), arp(2, owner, CLIENT_MAC, owner, GATEWAY, CLIENT)),
    ];
    for i in 1..=n {
        frames.push((
            (t0 + 2 * i, 0),
            arp(2, claimant, CLIENT_MAC, claimant, GATEWAY, CLIENT),
        ));
    }
    frames
}

#[test]
fn only_unasked_repeated_claims_against_a_holder_are_spoofing() {
    let owner = [0x00, 0x1b, 0x21, 0x10, 0x20, 0x30];
    let tool = [0x3c, 0x52, 0x82, 0x01, 0x02, 0x03];
    // Three unasked replies against the gateway's own: spoofing, named by
    // the address taken over but on no device (the tool never claimed one
    // of its own; the gateway's device is the victim's).
    assert_eq!(
        spoofing("three", contest(owner, tool, 3)),
        vec![("10.1.0.1".to_string(), vec!["10.1.0.1".to_string()], false)]
    );
    // Two: not yet.
    assert_eq!(spoofing("two", contest(owner, tool, 2)), vec![]);
    // A second port of the gateway's card (a Linux bond balancing what it
    // receives tells clients so, unasked).
    let port2 = [0x00, 0x1b, 0x21, 0x10, 0x20, 0x31];
    assert_eq!(spoofing("bond", contest(owner, port2, 6)), vec![]);
    // Routers handing a virtual address between them: VRRP's virtual MAC.
    let vrrp = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x07];
    assert_eq!(spoofing("vrrp", contest(owner, vrrp, 6)), vec![]);
    assert_eq!(spoofing("vrrp-owner", contest(vrrp, tool, 6)), vec![]);
    // Nobody else claims the address: an owner announcing itself.
    let mut alone = contest(owner, tool, 6);
    alone.remove(1);
    assert_eq!(spoofing("alone", alone), vec![]);
    // A new machine taking the address over: five gratuitous replies (its
    // own address as target; a cluster failing over sends as many), then
    // answers to requests.
    let t0 = 1_700_000_100;
    let mut handover = contest(owner, tool, 0);
    for i in 0..5 {
        handover.push(((t0 + i, 0), arp(2, tool, BROADCAST, tool, GATEWAY, GATEWAY)));
    }
    for i in 10..16 {
        handover.push((
            (t0 + i, 500_000),
            arp(1, CLIENT_MAC, BROADCAST, CLIENT_MAC, CLIENT, GATEWAY),
        ));
        handover.push((
            (t0 + i, 800_000),
            arp(2, tool, CLIENT_MAC, tool, GATEWAY, CLIENT),
        ));
    }
    assert_eq!(spoofing("handover", handover), vec![]);
}
