//! Files a site or a feed hands wardwatch: KEV, CSAF, CVE JSON 5, EPSS,
//! version ranges, indicator lists and STIX bundles, policies, suppressions,
//! AS range tables.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wardwatch_intel::exercise(data);
    wardwatch_detect::exercise(data);
});
