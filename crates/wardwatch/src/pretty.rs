//! The report as pretty JSON, byte for byte as `serde_json::to_writer_pretty`
//! writes it (see [`crate::json`]), its devices and findings rendered in
//! batches (by several threads when there are several) and written in order.

use std::io::{self, Write};

use serde::Serialize;

/// Devices or findings rendered per batch by [`report_to_writer`].
const BATCH: usize = 256;

/// Writes `report` as pretty JSON (see [`crate::json`]). Its devices and
/// findings (nearly all of a large site's report) are rendered by `threads`
/// threads in batches and written in order, at most a few batches per thread
/// held at once; the rest (counters, inputs, talkers) is rendered to memory
/// first and written around them.
pub fn report_to_writer<W: Write>(
    mut w: W,
    report: &mut wardwatch_model::Report,
    threads: usize,
) -> io::Result<()> {
    // The report without its devices and findings, then both spliced in
    // where their empty lists are (the only keys indented by one level and
    // named so: a line break inside a string is written escaped).
    let devices = std::mem::take(&mut report.devices);
    let findings = std::mem::take(&mut report.findings);
    let mut rest = Vec::new();
    let rendered = crate::json::write(&mut rest, 0, &*report);
    report.devices = devices;
    report.findings = findings;
    rendered.map_err(io::Error::other)?;
    let at = |mark: &[u8], from: usize| {
        rest.get(from..)
            .and_then(|r| r.windows(mark.len()).position(|x| x == mark))
            .map(|i| from + i + mark.len() - 1)
            .ok_or_else(|| io::Error::other("report layout: a list key is missing"))
    };
    // Each cut falls just after the list's opening bracket.
    let devices_at = at(b"\n  \"devices\": []", 0)?;
    let findings_at = at(b"\n  \"findings\": []", devices_at)?;
    w.write_all(&rest[..devices_at])?;
    write_list(&mut w, &report.devices, threads)?;
    w.write_all(&rest[devices_at..findings_at])?;
    write_list(&mut w, &report.findings, threads)?;
    w.write_all(&rest[findings_at..])
}

/// The items of a top-level list, between its brackets.
fn write_list<W: Write, T: Serialize + Sync>(
    w: &mut W,
    items: &[T],
    threads: usize,
) -> io::Result<()> {
    let batches: Vec<&[T]> = items.chunks(BATCH).collect();
    let n = threads.clamp(1, batches.len().max(1));
    if n == 1 {
        for (b, batch) in batches.iter().enumerate() {
            w.write_all(&render_batch(batch, b == 0).map_err(io::Error::other)?)?;
        }
    } else {
        std::thread::scope(|s| -> io::Result<()> {
            let mut rx = Vec::with_capacity(n);
            for k in 0..n {
                let (tx, r) = std::sync::mpsc::sync_channel::<serde_json::Result<Vec<u8>>>(2);
                rx.push(r);
                let batches = &batches;
                s.spawn(move || {
                    for (b, batch) in batches.iter().enumerate().skip(k).step_by(n) {
                        if tx.send(render_batch(batch, b == 0)).is_err() {
                            return;
                        }
                    }
                });
            }
            for b in 0..batches.len() {
                let buf = rx
                    .get(b % n)
                    .and_then(|r| r.recv().ok())
                    .ok_or_else(|| io::Error::other("a report writer stopped"))?
                    .map_err(io::Error::other)?;
                w.write_all(&buf)?;
            }
            Ok(())
        })?;
    }
    if !items.is_empty() {
        w.write_all(b"\n  ")?;
    }
    Ok(())
}

/// Items as they sit in a top-level list (two levels deep).
fn render_batch<T: Serialize>(batch: &[T], first: bool) -> serde_json::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(batch.len() * 4096);
    for (i, d) in batch.iter().enumerate() {
        if !(first && i == 0) {
            buf.push(b',');
        }
        buf.extend_from_slice(b"\n    ");
        crate::json::write(&mut buf, 2, d)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(i: usize) -> wardwatch_model::report::Finding {
        wardwatch_model::report::Finding {
            id: format!("f-{i}"),
            kind: "port-scan".into(),
            rule: "vertical-scan".into(),
            severity: "medium".into(),
            status: "new".into(),
            device: None,
            ip: Some("10.0.0.1".into()),
            peer: None,
            peers: vec!["10.0.0.2".into()],
            peer_count: 1,
            peer_country: None,
            peer_asn: None,
            // What the list keys look like, inside a string.
            summary: "scan\n  \"findings\": []\n  \"devices\": []".into(),
            evidence: vec![wardwatch_model::report::FindingEvidence {
                input: "x.pcap".into(),
                frame: i as u64,
                ts: "2026-11-26T00:00:00.000000Z".into(),
                detail: "SYN".into(),
            }],
            first_seen: String::new(),
            last_seen: String::new(),
            count: 1,
            remediation: "r".into(),
        }
    }

    #[test]
    fn a_report_written_in_parallel_is_the_same() {
        for (n, m) in [
            (0, 0),
            (1, 0),
            (0, 1),
            (BATCH, 2),
            (3 * BATCH + 7, BATCH + 1),
        ] {
            let mut report = wardwatch_model::Report {
                schema: "wardwatch.report/1".into(),
                generated_at: "2026-11-26T00:00:00Z".into(),
                inputs: vec![],
                stats: Default::default(),
                site: "devices".into(),
                feeds: vec![],
                findings: (0..m).map(finding).collect(),
                top_talkers: vec![wardwatch_model::report::Talker {
                    ip: "10.0.0.1".into(),
                    bytes: 1,
                    packets: 1,
                    flows: 1,
                }],
                warnings: vec![],
                devices: (0..n)
                    .map(|i| wardwatch_model::Device {
                        id: format!("dev-{i}"),
                        ips: vec![format!("10.0.{}.{}", i / 256, i % 256)],
                        category: "unknown".into(),
                        ..Default::default()
                    })
                    .collect(),
            };
            for threads in [1, 2, 3] {
                let mut ours = Vec::new();
                report_to_writer(&mut ours, &mut report, threads).unwrap();
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    serde_json::to_string_pretty(&report).unwrap(),
                    "{n} devices, {m} findings, {threads} threads"
                );
            }
            assert_eq!((report.devices.len(), report.findings.len()), (n, m));
        }
    }
}
