//! A capture holding one direction of the conversations: a server that
//! acknowledged a connection and was sent data is a device though none of
//! its packets is there; an address only probed is not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{frame, tcp};
use wardwatch_engine::{analyze_files, EngineConfig};

const CLIENT: [u8; 6] = [0x00, 0x1d, 0x09, 0, 0, 1];
const SERVER: [u8; 6] = [0x00, 0x1d, 0x09, 0, 0, 2];

/// Addresses of the devices of a capture of `frames` (one a second).
fn device_ips(name: &str, frames: Vec<Vec<u8>>) -> Vec<String> {
    let p = std::env::temp_dir().join(format!("ww-1dir-{}-{name}.pcap", std::process::id()));
    let stamped = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| ((1_700_000_000 + i as u32, 0), f));
    std::fs::write(&p, common::pcap(stamped)).unwrap();
    let r = analyze_files(std::slice::from_ref(&p), &EngineConfig::default())
        .unwrap()
        .report;
    std::fs::remove_file(&p).unwrap();
    let mut ips: Vec<_> = r.devices.into_iter().flat_map(|d| d.ips).collect();
    ips.sort();
    ips
}

#[test]
fn a_server_sent_data_on_an_acknowledged_connection_is_a_device() {
    let c = (CLIENT, "10.0.0.5");
    let s = |ip| (SERVER, ip);
    let msg = b"\x0bMSH|^~\\&|LAB|H|EHR|H|20250101||ORU^R01|1|P|2.5\r\x1c\r";
    let frames = vec![
        // An HL7 sender's half of a connection: SYN, ACK, data.
        frame(c, s("10.0.0.10"), 64, 6, &tcp(40000, 2575, 0x02, &[])),
        frame(c, s("10.0.0.10"), 64, 6, &tcp(40000, 2575, 0x10, &[])),
        frame(c, s("10.0.0.10"), 64, 6, &tcp(40000, 2575, 0x18, msg)),
        // Probes only: SYNs to other addresses, one carrying data (no
        // connection was ever acknowledged).
        frame(c, s("10.0.0.20"), 64, 6, &tcp(40001, 2575, 0x02, &[])),
        frame(c, s("10.0.0.21"), 64, 6, &tcp(40002, 22, 0x02, &[])),
        frame(c, s("10.0.0.22"), 64, 6, &tcp(40003, 2575, 0x02, msg)),
    ];
    assert_eq!(device_ips("sender", frames), vec!["10.0.0.10", "10.0.0.5"]);
}
