//! Replays the fuzz corpora (and every crash ever found, which is added to
//! them) as ordinary regression tests: no input may panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn capture_corpus_replays_without_panic() {
    let c = corpus("capture");
    assert!(c.len() >= 5, "capture corpus has {} files", c.len());
    let mut packets = 0;
    for (name, data) in &c {
        let n = std::panic::catch_unwind(|| wardwatch_capture::exercise(data))
            .unwrap_or_else(|_| panic!("capture corpus {name} panicked"));
        packets += n;
    }
    assert!(packets > 0, "the seed captures hold packets");
}

#[test]
fn decode_corpus_replays_without_panic() {
    let c = corpus("decode");
    assert!(c.len() >= 5, "decode corpus has {} files", c.len());
    for (name, data) in &c {
        std::panic::catch_unwind(|| wardwatch_flow::exercise(data))
            .unwrap_or_else(|_| panic!("decode corpus {name} panicked"));
    }
}
