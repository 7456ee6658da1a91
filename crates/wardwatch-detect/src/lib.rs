//! Findings: what should not be happening on a hospital network, each with
//! the frames that prove it and what to do about it.
//!
//! Three families of rules, one module each:
//! - [`posture`]: facts the dissectors saw (default and cleartext logins,
//!   insecure protocols, weak TLS, clinical protocols leaving the site);
//! - [`behaviour`]: the flow digest (scans, brute force, exfiltration,
//!   beaconing, internet exposure, medical devices talking to the internet);
//! - device facts from the inventory (legacy operating systems).
//!
//! Findings are aggregated per kind, rule, device and peer (count, first
//! and last seen, a few evidence frames), get deterministic ids, and can be
//! suppressed by a rules file with a reason ([`Suppressions`]).

pub mod arp;
pub mod baseline;
pub mod behaviour;
pub mod digest;
pub mod flood;
pub mod geo;
pub mod ioc;
pub mod live;
pub mod posture;
pub mod segment;
pub mod suppress;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use wardwatch_inventory::LocalNets;
use wardwatch_model::time::rfc3339;
use wardwatch_model::{stable_id, Device, Finding, FindingEvidence};
use wardwatch_proto::obs::Observation;

pub use digest::{FlowDigest, FlowFact};
pub use suppress::Suppressions;

/// Finding severity, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Act now.
    Critical,
    /// Act soon.
    High,
    /// Plan.
    Medium,
    /// Note.
    Low,
    /// For the record.
    Info,
}

impl Severity {
    /// High, critical where a medical device is at stake (the attacks on
    /// the network itself: spoofing, rogue servers, floods).
    pub fn high_or_critical(medical: bool) -> Severity {
        if medical {
            Severity::Critical
        } else {
            Severity::High
        }
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
    /// Parses a contract name.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "info" => Severity::Info,
            _ => return None,
        })
    }
}

/// Thresholds of the behaviour rules. Defaults suit a hospital; every one
/// can be set in the config file.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectConfig {
    /// Distinct ports of one host probed without an answer before a
    /// vertical scan is reported.
    pub scan_ports: usize,
    /// Distinct hosts probed on one port without an answer before a
    /// horizontal scan is reported.
    pub scan_hosts: usize,
    /// Distinct addresses first asked for by one sender's broadcast ARP
    /// requests within a minute before a sweep is reported.
    pub arp_sweep_targets: usize,
    /// Distinct addresses first sent an ICMP echo request (a ping) by one
    /// sender within a minute, most of them unanswered, before a sweep is
    /// reported.
    pub icmp_sweep_targets: usize,
    /// ARP replies nobody asked for, sent by one MAC claiming an address
    /// another MAC claims too, before ARP spoofing is reported (0: off).
    /// Spoofing tools repeat theirs every few seconds; owners answer when
    /// asked, and a machine taking an address over announces it with
    /// gratuitous ARP, which is not counted. The same number of IPv6 Neighbor
    /// Advertisements nobody asked for reports neighbour spoofing.
    pub arp_spoof_replies: u64,
    /// TCP connection attempts that never completed (SYNs), or ICMP echo
    /// requests, sent one target within one second before that second
    /// counts toward a flood (0: off).
    pub flood_per_s: u64,
    /// Datagrams of UDP flows one target never answered, within one
    /// second, before that second counts toward a UDP flood (0: off). Far
    /// above `flood_per_s`: a camera's stream to its recorder, a syslog or
    /// flow collector's feed are one-way too, at a few thousand a second.
    pub udp_flood_per_s: u64,
    /// Seconds at `flood_per_s` (`udp_flood_per_s`) or more before a flood
    /// is reported.
    pub flood_seconds: usize,
    /// Failed logins from one client to one server before brute force.
    pub brute_force_failures: u64,
    /// Connections to a login service within `brute_force_window_s`.
    pub brute_force_connections: usize,
    /// Window for connection-count brute force, seconds.
    pub brute_force_window_s: i64,
    /// Bytes a medical device may send to one external peer before
    /// exfiltration is reported.
    pub exfil_bytes_medical: u64,
    /// Bytes any other device may send to one external peer.
    pub exfil_bytes_other: u64,
    /// Outbound/inbound ratio above which an upload counts as one.
    pub exfil_ratio: f64,
    /// Connections of one pair before beaconing is scored.
    pub beacon_min_connections: usize,
    /// Largest coefficient of variation of the intervals for a beacon.
    pub beacon_max_interval_cv: f64,
    /// Largest coefficient of variation of the sizes for a beacon.
    pub beacon_max_size_cv: f64,
    /// Shortest mean interval of a beacon, seconds.
    pub beacon_min_interval_s: f64,
    /// Distinct long query names under one domain before DNS tunnelling.
    pub dns_tunnel_names: usize,
    /// C-FIND requests from one client to one server before a query sweep
    /// (patient-list harvesting) is reported.
    pub cfind_sweep: u32,
    /// Learning period for new clinical peers, seconds: DICOM destinations
    /// and HL7 receivers first used after it are `new-peer` findings. In one
    /// capture the period is at most a quarter of its span.
    pub learning_s: f64,
    /// A device's learned baseline is used once it spans this many seconds
    /// of its traffic (`wardwatch baseline learn`, or `watch`).
    pub baseline_window_s: f64,
    /// An hour's bytes to the internet above this multiple of the device's
    /// learned hourly peak is `outbound-above-baseline`.
    pub baseline_factor: f64,
    /// ... and only above this many bytes in the hour.
    pub baseline_min_bytes: u64,
    /// Conversation pairs (client, server, port) held for behaviour
    /// detection, about 210 bytes each with their share of connection
    /// samples; flows of further pairs are counted in
    /// `stats.digest_dropped` and not scored, but for a reserve of an
    /// eighth more for uploads to and connections from the internet
    /// ([`digest::RESERVE_MIN_OUT`]), and an eighth more for site ->
    /// internet pairs that reach [`digest::CALLBACK_MIN_CONNS`]
    /// connections (beacons).
    pub max_pairs: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            scan_ports: 25,
            scan_hosts: 20,
            arp_sweep_targets: 64,
            icmp_sweep_targets: 64,
            arp_spoof_replies: 3,
            flood_per_s: 1000,
            udp_flood_per_s: 20_000,
            flood_seconds: 2,
            brute_force_failures: 5,
            brute_force_connections: 20,
            brute_force_window_s: 300,
            exfil_bytes_medical: 10 << 20,
            exfil_bytes_other: 200 << 20,
            exfil_ratio: 5.0,
            beacon_min_connections: 8,
            beacon_max_interval_cv: 0.15,
            beacon_max_size_cv: 0.3,
            beacon_min_interval_s: 5.0,
            dns_tunnel_names: 20,
            learning_s: 86_400.0,
            cfind_sweep: 200,
            max_pairs: 1 << 17,
            baseline_window_s: 86_400.0,
            baseline_factor: 4.0,
            baseline_min_bytes: 5 << 20,
        }
    }
}

/// Everything detection looks at.
pub struct DetectInput<'a> {
    /// Site (scopes ids).
    pub site: &'a str,
    /// Input names, by index.
    pub inputs: &'a [String],
    /// The inventory.
    pub devices: &'a [Device],
    /// Dissector observations.
    pub observations: &'a [Observation],
    /// Flows folded per pair.
    pub digest: &'a FlowDigest,
    /// The site's own address space.
    pub local: &'a LocalNets,
    /// Thresholds.
    pub config: &'a DetectConfig,
    /// Indicators of compromise.
    pub indicators: &'a ioc::Indicators,
    /// Zones and the allowed matrix (empty: no segmentation rules).
    pub zones: &'a segment::Policy,
    /// Offline country/ASN databases for external peers.
    pub geo: Option<&'a geo::Geo>,
    /// Per-device baselines learned before (`baselines.json`).
    pub baselines: Option<&'a baseline::Baselines>,
    /// Threads the rules may use (the flow rules run beside the others).
    pub threads: usize,
}

pub use wardwatch_inventory::kb::is_medical_category;

/// Looks devices up by address and decides what is local.
pub struct Context<'a> {
    input: &'a DetectInput<'a>,
    by_ip: HashMap<IpAddr, &'a Device, foldhash::fast::RandomState>,
}

impl<'a> Context<'a> {
    /// Indexes the devices of `input`.
    pub fn new(input: &'a DetectInput<'a>) -> Self {
        let mut by_ip = HashMap::with_hasher(foldhash::fast::RandomState::default());
        for d in input.devices {
            for ip in &d.ips {
                if let Ok(a) = ip.parse::<IpAddr>() {
                    by_ip.entry(a).or_insert(d);
                }
            }
        }
        Context { input, by_ip }
    }

    /// The run's flows, folded per pair.
    pub fn digest(&self) -> &'a FlowDigest {
        self.input.digest
    }

    /// The run's devices.
    pub fn devices(&self) -> &'a [Device] {
        self.input.devices
    }

    /// The device using `ip`.
    pub fn device(&self, ip: &IpAddr) -> Option<&'a Device> {
        self.by_ip.get(ip).copied()
    }

    /// Whether the device at `ip` is known to be medical.
    pub fn is_medical(&self, ip: &IpAddr) -> bool {
        self.device(ip)
            .is_some_and(|d| d.medical == Some(true) || is_medical_category(&d.category))
    }

    /// Whether the device at `ip` spoke a clinical protocol.
    pub fn speaks_clinical(&self, ip: &IpAddr) -> bool {
        self.device(ip).is_some_and(|d| {
            d.protocols
                .iter()
                .any(|p| matches!(p.as_str(), "dicom" | "hl7" | "astm" | "poct1-a"))
        })
    }

    /// Whether `ip` is a public (internet) unicast address.
    pub fn is_public(&self, ip: &IpAddr) -> bool {
        is_public_in(self.input.local, ip)
    }

    /// Whether `ip` belongs to the site.
    pub fn is_local(&self, ip: &IpAddr) -> bool {
        self.input.local.contains(ip)
    }

    /// Thresholds.
    pub fn config(&self) -> &DetectConfig {
        self.input.config
    }
}

/// Whether `ip` is an internet address for a site whose own space is
/// `local`.
pub fn is_public_in(local: &LocalNets, ip: &IpAddr) -> bool {
    !local.contains(ip)
        && wardwatch_inventory::net::is_unicast_host(ip)
        && !wardwatch_inventory::net::is_link_local(ip)
        && !is_documentation_or_reserved(ip)
}

/// Reserved ranges that are neither the site's nor the internet's
/// (240/4, 0/8, IPv6 documentation and unique-local already local).
fn is_documentation_or_reserved(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.octets()[0] >= 240 || a.octets()[0] == 0,
        IpAddr::V6(a) => a.segments()[0] == 0x2001 && a.segments()[1] == 0x0db8,
    }
}

/// One occurrence of a finding, before aggregation.
pub struct Raise {
    /// Finding kind.
    pub kind: &'static str,
    /// Rule (nearly always a literal: borrowed, not copied per raise).
    pub rule: Cow<'static, str>,
    /// Severity.
    pub severity: Severity,
    /// The address the finding is about (its device is looked up).
    pub subject: IpAddr,
    /// The main peer.
    pub peer: Option<IpAddr>,
    /// Further peers (scans).
    pub peers: Vec<IpAddr>,
    /// Distinct peers in all (when more than listed).
    pub peer_count: Option<u64>,
    /// One line for the analyst; no secrets, no patient data.
    pub summary: String,
    /// What the evidence frame shows.
    pub detail: String,
    /// (input, frame, ts) of the evidence.
    pub origin: Option<(u16, u64, i64)>,
    /// Time span covered.
    pub span: (i64, i64),
    /// Occurrences this raise stands for.
    pub count: u64,
    /// What to do.
    pub remediation: &'static str,
}

struct Acc {
    finding: Finding,
    severity: Severity,
    peers: BTreeSet<IpAddr>,
    extra_peers: u64,
    span: (i64, i64),
}

/// Most evidence frames kept per finding.
const MAX_EVIDENCE: usize = 5;
/// Most peers listed per finding (`peer_count` has them all).
const MAX_PEERS: usize = 64;

/// What a finding is about: a known device (by id), or an address.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Subject<'a> {
    Device(&'a str),
    Address(IpAddr),
}

/// What findings are aggregated by: kind, rule, subject and peer.
type FindingKey<'a> = (&'static str, Cow<'static, str>, Subject<'a>, Option<IpAddr>);

/// What a raise is about.
#[derive(Clone, Copy)]
enum On {
    /// The device at its subject address (else the address).
    Subject,
    /// The run's device at an index ([`Findings::raise_on`]).
    Device(usize),
    /// Its subject address, whoever's device that is
    /// ([`Findings::raise_unattributed`]).
    Address,
}

/// Findings being collected, aggregated by kind, rule, device and peer.
pub struct Findings<'a> {
    ctx: &'a Context<'a>,
    /// By their key (the order is the final sort's, by finding id, so this
    /// map need not keep one).
    acc: HashMap<FindingKey<'a>, Box<Acc>, foldhash::fast::RandomState>,
    /// Raises held in order, to be added later (rules run on another
    /// thread), each with what it is raised on; `None` adds them at once.
    held: Option<Vec<(On, Raise)>>,
}

impl<'a> Findings<'a> {
    fn new(ctx: &'a Context<'a>) -> Self {
        Findings {
            ctx,
            acc: HashMap::default(),
            held: None,
        }
    }

    /// Raises what `other` held, in its order.
    fn add_held(&mut self, other: Findings<'_>) {
        for (on, r) in other.held.unwrap_or_default() {
            match on {
                On::Subject => self.raise(r),
                On::Device(index) => self.raise_on(index, r),
                On::Address => self.raise_unattributed(r),
            }
        }
    }

    /// Findings that only hold what is raised, in order.
    fn holding(ctx: &'a Context<'a>) -> Self {
        Findings {
            held: Some(Vec::new()),
            ..Findings::new(ctx)
        }
    }

    /// Adds one occurrence.
    pub fn raise(&mut self, r: Raise) {
        if let Some(held) = &mut self.held {
            held.push((On::Subject, r));
            return;
        }
        let device = self.ctx.device(&r.subject);
        self.add(r, device, true);
    }

    /// Adds one occurrence about the run's device at `index`, known by its
    /// MAC alone (a Wi-Fi station seen encrypted, an ARP spoofer with no
    /// address of its own): the finding names the device and no address
    /// (`r.subject` is not read).
    pub fn raise_on(&mut self, index: usize, r: Raise) {
        if let Some(held) = &mut self.held {
            held.push((On::Device(index), r));
            return;
        }
        match self.ctx.input.devices.get(index) {
            Some(d) => self.add(r, Some(d), false),
            None => self.raise(r),
        }
    }

    /// Adds one occurrence about its subject address, attributed to no
    /// device: the address is one the culprit uses but does not own (an
    /// ARP spoofer known by its MAC alone, claiming a victim's address).
    pub fn raise_unattributed(&mut self, r: Raise) {
        if let Some(held) = &mut self.held {
            held.push((On::Address, r));
            return;
        }
        self.add(r, None, true);
    }

    fn add(&mut self, r: Raise, device: Option<&'a Device>, addressed: bool) {
        let subject = device.map_or(Subject::Address(r.subject), |d| Subject::Device(&d.id));
        // Scans aggregate over their targets: the peer is not in the key.
        let peer = match (r.kind, r.peer) {
            ("port-scan", _) | (_, None) => None,
            (_, Some(p)) => Some(p),
        };
        let site = self.ctx.input.site;
        let inputs = self.ctx.input.inputs;
        let e = self
            .acc
            .entry((r.kind, r.rule.clone(), subject, peer))
            .or_insert_with(|| {
                Box::new(Acc {
                    finding: Finding {
                        // The key, spelt out, names the finding.
                        id: {
                            let subject_key = match subject {
                                Subject::Device(id) => id.to_string(),
                                Subject::Address(a) => a.to_string(),
                            };
                            let peer_key = peer.map(|p| p.to_string()).unwrap_or_default();
                            stable_id("f", site, &[r.kind, &r.rule, &subject_key, &peer_key])
                        },
                        kind: r.kind.to_string(),
                        rule: r.rule.to_string(),
                        severity: r.severity.as_str().to_string(),
                        status: "new".into(),
                        device: device.map(|d| d.id.clone()),
                        ip: addressed.then(|| r.subject.to_string()),
                        peer: r.peer.map(|p| p.to_string()),
                        peers: Vec::new(),
                        peer_count: 0,
                        peer_country: None,
                        peer_asn: None,
                        summary: r.summary.clone(),
                        evidence: Vec::new(),
                        first_seen: String::new(),
                        last_seen: String::new(),
                        count: 0,
                        remediation: r.remediation.to_string(),
                    },
                    severity: r.severity,
                    peers: BTreeSet::new(),
                    extra_peers: 0,
                    span: r.span,
                })
            });
        e.finding.count += r.count.max(1);
        if r.severity < e.severity {
            e.severity = r.severity;
            e.finding.severity = r.severity.as_str().to_string();
            e.finding.summary = r.summary;
        }
        e.span.0 = e.span.0.min(r.span.0);
        e.span.1 = e.span.1.max(r.span.1);
        for p in r.peer.iter().chain(r.peers.iter()) {
            if e.peers.len() < MAX_PEERS {
                e.peers.insert(*p);
            } else if !e.peers.contains(p) {
                e.extra_peers += 1;
            }
        }
        if let Some(n) = r.peer_count {
            e.extra_peers = e.extra_peers.max(n.saturating_sub(e.peers.len() as u64));
        }
        if let Some((input, frame, ts)) = r.origin {
            if e.finding.evidence.len() < MAX_EVIDENCE {
                e.finding.evidence.push(FindingEvidence {
                    input: inputs.get(input as usize).cloned().unwrap_or_default(),
                    frame,
                    ts: rfc3339(ts),
                    detail: r.detail,
                });
            }
        }
    }

    fn finish(self) -> Vec<Finding> {
        let geo = self.ctx.input.geo.filter(|g| !g.is_empty());
        let ctx = self.ctx;
        // Most severe first, then by kind and id. The boxes are sorted, not
        // the findings: a finding is some 500 bytes, and a merge sort moving
        // 42,000 of them took 28 ms of the 1 GB hospital benchmark.
        let mut accs: Vec<Box<Acc>> = self.acc.into_values().collect();
        accs.sort_by(|a, b| {
            a.severity
                .cmp(&b.severity)
                .then_with(|| a.finding.kind.cmp(&b.finding.kind))
                .then_with(|| a.finding.id.cmp(&b.finding.id))
        });
        let finding = |mut a: Box<Acc>| {
            // Where an external main peer is.
            // (The peer's text is parsed only when there is a database.)
            if let Some((g, p)) = geo.and_then(|g| {
                let p = a.finding.peer.as_deref()?.parse::<IpAddr>().ok()?;
                Some((g, p))
            }) {
                if ctx.is_public(&p) {
                    let place = g.lookup(p);
                    let mut at = Vec::new();
                    if let Some(c) = &place.country {
                        at.push(format!("in {c}"));
                    }
                    match (place.asn, &place.as_org) {
                        (Some(n), Some(o)) => at.push(format!("AS{n} {o}")),
                        (Some(n), None) => at.push(format!("AS{n}")),
                        _ => {}
                    }
                    if !at.is_empty() {
                        a.finding.summary =
                            format!("{} [peer {}]", a.finding.summary, at.join(", "));
                    }
                    a.finding.peer_country = place.country;
                    a.finding.peer_asn = place.asn;
                }
            }
            a.finding.peers = a.peers.iter().map(|p| p.to_string()).collect();
            a.finding.peer_count = a.peers.len() as u64 + a.extra_peers;
            a.finding.first_seen = rfc3339(a.span.0);
            a.finding.last_seen = rfc3339(a.span.1);
            a.finding
                .evidence
                .sort_by(|x, y| x.input.cmp(&y.input).then(x.frame.cmp(&y.frame)));
            a.finding
        };
        accs.into_iter().map(finding).collect()
    }
}

/// Runs every rule and returns the findings, most severe first.
pub fn detect(input: &DetectInput<'_>) -> Vec<Finding> {
    run_rules(input, true, true, true)
}

/// Runs the rules over flows and behaviour (scans, brute force,
/// exfiltration, beaconing, baselines, new peers, indicator addresses among
/// the peers, zone crossings) but not the per-observation and per-device
/// posture rules: what a live watch runs often between full analyses.
pub fn detect_behaviour(input: &DetectInput<'_>) -> Vec<Finding> {
    run_rules(input, false, false, true)
}

/// The rule families: per observation, per device, over flows.
fn run_rules(input: &DetectInput<'_>, events: bool, devices: bool, flows: bool) -> Vec<Finding> {
    let ctx = Context::new(input);
    let mut f = Findings::new(&ctx);
    // The flow rules (every pair sorted and walked: the costliest) hold
    // their raises, which are added after the posture rules' as if they had
    // run in turn; with a second thread they run beside them.
    let flow_rules = || {
        let mut held = Findings::holding(&ctx);
        let mut pairs = Vec::new();
        if flows {
            pairs = input.digest.sorted_pairs();
            behaviour::run(
                &ctx,
                input.digest,
                &pairs,
                input.observations,
                &mut held,
                input.threads,
            );
            segment::violations(&ctx, input.zones, input.devices, &pairs, &mut held);
        }
        (pairs, held)
    };
    let posture_rules = |f: &mut Findings<'_>| {
        if events {
            posture::run(&ctx, input.observations, f);
        }
        if devices {
            posture::device_rules(&ctx, f);
        }
    };
    let (pairs, raised) = if input.threads > 1 && flows {
        std::thread::scope(|s| {
            let flow = s.spawn(flow_rules);
            posture_rules(&mut f);
            flow.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        posture_rules(&mut f);
        flow_rules()
    };
    f.add_held(raised);
    let obs: &[Observation] = if events { input.observations } else { &[] };
    ioc::run(&ctx, input.indicators, &pairs, obs, &mut f);
    f.finish()
}

/// Runs the parsers of site files (indicator lists and STIX bundles,
/// policies, suppressions) on `data`: none may panic (fuzzing).
pub fn exercise(data: &[u8]) {
    let mut i = ioc::Indicators::default();
    let _ = i.add_stix(data, "fuzz");
    let text = String::from_utf8_lossy(data);
    let _ = i.add_list(&text, "fuzz");
    let _ = segment::Policy::parse(&text);
    let _ = Suppressions::parse(&text);
    let _ = ioc::stix_comparisons(&text);
    let _ = geo::exercise_as_table(&text, false);
    let _ = geo::exercise_as_table(&text, true);
}

/// Every rule on `digest` and `observations` at a site of `devices`, with
/// the default configuration and address space: what the rules' unit
/// tests run.
#[cfg(test)]
pub(crate) fn detect_for_test(
    devices: &[wardwatch_model::Device],
    digest: &digest::FlowDigest,
    observations: &[Observation],
) -> Vec<wardwatch_model::Finding> {
    let local = LocalNets::default();
    let cfg = DetectConfig::default();
    let ind = ioc::Indicators::default();
    let zones = segment::Policy::default();
    detect(&DetectInput {
        site: "t",
        inputs: &[],
        devices,
        observations,
        digest,
        local: &local,
        config: &cfg,
        indicators: &ind,
        zones: &zones,
        geo: None,
        baselines: None,
        threads: 1,
    })
}
