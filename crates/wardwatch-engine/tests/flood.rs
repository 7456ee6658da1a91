//! Floods: hping3's SYN flood from forged sources and its ping flood
//! (tests/captures/make_flood.py), beside a monitor's pings, a burst of
//! completed connections and a port scan. Each flood is found on its
//! target, with per-second counts equal to tshark's, the same at 1 and 2
//! workers; the ordinary traffic raises no flood. Synthetic captures at
//! the default threshold check what must stay quiet.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use wardwatch_engine::{analyze_files, EngineConfig};

/// Frames per second (Unix second) of `filter`, by tshark.
fn per_second(p: &Path, filter: &str) -> BTreeMap<i64, u64> {
    let out = Command::new("tshark")
        .args(["-r", p.to_str().unwrap(), "-Y", filter])
        .args(["-T", "fields", "-e", "frame.time_epoch"])
        .output()
        .expect("tshark is required");
    assert!(out.status.success());
    let mut m = BTreeMap::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let secs: i64 = l.split('.').next().unwrap().parse().unwrap();
        *m.entry(secs).or_default() += 1;
    }
    m
}

fn config(flood_per_s: u64, threads: usize) -> EngineConfig {
    let mut cfg = EngineConfig {
        threads,
        ..Default::default()
    };
    cfg.detect_config.flood_per_s = flood_per_s;
    cfg
}

#[test]
fn hping3_floods_are_found_with_tsharks_counts() {
    let p = common::repo("tests/captures/flood.pcap");
    // The capture's floods run at about 600 a second (a tenth of a real
    // one, to keep it small): the threshold is lowered to match.
    let syns = per_second(
        &p,
        "ip.dst==10.7.0.5 && tcp.dstport==2575 && tcp.flags.syn==1 && tcp.flags.ack==0 && !(ip.src==10.7.0.66)",
    );
    let pings = per_second(&p, "ip.dst==10.7.0.5 && icmp.type==8");
    let heavy = |m: &BTreeMap<i64, u64>| -> Vec<(i64, u64)> {
        m.iter()
            .filter(|(_, n)| **n >= 400)
            .map(|(s, n)| (*s, *n))
            .collect()
    };
    let (syn_heavy, ping_heavy) = (heavy(&syns), heavy(&pings));
    assert_eq!(
        (syn_heavy.len(), ping_heavy.len()),
        (2, 3),
        "{syns:?} {pings:?}"
    );
    let mut reports = Vec::new();
    for threads in [1, 2] {
        let out = analyze_files(std::slice::from_ref(&p), &config(400, threads)).unwrap();
        // The followed seconds of each flood are tshark's counts.
        for (proto, want) in [(6u8, &syn_heavy), (1, &ping_heavy)] {
            let (_, load) = out
                .digest
                .floods
                .iter()
                .find(|(k, _)| **k == ("10.7.0.5".parse().unwrap(), proto))
                .unwrap();
            let mut ours: Vec<(i64, u64)> = load
                .seconds
                .iter()
                .filter(|s| s.least() >= 400)
                .map(|s| (s.sec, s.count))
                .collect();
            ours.sort_unstable();
            assert_eq!(&ours, want, "protocol {proto}, {threads} threads");
        }
        let floods: Vec<_> = out
            .report
            .findings
            .iter()
            .filter(|f| f.kind == "denial-of-service")
            .map(|f| {
                (
                    f.rule.clone(),
                    f.ip.clone().unwrap(),
                    f.peers.clone(),
                    f.severity.clone(),
                    f.count,
                )
            })
            .collect();
        let sum = |h: &[(i64, u64)]| h.iter().map(|x| x.1).sum::<u64>();
        assert_eq!(
            floods,
            vec![
                (
                    "icmp-flood".to_string(),
                    "10.7.0.5".to_string(),
                    vec!["10.7.0.66".to_string()],
                    "high".to_string(),
                    sum(&ping_heavy)
                ),
                (
                    "syn-flood".to_string(),
                    "10.7.0.5".to_string(),
                    vec![],
                    "high".to_string(),
                    sum(&syn_heavy)
                ),
            ],
            "{threads} threads"
        );
        let syn = out
            .report
            .findings
            .iter()
            .find(|f| f.rule == "syn-flood")
            .unwrap();
        assert!(syn.summary.contains("port 2575"), "{}", syn.summary);
        assert!(syn.summary.contains("forged sources"), "{}", syn.summary);
        // The evidence is a SYN of the flood's second second.
        let e = &syn.evidence[0];
        let sec = syn_heavy[1].0;
        let row = Command::new("tshark")
            .args(["-r", p.to_str().unwrap(), "-Y"])
            .arg(format!("frame.number=={}", e.frame))
            .args([
                "-T",
                "fields",
                "-e",
                "frame.time_epoch",
                "-e",
                "tcp.flags.syn",
                "-e",
                "tcp.dstport",
            ])
            .output()
            .unwrap();
        let row = String::from_utf8(row.stdout).unwrap();
        assert!(row.starts_with(&format!("{sec}.")), "{row}");
        assert!(row.trim_end().ends_with("1\t2575"), "{row}");
        // The scan is still a scan, and no flood.
        assert!(out
            .report
            .findings
            .iter()
            .any(|f| f.rule == "vertical-scan"));
        let mut r = serde_json::to_value(&out.report).unwrap();
        r["generated_at"] = serde_json::Value::Null;
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1]);
    // At the default threshold (1,000 a second), these rates are no flood.
    let out = analyze_files(std::slice::from_ref(&p), &EngineConfig::default()).unwrap();
    assert!(
        out.report
            .findings
            .iter()
            .all(|f| f.kind != "denial-of-service"),
        "{:?}",
        out.report.findings
    );
}

const TARGET: [u8; 4] = [10, 2, 0, 5];

/// Floods found in a capture of `frames` at the default thresholds:
/// (rule, target).
fn floods(name: &str, frames: Vec<((u32, u32), Vec<u8>)>) -> Vec<(String, String)> {
    common::findings_of(&format!("flood-{name}"), frames)
        .into_iter()
        .filter(|f| f.kind == "denial-of-service")
        .map(|f| (f.rule, f.ip.unwrap_or_default()))
        .collect()
}

/// `per_s` SYNs a second for `secs` seconds to `TARGET`, from `src(i)` and
/// port `port(i)` for the i-th; completed (SYN-ACK and ACK) when `complete`.
fn syns(
    per_s: u32,
    secs: u32,
    src: impl Fn(u32) -> [u8; 4],
    port: impl Fn(u32) -> u16,
    complete: bool,
) -> Vec<((u32, u32), Vec<u8>)> {
    let t0 = 1_700_000_000;
    let mut frames = Vec::new();
    for i in 0..per_s * secs {
        let at = (t0 + i / per_s, (i % per_s) * (1_000_000 / per_s));
        let sp = 1024 + (i % 60_000) as u16;
        frames.push((
            at,
            common::ipv4_tcp(src(i), TARGET, sp, port(i), i, 0x02, &[]),
        ));
        if complete {
            frames.push((
                at,
                common::ipv4_tcp(TARGET, src(i), port(i), sp, 7, 0x12, &[]),
            ));
            frames.push((
                at,
                common::ipv4_tcp(src(i), TARGET, sp, port(i), i + 1, 0x10, &[]),
            ));
        }
    }
    frames
}

#[test]
fn only_uncompleted_attempts_on_one_port_above_the_threshold_are_a_flood() {
    let forged = |i: u32| {
        [
            100 + (i % 100) as u8,
            (i / 100 % 250) as u8,
            (i / 25_000) as u8,
            7,
        ]
    };
    // 1,500 SYNs a second for three seconds on port 443 from forged
    // sources: a SYN flood.
    assert_eq!(
        floods("flood", syns(1500, 3, forged, |_| 443, false)),
        vec![("syn-flood".to_string(), "10.2.0.5".to_string())]
    );
    // The same for one second only: not sustained.
    assert_eq!(
        floods("short", syns(1500, 1, forged, |_| 443, false)),
        vec![]
    );
    // 900 a second: below the threshold.
    assert_eq!(floods("slow", syns(900, 3, forged, |_| 443, false)), vec![]);
    // A busy server: 1,500 connections a second that complete.
    let clients = |i: u32| [10, 2, 1 + (i % 200) as u8, 9];
    assert_eq!(
        floods("busy", syns(1500, 3, clients, |_| 443, true)),
        vec![]
    );
    // A scan of 1,500 ports a second: a scan, no flood.
    let scanner = |_| [10, 2, 0, 66];
    assert_eq!(
        floods(
            "scan",
            syns(1500, 3, scanner, |i| 1 + (i % 4500) as u16, false)
        ),
        vec![]
    );
}

/// `per_s` UDP datagrams a second for `secs` seconds from 10.2.0.66 port
/// `sport(i)` to `TARGET` port 5004, each answered when `answered`.
fn datagrams(
    per_s: u32,
    secs: u32,
    sport: impl Fn(u32) -> u16,
    answered: bool,
) -> Vec<((u32, u32), Vec<u8>)> {
    let t0 = 1_700_000_000;
    let src = [10, 2, 0, 66];
    let mut frames = Vec::new();
    for i in 0..per_s * secs {
        let at = (t0 + i / per_s, (i % per_s) * (1_000_000 / per_s));
        let sp = sport(i);
        // (Each its own IP identification: copies within 2 ms would be
        // dropped as a mirror's duplicates.)
        let id = i as u16;
        let out = common::udp(sp, 5004, b"x");
        frames.push((at, common::ipv4(src, TARGET, 17, id, 0x4000, &out)));
        if answered {
            let back = common::udp(5004, sp, b"y");
            frames.push((at, common::ipv4(TARGET, src, 17, id, 0x4000, &back)));
        }
    }
    frames
}

#[test]
fn only_unanswered_datagrams_far_above_a_streams_rate_are_a_udp_flood() {
    // 25,000 a second for three seconds to one port, one flow; 22,000 a
    // second for two, a flow per datagram (each its own source port).
    let flood = vec![("udp-flood".to_string(), "10.2.0.5".to_string())];
    assert_eq!(
        floods("udp-one-flow", datagrams(25_000, 3, |_| 40_000, false)),
        flood
    );
    assert_eq!(
        floods(
            "udp-many-flows",
            datagrams(22_000, 2, |i| 1024 + i as u16, false)
        ),
        flood
    );
    // A camera's stream to its recorder (one-way) at 3,000 a second.
    assert_eq!(
        floods("stream", datagrams(3_000, 3, |_| 40_000, false)),
        vec![]
    );
    // As many datagrams, answered: an exchange.
    assert_eq!(
        floods("answered", datagrams(25_000, 3, |_| 40_000, true)),
        vec![]
    );
}
