//! Helpers the integration tests share.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A file of the shared public data (`../shared/data`), or `None` with a
/// SKIPPED line when that folder is absent.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: ../shared/data/{rel} is absent");
        None
    }
}

/// A file of this repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The report of `path` analysed by `threads` flow workers.
pub fn report_with_threads(path: &Path, threads: usize) -> wardwatch_model::report::Report {
    let cfg = wardwatch_engine::EngineConfig {
        threads,
        ..Default::default()
    };
    wardwatch_engine::analyze_files(&[path.to_path_buf()], &cfg)
        .expect("analyze")
        .report
}

/// The findings of a capture of `frames` (written to a scratch file named
/// after `tag`, removed after) analysed with the default configuration.
pub fn findings_of(tag: &str, frames: Vec<((u32, u32), Vec<u8>)>) -> Vec<wardwatch_model::Finding> {
    let p = std::env::temp_dir().join(format!("ww-{tag}-{}.pcap", std::process::id()));
    std::fs::write(&p, pcap(frames)).unwrap();
    let r = wardwatch_engine::analyze_files(
        std::slice::from_ref(&p),
        &wardwatch_engine::EngineConfig::default(),
    );
    std::fs::remove_file(&p).unwrap();
    r.expect("analyze").report.findings
}

/// tshark's `-T fields` rows of the frames of `p` matching `filter`.
pub fn tshark_rows(p: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut c = std::process::Command::new("tshark");
    c.args(["-r", p.to_str().unwrap(), "-Y", filter, "-T", "fields"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("tshark is required");
    assert!(out.status.success(), "tshark failed on {}", p.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The one finding of `kind` in `r` (there must be exactly one), and the
/// MAC of its device.
pub fn the_one<'r>(
    r: &'r wardwatch_model::report::Report,
    kind: &str,
) -> (&'r wardwatch_model::Finding, Option<&'r str>) {
    let found: Vec<_> = r.findings.iter().filter(|f| f.kind == kind).collect();
    assert_eq!(found.len(), 1, "{:?}", r.findings);
    let f = found[0];
    let mac = r
        .devices
        .iter()
        .find(|d| Some(&d.id) == f.device.as_ref())
        .and_then(|d| d.mac.as_deref());
    (f, mac)
}

/// Findings of severity medium or above, one line each.
pub fn serious(findings: &[wardwatch_model::Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| matches!(f.severity.as_str(), "critical" | "high" | "medium"))
        .map(|f| {
            format!(
                "{} {} {} {:?}: {}",
                f.severity, f.kind, f.rule, f.ip, f.summary
            )
        })
        .collect()
}

/// An Ethernet/IPv4 frame between two fixed MACs carrying `l4` of IP
/// protocol `proto`, with IP identification `id` and flags/fragment field
/// `frag` (TTL 64, checksum zero: not checked).
pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0];
    f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&frag.to_be_bytes());
    f.extend_from_slice(&[64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

/// An Ethernet/IPv4/TCP frame (don't fragment; checksums zero; ack 0).
pub fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    ipv4(
        src,
        dst,
        6,
        1,
        0x4000,
        &tcp_seq(sp, dp, (seq, 0), flags, data),
    )
}

/// TCP flags.
pub const PSH_ACK: u8 = 0x18;
/// TCP RST.
pub const RST: u8 = 0x04;

/// A classic pcap (Ethernet, microsecond stamps) of frames, each with its
/// time as (seconds, microseconds).
pub fn pcap(frames: impl IntoIterator<Item = ((u32, u32), Vec<u8>)>) -> Vec<u8> {
    let mut p = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&65535u32.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    for ((s, us), f) in frames {
        for x in [s, us, f.len() as u32, f.len() as u32] {
            p.extend_from_slice(&x.to_le_bytes());
        }
        p.extend_from_slice(&f);
    }
    p
}

/// An Ethernet frame from `smac` to `dmac` carrying an IP packet of
/// `proto` from `src` to `dst` with TTL (hop limit) `ttl`.
pub fn frame(
    (smac, src): ([u8; 6], &str),
    (dmac, dst): ([u8; 6], &str),
    ttl: u8,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = dmac.to_vec();
    f.extend_from_slice(&smac);
    match (
        src.parse::<std::net::IpAddr>().unwrap(),
        dst.parse::<std::net::IpAddr>().unwrap(),
    ) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 1, 0x40, 0, ttl, proto, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        (std::net::IpAddr::V6(s), std::net::IpAddr::V6(d)) => {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
            f.extend_from_slice(&[proto, ttl]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    f.extend_from_slice(l4);
    f
}

/// A TCP segment (no options) with `payload`, sequence and ack numbers 1.
pub fn tcp(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    tcp_seq(sport, dport, (1, 1), flags, payload)
}

/// A TCP segment (no options) with `payload` and `(seq, ack)`.
pub fn tcp_seq(
    sport: u16,
    dport: u16,
    (seq, ack): (u32, u32),
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

/// A UDP datagram with `payload`.
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = sport.to_be_bytes().to_vec();
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}
