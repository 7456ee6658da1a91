//! The dissectors' buffers over all open flows stay under their cap: flows
//! whose unended messages keep growing are shed once it is reached and
//! counted, flows whose messages end as they come go on being read, and
//! flows give their room back when they end, so that a connection that
//! comes later is dissected again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ipv4, ipv4_tcp, pcap, udp, PSH_ACK, RST};
use wardwatch_engine::{analyze_files, EngineConfig};

const SERVER: [u8; 4] = [10, 0, 2, 1];
/// Hosts whose HL7 message (MLLP) never ends: the first 20 send its header
/// and one more segment ("quiet"), the next 20 its header and three more
/// ("growing").
const HOLDERS: u8 = 40;
const QUIET: u8 = 20;

fn header(app: &str) -> Vec<u8> {
    format!("\x0bMSH|^~\\&|{app}|ICU|EMR|H|20260101||ORU^R01|1|P|2.6\r").into()
}

/// In turn: every holder's header and a message of a steady host; the
/// quiet holders' second segment, then the growing ones' (with the steady
/// host's next message between each round); the holders reset; a late
/// host's message of 30 KB in two segments, half a minute later.
fn capture() -> Vec<u8> {
    let mut frames = Vec::new();
    let mut seq = [1u32; HOLDERS as usize];
    let filler = b"OBX|1|NM|X||1|\r".repeat(140);
    let mut steady_seq = 1;
    let holder = |i: u8| [10, 0, 1, 1 + i];
    for round in 0..4u8 {
        for i in 0..HOLDERS {
            if round > 1 && i < QUIET {
                continue;
            }
            let data = if round == 0 {
                header(&format!("HOLD{i}"))
            } else {
                filler.clone()
            };
            let s = &mut seq[usize::from(i)];
            frames.push(ipv4_tcp(holder(i), SERVER, 40000, 2575, *s, PSH_ACK, &data));
            *s += data.len() as u32;
        }
        let mut m = header(&format!("STEADY{round}"));
        m.extend_from_slice(b"\x1c\r");
        frames.push(ipv4_tcp(
            [10, 0, 1, 100],
            SERVER,
            40000,
            2575,
            steady_seq,
            PSH_ACK,
            &m,
        ));
        steady_seq += m.len() as u32;
    }
    for i in 0..HOLDERS {
        frames.push(ipv4_tcp(
            holder(i),
            SERVER,
            40000,
            2575,
            seq[usize::from(i)],
            RST,
            &[],
        ));
    }
    // Half a minute later, past the time reset connections linger: other
    // traffic (the flow table ends flows as it sweeps, every thousand
    // packets or so), then the late host.
    let mut later: Vec<Vec<u8>> = (0..3000u32)
        .map(|n| {
            ipv4(
                SERVER,
                [10, 0, 3, 1],
                17,
                1,
                0x4000,
                &udp(9999, 10_000 + (n % 64) as u16, &n.to_be_bytes()),
            )
        })
        .collect();
    let mut late = header("LATEPUMP");
    late.extend_from_slice(&filler.repeat(14));
    let late_host = [10, 0, 1, 200];
    later.push(ipv4_tcp(late_host, SERVER, 40000, 2575, 1, PSH_ACK, &late));
    let end = 1 + late.len() as u32;
    later.push(ipv4_tcp(
        late_host, SERVER, 40000, 2575, end, PSH_ACK, b"\x1c\r",
    ));
    let stamp = |s: u32, n: usize, f| ((1_700_000_000 + s, n as u32 * 100), f);
    pcap(
        frames
            .into_iter()
            .enumerate()
            .map(|(n, f)| stamp(0, n, f))
            .chain(later.into_iter().enumerate().map(|(n, f)| stamp(30, n, f))),
    )
}

/// `(dissection_shed, the report as JSON)`.
fn run(threads: usize, max_dissect_held: usize) -> (u64, String) {
    let path = std::env::temp_dir().join(format!(
        "ww-held-{}-{threads}-{max_dissect_held}.pcap",
        std::process::id()
    ));
    std::fs::write(&path, capture()).unwrap();
    let cfg = EngineConfig {
        threads,
        max_dissect_held,
        ..Default::default()
    };
    let report = analyze_files(std::slice::from_ref(&path), &cfg)
        .unwrap()
        .report;
    let _ = std::fs::remove_file(&path);
    (
        report.stats.dissection_shed,
        serde_json::to_string(&report).unwrap(),
    )
}

fn named(json: &str, app: &str) -> bool {
    json.contains(&format!("{app} (ICU)"))
}

#[test]
fn dissectors_buffers_stay_under_their_cap() {
    // By default nothing is shed: every host is named by its header.
    let (shed, json) = run(1, EngineConfig::default().max_dissect_held);
    assert_eq!(shed, 0);
    for app in (0..HOLDERS)
        .map(|i| format!("HOLD{i}"))
        .chain(["STEADY3".into(), "LATEPUMP".into()])
    {
        assert!(named(&json, &app), "{app} missing");
    }
    // Under a 64 KiB cap the quiet holders come to some 44 KB; the growing
    // ones pass the cap and are shed as they grow (named by nobody, since
    // an unended message is read when its connection ends); the steady
    // host's messages end as they come and are all read. Once the holders
    // are reset their room is given back, and the late host's 30 KB
    // message is read whole.
    let (shed, json) = run(1, 64 << 10);
    assert!(
        (10..=u64::from(HOLDERS - QUIET)).contains(&shed),
        "{shed} shed"
    );
    for i in 0..QUIET {
        assert!(named(&json, &format!("HOLD{i}")), "quiet HOLD{i} missing");
    }
    let growing_named = (QUIET..HOLDERS).filter(|i| named(&json, &format!("HOLD{i}")));
    assert_eq!(
        growing_named.count() as u64,
        u64::from(HOLDERS - QUIET) - shed
    );
    assert!(
        named(&json, "STEADY3"),
        "a message read during the flood was lost"
    );
    assert!(named(&json, "LATEPUMP"), "the late message was not read");
    // Two workers share the cap (32 KiB each): the growing holders are
    // shed there too.
    let (shed, json) = run(2, 64 << 10);
    assert!(shed >= 10, "2 threads: {shed} shed");
    assert!(named(&json, "STEADY3"), "2 threads: STEADY3");
    assert!(named(&json, "LATEPUMP"), "2 threads: LATEPUMP {shed}");
}
