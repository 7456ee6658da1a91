//! Counters add up the same whatever the number of shards, including for a
//! fragmented datagram whose reassembled transport header is broken (every
//! shard reassembles it; only one may count it); and behaviour findings
//! survive a full flow digest at one shard and at two.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ipv4, ipv4_tcp, pcap, PSH_ACK, RST};
use wardwatch_engine::{analyze_files, EngineConfig};

fn frame(id: u16, frag_field: u16, payload: &[u8]) -> Vec<u8> {
    ipv4([10, 0, 0, 1], [10, 0, 0, 2], 6, id, frag_field, payload)
}

#[test]
fn broken_reassembled_datagram_counted_once() {
    // A "TCP" datagram of 16 bytes in two fragments: too short for a header.
    let frames = [frame(7, 0x2000, &[0xAB; 8]), frame(7, 0x0001, &[0xCD; 8])];
    let capture = pcap(
        frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| ((1_700_000_000, i as u32), f)),
    );
    let path = std::env::temp_dir().join(format!("ww-shards-{}.pcap", std::process::id()));
    std::fs::write(&path, &capture).unwrap();
    let mut seen = Vec::new();
    for threads in [1, 2, 3] {
        let cfg = EngineConfig {
            threads,
            ..Default::default()
        };
        let s = analyze_files(std::slice::from_ref(&path), &cfg)
            .unwrap()
            .report
            .stats;
        seen.push((s.packets, s.decode_errors, s.fragments_reassembled));
    }
    let _ = std::fs::remove_file(&path);
    assert_eq!(seen, vec![(2, 1, 1); 3]);
}

/// 160 ordinary conversations between two site hosts, each ended by a
/// reset, one frame a millisecond from `t0`: they fill a flow digest of 64
/// pairs.
fn ordinary_conversations(t0: u32) -> Vec<((u32, u32), Vec<u8>)> {
    let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    (1000..1160u16)
        .flat_map(|port| {
            [
                ipv4_tcp(a, b, 40_000, port, 1, PSH_ACK, &[7; 100]),
                ipv4_tcp(b, a, port, 40_000, 1, PSH_ACK, &[8; 100]),
                ipv4_tcp(a, b, 40_000, port, 101, RST, &[]),
            ]
        })
        .enumerate()
        .map(|(i, f)| {
            let i = i as u32;
            ((t0 + i / 1000, (i % 1000) * 1000), f)
        })
        .collect()
}

/// What `pick` takes of the reports on `frames` at 1 and 2 threads, with a
/// flow digest of 64 pairs (`tune` may set more), which the frames fill: at
/// least 96 flows are not kept.
fn with_a_full_digest<T>(
    name: &str,
    frames: Vec<((u32, u32), Vec<u8>)>,
    tune: impl Fn(&mut EngineConfig),
    pick: impl Fn(&wardwatch_model::Report) -> T,
) -> Vec<T> {
    let path = std::env::temp_dir().join(format!("ww-{name}-{}.pcap", std::process::id()));
    std::fs::write(&path, pcap(frames)).unwrap();
    let mut seen = Vec::new();
    for threads in [1, 2] {
        let mut cfg = EngineConfig {
            threads,
            ..Default::default()
        };
        cfg.detect_config.max_pairs = 64;
        tune(&mut cfg);
        let report = analyze_files(std::slice::from_ref(&path), &cfg)
            .unwrap()
            .report;
        // The digest was full: most of the ordinary conversations were not kept.
        assert!(
            report.stats.digest_dropped >= 96,
            "{threads} threads: {:?}",
            report.stats
        );
        seen.push(pick(&report));
    }
    let _ = std::fs::remove_file(&path);
    seen
}

#[test]
fn an_upload_and_an_exposed_service_are_found_after_the_flow_digest_filled() {
    let t0 = 1_700_000_000;
    let mut frames = ordinary_conversations(t0);
    // Then a site host sends 1.4 MB to an internet address, and an internet
    // address reaches a site host's SSH service (one frame a millisecond).
    let (host, ext) = ([10, 0, 0, 5], [45, 33, 32, 156]);
    let mut late = vec![ipv4_tcp(ext, host, 443, 50_000, 1, PSH_ACK, &[1; 200])];
    for i in 0..1000u32 {
        late.push(ipv4_tcp(
            host,
            ext,
            50_000,
            443,
            1 + i * 1400,
            PSH_ACK,
            &[9; 1400],
        ));
    }
    let (server, visitor) = ([10, 0, 0, 9], [45, 33, 32, 200]);
    late.push(ipv4_tcp(visitor, server, 51_000, 22, 1, PSH_ACK, &[3; 40]));
    late.push(ipv4_tcp(server, visitor, 22, 51_000, 1, PSH_ACK, &[4; 40]));
    for (i, f) in late.into_iter().enumerate() {
        let i = i as u32;
        frames.push(((t0 + 1 + i / 1000, (i % 1000) * 1000), f));
    }
    let seen = with_a_full_digest(
        "digest-full",
        frames,
        |cfg| cfg.detect_config.exfil_bytes_other = 1 << 20,
        |report| {
            let mut found: Vec<(String, String, String)> = report
                .findings
                .iter()
                .filter(|f| f.rule == "outbound-volume" || f.rule == "inbound-from-internet")
                .map(|f| {
                    let ip = f.ip.clone().unwrap_or_default();
                    (f.rule.clone(), ip, f.peer.clone().unwrap_or_default())
                })
                .collect();
            found.sort();
            found
        },
    );
    let want = vec![
        (
            "inbound-from-internet".to_string(),
            "10.0.0.9".to_string(),
            "45.33.32.200".to_string(),
        ),
        (
            "outbound-volume".to_string(),
            "10.0.0.5".to_string(),
            "45.33.32.156".to_string(),
        ),
    ];
    assert_eq!(seen, vec![want.clone(), want]);
}

#[test]
fn a_beacon_is_found_after_the_flow_digest_filled() {
    let t0 = 1_700_000_000;
    let mut frames = ordinary_conversations(t0);
    // Then a site host calls an internet server every 60 s, ten times, a
    // new connection each time (300 bytes out, 900 back).
    let (host, c2) = ([10, 0, 0, 5], [45, 33, 32, 156]);
    for i in 0..10u16 {
        let at = (t0 + 10 + 60 * u32::from(i), 0);
        let port = 50_000 + i;
        frames.push((at, ipv4_tcp(host, c2, port, 8443, 1, PSH_ACK, &[5; 300])));
        frames.push((at, ipv4_tcp(c2, host, 8443, port, 1, PSH_ACK, &[6; 900])));
        frames.push((at, ipv4_tcp(host, c2, port, 8443, 301, RST, &[])));
    }
    let seen = with_a_full_digest(
        "digest-beacon",
        frames,
        |_| {},
        |report| {
            report
                .findings
                .iter()
                .filter(|f| f.rule == "periodic-callback")
                .map(|f| {
                    let ip = f.ip.clone().unwrap_or_default();
                    (ip, f.peer.clone().unwrap_or_default(), f.count)
                })
                .collect::<Vec<_>>()
        },
    );
    let want = vec![("10.0.0.5".to_string(), "45.33.32.156".to_string(), 10)];
    assert_eq!(seen, vec![want.clone(), want]);
}

/// A capture of several MiB, whose records the 1 MiB chunks that workers
/// read between them cut anywhere (HTTP requests and responses of many
/// sizes, so dissectors see them too), gives the same report at 1, 2 and 3
/// threads, with dissectors and without (`peak_flows` aside).
#[test]
fn a_file_read_in_shared_chunks_gives_the_same_report() {
    let mut frames = Vec::new();
    for i in 0..3000u32 {
        let t = (1_700_000_000 + i / 100, (i % 100) * 10_000);
        let client = [10, 1, (i % 200) as u8, 10 + (i % 7) as u8];
        let server = [10, 2, 0, 5 + (i % 3) as u8];
        let port = 40000 + (i % 20000) as u16;
        let pad = "x".repeat((i as usize * 7919) % 900);
        let request = format!(
            "GET /status/{i} HTTP/1.1\r\nHost: pacs{}.example\r\nUser-Agent: infusion-agent/{}.{}\r\nX-Pad: {pad}\r\n\r\n",
            i % 5,
            i % 4,
            i % 9
        );
        let body = "y".repeat((i as usize * 104_729) % 1300);
        let response = format!(
            "HTTP/1.1 200 OK\r\nServer: Apache/2.4.{}\r\nContent-Length: {}\r\n\r\n{body}",
            i % 50,
            body.len()
        );
        frames.push((
            t,
            ipv4_tcp(client, server, port, 80, 1, PSH_ACK, request.as_bytes()),
        ));
        frames.push((
            t,
            ipv4_tcp(server, client, 80, port, 1, PSH_ACK, response.as_bytes()),
        ));
        frames.push((
            t,
            ipv4_tcp(client, server, port, 80, 1 + request.len() as u32, RST, &[]),
        ));
    }
    let capture = pcap(frames);
    assert!(capture.len() > 3 << 20, "{} bytes", capture.len());
    let path = std::env::temp_dir().join(format!("ww-chunks-{}.pcap", std::process::id()));
    std::fs::write(&path, &capture).unwrap();
    for dissect in [true, false] {
        let report = |threads: usize| {
            let cfg = EngineConfig {
                threads,
                dissect,
                ..Default::default()
            };
            let mut r = analyze_files(std::slice::from_ref(&path), &cfg)
                .unwrap()
                .report;
            r.generated_at.clear();
            assert_eq!(r.stats.packets, 9000);
            // The flows held at once: with several workers, the sum of
            // their peaks.
            r.stats.peak_flows = 0;
            serde_json::to_string_pretty(&r).unwrap()
        };
        let one = report(1);
        assert!(
            !dissect || one.contains("infusion-agent/3.8"),
            "no HTTP evidence"
        );
        for threads in [2, 3] {
            assert!(
                report(threads) == one,
                "dissect {dissect}, {threads} threads"
            );
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Devices do not depend on the thread count while the host table has
/// room: with two workers, each holding half the table while it runs, the
/// merged table is the run's whole (it kept the worker's half: of 40 site
/// hosts, a table of 128 addresses kept 32).
#[test]
fn merged_host_table_has_the_runs_whole_room() {
    let frames = (0..20u8).flat_map(|i| {
        let (a, b) = ([10, 0, 1, i], [10, 0, 2, i]);
        [
            ipv4_tcp(a, b, 40_000, 80, 1, PSH_ACK, &[7; 100]),
            ipv4_tcp(b, a, 80, 40_000, 1, PSH_ACK, &[8; 100]),
            ipv4_tcp(a, b, 40_000, 80, 101, RST, &[]),
        ]
    });
    let capture = pcap(
        frames
            .enumerate()
            .map(|(i, f)| ((1_700_000_000, i as u32 * 1000), f)),
    );
    let path = std::env::temp_dir().join(format!("ww-hostcap-{}.pcap", std::process::id()));
    std::fs::write(&path, &capture).unwrap();
    let mut seen = Vec::new();
    for threads in [1, 2] {
        let cfg = EngineConfig {
            threads,
            max_hosts: 128,
            ..Default::default()
        };
        let r = analyze_files(std::slice::from_ref(&path), &cfg)
            .unwrap()
            .report;
        seen.push((r.devices.len(), r.stats.evicted_hosts));
    }
    let _ = std::fs::remove_file(&path);
    assert_eq!(seen, vec![(40, 0); 2]);
}

/// Link-layer facts have a cap, and what it leaves out is counted: 17,000
/// Wi-Fi stations each sending an encrypted frame to one access point (a
/// monitor-mode capture, radiotap) give 16,384 facts kept, the rest in
/// `observations_dropped`.
#[test]
fn link_layer_facts_past_their_cap_are_counted() {
    let mut p = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&65535u32.to_le_bytes());
    p.extend_from_slice(&127u32.to_le_bytes()); // radiotap
    let stations = 17_000u32;
    for i in 0..stations {
        // Radiotap without fields, then a protected data frame to the
        // distribution system from station i to the access point.
        let mut f = vec![0, 0, 8, 0, 0, 0, 0, 0, 0x08, 0x41, 0, 0];
        f.extend_from_slice(&[0x00, 0x0b, 0x86, 0, 0, 1]);
        f.extend_from_slice(&[0x00, 0x12, 0x21, (i >> 16) as u8, (i >> 8) as u8, i as u8]);
        f.extend_from_slice(&[0x00, 0x50, 0x56, 0, 0, 9, 0, 0]);
        f.extend_from_slice(&[0xAB; 16]);
        for x in [
            1_700_000_000 + i / 1000,
            (i % 1000) * 1000,
            f.len() as u32,
            f.len() as u32,
        ] {
            p.extend_from_slice(&x.to_le_bytes());
        }
        p.extend_from_slice(&f);
    }
    let path = std::env::temp_dir().join(format!("ww-linkcap-{}.pcap", std::process::id()));
    std::fs::write(&path, &p).unwrap();
    let r = analyze_files(std::slice::from_ref(&path), &EngineConfig::default())
        .unwrap()
        .report;
    let _ = std::fs::remove_file(&path);
    assert_eq!(r.stats.packets, u64::from(stations));
    assert_eq!(r.stats.observations_dropped, u64::from(stations) - 16_384);
    assert_eq!(r.devices.len(), 16_384);
}
