//! ARP host discovery: a sender asking for many addresses within a minute
//! is a sweep; a router asking for its subnet's hosts one by one over hours
//! (as their entries expire), or revalidating them by unicast, is not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// An ARP request from `spa` (MAC ending `me`) for `tpa`, to `dst`.
fn arp(dst: [u8; 6], me: u8, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mac = [2, 0, 0, 0, 0, me];
    let mut f = dst.to_vec();
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&spa);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa);
    f
}

const BROADCAST: [u8; 6] = [0xff; 6];

/// The arp-sweep findings of a capture of `frames`, by sender address.
fn sweeps(name: &str, frames: Vec<((u32, u32), Vec<u8>)>) -> Vec<(String, String)> {
    common::findings_of(&format!("arp-{name}"), frames)
        .into_iter()
        .filter(|f| f.rule == "arp-sweep")
        .map(|f| (f.ip.unwrap_or_default(), f.summary))
        .collect()
}

/// Address `i` of 10.0.x.y.
fn host(i: u32) -> [u8; 4] {
    [10, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8]
}

#[test]
fn a_router_asking_for_its_hosts_over_hours_is_no_sweep() {
    let t0 = 1_700_000_000;
    // 300 hosts, one every 24 s: two hours.
    let mut frames: Vec<_> = (0..300)
        .map(|i| ((t0 + 24 * i, 0), arp(BROADCAST, 1, [10, 0, 0, 1], host(i))))
        .collect();
    assert_eq!(sweeps("router", frames.clone()), vec![]);
    // Asking again by broadcast for the same hosts within seconds (its
    // entries flushed): nothing new.
    let end = t0 + 24 * 300;
    frames.extend((0..300).map(|i| {
        let at = (end + i / 30, (i % 30) * 30_000);
        (at, arp(BROADCAST, 1, [10, 0, 0, 1], host(i)))
    }));
    assert_eq!(sweeps("router-again", frames), vec![]);
    // A router revalidating the entries it holds by unicast, 300 in ten
    // seconds, from the start of the capture.
    let unicast: Vec<_> = (0..300)
        .map(|i| {
            let at = (t0 + i / 30, (i % 30) * 30_000);
            (at, arp([2, 0, 0, 0, 9, 9], 1, [10, 0, 0, 1], host(i)))
        })
        .collect();
    assert_eq!(sweeps("router-unicast", unicast), vec![]);
}

#[test]
fn many_addresses_within_a_minute_are_a_sweep() {
    let t0 = 1_700_000_000;
    // 100 addresses in three seconds (nmap -sn on a /24 is faster).
    let fast: Vec<_> = (0..100)
        .map(|i| {
            (
                (t0, i * 30_000),
                arp(BROADCAST, 66, [10, 0, 0, 66], host(i)),
            )
        })
        .collect();
    let found = sweeps("fast", fast);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "10.0.0.66");
    assert!(found[0].1.contains("100 addresses"), "{}", found[0].1);
    assert!(
        found[0].1.contains("100 of them within a minute"),
        "{}",
        found[0].1
    );
    // 70 addresses over 20 s, across the turn of a minute (t0 is 20 s
    // past one): still one sweep.
    let across: Vec<_> = (0..70u32)
        .map(|i| {
            let us = u64::from(i) * 20_000_000 / 70;
            let at = (t0 + 30 + (us / 1_000_000) as u32, (us % 1_000_000) as u32);
            (at, arp(BROADCAST, 67, [10, 0, 0, 67], host(i)))
        })
        .collect();
    let found = sweeps("across", across);
    assert_eq!(found.len(), 1, "{found:?}");
    // 63 addresses within a minute, the rest of 300 spread over an hour:
    // no burst reaches the threshold.
    let slow: Vec<_> = (0..300u32)
        .map(|i| {
            let at = if i < 63 {
                (t0, i * 10_000)
            } else {
                (t0 + 60 + i * 12, 0)
            };
            (at, arp(BROADCAST, 68, [10, 0, 0, 68], host(i)))
        })
        .collect();
    assert_eq!(sweeps("slow", slow), vec![]);
}

/// A sweep's requests split between flow workers (each frame is counted by
/// one of them) are one sweep: nmap's ARP discovery of a /24 is found with
/// the same count within a minute whatever the number of workers (before,
/// each worker's busiest minute was kept, not the sweep's: 199 of 245 with
/// two workers).
#[test]
fn a_sweep_split_between_workers_counts_whole() {
    let Some(path) = common::shared("pcap/it/nmap_version_scan__zeek.pcap") else {
        return;
    };
    let summaries: Vec<Vec<String>> = [1, 2]
        .into_iter()
        .map(|threads| {
            let r = common::report_with_threads(&path, threads);
            r.findings
                .into_iter()
                .filter(|f| f.rule == "arp-sweep")
                .map(|f| f.summary)
                .collect()
        })
        .collect();
    assert_eq!(
        summaries[0],
        ["Host discovery: ARP requests for 245 addresses (503 requests), 245 of them within a minute"]
    );
    assert_eq!(summaries[1], summaries[0]);
}
