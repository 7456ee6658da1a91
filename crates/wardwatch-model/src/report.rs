//! The `wardwatch.report/1` document. Change additively only: new optional
//! fields may appear; consumers accept values they do not know.

use serde::{Deserialize, Serialize};

/// The schema tag of this contract.
pub const REPORT_SCHEMA: &str = "wardwatch.report/1";

/// One analysis run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The inputs, in the order given.
    pub inputs: Vec<InputSummary>,
    /// Engine counters.
    pub stats: Stats,
    /// Site name (scopes ids).
    pub site: String,
    /// Intelligence feeds used, with their dates.
    pub feeds: Vec<Feed>,
    /// Devices, most at risk first once risk exists, else by address.
    pub devices: Vec<Device>,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Hosts that moved the most bytes (additive to the contract).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_talkers: Vec<Talker>,
    /// Problems met in the inputs that did not stop analysis (additive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<InputWarning>,
}

/// One input file or interface.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputSummary {
    /// Path or `iface:NAME`.
    pub path: String,
    /// Frames read.
    pub packets: u64,
    /// Wire bytes of those frames.
    pub bytes: u64,
}

/// Engine counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// Frames read from all inputs.
    pub packets: u64,
    /// Wire bytes of all frames.
    pub bytes: u64,
    /// Flows created.
    pub flows: u64,
    /// Frames that could not be decoded, plus corrupt records skipped.
    pub decode_errors: u64,
    /// Frames cut by the snap length plus records cut by the end of a file.
    pub truncated: u64,
    /// Flows evicted because the flow table was full.
    pub evicted_flows: u64,
    /// Capture time span in seconds.
    pub duration_s: f64,
    /// TCP reassembly gaps skipped (lost segments).
    pub reassembly_gaps: u64,
    /// Frames dropped as duplicates of a frame mirrored twice.
    pub duplicates_dropped: u64,
    /// Live capture: frames the kernel dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_drops: Option<u64>,
    /// IP datagrams reassembled from fragments (additive).
    #[serde(default)]
    pub fragments_reassembled: u64,
    /// Frames found inside GRE/ERSPAN/VXLAN/CAPWAP tunnels (additive).
    #[serde(default)]
    pub tunneled: u64,
    /// Sightings of addresses the full address table did not take: one per
    /// flow end or ARP claim of such an address, per worker (additive; a
    /// count of sightings, not of distinct addresses).
    #[serde(default)]
    pub evicted_hosts: u64,
    /// Most flows held at once (additive).
    #[serde(default)]
    pub peak_flows: u64,
    /// Dissector observations not kept: over a flow's share or a cap, or a
    /// DNS tunnel's queries past the 4096 per client and domain its rule
    /// reads (additive).
    #[serde(default)]
    pub observations_dropped: u64,
    /// Dissector observations that repeated a fact already kept (additive).
    #[serde(default)]
    pub observations_repeated: u64,
    /// Flows left out of behaviour detection because its digest was full
    /// (additive).
    #[serde(default)]
    pub digest_dropped: u64,
    /// Flows no longer dissected because the dissectors' buffers over all
    /// flows (partial messages) had reached their cap (additive).
    #[serde(default)]
    pub dissection_shed: u64,
}

/// An intelligence feed and its date.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Feed {
    /// Feed name (`kev`, `csaf`, `epss` …).
    pub name: String,
    /// Release date of the local copy.
    pub date: String,
}

/// A device of the inventory.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Device {
    /// `dev-` + hash of site and key.
    pub id: String,
    /// Its own MAC, or null when only a router's MAC was seen.
    pub mac: Option<String>,
    /// Addresses it used.
    pub ips: Vec<String>,
    /// Outermost VLAN.
    pub vlan: Option<u16>,
    /// Host name (DHCP, DNS, NetBIOS …).
    pub hostname: Option<String>,
    /// Manufacturer.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// One of the DESIGN categories.
    pub category: String,
    /// Whether it is a medical device; null when unknown.
    pub medical: Option<bool>,
    /// Clinical criticality.
    pub criticality: Option<String>,
    /// Firmware or software version.
    pub firmware: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Confidence per field, 0–1.
    pub confidence: Confidence,
    /// Protocols it spoke.
    pub protocols: Vec<String>,
    /// DICOM AE titles it used.
    pub ae_titles: Vec<String>,
    /// Services it offered.
    pub services: Vec<Service>,
    /// First packet (RFC 3339).
    pub first_seen: String,
    /// Last packet (RFC 3339).
    pub last_seen: String,
    /// Why each field has its value.
    pub evidence: Vec<Evidence>,
    /// Matched vulnerabilities.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Risk score and rank.
    pub risk: Risk,
    /// Traffic counters (additive).
    #[serde(default)]
    pub traffic: Traffic,
}

/// Per-field confidence.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Confidence {
    /// Vendor.
    pub vendor: f64,
    /// Model.
    pub model: f64,
    /// Category.
    pub category: f64,
    /// Firmware.
    pub firmware: f64,
}

/// A service a device offered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Service {
    /// `tcp` or `udp`.
    pub transport: String,
    /// Port.
    pub port: u16,
    /// Protocol found on it, or a port-registry guess.
    pub proto: Option<String>,
}

/// A name that is nearly always one of a fixed set (`dicom`,
/// `ManufacturerModelName`, `kb:ge-logiq`): borrowed then, built otherwise.
pub type Name = std::borrow::Cow<'static, str>;

/// One fact behind a device field.
///
/// A large site's report holds hundreds of thousands of these, so the
/// fixed names are borrowed, the input path is shared and the time is kept
/// as a number (written as RFC 3339 text).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// Where it came from (`oui`, `dicom`, `dhcp` …).
    pub source: Name,
    /// The field observed.
    pub field: Name,
    /// Its value (never patient data, never a secret).
    pub value: String,
    /// Input path.
    pub input: Option<std::sync::Arc<str>>,
    /// Frame number in that input.
    pub frame: Option<u64>,
    /// Capture time (RFC 3339).
    pub ts: Option<Stamp>,
    /// Knowledge-base rule that interpreted it.
    pub rule: Option<Name>,
}

impl Evidence {
    /// Evidence with no place in a capture and no rule yet (a registry's
    /// word, a test's fact).
    pub fn unplaced(
        source: impl Into<Name>,
        field: impl Into<Name>,
        value: impl Into<String>,
    ) -> Self {
        Evidence {
            source: source.into(),
            field: field.into(),
            value: value.into(),
            input: None,
            frame: None,
            ts: None,
            rule: None,
        }
    }
}

/// A capture time: nanoseconds since the Unix epoch, written and read as
/// RFC 3339 text with microseconds (see [`crate::time::rfc3339`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp(pub i64);

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::time::Rfc3339::new(self.0).as_str())
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::time::Rfc3339::new(self.0).as_str())
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = std::borrow::Cow::<'de, str>::deserialize(d)?;
        crate::time::parse_rfc3339_ns(&t)
            .map(Stamp)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {t:?}")))
    }
}

/// A vulnerability matched to a device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Vulnerability {
    /// CVE id.
    pub id: String,
    /// In CISA KEV.
    pub kev: bool,
    /// EPSS probability.
    pub epss: Option<f64>,
    /// CVSS base score.
    pub cvss: Option<f64>,
    /// Advisories naming it.
    pub advisories: Vec<String>,
    /// Which feed matched.
    pub source: String,
    /// VEX status, if a statement applies.
    pub vex_status: Option<String>,
    /// How sure the match is.
    pub confidence: f64,
    /// Why it matched.
    #[serde(rename = "match")]
    pub match_reason: String,
}

impl Vulnerability {
    /// Whether it still applies: a VEX `not_affected` or `fixed` statement
    /// takes it out.
    pub fn applies(&self) -> bool {
        !matches!(
            self.vex_status.as_deref(),
            Some("not_affected") | Some("fixed")
        )
    }
}

/// Risk of a device.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Risk {
    /// 0–100.
    pub score: f64,
    /// 1 = riskiest.
    pub rank: u32,
    /// In the riskiest 5 %.
    pub top5: bool,
    /// Contributions.
    pub factors: Vec<RiskFactor>,
}

/// One contribution to a risk score.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RiskFactor {
    /// Factor name.
    pub name: String,
    /// Points.
    pub contribution: f64,
    /// Why.
    pub detail: String,
}

/// Traffic counters of a device (additive).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Traffic {
    /// Frames sent.
    pub packets_out: u64,
    /// Frames received.
    pub packets_in: u64,
    /// Wire bytes sent.
    pub bytes_out: u64,
    /// Wire bytes received.
    pub bytes_in: u64,
    /// Flows it took part in.
    pub flows: u64,
}

/// A finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// `f-` + hash of site, kind, rule, device, peer.
    pub id: String,
    /// One of the DESIGN kinds.
    pub kind: String,
    /// The rule that fired.
    pub rule: String,
    /// `critical` … `info`.
    pub severity: String,
    /// `new`, `acknowledged`, `suppressed` …
    pub status: String,
    /// Device id.
    pub device: Option<String>,
    /// The device's address.
    pub ip: Option<String>,
    /// Main peer.
    pub peer: Option<String>,
    /// All peers.
    pub peers: Vec<String>,
    /// How many peers.
    pub peer_count: u64,
    /// Peer country (ISO code).
    pub peer_country: Option<String>,
    /// Peer ASN.
    pub peer_asn: Option<u32>,
    /// One line for the analyst.
    pub summary: String,
    /// Frames that prove it.
    pub evidence: Vec<FindingEvidence>,
    /// First occurrence.
    pub first_seen: String,
    /// Last occurrence.
    pub last_seen: String,
    /// Occurrences.
    pub count: u64,
    /// What to do.
    pub remediation: String,
}

/// A frame behind a finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FindingEvidence {
    /// Input path.
    pub input: String,
    /// Frame number.
    pub frame: u64,
    /// Capture time.
    pub ts: String,
    /// What the frame shows.
    pub detail: String,
}

/// A host and the bytes it moved (additive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Talker {
    /// Address.
    pub ip: String,
    /// Wire bytes sent plus received.
    pub bytes: u64,
    /// Frames sent plus received.
    pub packets: u64,
    /// Flows.
    pub flows: u64,
}

/// A problem in an input that did not stop analysis (additive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputWarning {
    /// Input path.
    pub input: String,
    /// Byte offset.
    pub offset: u64,
    /// What was wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_back_as_written() {
        let e = Evidence {
            source: "dicom".into(),
            field: format!("{}Name", "Station").into(),
            value: "CT_\"01\"".into(),
            input: Some("site/a.pcap".into()),
            frame: Some(42),
            ts: Some(Stamp(1_700_000_000_123_456_000)),
            rule: None,
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            text.contains(r#""ts":"2023-11-14T22:13:20.123456Z""#),
            "{text}"
        );
        assert!(text.contains(r#""input":"site/a.pcap""#), "{text}");
        let back: Evidence = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert_eq!(Stamp(1_700_000_000_123_456_000).to_string().len(), 27);
        // A time that is not RFC 3339 is refused with its text.
        let bad = text.replace("2023-11-14T22:13:20.123456Z", "yesterday");
        let err = serde_json::from_str::<Evidence>(&bad).unwrap_err();
        assert!(err.to_string().contains("yesterday"), "{err}");
    }
}
