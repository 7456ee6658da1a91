//! A DNS tunnel keeps only what its rule reads: 4096 queries per client and
//! domain, gathered into one observation per worker, so that it cannot fill
//! the observation cap by itself. The rule still fires, with 1 and 2
//! workers, and the rest are counted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ipv4, pcap};
use wardwatch_engine::{analyze_files, EngineConfig};
use wardwatch_proto::ObsKind;

/// An Ethernet/IPv4/UDP frame from 10.9.0.5:`sport` to 10.9.0.53:53.
fn query(sport: u16, name: &str) -> Vec<u8> {
    let mut dns = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        dns.push(l.len() as u8);
        dns.extend_from_slice(l.as_bytes());
    }
    dns.extend_from_slice(&[0, 0, 16, 0, 1]);
    let mut udp = Vec::with_capacity(8 + dns.len());
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&53u16.to_be_bytes());
    udp.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&dns);
    ipv4([10, 9, 0, 5], [10, 9, 0, 53], 17, 1, 0, &udp)
}

#[test]
fn a_tunnel_keeps_what_its_rule_reads() {
    const SENT: usize = 5000;
    let mut frames = Vec::with_capacity(SENT);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..SENT {
        // Random base-32 text in the first label: data, one name per
        // query.
        let mut label = String::new();
        for _ in 0..40 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            label.push(b"abcdefghijklmnopqrstuvwxyz234567"[(x % 32) as usize] as char);
        }
        assert!(wardwatch_proto::dns::tunnel_like(&label));
        let f = query(
            20_000 + (i % 40_000) as u16,
            &format!("{label}.t.exfil.example.com"),
        );
        let at = (1_700_000_000 + (i / 100) as u32, (i % 100) as u32 * 10_000);
        frames.push((at, f));
    }
    let path = std::env::temp_dir().join(format!("ww-tunnel-{}.pcap", std::process::id()));
    std::fs::write(&path, pcap(frames)).unwrap();
    for threads in [1, 2] {
        let cfg = EngineConfig {
            threads,
            collect_observations: true,
            ..Default::default()
        };
        let out = analyze_files(std::slice::from_ref(&path), &cfg).unwrap();
        // Each worker gathers its share of the pair's names into one
        // observation, the earliest query's.
        let gathered: Vec<_> = out
            .observations
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::DnsTunnelQueries { domain, names, .. } => Some((o, domain, names)),
                _ => None,
            })
            .collect();
        assert!(
            !out.observations
                .iter()
                .any(|o| matches!(o.kind, ObsKind::DnsTunnel { .. })),
            "queries are gathered"
        );
        assert!((1..=threads).contains(&gathered.len()), "{threads} threads");
        assert!(gathered.iter().all(|(_, d, _)| d.as_str() == "example.com"));
        let dns: usize = gathered.iter().map(|(_, _, n)| n.len()).sum();
        assert!(dns <= 4096 * threads, "{threads} threads: {dns} kept");
        assert!(dns >= 4096, "{threads} threads: {dns} kept");
        // The finding cites the first query of the capture.
        let first = gathered.iter().map(|(o, _, _)| o.origin.frame).min();
        assert_eq!(first, Some(1), "{threads} threads");
        assert_eq!(
            out.report.stats.observations_dropped as usize,
            SENT - dns,
            "{threads} threads"
        );
        let f = out
            .report
            .findings
            .iter()
            .find(|f| f.rule == "dns-tunnel")
            .expect("the tunnel is found");
        assert_eq!(f.ip.as_deref(), Some("10.9.0.5"), "{f:?}");
        assert!(f.summary.contains("under example.com"), "{}", f.summary);
        assert!(f.summary.contains("4096 distinct"), "{}", f.summary);
    }
    let _ = std::fs::remove_file(&path);
}
