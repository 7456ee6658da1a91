//! The classification knowledge base: rules kept as data (`kb/*.toml`, in
//! the repository and compiled in), read once. A rule reads one kind of
//! evidence and proposes vendor, model, firmware, OS, category and whether
//! the device is medical, each with a confidence; the strongest proposal per
//! field wins, and the evidence that carried it is marked with the rule id.
//! Vendor names are normalised to one canonical spelling.

use std::sync::OnceLock;

use serde::Deserialize;
use wardwatch_model::Device;

const KB_FILES: [(&str, &str); 3] = [
    ("kb/vendors.toml", include_str!("../kb/vendors.toml")),
    ("kb/medical.toml", include_str!("../kb/medical.toml")),
    ("kb/it.toml", include_str!("../kb/it.toml")),
];

/// A canonical vendor and its spellings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorAlias {
    /// The name reported.
    pub canonical: String,
    /// Words that start a name (case-insensitive; whole words only).
    #[serde(default)]
    pub prefix: Vec<String>,
    /// Whole names (case-insensitive), for short ones such as "GE".
    #[serde(default)]
    pub equals: Vec<String>,
    /// Public source of the spellings.
    pub source: String,
}

/// One classification rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, written into the evidence it read.
    pub id: String,
    /// Evidence source (`dicom`, `hl7`, `oui`, `dhcp` …).
    pub source: String,
    /// Evidence field.
    pub field: String,
    /// Values equal to one of these (case-insensitive).
    #[serde(default)]
    pub equals: Vec<String>,
    /// Values starting with one of these.
    #[serde(default)]
    pub prefix: Vec<String>,
    /// Values containing one of these.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Values of exactly this shape: `#` a hex digit, `@` a letter or
    /// digit, anything else itself (a maker's default host name such as
    /// `NPI######`).
    #[serde(default)]
    pub shape: Vec<String>,
    /// Proposed vendor (`{value}`, `{part N}`, `{oui}` templates).
    pub vendor: Option<String>,
    /// Proposed model.
    pub model: Option<String>,
    /// Proposed firmware.
    pub firmware: Option<String>,
    /// Proposed operating system.
    pub os: Option<String>,
    /// Proposed category.
    pub category: Option<String>,
    /// Proposed medical flag.
    pub medical: Option<bool>,
    /// The OUI names the network-module maker, not the device's: the
    /// vendor taken from it drops to this rule's confidence.
    #[serde(default)]
    pub nic: bool,
    /// Confidence of every proposal of this rule.
    pub confidence: f64,
    /// Public source.
    #[serde(rename = "ref")]
    pub reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KbFile {
    #[serde(default)]
    vendor: Vec<VendorAlias>,
    #[serde(default)]
    rule: Vec<Rule>,
}

type Fold = foldhash::fast::RandomState;
type HashMap<K, V> = std::collections::HashMap<K, V, Fold>;

/// The loaded knowledge base.
#[derive(Debug, Default)]
pub struct Kb {
    /// Vendor spellings.
    pub vendors: Vec<VendorAlias>,
    /// Rules, in file order.
    pub rules: Vec<Rule>,
    /// Rule indexes by source, then field, in file order (looked up by
    /// `&str` for every piece of evidence, without building a key).
    by_key: std::collections::HashMap<String, HashMap<String, Vec<usize>>, Fold>,
}

/// The DESIGN categories.
pub const CATEGORIES: [&str; 18] = [
    "imaging-modality",
    "ultrasound",
    "infusion-pump",
    "patient-monitor",
    "ventilator",
    "lab-analyzer",
    "pacs",
    "interface-engine",
    "medical-workstation",
    "nurse-call",
    "workstation",
    "server",
    "network-device",
    "printer",
    "voip",
    "building-automation",
    "iot",
    "unknown",
];

impl Kb {
    /// The indexes of the rules that read `field` of `source` evidence.
    fn rules_for(&self, source: &str, field: &str) -> Option<&Vec<usize>> {
        self.by_key.get(source)?.get(field)
    }

    /// Parses knowledge-base files; errors name the file and the problem.
    pub fn parse(files: &[(&str, &str)]) -> Result<Kb, String> {
        let mut kb = Kb::default();
        for (name, text) in files {
            let f: KbFile = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
            kb.vendors.extend(f.vendor);
            kb.rules.extend(f.rule);
        }
        for r in kb.rules.iter_mut() {
            // Matching is case-insensitive: patterns are kept lowercase.
            for list in [&mut r.equals, &mut r.prefix, &mut r.contains, &mut r.shape] {
                for p in list.iter_mut() {
                    *p = p.to_lowercase();
                }
            }
        }
        for (i, r) in kb.rules.iter().enumerate() {
            kb.by_key
                .entry(r.source.clone())
                .or_default()
                .entry(r.field.clone())
                .or_default()
                .push(i);
        }
        let mut ids = std::collections::HashSet::new();
        for r in &kb.rules {
            if !ids.insert(r.id.as_str()) {
                return Err(format!("rule {} defined twice", r.id));
            }
            if let Some(c) = &r.category {
                if !CATEGORIES.contains(&c.as_str()) {
                    return Err(format!("rule {}: unknown category {c}", r.id));
                }
            }
            if !(0.0..=1.0).contains(&r.confidence) {
                return Err(format!("rule {}: confidence out of 0..1", r.id));
            }
            if r.equals.is_empty()
                && r.prefix.is_empty()
                && r.contains.is_empty()
                && r.shape.is_empty()
            {
                return Err(format!("rule {}: no equals/prefix/contains/shape", r.id));
            }
            if r.reference.trim().is_empty() {
                return Err(format!("rule {}: no ref (public source)", r.id));
            }
        }
        Ok(kb)
    }

    /// The canonical spelling of a vendor name (or the name, trimmed). A
    /// prefix names a whole word or words: `ATL` (Philips ultrasound) is not
    /// the start of `ATLAS COPCO`, nor `GEMS` of `Gemstar`.
    pub fn canonical_vendor(&self, name: &str) -> String {
        let n = name.trim();
        let lower = n.to_lowercase();
        let starts_with_words = |p: &str| {
            let p = p.to_lowercase();
            lower.starts_with(&p)
                && (!p.ends_with(|c: char| c.is_alphanumeric())
                    || !lower[p.len()..].starts_with(|c: char| c.is_alphanumeric()))
        };
        for v in &self.vendors {
            if v.equals.iter().any(|e| lower == e.to_lowercase())
                || v.prefix.iter().any(|p| starts_with_words(p))
            {
                return v.canonical.clone();
            }
        }
        n.to_string()
    }
}

/// The shipped knowledge base.
pub fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    // The files are compiled in and tested; a broken one leaves the
    // inventory to the non-KB facts rather than stopping analysis.
    KB.get_or_init(|| Kb::parse(&KB_FILES).unwrap_or_default())
}

/// Whether the shipped knowledge base parses (tests and `inventory` checks).
pub fn check() -> Result<(usize, usize), String> {
    Kb::parse(&KB_FILES).map(|k| (k.rules.len(), k.vendors.len()))
}

/// The pattern of a rule a lowercased value matches (patterns are
/// lowercase), if any.
fn matches<'r>(r: &'r Rule, v: &str) -> Option<&'r str> {
    if v.is_empty() {
        return None;
    }
    r.equals
        .iter()
        .find(|e| v == e.as_str())
        .or_else(|| r.prefix.iter().find(|p| v.starts_with(p.as_str())))
        .or_else(|| r.contains.iter().find(|c| v.contains(c.as_str())))
        .or_else(|| r.shape.iter().find(|p| shaped(p, v)))
        .map(String::as_str)
}

/// Whether `v` has the shape `p` (see [`Rule::shape`]; both lowercase).
fn shaped(p: &str, v: &str) -> bool {
    p.len() == v.len()
        && p.bytes().zip(v.bytes()).all(|(p, c)| match p {
            b'#' => c.is_ascii_hexdigit(),
            b'@' => c.is_ascii_alphanumeric(),
            _ => p == c,
        })
}

/// The evidence that carries a device's host name, in whatever form
/// (a NetBIOS name with its suffix, a DNS name with its domain): the rules
/// of source `hostname`, field `name`, read its first label.
const HOST_NAME_FIELDS: [(&str, &str); 8] = [
    ("dhcp", "option 12 hostname"),
    ("dhcpv6", "option 39 client FQDN"),
    ("netbios-ns", "name"),
    ("browser", "server name"),
    ("snmp", "sysName"),
    ("dns", "PTR name"),
    ("dns", "address record name"),
    ("smtp", "EHLO name"),
];

/// Fills a template: `{value}`, `{part N}` (1-based `^` component),
/// `{oui}` (the vendor name of an `oui` evidence value, after the prefix) or
/// `{match}` (the pattern that matched).
fn fill(t: &str, value: &str, matched: &str) -> Option<String> {
    let out = match t {
        "{value}" => value.trim().to_string(),
        "{match}" => {
            let mut c = matched.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
        "{oui}" => value
            .split_once(' ')
            .map(|x| x.1)
            .unwrap_or(value)
            .trim()
            .to_string(),
        _ if t.starts_with("{part ") && t.ends_with('}') => {
            let n: usize = t[6..t.len() - 1].trim().parse().ok()?;
            value.split('^').nth(n.checked_sub(1)?)?.trim().to_string()
        }
        _ => t.to_string(),
    };
    (!out.is_empty()).then_some(out)
}

/// Criticality of a category: what failing or being tampered with costs a
/// patient.
pub fn criticality(category: &str) -> Option<&'static str> {
    Some(match category {
        "ventilator" | "infusion-pump" | "patient-monitor" => "critical",
        "imaging-modality" | "ultrasound" | "lab-analyzer" | "pacs" | "interface-engine"
        | "nurse-call" => "high",
        "medical-workstation" | "server" | "network-device" => "medium",
        "workstation" | "printer" | "voip" | "building-automation" | "iot" => "low",
        _ => return None,
    })
}

/// Whether an operating system string names one without security updates.
pub fn legacy_os(os: &str) -> Option<&'static str> {
    let l = os.to_ascii_lowercase();
    let names: [(&str, &'static str); 15] = [
        ("windows xp", "Windows XP"),
        ("windows 2000", "Windows 2000"),
        ("windows nt", "Windows NT"),
        ("windows 95", "Windows 95"),
        ("windows 98", "Windows 98"),
        ("windows me", "Windows ME"),
        ("server 2003", "Windows Server 2003"),
        ("windows 2003", "Windows Server 2003"),
        ("vista", "Windows Vista"),
        ("server 2008", "Windows Server 2008"),
        ("windows 7/8", "Windows 7 or 8"),
        ("windows 7", "Windows 7"),
        ("windows 8", "Windows 8/8.1"),
        ("windows ce", "Windows CE"),
        ("windows embedded", "Windows Embedded"),
    ];
    if let Some((_, n)) = names.iter().find(|(k, _)| l.contains(k)) {
        return Some(n);
    }
    // Windows 10 releases past their end of support in every edition (and
    // the server releases of the same builds): the semi-annual ones before
    // 21H2, and 22H2 (October 2025; paid extended updates aside). Builds
    // with long-term editions still supported are not named: 14393 (LTSB
    // 2016 / Server 2016), 17763 (LTSC 2019 / Server 2019), 19044 (LTSC
    // 2021). The build is read from an NTLM version ("10.0.19045") or a
    // "10.0 build 19045".
    let build = ["10.0.", "10.0 build "].iter().find_map(|k| {
        let at = l.find(k)? + k.len();
        let digits: String = l[at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let release = match build {
        Some(10240) => Some("Windows 10 1507"),
        Some(10586) => Some("Windows 10 1511"),
        Some(15063) => Some("Windows 10 1703"),
        Some(16299) => Some("Windows 10 1709"),
        Some(17134) => Some("Windows 10 1803"),
        Some(18362) => Some("Windows 10 1903"),
        Some(18363) => Some("Windows 10 1909"),
        Some(19041) => Some("Windows 10 2004"),
        Some(19042) => Some("Windows 10 20H2"),
        Some(19043) => Some("Windows 10 21H1"),
        Some(19045) => Some("Windows 10 22H2 (without paid extended updates)"),
        _ => None,
    };
    if release.is_some() {
        return release;
    }
    // macOS (from mDNS osxvers): Apple updates the current release and
    // the two before it; 13 Ventura's updates ended with macOS 26 (2025).
    // 14 Sonoma is left out: its end depends on a release not yet known
    // to be out everywhere.
    for (k, n) in [
        ("macos 10.", "macOS 10.x"),
        ("mac os x 10.", "macOS 10.x"),
        ("macos 11", "macOS 11"),
        ("macos 12", "macOS 12"),
        ("macos 13", "macOS 13"),
    ] {
        // "macos 13" and not "macos 130".
        let whole =
            |rest: &str| k.ends_with('.') || !rest.starts_with(|c: char| c.is_ascii_digit());
        if l.strip_prefix(k).is_some_and(whole) {
            return Some(n);
        }
    }
    // NTLM versions: 5.x is 2000/XP/2003, 6.0 Vista/2008, 6.1 7/2008 R2,
    // 6.2/6.3 8/8.1/2012 (support ended 2023).
    for (k, n) in [
        ("windows 5.", "Windows 2000/XP/2003"),
        ("windows 6.0", "Windows Vista/2008"),
        ("windows 6.1", "Windows 7/2008 R2"),
        ("windows 6.2", "Windows 8/2012"),
        ("windows 6.3", "Windows 8.1/2012 R2"),
    ] {
        if l.starts_with(k) {
            return Some(n);
        }
    }
    None
}

/// Medical categories.
pub fn is_medical_category(c: &str) -> bool {
    CATEGORIES.iter().take(10).any(|m| *m == c)
}

#[derive(Default)]
struct Best {
    value: Option<String>,
    conf: f64,
}

impl Best {
    fn offer(&mut self, value: String, conf: f64) {
        if conf > self.conf {
            self.value = Some(value);
            self.conf = conf;
        }
    }

    /// [`Best::offer`], but an equally sure value that names the same thing
    /// more precisely ("Windows 7/8" after "Windows") wins the tie.
    fn offer_refining(&mut self, value: String, conf: f64) {
        let refines = self.value.as_deref().is_some_and(|v| {
            value.len() > v.len()
                && value
                    .get(..v.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(v))
        });
        if conf == self.conf && refines {
            self.value = Some(value);
        } else {
            self.offer(value, conf);
        }
    }
}

/// Dicom identity fields: ambiguous on a device that relays images of
/// several makers (a PACS, a router for modalities).
const IDENTITY_FIELDS: [&str; 4] = [
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "Modality",
];

/// Applies the knowledge base to one device: fields are set by the
/// strongest proposal (existing values compete with their confidence), the
/// evidence is marked with the rules that read it, vendor names normalised,
/// medical and criticality derived from the category.
pub fn classify(d: &mut Device, kb: &Kb) {
    classify_with(d, kb, &mut Matches::default());
}

/// Entries [`Matches`] keeps; past them values are matched each time.
const MAX_REMEMBERED: usize = 1 << 16;

/// An evidence value and the rules it matched.
struct Remembered<'k> {
    source: String,
    field: String,
    value: String,
    hits: Vec<(usize, &'k str)>,
}

/// The rules each evidence value matches (rule index, matched pattern, in
/// rule order), remembered across devices: a site's devices of one model
/// show the same values, and matching every rule's patterns is most of
/// [`classify`]'s work.
#[derive(Default)]
pub struct Matches<'k> {
    by_hash: std::collections::HashMap<u64, Vec<Remembered<'k>>>,
    remembered: usize,
    spare: Vec<(usize, &'k str)>,
}

impl<'k> Matches<'k> {
    fn hits(&mut self, kb: &'k Kb, source: &str, field: &str, value: &str) -> &[(usize, &'k str)] {
        use std::hash::BuildHasher;
        let h = foldhash::fast::FixedState::with_seed(0x3a7c).hash_one((source, field, value));
        let bucket = self.by_hash.entry(h).or_default();
        if let Some(i) = bucket
            .iter()
            .position(|m| m.value == value && m.field == field && m.source == source)
        {
            return &bucket[i].hits;
        }
        let lower = value.to_lowercase();
        let mut hits: Vec<(usize, &'k str)> = kb
            .rules_for(source, field)
            .into_iter()
            .flatten()
            .filter_map(|i| Some((*i, matches(kb.rules.get(*i)?, &lower)?)))
            .collect();
        if HOST_NAME_FIELDS.contains(&(source, field)) {
            let host = lower.split(['.', '<']).next().unwrap_or_default();
            hits.extend(
                kb.rules_for("hostname", "name")
                    .into_iter()
                    .flatten()
                    .filter_map(|i| Some((*i, matches(kb.rules.get(*i)?, host)?))),
            );
        }
        if self.remembered >= MAX_REMEMBERED {
            self.spare = hits;
            return &self.spare;
        }
        self.remembered += 1;
        bucket.push(Remembered {
            source: source.to_string(),
            field: field.to_string(),
            value: value.to_string(),
            hits,
        });
        bucket.last().map_or(&[], |m| &m.hits)
    }
}

/// [`classify`] with matches remembered in `memo` (one per thread).
pub fn classify_with<'k>(d: &mut Device, kb: &'k Kb, memo: &mut Matches<'k>) {
    let mut vendor = Best::default();
    let mut model = Best::default();
    let mut firmware = Best::default();
    let mut os = Best::default();
    let mut category = Best::default();
    let mut medical: Option<(bool, f64)> = None;
    // A vendor read off a network-module maker's OUI is weak evidence.
    let nic = d.evidence.iter().any(|e| {
        e.source == "oui"
            && memo
                .hits(kb, &e.source, &e.field, &e.value)
                .iter()
                .any(|(i, _)| kb.rules.get(*i).is_some_and(|r| r.nic))
    });
    if let Some(v) = d.vendor.clone() {
        let c = if nic && d.confidence.vendor <= 0.6 {
            0.3
        } else {
            d.confidence.vendor
        };
        vendor.offer(v, c);
    }
    if let Some(v) = d.model.clone() {
        model.offer(v, d.confidence.model);
    }
    if let Some(v) = d.firmware.clone() {
        firmware.offer(v, d.confidence.firmware);
    }
    if let Some(v) = d.os.clone() {
        os.offer(v, 0.5);
    }
    if d.category != "unknown" {
        category.offer(d.category.clone(), d.confidence.category);
    }
    let distinct_models: std::collections::BTreeSet<&str> = d
        .evidence
        .iter()
        .filter(|e| e.source == "dicom" && e.field == "ManufacturerModelName")
        .map(|e| e.value.as_str())
        .collect();
    let relays = distinct_models.len() > 1 || d.category == "pacs";
    for e in d.evidence.iter_mut() {
        // The rule credited on the evidence: the surest; on a tie the later
        // (family rules follow the generic ones).
        let mut credit: Option<(f64, &str)> = None;
        if relays && e.source == "dicom" && IDENTITY_FIELDS.contains(&&*e.field) {
            continue;
        }
        let hits = memo.hits(kb, &e.source, &e.field, &e.value);
        for (r, matched) in hits
            .iter()
            .filter_map(|(i, m)| Some((kb.rules.get(*i)?, *m)))
        {
            let c = r.confidence;
            let mut used = false;
            if let Some(v) = r.vendor.as_deref().and_then(|t| fill(t, &e.value, matched)) {
                vendor.offer(kb.canonical_vendor(&v), c);
                used = true;
            }
            if let Some(v) = r.model.as_deref().and_then(|t| fill(t, &e.value, matched)) {
                model.offer(v, c);
                used = true;
            }
            if let Some(v) = r
                .firmware
                .as_deref()
                .and_then(|t| fill(t, &e.value, matched))
            {
                firmware.offer(v, c);
                used = true;
            }
            if let Some(v) = r.os.as_deref().and_then(|t| fill(t, &e.value, matched)) {
                os.offer_refining(v, c);
                used = true;
            }
            if let Some(v) = &r.category {
                category.offer(v.clone(), c);
                used = true;
            }
            if let Some(m) = r.medical {
                if medical.is_none_or(|(_, mc)| c > mc) {
                    medical = Some((m, c));
                }
                used = true;
            }
            if used && credit.is_none_or(|(cc, _)| c >= cc) {
                credit = Some((c, r.id.as_str()));
            }
        }
        if let (Some((_, id)), None) = (credit, &e.rule) {
            e.rule = Some(format!("kb:{id}").into());
        }
    }
    if let Some(v) = vendor.value {
        d.vendor = Some(kb.canonical_vendor(&v));
        d.confidence.vendor = vendor.conf;
    }
    if let Some(v) = model.value {
        d.model = Some(v);
        d.confidence.model = model.conf;
    }
    if let Some(v) = firmware.value {
        d.firmware = Some(v);
        d.confidence.firmware = firmware.conf;
    }
    if let Some(v) = os.value {
        d.os = Some(v);
    }
    if let Some(v) = category.value {
        d.category = v;
        d.confidence.category = category.conf;
    }
    // The category speaks for medical when it is at least as sure.
    let from_category = match d.category.as_str() {
        "unknown" => None,
        c => Some((is_medical_category(c), d.confidence.category)),
    };
    d.medical = match (from_category, medical) {
        (Some((m, cc)), Some((r, rc))) => Some(if cc >= rc { m } else { r }),
        (Some((m, _)), None) => Some(m),
        (None, Some((r, _))) => Some(r),
        (None, None) => d.medical,
    };
    if d.criticality.is_none() {
        d.criticality = criticality(&d.category).map(str::to_string);
    }
    // An operating system without security updates is marked legacy.
    if let Some(name) = d.os.as_deref().and_then(legacy_os) {
        let value = format!("legacy: {name} receives no security updates");
        if !d.evidence.iter().any(|e| e.field == "os support") {
            d.evidence.push(wardwatch_model::Evidence {
                source: "kb".into(),
                field: "os support".into(),
                value,
                input: None,
                frame: None,
                ts: None,
                rule: Some("kb:legacy-os".into()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wardwatch_model::Evidence;

    fn evidence(source: &str, field: &str, value: &str) -> Evidence {
        Evidence::unplaced(source.to_string(), field.to_string(), value)
    }

    #[test]
    fn shipped_kb_parses_and_covers_the_field() {
        let (rules, vendors) = check().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            rules >= 90 && vendors >= 30,
            "{rules} rules, {vendors} vendors"
        );
        // At least 15 medical vendors named by rules with a category.
        let kb = kb();
        let medical_vendors: std::collections::BTreeSet<String> = kb
            .rules
            .iter()
            .filter(|r| r.category.as_deref().is_some_and(is_medical_category))
            .filter_map(|r| r.vendor.clone())
            .filter(|v| !v.starts_with('{'))
            .collect();
        assert!(medical_vendors.len() >= 15, "{medical_vendors:?}");
    }

    #[test]
    fn remembered_matches_classify_as_fresh_ones() {
        // Devices drawn from a pool of values every rule kind matches (and
        // some none does), classified with one memory and each afresh.
        let pool = [
            ("oui", "vendor", "00:12:21 B. Braun Melsungen AG"),
            ("oui", "vendor", "00:09:FB Philips Medical Systems"),
            ("dicom", "Manufacturer", "GE MEDICAL SYSTEMS"),
            ("dicom", "ManufacturerModelName", "LOGIQ E9"),
            ("dicom", "Modality", "US"),
            ("http", "user_agent", "Mozilla/5.0 (Windows NT 6.1)"),
            ("http", "server", "Microsoft-IIS/7.5"),
            ("dhcp", "vendor_class", "MSFT 5.0"),
            ("snmp", "sysDescr", "Unknown thing 1.0"),
        ];
        let mut below = 0x51u64;
        let mut next = |n: u64| {
            below ^= below << 13;
            below ^= below >> 7;
            below ^= below << 17;
            (below % n) as usize
        };
        let mut memo = Matches::default();
        for _ in 0..300 {
            let evidence = (0..1 + next(4))
                .map(|_| {
                    let (s, f, v) = pool[next(pool.len() as u64)];
                    super::tests::evidence(s, f, v)
                })
                .collect();
            let d = Device {
                category: "unknown".into(),
                evidence,
                ..Default::default()
            };
            let (mut a, mut b) = (d.clone(), d);
            classify_with(&mut a, kb(), &mut memo);
            classify(&mut b, kb());
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        assert!(memo.remembered > 0 && memo.remembered <= pool.len());
    }

    #[test]
    fn ultrasound_from_dicom_and_conflicts_by_confidence() {
        let mut d = Device {
            category: "unknown".into(),
            evidence: vec![
                evidence("oui", "vendor", "00:12:21 B. Braun Melsungen AG"),
                evidence("dicom", "Manufacturer", "GE MEDICAL SYSTEMS"),
                evidence("dicom", "ManufacturerModelName", "LOGIQ E9"),
                evidence("dicom", "SoftwareVersions", "R6.0.5"),
                evidence("dicom", "Modality", "US"),
            ],
            ..Default::default()
        };
        classify(&mut d, kb());
        assert_eq!(d.vendor.as_deref(), Some("GE HealthCare"));
        assert_eq!(d.model.as_deref(), Some("LOGIQ E9"));
        assert_eq!(d.firmware.as_deref(), Some("R6.0.5"));
        assert_eq!(d.category, "ultrasound");
        assert_eq!(d.medical, Some(true));
        assert_eq!(d.criticality.as_deref(), Some("high"));
        // The weaker OUI proposal lost but its evidence is kept and marked.
        assert_eq!(d.evidence[0].rule.as_deref(), Some("kb:oui-bbraun"));
        assert_eq!(d.evidence[2].rule.as_deref(), Some("kb:ge-logiq"));
    }

    #[test]
    fn hl7_equipment_parts_and_templates() {
        let mut d = Device {
            category: "unknown".into(),
            evidence: vec![evidence(
                "hl7",
                "OBX-18",
                "MX800^Philips^IntelliVue MX800^M.00.03",
            )],
            ..Default::default()
        };
        classify(&mut d, kb());
        assert_eq!(d.vendor.as_deref(), Some("Philips"));
        assert_eq!(d.model.as_deref(), Some("IntelliVue MX800"));
        assert_eq!(d.category, "patient-monitor");
        assert_eq!(d.criticality.as_deref(), Some("critical"));
    }

    #[test]
    fn legacy_names() {
        assert_eq!(
            legacy_os("Windows 7 Ultimate 7601 Service Pack 1"),
            Some("Windows 7")
        );
        assert_eq!(legacy_os("Windows 2000 2195"), Some("Windows 2000"));
        assert_eq!(
            legacy_os("Windows 6.1 build 7601"),
            Some("Windows 7/2008 R2")
        );
        // Windows 10 by build: past its end of support, or a build with a
        // long-term edition still supported.
        assert_eq!(
            legacy_os("Windows 10 / Server 2016-2019 (10.0.19045)"),
            Some("Windows 10 22H2 (without paid extended updates)")
        );
        assert_eq!(
            legacy_os("Windows 10.0 build 19041"),
            Some("Windows 10 2004")
        );
        for supported in [
            "Windows 10 / Server 2016-2019 (10.0.14393)",
            "Windows 10 / Server 2016-2019 (10.0.17763)",
            "Windows 10 / Server 2016-2019 (10.0.19044)",
            "Windows 11 / Server 2022 (10.0.22631)",
            "Windows 10 / Server 2016-2019 (10.0.190455)",
            "Windows 10",
        ] {
            assert_eq!(legacy_os(supported), None, "{supported}");
        }
        assert_eq!(legacy_os("Linux"), None);
        assert_eq!(legacy_os("macOS 10.13"), Some("macOS 10.x"));
        assert_eq!(legacy_os("macOS 13"), Some("macOS 13"));
        for supported in ["macOS 14", "macOS 15", "macOS 26", "macOS 130", "macOS"] {
            assert_eq!(legacy_os(supported), None, "{supported}");
        }
    }

    #[test]
    fn dhcp_fingerprints_and_certificate_makers() {
        let mut d = Device {
            category: "unknown".into(),
            evidence: vec![
                evidence(
                    "dhcp",
                    "option 55 parameter list",
                    "1,15,3,6,44,46,47,31,33,121,249,43",
                ),
                evidence(
                    "tls",
                    "certificate",
                    "pump-0042.bbraun.local (self-signed, until 350101000000Z)",
                ),
            ],
            ..Default::default()
        };
        classify(&mut d, kb());
        assert_eq!(d.os.as_deref(), Some("Windows 7/8"));
        assert_eq!(d.vendor.as_deref(), Some("B. Braun"));
        assert_eq!(d.evidence[1].rule.as_deref(), Some("kb:tls-cert-maker"));
        assert_eq!(legacy_os("Windows 7/8"), Some("Windows 7 or 8"));
        // A vendor class saying "Windows" as surely as the list: the list
        // names the release, whichever comes first; a release named
        // otherwise (an SMB native OS) is not overridden by another.
        let os_of = |first: &str, values: &[(&str, &str)]| {
            let mut d = Device {
                category: "unknown".into(),
                os: (!first.is_empty()).then(|| first.to_string()),
                evidence: values.iter().map(|(f, v)| evidence("dhcp", f, v)).collect(),
                ..Default::default()
            };
            classify(&mut d, kb());
            d.os
        };
        let msft = ("option 60 vendor class", "MSFT 5.0");
        let xp = ("option 55 parameter list", "1,15,3,6,44,46,47,31,33,249,43");
        let ten = (
            "option 55 parameter list",
            "1,3,6,15,31,33,43,44,46,47,119,121,249,252",
        );
        assert_eq!(os_of("", &[msft, xp]).as_deref(), Some("Windows XP/2003"));
        assert_eq!(os_of("", &[xp, msft]).as_deref(), Some("Windows XP/2003"));
        assert_eq!(os_of("", &[msft, ten]).as_deref(), Some("Windows 10/11"));
        assert_eq!(os_of("", &[msft]).as_deref(), Some("Windows"));
        assert_eq!(
            os_of("Windows 5.1", &[msft, ten]).as_deref(),
            Some("Windows 5.1")
        );
        assert_eq!(legacy_os("Windows XP/2003"), Some("Windows XP"));
    }

    #[test]
    fn makers_default_host_names_whatever_carries_them() {
        let classified = |source: &str, field: &str, value: &str| {
            let mut d = Device {
                category: "unknown".into(),
                evidence: vec![evidence(source, field, value)],
                ..Default::default()
            };
            classify(&mut d, kb());
            (d.vendor, d.category, d.os, d.evidence[0].rule.clone())
        };
        let printer = classified("dhcp", "option 12 hostname", "NPI3A1B2C");
        assert_eq!(printer.0.as_deref(), Some("HP"));
        assert_eq!(printer.1, "printer");
        assert_eq!(printer.3.as_deref(), Some("kb:hostname-hp-printer"));
        let pc = classified("netbios-ns", "name", "DESKTOP-4F2K9QZ<00>");
        assert_eq!(
            (pc.1.as_str(), pc.2.as_deref()),
            ("workstation", Some("Windows"))
        );
        let brother = classified("dns", "PTR name", "brw0012abcdef01.hospital.example");
        assert_eq!(
            (brother.0.as_deref(), brother.1.as_str()),
            (Some("Brother"), "printer")
        );
        let phone = classified("dhcp", "option 12 hostname", "SEP001122AABBCC");
        assert_eq!(
            (phone.0.as_deref(), phone.1.as_str()),
            (Some("Cisco"), "voip")
        );
        // Near misses are nothing; nor is a host name in a field that is
        // no host name.
        for (source, field, value) in [
            ("dhcp", "option 12 hostname", "NPI3A1B2CX"),
            ("dhcp", "option 12 hostname", "NPI3A1B2G"),
            ("dhcp", "option 12 hostname", "DESKTOP-ABC"),
            ("dns", "PTR name", "web.npi3a1b2c.example"),
            ("http", "Host", "NPI3A1B2C"),
        ] {
            let c = classified(source, field, value);
            assert_eq!((c.0, c.1.as_str()), (None, "unknown"), "{value}");
        }
    }

    #[test]
    fn camera_web_servers_name_their_maker() {
        let classified = |value: &str| {
            let mut d = Device {
                category: "unknown".into(),
                evidence: vec![evidence("http", "Server", value)],
                ..Default::default()
            };
            classify(&mut d, kb());
            (d.vendor, d.category)
        };
        for banner in ["App-webs/", "DNVRS-Webs", "Hikvision-Webs"] {
            assert_eq!(
                classified(banner),
                (Some("Hikvision".to_string()), "iot".to_string()),
                "{banner}"
            );
        }
        // Another maker's server that merely mentions web servers is not one.
        assert_eq!(classified("nginx/1.18.0 (webs)").1, "unknown");
    }

    #[test]
    fn ssdp_announcements_name_routers_printers_and_windows() {
        let classified = |field: &str, value: &str| {
            let mut d = Device {
                category: "unknown".into(),
                evidence: vec![evidence("ssdp", field, value)],
                ..Default::default()
            };
            classify(&mut d, kb());
            (d.category, d.os)
        };
        let router = classified(
            "SERVER",
            "UPnP/Tomato 1.28.7500 MIPSR2Toastman-RT K26 USB Ext UPnP/1.0 MiniUPnPd/1.6",
        );
        assert_eq!(router, ("network-device".to_string(), None));
        let igd = classified(
            "USN",
            "uuid:04645c3d-e6b4-4eea-bd35-5c320c12969f::urn:schemas-upnp-org:device:InternetGatewayDevice:1",
        );
        assert_eq!(igd.0, "network-device");
        let printer = classified(
            "USN",
            "uuid:16a65700-007c-1000-bb49-30cda7a1b2c3::urn:schemas-upnp-org:device:Printer:1",
        );
        assert_eq!(printer.0, "printer");
        let xp = classified(
            "SERVER",
            "Microsoft-Windows-NT/5.1 UPnP/1.0 UPnP-Device-Host/1.0",
        );
        assert_eq!(xp, ("unknown".to_string(), Some("Windows XP".to_string())));
        assert_eq!(legacy_os(xp.1.as_deref().unwrap_or("")), Some("Windows XP"));
        // A root device says nothing of its kind.
        let root = classified("USN", "uuid:04645c3d-e6b4::upnp:rootdevice");
        assert_eq!(root, ("unknown".to_string(), None));
    }

    #[test]
    fn vendor_names_are_matched_by_whole_words_and_siemens_is_not_all_healthineers() {
        let kb = kb();
        for (name, canonical) in [
            ("SIEMENS", "Siemens Healthineers"),
            (
                "Siemens Healthcare Diagnostics, Inc",
                "Siemens Healthineers",
            ),
            ("ACUSON COMPUTED SONOGRAPHY", "Siemens Healthineers"),
            // Siemens' building, industry and rail units are not its
            // medical company: a PLC is not a scanner.
            ("SIEMENS BUILDING", "Siemens"),
            ("Siemens AG", "Siemens"),
            ("ATL", "Philips"),
            ("ATLAS COPCO TOOLS AB", "ATLAS COPCO TOOLS AB"),
            ("Atlantic Pumps Ltd", "Atlantic Pumps Ltd"),
            ("GEMS", "GE HealthCare"),
            (
                "Gemstar Technology Development Ltd.",
                "Gemstar Technology Development Ltd.",
            ),
            ("Beckmann GmbH", "Beckmann GmbH"),
            ("Beckman Coulter, Inc.", "Beckman Coulter"),
            ("Drägerwerk AG & Co. KG aA", "Dräger"),
            ("Draeger Medical Systems, Inc.", "Dräger"),
            ("KODAK", "Carestream Health"),
            ("Eastman Kodak Company", "Eastman Kodak Company"),
            ("Hewlett Packard Enterprise", "HP"),
        ] {
            assert_eq!(kb.canonical_vendor(name), canonical, "{name}");
        }
    }

    #[test]
    fn bad_kb_files_are_refused_with_the_reason() {
        let e = Kb::parse(&[("x.toml", "[[rule]]\nid='a'\nsource='s'\nfield='f'\nprefix=['']\ncategory='toaster'\nconfidence=0.5\nref='r'\n")]);
        assert!(e.unwrap_err().contains("toaster"));
        let e = Kb::parse(&[("x.toml", "[[rule]]\nid='a'\n")]);
        assert!(e.unwrap_err().starts_with("x.toml"));
    }
}
