//! Replays the dissector fuzz corpus as a regression test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn proto_corpus_replays_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/proto");
    let mut n = 0;
    let mut observed = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let data = std::fs::read(e.path()).unwrap();
        observed += std::panic::catch_unwind(|| wardwatch_proto::exercise(&data))
            .unwrap_or_else(|_| panic!("{} panicked", e.path().display()));
        n += 1;
    }
    assert!(n >= 5, "proto corpus has {n} files");
    assert!(observed > 0, "the seeds hold real messages");
}
