//! Where an external peer is: an offline MaxMind-format database (for
//! example the `@ip-location-db/geo-whois-asn-country-mmdb` files, whose
//! records hold `country_code`; or a GeoLite2-style `country.iso_code` and
//! `autonomous_system_number`), and AS-number range tables in CSV or TSV
//! (the `@ip-location-db/asn` files `asn-ipv4.csv`/`asn-ipv6.csv`:
//! `start,end,as_number,as_organisation`; iptoasn.com's `ip2asn-v4.tsv`:
//! `start end as_number country description`). Read from
//! `<data-dir>/geo/*.{mmdb,csv,tsv}`; never the network.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

/// Loaded databases.
#[derive(Default)]
pub struct Geo {
    dbs: Vec<(String, maxminddb::Reader<Vec<u8>>)>,
    asn: AsnRanges,
}

/// Reads `text` as an AS range table (CSV, or TSV when `tsv`) and looks
/// an address up in it: the parser's whole path, for fuzzing.
pub fn exercise_as_table(text: &str, tsv: bool) -> Result<Option<u32>, String> {
    let mut r = AsnRanges::default();
    r.load_text(text, "fuzz", tsv)?;
    Ok(r.lookup(IpAddr::from([10, 0, 0, 1])).map(|x| x.0))
}

/// Where an address is, as far as the databases know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// ISO 3166 country code.
    pub country: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// The AS's organisation.
    pub as_org: Option<String>,
}

/// AS ranges from CSV/TSV tables, sorted by start; organisation names
/// interned (a few tens of thousands for half a million ranges).
#[derive(Default)]
struct AsnRanges {
    v4: Vec<(u32, u32, u32, u32)>,
    v6: Vec<(u128, u128, u32, u32)>,
    orgs: Vec<String>,
}

impl AsnRanges {
    fn load(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let tsv = path.extension().is_some_and(|x| x == "tsv");
        self.load_text(&text, &path.display().to_string(), tsv)
    }

    fn load_text(&mut self, text: &str, name: &str, tsv: bool) -> Result<(), String> {
        let mut index: std::collections::HashMap<String, u32> = self
            .orgs
            .iter()
            .enumerate()
            .map(|(i, o)| (o.clone(), i as u32))
            .collect();
        let mut offset = 0usize;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let at = offset;
            offset += line.len();
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f = if tsv {
                line.split('\t').map(str::to_string).collect()
            } else {
                csv_fields(line)
            };
            let bad = |what: &str| format!("{name}: line {} (byte {at}): {what}", n + 1);
            if f.len() < 3 {
                return Err(bad("expected start,end,as_number[,organisation]"));
            }
            let asn: u32 = f[2]
                .trim()
                .trim_start_matches("AS")
                .parse()
                .map_err(|_| bad("AS number"))?;
            if asn == 0 {
                continue; // iptoasn: "Not routed"
            }
            let org = if tsv { f.get(4) } else { f.get(3) }.map_or("", |s| s.as_str());
            let next = index.len() as u32;
            let oi = *index.entry(org.to_string()).or_insert_with(|| {
                self.orgs.push(org.to_string());
                next
            });
            let (a, b) = (f[0].trim(), f[1].trim());
            match (parse_end(a), parse_end(b)) {
                (Some(End::V4(x)), Some(End::V4(y))) if x <= y => self.v4.push((x, y, asn, oi)),
                (Some(End::V6(x)), Some(End::V6(y))) if x <= y => self.v6.push((x, y, asn, oi)),
                _ => return Err(bad("range start and end")),
            }
        }
        self.v4.sort_unstable();
        self.v6.sort_unstable();
        Ok(())
    }

    fn lookup(&self, ip: IpAddr) -> Option<(u32, &str)> {
        fn find<T: Ord + Copy>(v: &[(T, T, u32, u32)], x: T) -> Option<(u32, u32)> {
            let i = v.partition_point(|r| r.0 <= x).checked_sub(1)?;
            let r = v[i];
            (x <= r.1).then_some((r.2, r.3))
        }
        let (asn, org) = match ip {
            IpAddr::V4(a) => find(&self.v4, u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => find(&self.v4, u32::from(v4)),
                None => find(&self.v6, u128::from(a)),
            },
        }?;
        Some((asn, self.orgs.get(org as usize).map_or("", |s| s.as_str())))
    }
}

enum End {
    V4(u32),
    V6(u128),
}

/// A range end: an address, or an IPv4 address as a number (`-num` files).
fn parse_end(s: &str) -> Option<End> {
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Some(End::V4(a.into())),
        Ok(IpAddr::V6(a)) => Some(End::V6(a.into())),
        Err(_) => s.parse::<u32>().ok().map(End::V4),
    }
}

/// The fields of one CSV line (RFC 4180 quoting, `""` inside quotes).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.dbs.iter().map(|d| d.0.as_str()).collect();
        f.debug_struct("Geo")
            .field("dbs", &names)
            .field("as_ranges", &(self.asn.v4.len() + self.asn.v6.len()))
            .finish()
    }
}

type Record = BTreeMap<String, serde_json::Value>;

impl Geo {
    /// Opens every `.mmdb`, `.csv` and `.tsv` file of a directory; the error
    /// names the file (and the line and byte of a bad row).
    pub fn open_dir(dir: &Path) -> Result<Geo, String> {
        let mut g = Geo::default();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(g);
        };
        let mut files: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "mmdb" || x == "csv" || x == "tsv")
            })
            .collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|x| x == "mmdb") {
                let r = maxminddb::Reader::open_readfile(&f)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
                g.dbs.push((f.display().to_string(), r));
            } else {
                g.asn.load(&f)?;
            }
        }
        Ok(g)
    }

    /// Whether any database is loaded.
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty() && self.asn.v4.is_empty() && self.asn.v6.is_empty()
    }

    /// Country, AS number and AS organisation of an address, as far as
    /// known (MMDB files first, then the range tables).
    pub fn lookup(&self, ip: IpAddr) -> Place {
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
        let mut as_org = None;
        if let Some((n, org)) = self.asn.lookup(ip) {
            if asn.is_none() || asn == Some(n) {
                asn = Some(n);
                as_org = Some(org.to_string()).filter(|o| !o.is_empty());
            }
        }
        Place {
            country: cc,
            asn,
            as_org,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_ranges_from_csv_and_tsv() {
        let dir = std::env::temp_dir().join(format!("ww-asn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("asn-ipv4.csv"),
            "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n45.155.204.0,45.155.205.255,208677,\"\"\"Cloud\"\" LLC\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("asn-ipv6.csv"),
            "2001:db8::,2001:db8::ffff,64500,Example\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("ip2asn-v4.tsv"),
            "8.8.8.0\t8.8.8.255\t15169\tUS\tGOOGLE\n9.0.0.0\t9.0.0.255\t0\tNone\tNot routed\n",
        )
        .unwrap();
        let g = Geo::open_dir(&dir).unwrap();
        let p = g.lookup("45.155.205.10".parse().unwrap());
        assert_eq!(
            (p.asn, p.as_org.as_deref()),
            (Some(208677), Some("\"Cloud\" LLC"))
        );
        assert_eq!(
            g.lookup("1.0.0.7".parse().unwrap()).as_org.as_deref(),
            Some("Cloudflare, Inc.")
        );
        assert_eq!(g.lookup("8.8.8.8".parse().unwrap()).asn, Some(15169));
        assert_eq!(g.lookup("2001:db8::5".parse().unwrap()).asn, Some(64500));
        assert_eq!(g.lookup("::ffff:8.8.8.8".parse().unwrap()).asn, Some(15169));
        assert_eq!(g.lookup("9.0.0.1".parse().unwrap()), Place::default());
        assert_eq!(g.lookup("1.0.1.0".parse().unwrap()).asn, None);
        std::fs::write(
            dir.join("zz-bad.csv"),
            "1.0.0.0,1.0.0.255,1,a\nnot,an,asn\n",
        )
        .unwrap();
        let e = Geo::open_dir(&dir).unwrap_err();
        assert!(e.contains("zz-bad.csv: line 2 (byte 22)"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
