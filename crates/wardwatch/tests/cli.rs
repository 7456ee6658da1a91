//! The command line as a user meets it: bad inputs, exit codes, the report
//! contract, determinism, several inputs, tunnels, and live capture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{repo, shared};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wardwatch"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run wardwatch")
}

fn json(args: &[&str]) -> Value {
    let mut a = vec!["analyze", "--format", "json"];
    a.extend_from_slice(args);
    let out = run(&a);
    assert!(
        out.status.success(),
        "{:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// A directory of one test's own under the system's temporary one, removed
/// when the test ends, passed or failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("wardwatch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    /// Writes `bytes` to the file `name` in it.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pcap_header() -> Vec<u8> {
    let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v
}

fn record(data: &[u8], claimed: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [1_700_000_000u32, 0, claimed, data.len() as u32] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn unreadable_inputs_fail_with_file_offset_and_exit_3() {
    let scratch = Scratch::new("unreadable");
    let empty = scratch.file("empty.pcap", b"");
    let text = scratch.file("notes.pcap", b"this is not a capture file at all");
    let short = scratch.file("short.pcap", &pcap_header()[..10]);
    let dir = std::env::temp_dir();
    let cases: Vec<(PathBuf, &str)> = vec![
        (empty.clone(), "empty file"),
        (text.clone(), "not a pcap or pcapng"),
        (short.clone(), "truncated file header: 10 of 24"),
        (dir.clone(), "is a directory"),
        (PathBuf::from("/nonexistent/x.pcap"), "No such file"),
    ];
    for (p, want) in cases {
        let o = run(&["analyze", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(3), "{}: {}", p.display(), stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(p.to_str().unwrap()), "names the file: {e}");
        assert!(e.contains("byte 0"), "names the offset: {e}");
        assert!(e.contains(want), "says what is wrong ({want}): {e}");
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        assert!(!e.contains("panicked"));
    }
}

#[test]
fn damaged_records_warn_count_and_analysis_goes_on() {
    let scratch = Scratch::new("damaged");
    let frame = {
        // Ethernet + IPv4 + UDP 10.0.0.1:1000 -> 10.0.0.2:53
        let mut f = vec![0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 8, 0];
        f.extend_from_slice(&[
            0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        f.extend_from_slice(&[3, 232, 0, 53, 0, 9, 0, 0, b'x']);
        f
    };
    // A good record, then one whose header claims 2 GB.
    let mut huge = pcap_header();
    huge.extend(record(&frame, frame.len() as u32));
    let at = huge.len();
    let mut bad = record(&[], 0);
    bad[8..12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    huge.extend(bad);
    // A good record, then a last record cut short.
    let mut cut = pcap_header();
    cut.extend(record(&frame, frame.len() as u32));
    let cut_at = cut.len();
    let r = record(&frame, frame.len() as u32);
    cut.extend(&r[..r.len() - 7]);
    // Snaplen-truncated frame: captured 30 of 60 bytes.
    let mut snap = pcap_header();
    let mut r = record(&frame[..30], 30);
    r[12..16].copy_from_slice(&60u32.to_le_bytes());
    snap.extend(r);

    for (name, bytes, offset, counter) in [
        ("huge.pcap", huge, Some(at), "decode_errors"),
        ("cut.pcap", cut, Some(cut_at), "truncated"),
        ("snap.pcap", snap, None, "truncated"),
    ] {
        let p = scratch.file(name, &bytes);
        let o = run(&["analyze", "--format", "json", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["stats"]["packets"], 1, "{name}");
        assert_eq!(r["stats"][counter], 1, "{name}: {}", r["stats"]);
        if let Some(off) = offset {
            let e = stderr(&o);
            assert!(e.contains(&format!("byte {off}")), "{name}: {e}");
            assert!(e.contains("warning"), "{name}: {e}");
            assert_eq!(r["warnings"][0]["offset"], off as u64);
        }
    }
}

#[test]
fn corrupt_pcapng_block_is_skipped() {
    let Some(p) = shared("pcap/formats/pcapng_dhcp_dora__chrissanders.pcapng") else {
        return;
    };
    let mut bytes = std::fs::read(&p).unwrap();
    let good = json(&[p.to_str().unwrap()]);
    // Find the first Enhanced Packet Block and make its captured length
    // exceed the block.
    let mut off = 0;
    let mut epb = None;
    while off + 12 <= bytes.len() {
        let t = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let l = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        if t == 6 {
            epb = Some(off);
            break;
        }
        off += l;
    }
    let epb = epb.expect("an EPB");
    bytes[epb + 20..epb + 24].copy_from_slice(&0xFFFFu32.to_le_bytes());
    let scratch = Scratch::new("corrupt");
    let bad = scratch.file("corrupt.pcapng", &bytes);
    let o = run(&["analyze", "--format", "json", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = good["stats"]["packets"].as_u64().unwrap();
    assert_eq!(r["stats"]["packets"].as_u64().unwrap(), n - 1);
    assert_eq!(r["stats"]["decode_errors"], 1);
    assert!(
        stderr(&o).contains(&format!("byte {epb}")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn report_contract_and_demo_devices() {
    let scratch = Scratch::new("demo");
    let dir = scratch.0.clone();
    let o = bin()
        .args(["demo", "--format", "json", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["schema"], "wardwatch.report/1");
    for k in [
        "generated_at",
        "inputs",
        "stats",
        "site",
        "feeds",
        "devices",
        "findings",
    ] {
        assert!(r.get(k).is_some(), "missing {k}");
    }
    for k in [
        "packets",
        "bytes",
        "flows",
        "decode_errors",
        "truncated",
        "evicted_flows",
        "duration_s",
        "reassembly_gaps",
        "duplicates_dropped",
    ] {
        assert!(r["stats"].get(k).is_some(), "missing stats.{k}");
    }
    let devs = r["devices"].as_array().unwrap();
    let us = devs
        .iter()
        .find(|d| d["mac"] == "44:4b:5d:3c:81:0f")
        .expect("the GE ultrasound");
    assert_eq!(us["vendor"], "GE HealthCare");
    assert_eq!(us["model"], "LOGIQ E9");
    assert_eq!(us["category"], "ultrasound");
    assert_eq!(us["medical"], true);
    assert_eq!(us["ips"][0], "10.30.1.15");
    assert_eq!(us["vlan"], 30);
    assert!(us["id"].as_str().unwrap().starts_with("dev-"));
    assert!(us["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["source"] == "oui" && e["value"].as_str().unwrap().contains("GE Healthcare")));
    let pacs = devs.iter().find(|d| d["ips"][0] == "10.20.1.10").unwrap();
    assert!(pacs["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["port"] == 104 && s["transport"] == "tcp"));
    // The demo leaves its report in the data directory too.
    let saved: Value =
        serde_json::from_slice(&std::fs::read(dir.join("demo-report.json")).unwrap()).unwrap();
    assert_eq!(saved["devices"], r["devices"]);
}

#[test]
fn ids_are_deterministic_and_threads_do_not_change_results() {
    let Some(p) = shared("pcap/it/mixed_iphone_dhcp_mdns_ssdp_tls__ndpi.pcap") else {
        return;
    };
    let p = p.to_str().unwrap();
    let mut a = json(&[p, "--threads", "1"]);
    let mut b = json(&[p, "--threads", "2"]);
    let mut c = json(&[p, "--threads", "1", "--site", "other"]);
    for r in [&mut a, &mut b, &mut c] {
        r["generated_at"] = Value::Null;
        r["stats"]["peak_flows"] = Value::Null;
    }
    assert_eq!(a, b, "one or two workers give the same report");
    assert!(!a["devices"].as_array().unwrap().is_empty());
    assert_ne!(
        a["devices"][0]["id"], c["devices"][0]["id"],
        "ids are per site"
    );
}

#[test]
fn several_inputs_are_one_site_merged_by_time() {
    let (Some(a), Some(b)) = (
        shared("pcap/it/ftp_login_admin_qwerty__zeek.pcap"),
        shared("pcap/it/telnet_login__ndpi.pcap"),
    ) else {
        return;
    };
    let ra = json(&[a.to_str().unwrap()]);
    let rb = json(&[b.to_str().unwrap()]);
    let both = json(&[a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(both["inputs"].as_array().unwrap().len(), 2);
    let n = |r: &Value, k: &str| r["stats"][k].as_u64().unwrap();
    assert_eq!(n(&both, "packets"), n(&ra, "packets") + n(&rb, "packets"));
    assert_eq!(n(&both, "flows"), n(&ra, "flows") + n(&rb, "flows"));
    assert_eq!(
        both["devices"].as_array().unwrap().len(),
        ra["devices"].as_array().unwrap().len() + rb["devices"].as_array().unwrap().len()
    );
}

#[test]
fn gzip_capture_gives_the_same_report() {
    let Some(p) = shared("pcap/it/tls12_full_handshake__ndpi-443-curl.pcap") else {
        return;
    };
    let raw = std::fs::read(&p).unwrap();
    let mut z = Vec::new();
    {
        let mut enc = flate2_writer(&mut z);
        enc.write_all(&raw).unwrap();
    }
    let scratch = Scratch::new("gzip");
    let gz = scratch.file("tls.pcap.gz", &z);
    let mut a = json(&[p.to_str().unwrap()]);
    let mut b = json(&[gz.to_str().unwrap()]);
    for r in [&mut a, &mut b] {
        r["generated_at"] = Value::Null;
        r["inputs"] = Value::Null;
        for d in r["devices"].as_array_mut().unwrap() {
            for e in d["evidence"].as_array_mut().unwrap() {
                e["input"] = Value::Null;
            }
        }
    }
    assert_eq!(a, b);
}

/// gzip via the system tool, so the test does not need a compression crate.
fn flate2_writer(out: &mut Vec<u8>) -> impl Write + '_ {
    struct Gz<'a>(&'a mut Vec<u8>, Vec<u8>);
    impl Write for Gz<'_> {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Gz<'_> {
        fn drop(&mut self) {
            let mut c = Command::new("gzip")
                .arg("-c")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("gzip");
            let mut stdin = c.stdin.take().unwrap();
            let data = std::mem::take(&mut self.1);
            let t = std::thread::spawn(move || stdin.write_all(&data));
            let o = c.wait_with_output().unwrap();
            t.join().unwrap().unwrap();
            self.0.extend_from_slice(&o.stdout);
        }
    }
    Gz(out, Vec::new())
}

#[test]
fn ip_in_ip_gtp_and_teredo_tunnels_are_opened() {
    let dir = repo().join("tests/captures");
    for name in ["ipip.pcap", "ip4in6.pcap", "gtpu.pcap", "teredo.pcap"] {
        let r = json(&[dir.join(name).to_str().unwrap()]);
        let s = &r["stats"];
        assert_eq!(s["flows"], 1, "{name}: one inner flow");
        assert_eq!(s["tunneled"], 8, "{name}");
        assert_eq!(s["decode_errors"], 0, "{name}");
        // The talkers are the inner hosts, never the tunnel's routers.
        let talkers: Vec<&str> = r["top_talkers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["ip"].as_str().unwrap())
            .collect();
        if name == "teredo.pcap" {
            assert!(
                talkers.contains(&"2001:0:c000:202:0:ad4:9c:f5fe"),
                "{name}: {talkers:?}"
            );
            continue;
        }
        assert_eq!(talkers.len(), 2, "{name}: {talkers:?}");
        assert!(talkers.contains(&"10.40.3.9"), "{name}: {talkers:?}");
        let pump = r["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ips"][0] == "10.40.3.9")
            .unwrap_or_else(|| panic!("{name}: pump found inside"));
        // The outer frame's MAC is a router's, not the pump's.
        assert!(pump["mac"].is_null(), "{name}: {}", pump["mac"]);
        assert_eq!(pump["services"][0]["port"], 80, "{name}");
        assert_eq!(pump["traffic"]["packets_out"], 3, "{name}");
    }
}

#[test]
fn tunnels_duplicates_fragments_and_one_direction() {
    let dir = repo().join("tests/captures");
    for (name, tunneled) in [
        ("gre_teb.pcap", true),
        ("erspan2.pcap", true),
        ("erspan3.pcap", true),
        ("vxlan.pcap", true),
        ("capwap_80211.pcap", true),
        ("duplicates_span.pcap", false),
        ("wifi_radiotap.pcap", false),
        ("wifi_ppi.pcap", false),
    ] {
        let r = json(&[dir.join(name).to_str().unwrap()]);
        let s = &r["stats"];
        assert_eq!(s["flows"], 1, "{name}: one inner flow");
        assert_eq!(s["tunneled"].as_u64().unwrap() > 0, tunneled, "{name}");
        let devs = r["devices"].as_array().unwrap();
        let pump = devs
            .iter()
            .find(|d| d["ips"][0] == "10.40.3.9")
            .unwrap_or_else(|| panic!("{name}: pump found inside"));
        assert_eq!(pump["mac"], "00:12:21:0a:0b:0c", "{name}");
        assert_eq!(pump["vendor"], "B. Braun", "{name}");
        assert_eq!(pump["category"], "infusion-pump", "{name}");
        assert_eq!(pump["services"][0]["port"], 80, "{name}");
        assert_eq!(
            pump["traffic"]["packets_out"], 3,
            "{name}: duplicates dropped"
        );
        assert_eq!(s["decode_errors"], 0, "{name}");
        if name == "wifi_radiotap.pcap" {
            // The beacon names the access point, and the protected frame
            // the station that sent it (a Philips monitor, by its MAC),
            // on the access point's network.
            assert_eq!(s["packets"], 10);
            assert_eq!(devs.len(), 4, "{name}");
            let monitor = devs
                .iter()
                .find(|d| d["mac"] == "00:09:fb:11:22:33")
                .unwrap();
            assert_eq!(monitor["category"], "patient-monitor");
            assert!(monitor["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["value"] == "ward3-clinical (WEP) BSSID 00:0b:86:aa:bb:cc"));
            // The pump's frames were sent in the clear (decrypted) to the
            // same access point: it is on that network too, with a WEP
            // finding on its address; the workstation's came from the
            // wired side (from the distribution system): no station.
            let on_wep = |d: &serde_json::Value| {
                d["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["source"] == "wifi")
            };
            assert!(on_wep(pump));
            assert!(!on_wep(
                devs.iter().find(|d| d["ips"][0] == "10.40.5.21").unwrap()
            ));
            assert!(r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "wifi-wep"
                    && f["ip"] == "10.40.3.9"
                    && f["severity"] == "high"));
        }
        if name == "duplicates_span.pcap" {
            assert_eq!(s["duplicates_dropped"], 8);
            assert_eq!(s["packets"], 16);
        }
    }
    let r = json(&[dir.join("ipv4_fragments.pcap").to_str().unwrap()]);
    assert_eq!(r["stats"]["fragments_reassembled"], 1);
    assert_eq!(r["stats"]["flows"], 1);
    let r = json(&[dir.join("one_direction.pcap").to_str().unwrap()]);
    assert_eq!(r["stats"]["flows"], 1);
    assert_eq!(r["devices"][0]["ips"][0], "10.40.5.21");
    // The server is there too: it was sent data on a connection it
    // acknowledged, though none of its packets was captured (no MAC).
    let server = &r["devices"][1];
    assert_eq!(server["ips"][0], "10.40.3.9");
    assert!(server["mac"].is_null());
    assert!(server["evidence"][0]["value"]
        .as_str()
        .unwrap()
        .contains("none of its own packets"));
    assert_eq!(r["devices"].as_array().unwrap().len(), 2);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}

/// Runs a shell command that must succeed.
fn sh(c: &str) {
    let o = Command::new("sh").arg("-c").arg(c).output().unwrap();
    assert!(
        o.status.success(),
        "{c}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Live capture on a veth pair inside a network namespace this test creates.
#[test]
fn live_capture_in_a_network_namespace() {
    if !is_root() {
        eprintln!(
            "SKIPPED: live capture needs root to create a network namespace (CI runs as root)"
        );
        return;
    }
    let ns = format!("wwtest{}", std::process::id() % 100_000);
    let (a, b) = (
        format!("wwa{}", std::process::id() % 100_000),
        format!("wwb{}", std::process::id() % 100_000),
    );
    let cleanup = format!("ip netns del {ns} 2>/dev/null; ip link del {a} 2>/dev/null; true");
    let _ = Command::new("sh").arg("-c").arg(&cleanup).status();
    sh(&format!("ip netns add {ns}"));
    sh(&format!("ip link add {a} type veth peer name {b}"));
    sh(&format!("ip link set {b} netns {ns}"));
    sh(&format!(
        "ip addr add 198.18.0.1/30 dev {a} && ip link set {a} up"
    ));
    sh(&format!(
        "ip netns exec {ns} sh -c 'ip addr add 198.18.0.2/30 dev {b} && ip link set {b} up && ip link set lo up'"
    ));
    let child = bin()
        .args([
            "analyze",
            // Two workers: live capture goes through the batched dispatcher.
            "--threads",
            "2",
            "--format",
            "json",
            "-i",
            &a,
            "--duration",
            "4s",
            "--filter",
            "udp or icmp or arp",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // Traffic from inside the namespace: pings and UDP datagrams to us.
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ip netns exec {ns} ping -c 3 -i 0.2 198.18.0.1 >/dev/null; \
             for i in 1 2 3 4 5; do ip netns exec {ns} sh -c 'echo hello > /dev/udp/198.18.0.1/9999' 2>/dev/null || \
             ip netns exec {ns} python3 -c \"import socket;socket.socket(2,2).sendto(b'hello',('198.18.0.1',9999))\"; done"
        ))
        .status();
    let o = child.wait_with_output().unwrap();
    let _ = Command::new("sh").arg("-c").arg(&cleanup).status();
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["inputs"][0]["path"], format!("iface:{a}"));
    assert!(
        r["stats"]["packets"].as_u64().unwrap() >= 11,
        "{}",
        r["stats"]
    );
    assert!(r["stats"]["kernel_drops"].is_u64(), "kernel drops reported");
    assert!(r["stats"]["flows"].as_u64().unwrap() >= 2);
}

#[test]
fn live_capture_errors_are_clear() {
    let o = run(&["analyze", "-i", "no-such-iface0", "--duration", "1s"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-iface0"));
}

/// Patient data in the captures (HL7 PID, DICOM group 0010, C-FIND keys)
/// never reaches the report, the logs or the data directory.
#[test]
fn no_patient_data_leaves_the_parsers() {
    let mut cases: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    if let Some(p) = shared("pcap/medical/hl7_mllp_adt_a01__ndpi.pcap") {
        cases.push((p, vec!["MOUSE", "MICKEY"]));
    }
    if let Some(p) =
        shared("pcap/medical/generated/dicom_echo_store_find_reject_port104__generated.pcapng")
    {
        cases.push((p, vec!["CompressedSamples", "CT1"]));
    }
    if let Some(p) = shared("pcap/medical/generated/hl7_mllp_adt_oru_port2575__generated.pcapng") {
        cases.push((p, vec!["PID|"]));
    }
    let scratch = Scratch::new("privacy");
    let dir = scratch.0.clone();
    // The bundled demo carries a fictitious patient in DICOM and HL7.
    let o = bin()
        .args(["demo", "--format", "json", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut everything = String::from_utf8_lossy(&o.stdout).into_owned();
    everything += &stderr(&o);
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        everything += &String::from_utf8_lossy(&std::fs::read(e.path()).unwrap());
    }
    assert!(everything.contains("LOGIQ E9"), "identity is kept");
    for s in ["DEMO^FICTITIOUS", "FICTITIOUS", "DEMO-0001", "19700101"] {
        assert!(!everything.contains(s), "demo leaked {s}");
    }
    for (p, secrets) in cases {
        for fmt in ["json", "table"] {
            let o = run(&["analyze", "--format", fmt, p.to_str().unwrap()]);
            assert!(o.status.success());
            let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
            for s in &secrets {
                assert!(!all.contains(s), "{}: {s} leaked in {fmt}", p.display());
            }
        }
    }
}

/// A `watch` on veth `wb` of a network namespace `<prefix><pid>` made for
/// it (tests replay captures into its peer `wa`), with `args` (its
/// duration …) and `config` as its wardwatch.toml (if not empty), writing
/// findings and its report into a scratch directory; started 1.5 s ago.
/// Returns the namespace, the watch, the directory and the findings file.
fn start_watch(
    prefix: &str,
    args: &[&str],
    config: &str,
) -> (String, std::process::Child, Scratch, PathBuf) {
    let ns = format!("{prefix}{}", std::process::id() % 100_000);
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("ip netns del {ns} 2>/dev/null; true"))
        .status();
    sh(&format!("ip netns add {ns}"));
    sh(&format!(
        "ip netns exec {ns} sh -c 'ip link add wa type veth peer name wb && ip link set wa up && ip link set wb up'"
    ));
    let scratch = Scratch::new(prefix);
    if !config.is_empty() {
        scratch.file("wardwatch.toml", config.as_bytes());
    }
    let dir = scratch.0.clone();
    let lines = dir.join("findings.jsonl");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns, env!("CARGO_BIN_EXE_wardwatch")])
        .arg("--data-dir")
        .arg(&dir)
        .args(["watch", "-i", "wb"])
        .args(args)
        .arg("--out")
        .arg(&lines)
        .arg("--report")
        .arg(dir.join("report.json"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    (ns, child, scratch, lines)
}

/// The time now, in nanoseconds since the epoch.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Waits for a watch [`start_watch`] started and removes its namespace.
fn end_watch(ns: &str, child: std::process::Child) -> Output {
    let o = child.wait_with_output().unwrap();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("ip netns del {ns} 2>/dev/null; true"))
        .status();
    o
}

/// `watch` on a veth pair inside a network namespace this test creates,
/// with the attack scenario replayed into it by tcpreplay: the FTP default
/// login, the scan and the brute force are streamed as JSON lines while the
/// watch still runs, each within a second of the packet that completed it
/// (for the login, the server's 230), and
/// `--learn` leaves baselines.
#[test]
fn watch_streams_findings_from_a_live_interface() {
    if !is_root() {
        eprintln!("SKIPPED: watch needs root to create a network namespace (CI runs as root)");
        return;
    }
    let (ns, child, scratch, lines) = start_watch("wwwatch", &["--duration", "9s", "--learn"], "");
    let dir = scratch.0.clone();
    let attacks = repo().join("tests/scenarios/attacks.pcapng");
    // 2,920 frames (most cut at 128 bytes when recorded) in about 1.5 s.
    sh(&format!(
        "ip netns exec {ns} tcpreplay -q -i wa --pps 2000 {}",
        attacks.display()
    ));
    let replay_done = std::time::SystemTime::now();
    let o = end_watch(&ns, child);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&lines).unwrap();
    let streamed: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let login = streamed
        .iter()
        .find(|l| l["finding"]["rule"] == "ftp-default-login")
        .unwrap_or_else(|| panic!("no default login streamed: {text}"));
    assert_eq!(login["event"], "finding");
    assert_eq!(login["finding"]["kind"], "default-credentials");
    let latency = login["since_last_evidence_s"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&latency), "{login:#}");
    // Streamed while the watch ran, not in its final report (which comes
    // at 9 s, several seconds after the replay).
    let emitted =
        wardwatch_model::time::parse_rfc3339_ns(login["emitted_at"].as_str().unwrap()).unwrap();
    let done = replay_done
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert!(emitted <= done + 1_000_000_000, "{login:#}");
    // Each finding once.
    let mut keys: Vec<String> = streamed
        .iter()
        .map(|l| {
            format!(
                "{}|{}|{}|{}",
                l["finding"]["kind"],
                l["finding"]["rule"],
                l["finding"]["ip"],
                l["finding"]["peer"]
            )
        })
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "{text}");
    // The final report has what analyze finds in the file.
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert!(
        r["stats"]["packets"].as_u64().unwrap() >= 2920,
        "{}",
        r["stats"]
    );
    assert_eq!(r["stats"]["kernel_drops"], 0);
    for rule in ["ftp-default-login", "vertical-scan", "failed-logins"] {
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == rule),
            "{rule} missing from the final report"
        );
        let line = streamed
            .iter()
            .find(|l| l["finding"]["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule} not streamed: {text}"));
        // Scans and brute force too: the live rules see each probe and
        // failed login as it comes, not at the next periodic pass.
        let latency = line["since_last_evidence_s"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&latency), "{line:#}");
    }
    let base: Value =
        serde_json::from_slice(&std::fs::read(dir.join("baselines.json")).unwrap()).unwrap();
    assert!(!base["devices"].as_object().unwrap().is_empty(), "{base:#}");
}

/// `watch` streams a ping sweep while it runs (the behaviour pass holds the
/// pings of open ICMP flows, not only of those ended), once packet time has
/// passed the grace an unanswered ping is given: the sweep of
/// icmp_sweep.pcap replayed, then other traffic a second later.
#[test]
fn watch_streams_a_ping_sweep_while_it_runs() {
    if !is_root() {
        eprintln!("SKIPPED: watch needs root to create a network namespace (CI runs as root)");
        return;
    }
    let (ns, child, _scratch, lines) = start_watch("wwping", &["--duration", "7s"], "");
    let captures = repo().join("tests/captures");
    // 100 addresses pinged (10 answer) and 70 live hosts pinged twice, in
    // a quarter of a second; then RTSP packets after a pause, so that
    // packet time moves on past the unanswered pings' grace.
    sh(&format!(
        "ip netns exec {ns} tcpreplay -q -i wa --pps 2000 {}",
        captures.join("icmp_sweep.pcap").display()
    ));
    std::thread::sleep(std::time::Duration::from_millis(1200));
    sh(&format!(
        "ip netns exec {ns} tcpreplay -q -i wa --pps 50 -L 20 {}",
        captures.join("rtsp.pcap").display()
    ));
    let replay_done = now_ns();
    let o = end_watch(&ns, child);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&lines).unwrap();
    let sweeps: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["finding"]["rule"] == "icmp-sweep")
        .collect();
    // One sweep, the pinging sender's (the monitoring one's pings are
    // answered), streamed before the watch ended (7 s, several seconds
    // after the replay).
    assert_eq!(sweeps.len(), 1, "{text}");
    let emitted =
        wardwatch_model::time::parse_rfc3339_ns(sweeps[0]["emitted_at"].as_str().unwrap()).unwrap();
    assert!(emitted <= replay_done + 500_000_000, "{:#}", sweeps[0]);
}

/// `watch` streams the flood and ARP spoofing findings while it runs:
/// hping3's SYN and ping floods, and arpspoof's attack, replayed at twice
/// their speed side by side into
/// the veth of a namespace this test creates. The floods' threshold is
/// lowered below the recorded rates (`[detect] flood_per_s` 200 for about
/// 1,200 a second: tcpreplay keeps its pace only roughly on a busy
/// machine, which other tests share); each finding is streamed before the
/// replays end.
#[test]
fn watch_streams_floods_and_arp_spoofing_while_they_happen() {
    if !is_root() {
        eprintln!("SKIPPED: watch needs root to create a network namespace (CI runs as root)");
        return;
    }
    let (ns, child, _scratch, lines) = start_watch(
        "wwflood",
        &["--duration", "15s"],
        "[detect]\nflood_per_s = 200\n",
    );
    let floods = replay_into(&ns, "flood.pcap", None);
    // arpspoof's 12 s (and the restoring of the caches after), not
    // ettercap's.
    let arp = replay_into(&ns, "arpspoof.pcap", Some(140));
    for r in [arp, floods] {
        assert!(r.wait_with_output().unwrap().status.success());
    }
    let replay_done = now_ns();
    let o = end_watch(&ns, child);
    assert!(o.status.success(), "{}", stderr(&o));
    // Streamed while the replays ran (the watch goes on 3 s more).
    let (mut rules, text) = streamed(
        &lines,
        &["denial-of-service", "man-in-the-middle"],
        replay_done,
    );
    rules.dedup();
    assert_eq!(
        rules,
        [
            ("arp-spoofing", "10.9.0.66"),
            ("icmp-flood", "10.7.0.5"),
            ("syn-flood", "10.7.0.5"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "{text}"
    );
}

/// tcpreplay of the bundled capture `name` (its first `limit` packets, if
/// given) at twice its speed into the veth `wa` of namespace `ns`.
fn replay_into(ns: &str, name: &str, limit: Option<u32>) -> std::process::Child {
    let mut c = Command::new("ip");
    c.args([
        "netns",
        "exec",
        ns,
        "tcpreplay",
        "-q",
        "-i",
        "wa",
        "-x",
        "2",
    ]);
    if let Some(n) = limit {
        c.args(["-L", &n.to_string()]);
    }
    c.arg(repo().join("tests/captures").join(name))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// The findings of `kinds` a watch streamed into `lines`, as (rule,
/// address), sorted (not deduplicated), each checked emitted by `by`;
/// and the lines' text.
fn streamed(lines: &Path, kinds: &[&str], by: i64) -> (Vec<(String, String)>, String) {
    let text = std::fs::read_to_string(lines).unwrap();
    let mut found: Vec<(String, String)> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| kinds.iter().any(|k| l["finding"]["kind"] == *k))
        .map(|l| {
            let emitted =
                wardwatch_model::time::parse_rfc3339_ns(l["emitted_at"].as_str().unwrap()).unwrap();
            assert!(emitted <= by, "{l:#}");
            (
                l["finding"]["rule"].as_str().unwrap().to_string(),
                l["finding"]["ip"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    (found, text)
}

/// `watch` with three IPv6 attacks replayed into it at twice their speed,
/// side by side: mitm6 answering DHCPv6 clients (mitm6.pcap, up to the
/// answers to its third client), bettercap's neighbour spoofing
/// (ndpspoof.pcap) and THC-IPv6's fake_router6 (rogue_ra.pcap). Each is
/// streamed, once, before the replays end.
#[test]
fn watch_streams_ipv6_men_in_the_middle_while_they_happen() {
    if !is_root() {
        eprintln!("SKIPPED: watch needs root to create a network namespace (CI runs as root)");
        return;
    }
    let (ns, child, _scratch, lines) = start_watch("wwipv6", &["--duration", "25s"], "");
    let replays = [
        replay_into(&ns, "mitm6.pcap", Some(31)),
        replay_into(&ns, "ndpspoof.pcap", None),
        replay_into(&ns, "rogue_ra.pcap", None),
    ];
    for r in replays {
        assert!(r.wait_with_output().unwrap().status.success());
    }
    let replay_done = now_ns();
    let o = end_watch(&ns, child);
    assert!(o.status.success(), "{}", stderr(&o));
    let (found, text) = streamed(&lines, &["man-in-the-middle"], replay_done);
    assert_eq!(
        found,
        [
            ("ndp-spoofing", "fd00:9::66"),
            ("rogue-dhcpv6-server", "fe80::aff:fe09:66"),
            ("rogue-router-advertisement", "fe80::aff:fe0b:77"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "{text}"
    );
}

/// `analyze --format json` of `capture`, with `--local-net block` when
/// given: the report and what it said on stderr.
fn report_and_notes(capture: &str, block: Option<&str>) -> (Value, String) {
    let mut a = vec!["analyze", "--format", "json"];
    if let Some(b) = block {
        a.extend(["--local-net", b]);
    }
    a.push(capture);
    let out = run(&a);
    assert!(out.status.success(), "{a:?}");
    let report = serde_json::from_slice(&out.stdout).unwrap();
    (report, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A capture whose every address is public, analysed without the site's
/// blocks, lists no device: the command says why and what to give it,
/// and says nothing once the block is given.
#[test]
fn a_site_on_public_addresses_is_told_to_name_them() {
    let Some(p) = shared("pcap/formats/ppp__ndpi.pcap") else {
        return;
    };
    let p = p.to_string_lossy();
    let (_, err) = report_and_notes(&p, None);
    assert!(
        err.contains("no device") && err.contains("--local-net"),
        "{err}"
    );
    let (report, err) = report_and_notes(&p, Some("193.167.0.0/16"));
    assert!(!err.contains("no device"), "{err}");
    assert!(!report["devices"].as_array().unwrap().is_empty());
}

/// A host on public addresses the run took as the site's by its own
/// packets is announced, with the way to decide it instead.
#[test]
fn addresses_taken_as_the_sites_are_announced() {
    let Some(p) = shared("pcap/formats/vlan_8021q_http__zeek.pcap") else {
        return;
    };
    let p = p.to_string_lossy();
    let (_, err) = report_and_notes(&p, None);
    assert!(
        err.contains("1 address(es) outside the site's address space taken as the site's")
            && err.contains("--local-net"),
        "{err}"
    );
    let (_, err) = report_and_notes(&p, Some("141.142.0.0/16"));
    assert!(!err.contains("taken as the site's"), "{err}");
    // Blocks named elsewhere decide alone: nothing is learned outside them.
    let (report, err) = report_and_notes(&p, Some("10.0.0.0/8"));
    assert!(!err.contains("taken as the site's"), "{err}");
    assert!(report["devices"].as_array().unwrap().is_empty());
}
