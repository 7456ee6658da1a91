//! Replays the `feeds` fuzz corpus (and every crash found, added to it):
//! no feed or site file may panic the readers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[test]
fn feeds_corpus_replays_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/feeds");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let data = std::fs::read(e.path()).unwrap();
        wardwatch_intel::exercise(&data);
        wardwatch_detect::exercise(&data);
        n += 1;
    }
    assert!(n >= 10, "{n} corpus files");
}
