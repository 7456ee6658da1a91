//! The protocol dissectors (DICOM, HL7, HTTP, DHCP) on arbitrary streams.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wardwatch_proto::exercise(data);
});
