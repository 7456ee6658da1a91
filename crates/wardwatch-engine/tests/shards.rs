//! Counters add up the same whatever the number of shards, including for a
//! fragmented datagram whose reassembled transport header is broken (every
//! shard reassembles it; only one may count it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use wardwatch_engine::{analyze_files, EngineConfig};

fn frame(id: u16, frag_field: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    let total = (20 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&frag_field.to_be_bytes());
    f.extend_from_slice(&[64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn broken_reassembled_datagram_counted_once() {
    // A "TCP" datagram of 16 bytes in two fragments: too short for a header.
    let frames = [frame(7, 0x2000, &[0xAB; 8]), frame(7, 0x0001, &[0xCD; 8])];
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for x in [1_700_000_000u32, i as u32, f.len() as u32, f.len() as u32] {
            pcap.extend_from_slice(&x.to_le_bytes());
        }
        pcap.extend_from_slice(f);
    }
    let path = std::env::temp_dir().join(format!("ww-shards-{}.pcap", std::process::id()));
    std::fs::write(&path, &pcap).unwrap();
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
