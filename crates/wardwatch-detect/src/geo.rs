//! Where an external peer is: an offline MaxMind-format database (for
//! example the `@ip-location-db/geo-whois-asn-country-mmdb` files, whose
//! records hold `country_code`; or a GeoLite2-style `country.iso_code` and
//! `autonomous_system_number`). Read from `<data-dir>/geo/*.mmdb`; never
//! the network.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// Loaded databases.
#[derive(Default)]
pub struct Geo {
    dbs: Vec<(String, maxminddb::Reader<Vec<u8>>)>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.dbs.iter().map(|d| d.0.as_str()).collect();
        f.debug_struct("Geo").field("dbs", &names).finish()
    }
}

type Record = BTreeMap<String, serde_json::Value>;

impl Geo {
    /// Opens every `.mmdb` file of a directory; the error names the file.
    pub fn open_dir(dir: &Path) -> Result<Geo, String> {
        let mut g = Geo::default();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(g);
        };
        let mut files: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mmdb"))
            .collect();
        files.sort();
        for f in files {
            let r = maxminddb::Reader::open_readfile(&f)
                .map_err(|e| format!("{}: {e}", f.display()))?;
            g.dbs.push((f.display().to_string(), r));
        }
        Ok(g)
    }

    /// Whether any database is loaded.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// Country code and AS number of an address, as far as known.
    pub fn lookup(&self, ip: IpAddr) -> (Option<String>, Option<u32>) {
        let (mut cc, mut asn) = (None, None);
        for (_, db) in &self.dbs {
            let Ok(rec) = db.lookup::<Record>(ip) else {
                continue;
            };
            if cc.is_none() {
                cc = rec
                    .get("country_code")
                    .and_then(|v| v.as_str())
                    .or_else(|| {
                        rec.get("country")
                            .and_then(|c| c.get("iso_code"))
                            .and_then(|v| v.as_str())
                    })
                    .map(str::to_string);
            }
            if asn.is_none() {
                asn = rec
                    .get("autonomous_system_number")
                    .or_else(|| rec.get("asn"))
                    .and_then(|v| v.as_u64())
                    .and_then(|v| u32::try_from(v).ok());
            }
        }
        (cc, asn)
    }
}
