//! Differential tests against Debian's tshark on every shared capture:
//! packet totals, per-conversation packet and byte sums, and reassembled TCP
//! bytes (`follow,tcp,raw`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use wardwatch_engine::{analyze_files, EngineConfig, FlowRecord};

fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIPPED: ../shared/data is absent; differential tests need it");
        None
    }
}

fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![if dir.join("pcap").is_dir() {
        dir.join("pcap")
    } else {
        dir.join("captures")
    }];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".pcap"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark is required for differential tests: apt-get install tshark");
    assert!(
        out.status.success(),
        "tshark {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A conversation key that ignores direction and VLAN.
type Conv = (u8, (IpAddr, u16), (IpAddr, u16));

fn conv(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Conv {
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

/// The innermost value of a field that tunnels repeat.
/// The innermost of a field's values (tunnels put the outer header first).
fn innermost(s: &str) -> &str {
    s.rsplit(',').next().unwrap_or("")
}

/// tshark's per-conversation (packets, bytes), keyed by 5-tuple.
fn tshark_convs(path: &Path) -> (u64, BTreeMap<Conv, (u64, u64)>) {
    let p = path.to_str().unwrap();
    let text = tshark(&[
        "-r",
        p,
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-e",
        "frame.len",
        "-e",
        "ip.src",
        "-e",
        "ip.dst",
        "-e",
        "ipv6.src",
        "-e",
        "ipv6.dst",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.dstport",
        "-e",
        "udp.srcport",
        "-e",
        "udp.dstport",
        "-e",
        "tcp.stream",
        "-e",
        "udp.stream",
        "-e",
        "icmp.type",
        "-e",
        "icmpv6.type",
        "-e",
        "ip.id",
        "-e",
        "ip.flags.mf",
        "-e",
        "ip.frag_offset",
        "-e",
        "frame.protocols",
    ]);
    let mut total = 0;
    let mut convs: BTreeMap<Conv, (u64, u64)> = BTreeMap::new();
    // wardwatch counts a reassembled datagram as one packet carrying the
    // wire bytes of all its fragments; tshark puts only the last fragment in
    // the conversation. Carry the earlier fragments' bytes forward.
    let mut frag_bytes: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for line in text.lines() {
        total += 1;
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 17 || !f[11].is_empty() || !f[12].is_empty() {
            // ICMP errors quote an inner header; they belong to no conversation.
            continue;
        }
        let mut len: u64 = f[0].parse().unwrap_or(0);
        let frag_key = (
            innermost(f[1]).to_string(),
            innermost(f[2]).to_string(),
            innermost(f[13]).to_string(),
        );
        let fragment = f[14] == "1" || f[14] == "True" || (f[15] != "0" && !f[15].is_empty());
        if fragment && f[9].is_empty() && f[10].is_empty() {
            *frag_bytes.entry(frag_key).or_default() += len;
            continue;
        }
        if fragment {
            len += frag_bytes.remove(&frag_key).unwrap_or(0);
        }
        // The innermost IP layer decides whose addresses are the
        // conversation's: IPv6 inside IPv4 (Teredo, 6in4) or the reverse.
        let layers: Vec<&str> = f[16].split(':').collect();
        let last = |name: &str| layers.iter().rposition(|l| *l == name);
        let (src, dst) = if !f[1].is_empty() && last("ip") > last("ipv6") {
            (innermost(f[1]), innermost(f[2]))
        } else {
            (innermost(f[3]), innermost(f[4]))
        };
        let (Ok(src), Ok(dst)) = (src.parse::<IpAddr>(), dst.parse::<IpAddr>()) else {
            continue;
        };
        let (proto, sp, dp) = if !f[9].is_empty() {
            (6, innermost(f[5]), innermost(f[6]))
        } else if !f[10].is_empty() {
            (17, innermost(f[7]), innermost(f[8]))
        } else {
            continue;
        };
        let (Ok(sp), Ok(dp)) = (sp.parse::<u16>(), dp.parse::<u16>()) else {
            continue;
        };
        let e = convs.entry(conv(proto, (src, sp), (dst, dp))).or_default();
        e.0 += 1;
        e.1 += len;
    }
    (total, convs)
}

fn our_convs(flows: &[FlowRecord]) -> BTreeMap<Conv, (u64, u64)> {
    let mut m: BTreeMap<Conv, (u64, u64)> = BTreeMap::new();
    for f in flows {
        if f.key.proto != 6 && f.key.proto != 17 {
            continue;
        }
        let k = conv(
            f.key.proto,
            (f.client.addr, f.client.port),
            (f.server.addr, f.server.port),
        );
        let e = m.entry(k).or_default();
        e.0 += f.packets[0] + f.packets[1];
        e.1 += f.bytes[0] + f.bytes[1];
    }
    m
}

fn analyze(path: &Path, streams: bool) -> wardwatch_engine::Outcome {
    let cfg = EngineConfig {
        collect_flows: true,
        collect_streams: streams,
        // tshark counts mirrored duplicates; so must we, to compare.
        dedup_window_ns: 0,
        ..Default::default()
    };
    analyze_files(&[path.to_path_buf()], &cfg).expect("analyze")
}

#[test]
fn packets_and_conversations_match_tshark() {
    let Some(data) = shared_data() else { return };
    let mut files = captures(&data);
    assert!(
        files.len() >= 40,
        "expected the shared captures, found {}",
        files.len()
    );
    // The repository's own tunnel, duplicate and fragment captures. tshark
    // does not decode CAPWAP data with 802.11 inside by default, so that one
    // is checked in the CLI tests instead.
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
    files.extend(
        captures(&own)
            .into_iter()
            .filter(|p| !p.ends_with("capwap_80211.pcap")),
    );
    let mut compared = 0;
    let mut failures = Vec::new();
    for f in &files {
        let out = analyze(f, false);
        let (total, theirs) = tshark_convs(f);
        if out.report.stats.packets != total {
            failures.push(format!(
                "{}: packets {} vs tshark {}",
                f.display(),
                out.report.stats.packets,
                total
            ));
        }
        let ours = our_convs(&out.flows);
        if ours != theirs {
            let keys: std::collections::BTreeSet<_> = ours.keys().chain(theirs.keys()).collect();
            for k in keys {
                if ours.get(k) != theirs.get(k) {
                    failures.push(format!(
                        "{}: {:?} ours {:?} tshark {:?}",
                        f.display(),
                        k,
                        ours.get(k),
                        theirs.get(k)
                    ));
                }
            }
        }
        compared += theirs.len();
    }
    eprintln!("compared {} files, {} conversations", files.len(), compared);
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}

/// Parses `tshark -z follow,tcp,raw,N`: (node0 endpoint, bytes from node 0,
/// bytes from node 1).
fn follow(path: &Path, stream: u64) -> (String, Vec<u8>, Vec<u8>) {
    let text = tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-q",
        "-z",
        &format!("follow,tcp,raw,{stream}"),
    ]);
    let mut node0 = String::new();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Node 0: ") {
            node0 = n.trim().to_string();
            continue;
        }
        if line.starts_with("Node 1")
            || line.starts_with("===")
            || line.starts_with("Follow")
            || line.starts_with("Filter")
        {
            continue;
        }
        let (target, hex) = match line.strip_prefix('\t') {
            Some(h) => (&mut b, h),
            None => (&mut a, line),
        };
        let hex = hex.trim();
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        for i in (0..hex.len() - 1).step_by(2) {
            target.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    (node0, a, b)
}

fn fmt_ep(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V6(a) => format!("[{a}]:{port}"),
        IpAddr::V4(a) => format!("{a}:{port}"),
    }
}

#[test]
fn reassembled_streams_match_tshark_follow() {
    let Some(data) = shared_data() else { return };
    let picks = [
        "pcap/it/telnet_login__ndpi.pcap",
        "pcap/it/ftp_anonymous_retr__zeek.pcap",
        "pcap/it/http_form_login_dvwa__chrissanders.pcapng",
        "pcap/it/tls12_full_handshake__ndpi-443-curl.pcap",
        "pcap/it/smb3__suricata.pcap",
        "pcap/medical/generated/dicom_echo_store_find_reject_port104__generated.pcapng",
        "pcap/medical/generated/hl7_mllp_adt_oru_port2575__generated.pcapng",
        "pcap/medical/hl7_mllp_adt_a01__ndpi.pcap",
        // Every message is the payload of a SYN (no handshake, no MLLP).
        "pcap/medical/hl7_2575_synthetic_alerts__mpa.pcap",
    ];
    let mut streams_checked = 0;
    let mut bytes_checked = 0;
    for rel in picks {
        let path = data.join(rel);
        let out = analyze(&path, true);
        let tcp: Vec<&FlowRecord> = out.flows.iter().filter(|f| f.key.proto == 6).collect();
        for n in 0..tcp.len().min(6) as u64 {
            let (node0, a, b) = follow(&path, n);
            if a.is_empty() && b.is_empty() {
                continue;
            }
            let f = tcp
                .iter()
                .find(|f| {
                    node0 == fmt_ep(f.client.addr, f.client.port)
                        || node0 == fmt_ep(f.server.addr, f.server.port)
                })
                .unwrap_or_else(|| panic!("{rel}: no flow for tshark stream {n} ({node0})"));
            let streams = f.streams.as_ref().expect("streams collected");
            let (ours_a, ours_b) = if node0 == fmt_ep(f.client.addr, f.client.port) {
                (&streams[0], &streams[1])
            } else {
                (&streams[1], &streams[0])
            };
            assert_eq!(ours_a.len(), a.len(), "{rel} stream {n}: node 0 bytes");
            assert!(*ours_a == a, "{rel} stream {n}: node 0 content differs");
            assert_eq!(ours_b.len(), b.len(), "{rel} stream {n}: node 1 bytes");
            assert!(*ours_b == b, "{rel} stream {n}: node 1 content differs");
            streams_checked += 1;
            bytes_checked += a.len() + b.len();
        }
    }
    eprintln!("compared {streams_checked} TCP streams, {bytes_checked} bytes");
    assert!(
        streams_checked >= 10,
        "only {streams_checked} streams compared"
    );
}
