//! The capture reader (pcap, pcapng, gzip) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wardwatch_capture::exercise(data);
});
