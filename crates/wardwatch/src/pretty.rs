//! The report as pretty JSON, byte for byte as `serde_json::to_writer_pretty`
//! writes it (see [`crate::json`]), its devices rendered in batches (by
//! several threads when there are several) and written in order.

use std::io::{self, Write};

/// Devices rendered per batch by [`report_to_writer`].
const BATCH: usize = 256;

/// Writes `report` as pretty JSON (see [`crate::json`]), its devices (nearly all of a large
/// site's report) rendered by `threads` threads in batches and written in
/// order; at most a few batches per thread are held at once. The rest of the
/// report (findings, counters) is rendered to memory first, then written
/// around the devices.
pub fn report_to_writer<W: Write>(
    mut w: W,
    report: &mut wardwatch_model::Report,
    threads: usize,
) -> io::Result<()> {
    // The report without its devices, then the devices spliced in where
    // their empty list is (the only key indented by one level and named so).
    let devices = std::mem::take(&mut report.devices);
    let mut head = Vec::new();
    let rendered = crate::json::write(&mut head, 0, &*report);
    report.devices = devices;
    rendered.map_err(io::Error::other)?;
    const MARK: &[u8] = b"\n  \"devices\": []";
    let at = head
        .windows(MARK.len())
        .position(|x| x == MARK)
        .ok_or_else(|| io::Error::other("report layout: no devices key"))?;
    let (start, end) = head.split_at(at + MARK.len() - 1);
    w.write_all(start)?;
    let batches: Vec<&[wardwatch_model::Device]> = report.devices.chunks(BATCH).collect();
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
    if !report.devices.is_empty() {
        w.write_all(b"\n  ")?;
    }
    w.write_all(end)
}

/// Devices as they sit in the report's list (two levels deep).
fn render_batch(batch: &[wardwatch_model::Device], first: bool) -> serde_json::Result<Vec<u8>> {
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

    #[test]
    fn a_report_written_in_parallel_is_the_same() {
        for n in [0, 1, BATCH, 3 * BATCH + 7] {
            let mut report = wardwatch_model::Report {
                schema: "wardwatch.report/1".into(),
                generated_at: "2026-11-26T00:00:00Z".into(),
                inputs: vec![],
                stats: Default::default(),
                site: "devices".into(),
                feeds: vec![],
                findings: vec![],
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
                    "{n} devices, {threads} threads"
                );
            }
            assert_eq!(report.devices.len(), n);
        }
    }
}
