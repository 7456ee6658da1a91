//! L2–L4 decoding, decapsulation, defragmentation, the flow table and TCP
//! reassembly on arbitrary frames.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wardwatch_flow::exercise(data);
});
