//! Built from the 144 shared ICSMA advisories: for each advisory, a device
//! described by its own product tree at an affected version matches it, and
//! a device at a version the advisory lists as fixed does not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use wardwatch_intel::{feeds, Intel};
use wardwatch_inventory::kb;
use wardwatch_model::{Confidence, Device};

fn device(vendor: &str, model: &str, firmware: Option<String>) -> Device {
    Device {
        vendor: Some(vendor.into()),
        model: Some(model.into()),
        firmware,
        category: "unknown".into(),
        confidence: Confidence {
            vendor: 0.9,
            model: 0.9,
            category: 0.0,
            firmware: 0.9,
        },
        ..Default::default()
    }
}

#[test]
fn advisories_match_their_own_products() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel/csaf_icsma");
    if !dir.exists() {
        eprintln!("SKIPPED: ../shared/data/intel/csaf_icsma is absent");
        return;
    }
    let kb = kb::kb();
    let mut intel = Intel::default();
    for f in feeds::json_files(&dir) {
        let b = std::fs::read(&f).unwrap();
        intel
            .advisories
            .push(feeds::read_csaf(&b, &f.display().to_string()).unwrap());
    }
    intel.reindex(kb);
    let (mut advisories, mut products, mut matched, mut unparsed) = (0, 0, 0, 0);
    let (mut fixed_checked, mut fixed_ambiguous, mut nameless) = (0, 0, 0);
    let mut failures = Vec::new();
    for a in &intel.advisories {
        let mut covered = false;
        for (pi, p) in a.products.iter().enumerate() {
            let cves: Vec<&str> = a
                .vulns
                .iter()
                .filter(|v| v.affected.contains(&pi))
                .map(|v| v.cve.as_str())
                .collect();
            if cves.is_empty() {
                continue;
            }
            if wardwatch_intel::matcher::product_tokens(&p.vendor, &p.name).is_empty() {
                // The advisory names no product ("Version" as a product name).
                nameless += 1;
                continue;
            }
            let Some(spec) = &p.versions else {
                unparsed += 1;
                continue;
            };
            products += 1;
            let fw = spec.example_inside();
            let d = device(&p.vendor, &p.name, fw.clone());
            let got = wardwatch_intel::matcher::match_device(&intel, kb, &d);
            let all = cves.iter().all(|c| {
                got.iter().any(|v| {
                    v.id == *c
                        && v.advisories.contains(&a.id)
                        && v.confidence > 0.0
                        && !v.match_reason.is_empty()
                })
            });
            if all {
                matched += 1;
                covered = true;
            } else {
                failures.push(format!(
                    "{} {} {} @ {:?} ({})",
                    a.id, p.vendor, p.name, fw, p.version_text
                ));
            }
        }
        if covered {
            advisories += 1;
        }
        // Versions past an affected range (the first fixed release or
        // later) must not match it.
        for v in &a.vulns {
            for pi in &v.affected {
                let Some(p) = a.products.get(*pi) else {
                    continue;
                };
                let Some(out) = p.versions.as_ref().and_then(|s| s.example_outside()) else {
                    continue;
                };
                let outv = wardwatch_intel::version::Version::parse(&out);
                let mt = wardwatch_intel::matcher::product_tokens(&p.vendor, &p.name);
                if mt.is_empty() {
                    continue;
                }
                // Another affected entry of the same product that covers the
                // version (several ranges listed) makes it affected after all.
                let covered = v.affected.iter().any(|ai| {
                    a.products.get(*ai).is_some_and(|ap| {
                        wardwatch_intel::matcher::name_score(
                            &mt,
                            &wardwatch_intel::matcher::product_tokens(&ap.vendor, &ap.name),
                        ) > 0.0
                            && match (&ap.versions, &outv) {
                                (Some(s), Some(x)) => s.contains(x),
                                _ => true,
                            }
                    })
                });
                if covered {
                    fixed_ambiguous += 1;
                    continue;
                }
                let d = device(&p.vendor, &p.name, Some(out.clone()));
                let got = wardwatch_intel::matcher::match_device(&intel, kb, &d);
                let wrongly = got
                    .iter()
                    .any(|x| x.id == v.cve && x.advisories.contains(&a.id));
                assert!(
                    !wrongly,
                    "{}: {} {} at {out} (outside \"{}\") matched {}",
                    a.id, p.vendor, p.name, p.version_text, v.cve
                );
                fixed_checked += 1;
            }
        }
    }
    println!(
        "ICSMA: {} advisories read, {advisories} matched by their own products; {matched}/{products} affected products matched ({unparsed} with version text that is not a version); {nameless} naming no product; {fixed_checked} product/CVE pairs checked not to match just past their affected range ({fixed_ambiguous} covered by another range of the same advisory)",
        intel.advisories.len()
    );
    for f in failures.iter().take(20) {
        println!("  unmatched: {f}");
    }
    assert!(intel.advisories.len() >= 144);
    assert_eq!(
        failures.len(),
        0,
        "{} affected products did not match",
        failures.len()
    );
}
