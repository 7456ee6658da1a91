//! Behaviour: what the flows show — scans, brute force, data leaving,
//! beaconing, services reachable from the internet, medical devices talking
//! to the internet, DNS tunnelling.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use wardwatch_proto::dns::{name_hash, tunnel_like};
use wardwatch_proto::obs::{ObsKind, Observation};

use crate::digest::{FlowDigest, PairKey, PairStats};
use crate::{Context, Findings, Raise, Severity};

pub(crate) mod remedy {
    pub const SCAN: &str = "Find out who runs the scanner: an approved vulnerability scan should be scheduled and exclude fragile medical devices; otherwise isolate the source and investigate.";
    pub const BRUTE: &str = "Block the source, check whether any attempt succeeded, and enforce lockout and strong passwords on the service.";
    /// A client retrying a stale password.
    pub const STALE_LOGIN: &str = "Find the device, service or script that keeps logging in with an old password and update it (repeated failures can lock the account out); if nobody owns it, block it.";
    pub const EXFIL: &str = "Confirm whether the destination is an approved vendor or cloud service; if not, block it, isolate the device and start incident response.";
    pub const BEACON: &str = "Regular call-backs to an external host can be malware command and control: identify the process on the device (ask the vendor for a medical device) and block the destination if it is not approved.";
    pub const ARP_SPOOF: &str = "Find the machine with that MAC (the switch's MAC address table names its port) and disconnect it; then check what it could read or change in the traffic it intercepted (cleartext HL7, DICOM and logins) and turn on Dynamic ARP Inspection or port security on the switch.";
    pub const NDP_SPOOF: &str = "Find the machine with that MAC (the switch's MAC address table names its port) and disconnect it; then check what it could read or change in the traffic it intercepted (cleartext HL7, DICOM and logins) and turn on IPv6 ND inspection (IPv6 snooping, SAVI) and RA Guard on the switch; where the site does not use IPv6, filter ICMPv6 neighbour discovery between hosts at the access ports.";
    pub const FLOOD: &str = "Block the flood upstream (firewall or switch ACL on its sources, rate limits); check the target still works (an old medical device's network stack may have hung and need a restart); if the sources are inside the site, isolate them and investigate.";
    pub const EXPOSED: &str = "Remove the inbound path from the internet (firewall/NAT rule, VPN for vendor access) and check the device for compromise.";
    pub const EXTERNAL: &str = "Medical devices should talk to the internet only through approved, documented paths: confirm the destination with the vendor or block it.";
    pub const CFIND: &str = "Find out who queries the archive: restrict C-FIND to known AE titles and hosts on the PACS, and check what was retrieved (C-MOVE/C-GET) afterwards.";
    pub const NEW_PEER: &str = "Confirm the new destination with the device owner (a new archive, a vendor's service, a teleradiology partner); if nobody expects it, block it and investigate the device.";
    pub const DNS_TUNNEL: &str = "Long, random-looking DNS names to one domain carry data out through DNS: block the domain at the resolver and investigate the host.";
}

/// Ports whose logins can be guessed.
fn login_service(port: u16) -> Option<&'static str> {
    Some(match port {
        21 => "FTP",
        22 => "SSH",
        23 => "Telnet",
        110 => "POP3",
        143 => "IMAP",
        445 => "SMB",
        1433 => "SQL Server",
        3306 => "MySQL",
        3389 => "RDP",
        5900 => "VNC",
        _ => return None,
    })
}

/// Ports of periodic infrastructure traffic that is regular by design.
pub(crate) fn periodic_by_design(port: u16) -> bool {
    matches!(
        port,
        53 | 123 | 67 | 68 | 137 | 138 | 161 | 162 | 514 | 5353 | 1900
    )
}

/// Where an occurrence was seen: (input, frame, ts).
type At = Option<(u16, u64, i64)>;
/// Per (client, server, protocol): failures, users, sample observations.
type Failures<'o> = BTreeMap<(IpAddr, IpAddr, &'o str), Failed<'o>>;

/// The failed logins of one client to one server over one protocol.
#[derive(Default)]
struct Failed<'o> {
    count: u64,
    /// User names tried (up to 16).
    users: BTreeSet<&'o str>,
    /// Tags of the passwords tried (up to 16; see `creds::tag`).
    passwords: BTreeSet<u16>,
    /// A failure whose password was not read (SIP, Telnet unseen).
    unread: bool,
    /// The first five.
    samples: Vec<&'o Observation>,
}
/// Per exposed (server, port): clients, first pair, connections, last.
type Inbound<'p> = BTreeMap<(IpAddr, u16), (BTreeSet<IpAddr>, &'p PairStats, u64, i64)>;
/// Per (medical device, external peer): first pair, connections, last, ports.
type External<'p> = BTreeMap<(IpAddr, IpAddr), (&'p PairStats, u64, i64, BTreeSet<u16>)>;
/// Per (client, domain): names, first observation, last, resolver.
type Tunnels<'o> = BTreeMap<(IpAddr, &'o str), (BTreeSet<u64>, &'o Observation, i64, IpAddr)>;

pub(crate) fn pair_origin(p: &PairStats) -> Option<(u16, u64, i64)> {
    Some((p.first_frame.0, p.first_frame.1, p.first_ts))
}

pub(crate) fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1_048_576.0)
}

fn cv(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return None;
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Some((mean, var.sqrt() / mean))
}

/// Whether the behaviour rules read this observation (failed logins, DNS
/// queries, DICOM associations and volumes, HL7 messages): a live watch's
/// behaviour pass keeps only these.
pub fn reads(o: &Observation) -> bool {
    matches!(
        o.kind,
        ObsKind::Login { .. }
            | ObsKind::Dns { .. }
            | ObsKind::DnsTunnel { .. }
            | ObsKind::DnsTunnelQueries { .. }
            | ObsKind::DicomAssociate(_)
            | ObsKind::DicomVolume { .. }
            | ObsKind::Hl7Message(_)
    )
}

/// Runs the behaviour rules.
///
/// `pairs` are the digest's, sorted by key (client, server, protocol,
/// port): deterministic whatever the hash map did.
pub fn run(
    ctx: &Context<'_>,
    digest: &FlowDigest,
    pairs: &[(&PairKey, &PairStats)],
    obs: &[Observation],
    out: &mut Findings<'_>,
    threads: usize,
) {
    let rest = |out: &mut Findings<'_>| {
        sweeps(ctx, digest, out);
        crate::arp::spoofing(ctx, &digest.claims, out);
        crate::flood::floods(ctx, &digest.floods, out);
        brute_force(ctx, pairs, obs, out);
        exfiltration(ctx, pairs, out);
        beaconing(ctx, pairs, out);
        exposure(ctx, pairs, out);
        dns_tunnels(ctx, obs, out);
        new_clinical_peers(ctx, pairs, obs, out);
        cfind_sweeps(ctx, obs, out);
        crate::baseline::deviations(ctx, pairs, out);
    };
    if threads <= 1 {
        scans(ctx, pairs, &digest.late_probes, out);
        rest(out);
        return;
    }
    // The scan rules (every client's pairs sorted by port and time: half
    // the cost) beside the others; raises added in the order above.
    let (scanned, others) = std::thread::scope(|s| {
        let scan = s.spawn(|| {
            let mut held = Findings::holding(ctx);
            scans(ctx, pairs, &digest.late_probes, &mut held);
            held
        });
        let mut others = Findings::holding(ctx);
        rest(&mut others);
        let scanned = scan.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (scanned, others)
    });
    out.add_held(scanned);
    out.add_held(others);
}

/// Internet peers a medical device starts talking to after the learning
/// period, when it was already active during it (a device that first
/// appears later has no baseline).
fn new_external_peers(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    start: i64,
    cutoff: i64,
    learn: f64,
    out: &mut Findings<'_>,
) {
    let mut active: BTreeSet<IpAddr> = BTreeSet::new();
    let mut first: BTreeMap<(IpAddr, IpAddr), &PairStats> = BTreeMap::new();
    for (k, p) in pairs {
        for (local, other) in [(k.client, k.server), (k.server, k.client)] {
            if !ctx.is_local(&local) || !ctx.is_medical(&local) {
                continue;
            }
            if p.first_ts <= cutoff && p.first_ts >= start {
                active.insert(local);
            }
            if p.established > 0 && ctx.is_public(&other) {
                let e = first.entry((local, other)).or_insert(p);
                if p.first_ts < e.first_ts {
                    *e = p;
                }
            }
        }
    }
    for ((local, ext), p) in first {
        // A device with a learned baseline is judged against it instead.
        if p.first_ts <= cutoff
            || !active.contains(&local)
            || crate::baseline::has_ready(ctx, &local)
        {
            continue;
        }
        out.raise(Raise {
            kind: "new-peer",
            rule: "medical-device-new-external-peer".into(),
            severity: Severity::Medium,
            subject: local,
            peer: Some(ext),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "Medical device started talking to internet address {ext}, not seen during the {learn:.0}-s learning period"
            ),
            detail: "first connection with the new peer".into(),
            origin: pair_origin(p),
            span: (p.first_ts, p.last_ts),
            count: p.conns,
            remediation: remedy::NEW_PEER,
        });
    }
}

/// Many C-FIND queries from one client to one archive: someone walking the
/// patient or study list (a worklist client asks a handful per hour).
fn cfind_sweeps(ctx: &Context<'_>, obs: &[Observation], out: &mut Findings<'_>) {
    let mut per: BTreeMap<(IpAddr, IpAddr), (u64, u64, &Observation, i64)> = BTreeMap::new();
    for o in obs {
        let ObsKind::DicomVolume { finds, .. } = &o.kind else {
            continue;
        };
        if *finds == 0 {
            continue;
        }
        let e = per
            .entry((o.client.0, o.server.0))
            .or_insert((0, 0, o, o.origin.ts_ns));
        e.0 += *finds as u64;
        e.1 += 1;
        e.3 = e.3.max(o.origin.ts_ns);
    }
    for ((client, server), (finds, assocs, first, last)) in per {
        if finds < ctx.config().cfind_sweep as u64 {
            continue;
        }
        out.raise(Raise {
            kind: "exfiltration",
            rule: "dicom-cfind-sweep".into(),
            severity: if ctx.is_public(&client) { Severity::Critical } else { Severity::High },
            subject: client,
            peer: Some(server),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "{finds} DICOM C-FIND queries to {server} in {assocs} associations: the patient/study list is being walked"
            ),
            detail: "association with C-FIND queries".into(),
            origin: Some((first.origin.input, first.origin.frame, first.origin.ts_ns)),
            span: (first.origin.ts_ns, last),
            count: finds,
            remediation: remedy::CFIND,
        });
    }
}

/// DICOM destinations (host and called AE) and HL7 receivers a device
/// starts using after the learning period: the modality that has sent to
/// the PACS all along and now sends a study somewhere else.
fn new_clinical_peers(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    obs: &[Observation],
    out: &mut Findings<'_>,
) {
    let (Some(start), Some(end)) = (
        pairs.iter().map(|p| p.1.first_ts).min(),
        pairs.iter().map(|p| p.1.last_ts).max(),
    ) else {
        return;
    };
    let span = (end - start) as f64 / 1e9;
    let learn = ctx.config().learning_s.min(span / 4.0);
    // Under half a minute of history is no baseline to be new against.
    if learn < 30.0 {
        return;
    }
    let cutoff = start + (learn * 1e9) as i64;
    new_external_peers(ctx, pairs, start, cutoff, learn, out);
    /// What a client used a server for (DICOM first, by called AE title).
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Use<'o> {
        Dicom(&'o str),
        Hl7,
    }
    // First use of each (client, server, use), in time order.
    let mut first: BTreeMap<(IpAddr, IpAddr, Use<'_>), &Observation> = BTreeMap::new();
    let mut learned: BTreeSet<IpAddr> = BTreeSet::new();
    for o in obs {
        let label = match &o.kind {
            ObsKind::DicomAssociate(a) if a.request => Use::Dicom(&a.called_ae),
            ObsKind::Hl7Message(m)
                if o.subject == wardwatch_proto::obs::Side::Client && m.message_type != "ACK" =>
            {
                Use::Hl7
            }
            _ => continue,
        };
        let e = first.entry((o.client.0, o.server.0, label)).or_insert(o);
        if o.origin.ts_ns < e.origin.ts_ns {
            *e = o;
        }
        if o.origin.ts_ns <= cutoff {
            learned.insert(o.client.0);
        }
    }
    for ((client, server, label), o) in first {
        // Only devices already seen using the protocol while learning have
        // a baseline to be new against.
        if o.origin.ts_ns <= cutoff || !learned.contains(&client) {
            continue;
        }
        let label = match label {
            Use::Dicom(ae) => format!("DICOM {ae}"),
            Use::Hl7 => "HL7".to_string(),
        };
        let external = ctx.is_public(&server);
        out.raise(Raise {
            kind: "new-peer",
            rule: if label.starts_with("DICOM") {
                "dicom-new-destination".into()
            } else {
                "hl7-new-receiver".into()
            },
            severity: if external {
                Severity::High
            } else {
                Severity::Medium
            },
            subject: client,
            peer: Some(server),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "{label} to {server}{} never used during the {:.0}-s learning period",
                if external { " (internet)" } else { "" },
                learn
            ),
            detail: format!("first {label} association to the new destination"),
            origin: Some((o.origin.input, o.origin.frame, o.origin.ts_ns)),
            span: (o.origin.ts_ns, o.origin.ts_ns),
            count: 1,
            remediation: remedy::NEW_PEER,
        });
    }
}

/// Failed probes of pairs the full digest had no room for, by client,
/// server and protocol.
pub(crate) type Late = std::collections::BTreeMap<(IpAddr, IpAddr, u8), crate::digest::LateProbes>;

pub(crate) fn scans(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    late: &Late,
    out: &mut Findings<'_>,
) {
    let cfg = ctx.config();
    // Vertical: one client, one server, many ports. The pairs are sorted by
    // client then server, so each (client, server) is one run of them; the
    // late probes of the same two hosts join their run, and those of hosts
    // without one are runs of their own.
    let mut horizontal: Vec<(IpAddr, u16, IpAddr, i64, i64, At)> = Vec::new();
    // Two hosts' late probes without a run of pairs: keys sorted, so each
    // (client, server) once, found by a search of the sorted pairs.
    let mut previous = None;
    let alone = late
        .keys()
        .map(|(c, s, _)| (*c, *s))
        .filter(move |k| previous.replace(*k) != Some(*k))
        .filter(|(c, s)| {
            pairs
                .binary_search_by(|(k, _)| (k.client, k.server).cmp(&(*c, *s)))
                .is_err()
        })
        .map(|(c, s)| (c, s, &pairs[..0]));
    let runs = pairs
        .chunk_by(|a, b| a.0.client == b.0.client && a.0.server == b.0.server)
        .map(|run| (run[0].0.client, run[0].0.server, run))
        .chain(alone);
    for (client, server, run) in runs {
        let (mut ports, mut failed_ports) = (0usize, 0usize);
        let (mut first, mut last, mut origin) = (i64::MAX, i64::MIN, None);
        for (k, p) in run.iter().filter(|(k, _)| k.proto == 6 || k.proto == 17) {
            ports += 1;
            if p.failed() {
                failed_ports += 1;
                horizontal.push((
                    client,
                    k.port,
                    server,
                    p.first_ts,
                    p.last_ts,
                    pair_origin(p),
                ));
            }
            if p.first_ts < first {
                first = p.first_ts;
                origin = pair_origin(p);
            }
            last = last.max(p.last_ts);
        }
        for proto in [6u8, 17] {
            let Some(g) = late.get(&(client, server, proto)) else {
                continue;
            };
            let at = Some((g.first_frame.0, g.first_frame.1, g.first_ts));
            for port in &g.ports {
                // A port a pair holds (another worker's) counts once.
                let held = run
                    .binary_search_by(|(k, _)| (k.proto, k.port).cmp(&(proto, *port)))
                    .is_ok();
                if held {
                    continue;
                }
                ports += 1;
                failed_ports += 1;
                horizontal.push((client, *port, server, g.first_ts, g.last_ts, at));
            }
            if g.first_ts < first {
                first = g.first_ts;
                origin = at;
            }
            last = last.max(g.last_ts);
        }
        // Most probes unanswered, or refused: that is a scan, not a client.
        if failed_ports >= cfg.scan_ports && failed_ports * 2 >= ports {
            let sev = if ctx.is_public(&client) || ports >= 100 {
                Severity::High
            } else {
                Severity::Medium
            };
            out.raise(Raise {
                kind: "port-scan",
                rule: "vertical-scan".into(),
                severity: sev,
                subject: client,
                peer: Some(server),
                peers: Vec::new(),
                peer_count: None,
                summary: format!("Port scan: {ports} ports of {server} probed, {failed_ports} without a connection"),
                detail: format!("first probe to {server}"),
                origin,
                span: (first, last),
                count: ports as u64,
                remediation: remedy::SCAN,
            });
        }
    }
    // Horizontal: one client, one port, many servers, from the failed
    // probes alone (a sorted list, not a set per client: a sweep of a /16
    // costs one entry per probe). Only a (client, port) with as many
    // probes as a sweep needs servers can be one: the others (a vertical
    // scan's, one per port) are counted off before the sort.
    let mut probes: HashMap<(IpAddr, u16), usize, foldhash::fast::RandomState> = HashMap::default();
    for h in &horizontal {
        *probes.entry((h.0, h.1)).or_default() += 1;
    }
    horizontal.retain(|h| {
        probes
            .get(&(h.0, h.1))
            .is_some_and(|n| *n >= cfg.scan_hosts)
    });
    horizontal.sort_unstable_by_key(|a| (a.0, a.1, a.2, a.3));
    for run in horizontal.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        let mut servers: Vec<IpAddr> = run.iter().map(|h| h.2).collect();
        servers.dedup();
        if servers.len() < cfg.scan_hosts {
            continue;
        }
        let (client, port) = (run[0].0, run[0].1);
        let earliest = run.iter().min_by_key(|h| h.3).unwrap_or(&run[0]);
        let (first, origin) = (earliest.3, earliest.5);
        let last = run.iter().map(|h| h.4).max().unwrap_or(first);
        let n = servers.len();
        out.raise(Raise {
            kind: "port-scan",
            rule: "horizontal-scan".into(),
            severity: if ctx.is_public(&client) {
                Severity::High
            } else {
                Severity::Medium
            },
            subject: client,
            peer: servers.first().copied(),
            peers: servers.to_vec(),
            peer_count: Some(n as u64),
            summary: format!("Sweep: port {port} probed on {n} hosts without a connection"),
            detail: format!("first probe of port {port}"),
            origin,
            span: (first, last),
            count: n as u64,
            remediation: remedy::SCAN,
        });
    }
}

/// Host discovery: one sender asking for many addresses within a minute.
/// By ARP: a router asks for the hosts of its subnet too, but one by one
/// as their entries expire. By ping, most of them unanswered as well: a
/// sweep walks address ranges where few hosts live, while a monitoring
/// server pings the devices it knows, and they answer.
fn sweeps(ctx: &Context<'_>, digest: &FlowDigest, out: &mut Findings<'_>) {
    let cfg = ctx.config();
    /// What the rule reads of a sender of either table.
    struct Sender {
        icmp: bool,
        ip: IpAddr,
        targets: usize,
        burst: usize,
        unanswered: u64,
        requests: u64,
        first_frame: (u16, u64),
        span: (i64, i64),
    }
    /// (The burst is counted only where enough targets were asked for.)
    fn view<T>(icmp: bool, ip: IpAddr, a: &crate::digest::Asks<T>, least: usize) -> Sender {
        Sender {
            icmp,
            ip,
            targets: a.targets.len(),
            burst: if a.targets.len() >= least {
                a.burst()
            } else {
                0
            },
            unanswered: a.unanswered,
            requests: a.requests,
            first_frame: a.first_frame,
            span: (a.first_ts, a.last_ts),
        }
    }
    let arp = digest
        .arp
        .iter()
        .map(|(ip, a)| view(false, IpAddr::V4(*ip), a, cfg.arp_sweep_targets));
    let icmp = digest
        .icmp
        .iter()
        .map(|(ip, a)| view(true, *ip, a, cfg.icmp_sweep_targets));
    let mut senders: Vec<Sender> = arp.chain(icmp).collect();
    senders.sort_by_key(|s| (s.icmp, s.ip));
    for s in senders {
        let Sender {
            icmp,
            ip,
            targets: n,
            burst,
            unanswered,
            requests,
            first_frame,
            span,
        } = s;
        let (rule, threshold, asked) = if icmp {
            let asked = format!("ICMP echo requests to {n} addresses, {unanswered} unanswered");
            ("icmp-sweep", cfg.icmp_sweep_targets, asked)
        } else {
            let asked = format!("ARP requests for {n} addresses ({requests} requests)");
            ("arp-sweep", cfg.arp_sweep_targets, asked)
        };
        if burst < threshold || (icmp && unanswered * 2 < n as u64) {
            continue;
        }
        out.raise(Raise {
            kind: "port-scan",
            rule: rule.into(),
            severity: if icmp && ctx.is_public(&ip) {
                Severity::High
            } else {
                Severity::Medium
            },
            subject: ip,
            peer: None,
            peers: Vec::new(),
            peer_count: Some(n as u64),
            summary: format!("Host discovery: {asked}, {burst} of them within a minute"),
            detail: if icmp {
                "first echo request of the sweep"
            } else {
                "first ARP request of the sweep"
            }
            .into(),
            origin: Some((first_frame.0, first_frame.1, span.0)),
            span,
            count: if icmp { n as u64 } else { requests },
            remediation: remedy::SCAN,
        });
    }
}

/// A refused login an observation shows: its protocol, its user (empty
/// where none is known) and its password's tag (none where the password
/// was not read).
pub(crate) fn failed_login(o: &Observation) -> Option<(&str, &str, Option<u16>)> {
    match &o.kind {
        ObsKind::Login {
            protocol,
            user,
            success: Some(false),
            password_tag,
            ..
        } => Some((protocol.as_str(), user.as_str(), *password_tag)),
        // A registrar refusing a SIP phone's (or a guesser's) credentials
        // is a failed login too; the extension tried is not kept.
        ObsKind::Sip(f) if f.refused_registration => Some(("sip", "", None)),
        // A VNC password is never read (only tried against the default and
        // common ones): unread, every refusal may be a guess.
        ObsKind::Vnc(f) if f.accepted == Some(false) && f.chosen.is_some() => {
            Some(("vnc", "", None))
        }
        _ => None,
    }
}

pub(crate) fn brute_force(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    obs: &[Observation],
    out: &mut Findings<'_>,
) {
    let cfg = ctx.config();
    // Failed logins the dissectors saw.
    let mut fails: Failures<'_> = BTreeMap::new();
    for o in obs {
        let Some((protocol, user, tag)) = failed_login(o) else {
            continue;
        };
        let e = fails.entry((o.client.0, o.server.0, protocol)).or_default();
        e.count += 1;
        if e.users.len() < 16 && !user.is_empty() {
            e.users.insert(user);
        }
        match tag {
            Some(t) if e.passwords.len() < 16 => {
                e.passwords.insert(t);
            }
            Some(_) => {}
            None => e.unread = true,
        }
        if e.samples.len() < 5 {
            e.samples.push(o);
        }
    }
    let mut by_login: BTreeSet<(IpAddr, IpAddr)> = BTreeSet::new();
    for ((client, server, protocol), f) in fails {
        let Failed {
            count: n,
            users,
            passwords,
            unread,
            samples,
        } = f;
        if n < cfg.brute_force_failures {
            continue;
        }
        by_login.insert((client, server));
        // The same user name and the same password every time: a client
        // retrying credentials that changed (a recorder, a service
        // account), not someone guessing.
        if users.len() <= 1 && passwords.len() == 1 && !unread {
            let o = samples[0];
            out.raise(Raise {
                kind: "brute-force",
                rule: "failed-logins-repeated".into(),
                severity: Severity::Low,
                subject: server,
                peer: Some(client),
                peers: Vec::new(),
                peer_count: None,
                summary: format!(
                    "{n} failed {protocol} logins from {client}, every one with the same user name and password: a client with a wrong or stale password, not guessing"
                ),
                detail: format!("{protocol} login refused"),
                origin: Some((o.origin.input, o.origin.frame, o.origin.ts_ns)),
                span: (o.origin.ts_ns, o.origin.ts_ns),
                count: 0,
                remediation: remedy::STALE_LOGIN,
            });
            continue;
        }
        for o in samples {
            out.raise(Raise {
                kind: "brute-force",
                rule: "failed-logins".into(),
                severity: Severity::High,
                subject: server,
                peer: Some(client),
                peers: Vec::new(),
                peer_count: None,
                summary: if users.is_empty() {
                    format!("{n} failed {protocol} logins from {client}")
                } else {
                    format!(
                        "{n} failed {protocol} logins from {client} ({} user names)",
                        users.len()
                    )
                },
                detail: format!("{protocol} login refused"),
                origin: Some((o.origin.input, o.origin.frame, o.origin.ts_ns)),
                span: (o.origin.ts_ns, o.origin.ts_ns),
                count: 0,
                remediation: remedy::BRUTE,
            });
        }
    }
    // Many short connections to a login service in a short time.
    for (k, p) in pairs {
        let Some(service) = login_service(k.port) else {
            continue;
        };
        if k.proto != 6 || by_login.contains(&(k.client, k.server)) {
            continue;
        }
        // A site's application servers open a database connection per
        // query by the hundred (no pooling in many clinical applications):
        // only a client on the internet guessing is told from them.
        if matches!(k.port, 1433 | 3306) && !ctx.is_public(&k.client) {
            continue;
        }
        if p.sample_count() < cfg.brute_force_connections {
            continue;
        }
        let mut starts: Vec<i64> = p.samples().iter().map(|s| s.0).collect();
        starts.sort_unstable();
        let window = cfg.brute_force_window_s * 1_000_000_000;
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..starts.len() {
            while starts[hi] - starts[lo] > window {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        // Interactive sessions carry data; guesses are short.
        let avg = p.payload[0] / p.conns.max(1);
        if best >= cfg.brute_force_connections && avg < 4096 {
            out.raise(Raise {
                kind: "brute-force",
                rule: "login-connection-burst".into(),
                severity: if ctx.is_public(&k.client) { Severity::High } else { Severity::Medium },
                subject: k.server,
                peer: Some(k.client),
                peers: Vec::new(),
                peer_count: None,
                summary: format!(
                    "{best} {service} connections from {} within {} s (short sessions, likely password guessing)",
                    k.client, cfg.brute_force_window_s
                ),
                detail: format!("first {service} connection"),
                origin: pair_origin(p),
                span: (p.first_ts, p.last_ts),
                count: p.conns,
                remediation: remedy::BRUTE,
            });
        }
    }
}

pub(crate) fn exfiltration(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    out: &mut Findings<'_>,
) {
    let cfg = ctx.config();
    // Bytes from each local host to each external one, whichever side
    // opened the connections.
    struct Flowed<'p> {
        out: u64,
        inb: u64,
        conns: u64,
        first: &'p PairStats,
        last_ts: i64,
        ports: BTreeSet<u16>,
    }
    let mut sums: BTreeMap<(IpAddr, IpAddr), Flowed<'_>> = BTreeMap::new();
    for (k, p) in pairs {
        let (local, ext, sent, got) = if ctx.is_local(&k.client) && ctx.is_public(&k.server) {
            (k.client, k.server, p.payload[0], p.payload[1])
        } else if ctx.is_local(&k.server) && ctx.is_public(&k.client) {
            (k.server, k.client, p.payload[1], p.payload[0])
        } else {
            continue;
        };
        let e = sums.entry((local, ext)).or_insert(Flowed {
            out: 0,
            inb: 0,
            conns: 0,
            first: p,
            last_ts: p.last_ts,
            ports: BTreeSet::new(),
        });
        e.out += sent;
        e.inb += got;
        e.conns += p.conns;
        if p.first_ts < e.first.first_ts {
            e.first = p;
        }
        e.last_ts = e.last_ts.max(p.last_ts);
        if e.ports.len() < 8 {
            e.ports.insert(k.port);
        }
    }
    for ((local, ext), s) in sums {
        let medical = ctx.is_medical(&local) || ctx.speaks_clinical(&local);
        let limit = if medical {
            cfg.exfil_bytes_medical
        } else {
            cfg.exfil_bytes_other
        };
        let ratio = s.out as f64 / (s.inb.max(1)) as f64;
        if s.out < limit || ratio < cfg.exfil_ratio {
            continue;
        }
        let who = if medical { "Medical device" } else { "Host" };
        out.raise(Raise {
            kind: "exfiltration",
            rule: "outbound-volume".into(),
            severity: Severity::high_or_critical(medical),
            subject: local,
            peer: Some(ext),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "{who} sent {} to external {ext} in {} connections (received {}; ports {})",
                mb(s.out),
                s.conns,
                mb(s.inb),
                s.ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            detail: "first connection to the destination".into(),
            origin: pair_origin(s.first),
            span: (s.first.first_ts, s.last_ts),
            count: s.conns,
            remediation: remedy::EXFIL,
        });
    }
}

/// Site hosts calling one internet service from which a periodic callback
/// is fleet software (updates, telemetry, a vendor's device cloud) rather
/// than one implant's command channel: reported, but low.
const BEACON_FLEET_HOSTS: usize = 10;

fn beaconing(ctx: &Context<'_>, pairs: &[(&PairKey, &PairStats)], out: &mut Findings<'_>) {
    let cfg = ctx.config();
    // Site hosts per internet service (pairs are distinct: one per client),
    // counted once a pair is found periodic (most runs have none).
    let mut callers: Option<HashMap<(IpAddr, u8, u16), usize, foldhash::fast::RandomState>> = None;
    for (k, p) in pairs {
        if p.sample_count() < cfg.beacon_min_connections
            || periodic_by_design(k.port)
            || !ctx.is_local(&k.client)
            || !ctx.is_public(&k.server)
        {
            continue;
        }
        let mut s = p.samples();
        s.sort_unstable();
        let intervals: Vec<f64> = s
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) as f64 / 1e9)
            .collect();
        let sizes: Vec<f64> = s.iter().map(|x| x.1 as f64).collect();
        let Some((mean, icv)) = cv(&intervals) else {
            continue;
        };
        let scv = cv(&sizes).map(|x| x.1).unwrap_or(0.0);
        if mean < cfg.beacon_min_interval_s
            || icv > cfg.beacon_max_interval_cv
            || scv > cfg.beacon_max_size_cv
        {
            continue;
        }
        let medical = ctx.is_medical(&k.client);
        // Score: 1 for a perfect clock, falling with jitter.
        let score = (1.0 - icv / cfg.beacon_max_interval_cv.max(1e-9)).clamp(0.0, 1.0) * 0.5
            + (1.0 - scv / cfg.beacon_max_size_cv.max(1e-9)).clamp(0.0, 1.0) * 0.5;
        let fleet = callers
            .get_or_insert_with(|| {
                let mut n: HashMap<_, usize, foldhash::fast::RandomState> = HashMap::default();
                for (k, _) in pairs {
                    if ctx.is_local(&k.client) && ctx.is_public(&k.server) {
                        *n.entry((k.server, k.proto, k.port)).or_default() += 1;
                    }
                }
                n
            })
            .get(&(k.server, k.proto, k.port))
            .copied()
            .unwrap_or(0);
        let (severity, also) = if fleet >= BEACON_FLEET_HOSTS {
            let also = format!("; {fleet} site hosts call this service: fleet software (updates, telemetry, a vendor cloud) more likely than a command channel");
            (Severity::Low, also)
        } else if medical {
            (Severity::High, String::new())
        } else {
            (Severity::Medium, String::new())
        };
        out.raise(Raise {
            kind: "beaconing",
            rule: "periodic-callback".into(),
            severity,
            subject: k.client,
            peer: Some(k.server),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "{} connections to {}:{} every {:.0} s (interval jitter {:.0} %, size jitter {:.0} %, score {:.2}){also}",
                p.conns,
                k.server,
                k.port,
                mean,
                icv * 100.0,
                scv * 100.0,
                score
            ),
            detail: "first connection of the series".into(),
            origin: pair_origin(p),
            span: (p.first_ts, p.last_ts),
            count: p.conns,
            remediation: remedy::BEACON,
        });
    }
}

/// Ports whose exposure to the internet is worst: clinical protocols and
/// remote administration.
fn sensitive_port(port: u16) -> bool {
    matches!(
        port,
        21 | 23 | 104 | 445 | 1433 | 2575 | 3389 | 5900 | 11112 | 161 | 502 | 6661
    )
}

pub(crate) fn exposure(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    out: &mut Findings<'_>,
) {
    // Inbound from the internet, accepted.
    let mut inbound: Inbound<'_> = BTreeMap::new();
    // Medical devices' external peers.
    let mut external: External<'_> = BTreeMap::new();
    // Site hosts' FTP control connections to internet servers: in active
    // mode the server opens each data connection to a port the client
    // named (PORT/EPRT), from the internet to the site.
    let ftp_control: BTreeSet<(IpAddr, IpAddr)> = pairs
        .iter()
        .filter(|(k, p)| k.proto == 6 && k.port == 21 && p.established > 0)
        .map(|(k, _)| (k.client, k.server))
        .collect();
    for (k, p) in pairs {
        if p.established == 0 {
            continue;
        }
        if ctx.is_local(&k.server) && ctx.is_public(&k.client) {
            // UDP "answers" from a local port above 1023 are usually a reply
            // to the local side (NAT, QUIC, STUN), not a service.
            if k.proto == 17 && k.port >= 1024 {
                continue;
            }
            // An active-mode FTP data connection, not a service.
            if k.proto == 6 && k.port >= 1024 && ftp_control.contains(&(k.server, k.client)) {
                continue;
            }
            let e = inbound
                .entry((k.server, k.port))
                .or_insert((BTreeSet::new(), p, 0, p.last_ts));
            if e.0.len() < 64 {
                e.0.insert(k.client);
            }
            if p.first_ts < e.1.first_ts {
                e.1 = p;
            }
            e.2 += p.conns;
            e.3 = e.3.max(p.last_ts);
        }
        let (local, ext) = if ctx.is_local(&k.client) && ctx.is_public(&k.server) {
            (k.client, k.server)
        } else if ctx.is_local(&k.server) && ctx.is_public(&k.client) {
            (k.server, k.client)
        } else {
            continue;
        };
        if ctx.is_medical(&local) {
            let e = external
                .entry((local, ext))
                .or_insert((p, 0, p.last_ts, BTreeSet::new()));
            if p.first_ts < e.0.first_ts {
                e.0 = p;
            }
            e.1 += p.conns;
            e.2 = e.2.max(p.last_ts);
            if e.3.len() < 8 {
                e.3.insert(k.port);
            }
        }
    }
    for ((server, port), (clients, first, conns, last)) in inbound {
        let medical = ctx.is_medical(&server);
        let sev = if medical || sensitive_port(port) {
            Severity::Critical
        } else {
            Severity::High
        };
        let n = clients.len();
        out.raise(Raise {
            kind: "internet-exposed",
            rule: "inbound-from-internet".into(),
            severity: sev,
            subject: server,
            peer: clients.iter().next().copied(),
            peers: clients.iter().copied().collect(),
            peer_count: Some(n as u64),
            summary: format!(
                "Port {port} accepted {conns} connections from {n} internet address(es)"
            ),
            detail: "first accepted connection from the internet".into(),
            origin: pair_origin(first),
            span: (first.first_ts, last),
            count: conns,
            remediation: remedy::EXPOSED,
        });
    }
    for ((local, ext), (first, conns, last, ports)) in external {
        let clinical = ports
            .iter()
            .any(|p| matches!(p, 104 | 11112 | 2575 | 2762 | 6661));
        out.raise(Raise {
            kind: "external-communication",
            rule: "medical-device-internet".into(),
            severity: if clinical {
                Severity::High
            } else {
                Severity::Medium
            },
            subject: local,
            peer: Some(ext),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "Medical device talked to internet address {ext} ({conns} connections, ports {})",
                ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            detail: "first connection with the external peer".into(),
            origin: pair_origin(first),
            span: (first.first_ts, last),
            count: conns,
            remediation: remedy::EXTERNAL,
        });
    }
}

/// Distinct names the DNS tunnel rule reads per client and domain (the
/// flow workers keep no more of a tunnel's queries).
pub const TUNNEL_NAMES: usize = 4096;

pub use wardwatch_proto::dns::base_domain;

/// The names a plain-DNS query asks (`None` for anything else: answers,
/// mDNS, LLMNR, other facts).
fn query_names(o: &Observation) -> Option<impl Iterator<Item = &str>> {
    let ObsKind::Dns {
        flavour,
        response: false,
        queries,
        ..
    } = &o.kind
    else {
        return None;
    };
    (flavour == "dns").then(|| queries.iter().map(|q| q.split(' ').next().unwrap_or("")))
}

fn dns_tunnels(ctx: &Context<'_>, obs: &[Observation], out: &mut Findings<'_>) {
    /// Counts `names` asked by `o`'s client under `domain`, the last at `last`.
    fn add<'o>(
        per: &mut Tunnels<'o>,
        o: &'o Observation,
        domain: &'o str,
        names: impl IntoIterator<Item = u64>,
        last: i64,
    ) {
        let e = per.entry((o.client.0, domain)).or_insert((
            BTreeSet::new(),
            o,
            o.origin.ts_ns,
            o.server.0,
        ));
        for name in names {
            if e.0.len() < TUNNEL_NAMES {
                e.0.insert(name);
            }
        }
        e.2 = e.2.max(last);
    }
    let mut per: Tunnels<'_> = BTreeMap::new();
    for o in obs {
        match &o.kind {
            ObsKind::DnsTunnel {
                domain, name_hash, ..
            } => {
                add(&mut per, o, domain, [*name_hash], o.origin.ts_ns);
                continue;
            }
            ObsKind::DnsTunnelQueries {
                domain,
                names,
                last_ns,
            } => {
                add(&mut per, o, domain, names.iter().copied(), *last_ns);
                continue;
            }
            _ => {}
        }
        // A message naming a watched domain is kept whole.
        let Some(names) = query_names(o) else {
            continue;
        };
        for name in names.filter(|n| tunnel_like(n)) {
            add(
                &mut per,
                o,
                base_domain(name),
                [name_hash(name)],
                o.origin.ts_ns,
            );
        }
    }
    for ((client, domain), (names, first, last, resolver)) in per {
        if names.len() < ctx.config().dns_tunnel_names {
            continue;
        }
        out.raise(Raise {
            kind: "exfiltration",
            rule: "dns-tunnel".into(),
            severity: Severity::High,
            subject: client,
            peer: Some(resolver),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "DNS tunnelling suspected: {} distinct long, random-looking names under {domain}",
                names.len()
            ),
            detail: format!("query under {domain}"),
            origin: Some((first.origin.input, first.origin.frame, first.origin.ts_ns)),
            span: (first.origin.ts_ns, last),
            count: names.len() as u64,
            remediation: remedy::DNS_TUNNEL,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule on `digest` and `observations`, with the default
    /// configuration and no devices.
    fn detect_with(
        digest: &crate::digest::FlowDigest,
        observations: &[Observation],
    ) -> Vec<wardwatch_model::Finding> {
        crate::detect_for_test(&[], digest, observations)
    }

    #[test]
    fn dns_name_shapes() {
        assert!(tunnel_like(
            "dnscat.546b03f5a2c1e0d9b8f7a6e5d4c3b2a1f0e9d8c7b6a5.example.com"
        ));
        assert!(!tunnel_like("www.google.com"));
        assert!(!tunnel_like("_ldap._tcp.dc._msdcs.hospital.local"));
        assert_eq!(base_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(base_domain("x.y.example.com."), "example.com");
        assert_eq!(base_domain("dnscat.5a03b5b1.19e4d098dc"), "(no domain)");
        assert_eq!(base_domain("example.com"), "example.com");
        assert_eq!(base_domain("com"), "com");
        assert_eq!(base_domain("a.co.uk"), "a.co.uk");
        assert_eq!(base_domain("co.uk"), "co.uk");
        assert_eq!(base_domain("x.a..com"), ".com");
        assert_eq!(base_domain("x.verylongsecond.uk"), "verylongsecond.uk");
    }

    #[test]
    fn cfind_sweep_needs_many_queries() {
        use crate::digest::FlowDigest;
        use wardwatch_proto::obs::{Origin, Side};
        let vol = |finds: u32, frame: u64| Observation {
            origin: Origin {
                input: 0,
                frame,
                ts_ns: frame as i64,
            },
            client: (
                "10.60.5.66".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                40000,
            ),
            server: (
                "10.20.1.10".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                104,
            ),
            subject: Side::Client,
            mac: None,
            kind: ObsKind::DicomVolume {
                to_server: 0,
                to_client: 0,
                deflated: false,
                finds,
            },
        };
        let run = |obs: Vec<Observation>| detect_with(&FlowDigest::default(), &obs);
        // A worklist client: a few queries.
        assert!(run(vec![vol(3, 1), vol(2, 2)]).is_empty());
        // Someone walking the archive.
        let f = run(vec![vol(150, 1), vol(120, 2)]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].kind.as_str(), f[0].rule.as_str(), f[0].count),
            ("exfiltration", "dicom-cfind-sweep", 270)
        );
    }

    #[test]
    fn the_same_password_refused_again_and_again_is_no_guessing() {
        use crate::digest::FlowDigest;
        use wardwatch_proto::obs::{Origin, Side};
        let refused = |user: &str, tag: Option<u16>| Observation {
            origin: Origin {
                input: 0,
                frame: 1,
                ts_ns: 1_000_000_000,
            },
            client: (
                "10.0.0.9".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                50000,
            ),
            server: (
                "10.0.0.22".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
                389,
            ),
            subject: Side::Client,
            mac: None,
            kind: ObsKind::Login {
                protocol: "ldap".into(),
                user: user.into(),
                password_present: true,
                success: Some(false),
                encrypted: false,
                password: wardwatch_proto::creds::PasswordCheck::Other,
                password_tag: tag,
            },
        };
        let run = |obs: Vec<Observation>| -> Vec<(String, String)> {
            detect_with(&FlowDigest::default(), &obs)
                .into_iter()
                .filter(|f| f.kind == "brute-force")
                .map(|f| (f.rule, f.severity))
                .collect()
        };
        // A service account binding with its old password every minute.
        let stale: Vec<_> = (0..8).map(|_| refused("svc-pacs", Some(7))).collect();
        assert_eq!(
            run(stale),
            [("failed-logins-repeated".to_string(), "low".to_string())]
        );
        // Guessing: other passwords, or other users, or passwords unread.
        let guesses: Vec<_> = (0..8).map(|i| refused("admin", Some(i))).collect();
        let users: Vec<_> = (0..8)
            .map(|i| refused(&format!("user{i}"), Some(7)))
            .collect();
        let mut unread: Vec<_> = (0..7).map(|_| refused("admin", Some(7))).collect();
        unread.push(refused("admin", None));
        for obs in [guesses, users, unread] {
            assert_eq!(
                run(obs),
                [("failed-logins".to_string(), "high".to_string())]
            );
        }
    }

    #[test]
    fn login_connection_bursts() {
        let run = |client: &str, port: u16, client_payload: u64| {
            let mut d = crate::digest::FlowDigest::new(1 << 12);
            for i in 0..30 {
                d.add(&tcp_flow(
                    client,
                    "10.0.0.22",
                    port,
                    [client_payload, 300],
                    true,
                    1_000_000_000_000 + i * 2_000_000_000,
                ));
            }
            detect_with(&d, &[])
                .into_iter()
                .filter(|f| f.rule == "login-connection-burst")
                .map(|f| (f.severity, f.ip.unwrap_or_default()))
                .collect::<Vec<_>>()
        };
        // Thirty short SSH sessions in a minute: password guessing.
        assert_eq!(
            run("10.0.0.9", 22, 600),
            vec![("medium".into(), "10.0.0.22".into())]
        );
        // From the internet, on SQL Server: the same, and high.
        assert_eq!(
            run("198.51.100.7", 1433, 600),
            vec![("high".into(), "10.0.0.22".into())]
        );
        // A site application server opening a connection per query.
        assert_eq!(run("10.0.0.8", 1433, 600), vec![]);
        assert_eq!(run("10.0.0.8", 3306, 600), vec![]);
        // Interactive sessions carry data.
        assert_eq!(run("10.0.0.9", 22, 20_000), vec![]);
    }

    /// (A posture rule, run here with the others.) A default community is
    /// the agent's weakness when it answers with it or traps with it; a
    /// manager only asking with it, unanswered, is the cleartext
    /// community's low finding.
    #[test]
    fn a_default_snmp_community_needs_the_agent_to_use_it() {
        use wardwatch_proto::obs::{Origin, Side};
        let ip = |s: &str| s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let snmp = |manager: &str, agent: &str, pdu: &str, frame: u64| {
            let trap = pdu.contains("trap");
            let (client, server) = if trap {
                ((ip(agent), 1024), (ip(manager), 162))
            } else {
                ((ip(manager), 40000), (ip(agent), 161))
            };
            Observation {
                origin: Origin {
                    input: 0,
                    frame,
                    ts_ns: frame as i64,
                },
                client,
                server,
                // The sender: the agent of a trap is the client, of a
                // response the server.
                subject: if pdu == "response" {
                    Side::Server
                } else {
                    Side::Client
                },
                mac: None,
                kind: ObsKind::Snmp(Box::new(wardwatch_proto::obs::SnmpFact {
                    version: "v2c".into(),
                    community: Some("public (default)".into()),
                    pdu: pdu.into(),
                    sys_descr: None,
                    sys_object_id: None,
                    sys_name: None,
                    engine_id: None,
                    user: None,
                })),
            }
        };
        let obs = vec![
            // A printer answering the monitoring server.
            snmp("10.0.0.5", "10.0.1.7", "get-request", 1),
            snmp("10.0.0.5", "10.0.1.7", "response", 2),
            // A pump asked, silent (its community is another).
            snmp("10.0.0.5", "10.0.1.8", "get-request", 3),
            snmp("10.0.0.5", "10.0.1.8", "get-next-request", 4),
            // A switch sending traps with it.
            snmp("10.0.0.5", "10.0.1.9", "snmpv2-trap", 5),
        ];
        let mut found: Vec<(String, String, String)> = detect_with(&FlowDigest::default(), &obs)
            .into_iter()
            .map(|f| (f.ip.unwrap_or_default(), f.rule, f.severity))
            .collect();
        found.sort();
        let want = |a: &str, r: &str, s: &str| (a.to_string(), r.to_string(), s.to_string());
        assert_eq!(
            found,
            vec![
                want("10.0.1.7", "snmp-default-community", "high"),
                want("10.0.1.8", "snmp-v1-v2c", "low"),
                want("10.0.1.9", "snmp-default-community", "high"),
            ]
        );
    }

    #[test]
    fn fleet_wide_callbacks_are_low() {
        let run = |clients: u8| {
            let mut d = crate::digest::FlowDigest::new(1 << 12);
            for c in 0..clients {
                for i in 0..20 {
                    d.add(&tcp_flow(
                        &format!("10.1.0.{}", c + 1),
                        "198.51.100.9",
                        443,
                        [517, 3000],
                        true,
                        1_000_000_000_000 + i * 60_000_000_000 + i64::from(c) * 1_000_000,
                    ));
                }
            }
            detect_with(&d, &[])
                .into_iter()
                .filter(|f| f.rule == "periodic-callback")
                .map(|f| (f.severity, f.summary))
                .collect::<Vec<_>>()
        };
        // One host calling out every minute like a clock.
        let one = run(1);
        assert_eq!(one.len(), 1, "{one:?}");
        assert_eq!(one[0].0, "medium");
        // Twelve hosts calling the same service alike: updates, telemetry.
        let fleet = run(12);
        assert_eq!(fleet.len(), 12, "{fleet:?}");
        for (sev, summary) in &fleet {
            assert_eq!(sev, "low");
            assert!(
                summary.contains("12 site hosts call this service"),
                "{summary}"
            );
        }
    }

    /// A finished TCP flow between two addresses, at `ts`: established
    /// (and answered) or a probe that got nowhere.
    fn tcp_flow(
        client: &str,
        server: &str,
        port: u16,
        payload: [u64; 2],
        established: bool,
        ts: i64,
    ) -> crate::digest::FlowFact {
        let ip = |s: &str| s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        crate::digest::FlowFact {
            proto: 6,
            client: ip(client),
            server: ip(server),
            server_port: port,
            payload,
            packets: [2, u64::from(established) * 2],
            first_ts: ts,
            last_ts: ts,
            first_frame: (0, ts as u64),
            answered: established,
            established,
            refused: false,
            half_open: false,
        }
    }

    /// A digest of `cap` pairs filled by ordinary site traffic (one host's
    /// connections to another's ports from `base`).
    fn full_digest(cap: usize, base: u16) -> crate::digest::FlowDigest {
        let mut d = crate::digest::FlowDigest::new(cap);
        for i in 0..cap as u16 {
            d.add(&tcp_flow(
                "10.1.1.1",
                "10.2.2.2",
                base + i,
                [500, 1000],
                true,
                1,
            ));
        }
        d
    }

    #[test]
    fn a_scan_after_the_digest_filled_is_found() {
        use crate::digest::FlowDigest;
        let flow = |client: &str, server: &str, port: u16, ok: bool, ts: i64| {
            let data = u64::from(ok) * 100;
            tcp_flow(client, server, port, [data, data], ok, ts)
        };
        let scan_of = |digests: Vec<FlowDigest>| {
            let mut digest = FlowDigest::new(64);
            for d in digests {
                digest.merge(d);
            }
            let f = detect_with(&digest, &[]);
            let scans: Vec<(String, u64)> = f
                .iter()
                .filter(|f| f.rule == "vertical-scan")
                .map(|f| (f.summary.clone(), f.count))
                .collect();
            (scans, digest.dropped)
        };
        // Ordinary conversations fill a digest of 64 pairs; then a scanner
        // tries 40 ports of a server, one of them twice, one open.
        let mut d = FlowDigest::new(64);
        for i in 0..64u16 {
            d.add(&flow("10.1.1.1", "10.2.2.2", 1000 + i, true, 1));
        }
        for port in 1..=40u16 {
            d.add(&flow(
                "10.9.9.9",
                "10.2.2.3",
                port,
                port == 22,
                10 + i64::from(port),
            ));
        }
        d.add(&flow("10.9.9.9", "10.2.2.3", 7, false, 60));
        let want = vec![(
            "Port scan: 39 ports of 10.2.2.3 probed, 39 without a connection".to_string(),
            39,
        )];
        // The open port is no probe: its flow is dropped.
        assert_eq!(scan_of(vec![d.clone()]), (want.clone(), 1));
        // Split between two workers, the scan is found the same.
        let (mut a, mut b) = (FlowDigest::new(32), FlowDigest::new(32));
        for i in 0..32u16 {
            a.add(&flow("10.1.1.1", "10.2.2.2", 1000 + i, true, 1));
        }
        for port in 1..=40u16 {
            let w = if port % 2 == 0 { &mut a } else { &mut b };
            w.add(&flow(
                "10.9.9.9",
                "10.2.2.3",
                port,
                port == 22,
                10 + i64::from(port),
            ));
        }
        let (scans, _) = scan_of(vec![a, b]);
        assert_eq!(scans, want);
        // Late probes are bounded: groups and their ports cost at most the
        // cap (32: one group of 20 ports, and a second finds no room).
        let late = |servers: &[&str]| {
            let mut full = FlowDigest::new(32);
            for i in 0..32u16 {
                full.add(&flow("10.1.1.1", "10.2.2.2", 1000 + i, true, 1));
            }
            for server in servers {
                for port in 1..=100u16 {
                    full.add(&flow("10.9.9.9", server, port, false, 10));
                }
            }
            let held: Vec<usize> = full.late_probes.values().map(|g| g.ports.len()).collect();
            (held, full.dropped)
        };
        assert_eq!(late(&["10.2.2.3"]), (vec![20], 80));
        assert_eq!(late(&["10.2.2.3", "10.2.2.4"]), (vec![20], 180));
    }

    #[test]
    fn active_ftp_data_connections_are_no_exposure() {
        use crate::digest::FlowDigest;
        let inbound = |d: &FlowDigest| {
            detect_with(d, &[])
                .into_iter()
                .filter(|f| f.rule == "inbound-from-internet")
                .map(|f| f.summary)
                .collect::<Vec<_>>()
        };
        let mut d = FlowDigest::default();
        // The server opens the data connection to the port the client
        // named.
        d.add(&tcp_flow(
            "45.33.32.156",
            "10.1.1.5",
            33582,
            [0, 900],
            true,
            20,
        ));
        assert_eq!(inbound(&d).len(), 1, "without the control connection");
        d.add(&tcp_flow(
            "10.1.1.5",
            "45.33.32.156",
            21,
            [80, 400],
            true,
            10,
        ));
        assert!(inbound(&d).is_empty(), "{:?}", inbound(&d));
        // Another internet address reaching the same port still is.
        d.add(&tcp_flow(
            "45.33.32.200",
            "10.1.1.5",
            33582,
            [0, 900],
            true,
            30,
        ));
        assert_eq!(inbound(&d).len(), 1);
        // And so is the FTP server's own service port below 1024.
        d.add(&tcp_flow(
            "45.33.32.156",
            "10.1.1.5",
            22,
            [80, 900],
            true,
            40,
        ));
        assert_eq!(inbound(&d).len(), 2);
    }

    #[test]
    fn an_upload_or_an_exposed_service_after_the_digest_filled_is_found() {
        use crate::digest::{FlowDigest, RESERVE_MIN_OUT};
        let flow = |client: &str, server: &str, port: u16, out: u64, ts: i64| {
            tcp_flow(client, server, port, [out, 1000], true, ts)
        };
        let found = |d: &FlowDigest| {
            let mut f: Vec<(String, String, Option<String>)> = detect_with(d, &[])
                .into_iter()
                .filter(|f| f.kind == "exfiltration" || f.kind == "internet-exposed")
                .map(|f| (f.rule, f.ip.unwrap_or_default(), f.peer))
                .collect();
            f.sort();
            f
        };
        let want = vec![
            (
                "inbound-from-internet".to_string(),
                "10.1.1.9".to_string(),
                Some("45.33.32.200".to_string()),
            ),
            (
                "outbound-volume".to_string(),
                "10.1.1.5".to_string(),
                Some("45.33.32.156".to_string()),
            ),
        ];
        // Once the digest is full: three uploads of 100 MB to one internet
        // server, a small request to another (not kept), and a connection
        // from the internet to a site service.
        let late = |d: &mut FlowDigest| {
            for (i, ts) in [10, 20, 30].into_iter().enumerate() {
                d.add(&flow(
                    "10.1.1.5",
                    "45.33.32.156",
                    443 + i as u16,
                    100 << 20,
                    ts,
                ));
            }
            d.add(&flow("10.1.1.6", "45.33.32.157", 443, 2000, 40));
            d.add(&flow("45.33.32.200", "10.1.1.9", 22, 300, 50));
        };
        let mut d = full_digest(64, 1000);
        late(&mut d);
        assert_eq!((d.pairs.len(), d.reserved, d.dropped), (68, 4, 1));
        assert_eq!(found(&d), want);
        // The same flows split between two full workers, then merged.
        let (mut a, mut b) = (full_digest(32, 1000), full_digest(32, 2000));
        late(&mut b);
        a.add(&flow("10.1.1.5", "45.33.32.156", 8443, 100 << 20, 60));
        let mut merged = FlowDigest::new(64);
        merged.merge(a);
        merged.merge(b);
        assert_eq!(found(&merged), want);
        // The reserve holds an eighth of the cap (8 pairs of 64); uploads
        // below the threshold never enter it.
        let mut d = full_digest(64, 1000);
        for i in 0..20u8 {
            d.add(&flow(
                "10.1.1.5",
                &format!("45.33.33.{i}"),
                443,
                RESERVE_MIN_OUT,
                70,
            ));
        }
        d.add(&flow(
            "10.1.1.7",
            "45.33.34.1",
            443,
            RESERVE_MIN_OUT - 1,
            80,
        ));
        assert_eq!((d.pairs.len(), d.reserved, d.dropped), (72, 8, 13));
    }

    #[test]
    fn a_callback_after_the_digest_filled_is_found() {
        use crate::digest::{FlowDigest, CALLBACK_MIN_CONNS};
        let ip = |s: &str| s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let s = 1_000_000_000i64;
        let flow = |client: &str, server: &str, port: u16, out: u64, ts: i64| {
            tcp_flow(client, server, port, [out, 900], true, ts)
        };
        // Once the digest is full: a site host calls an internet server
        // every 60 s, ten times, 300 bytes each, among one-off visits of
        // another host to two other internet servers a minute; numbered (to
        // split them between workers).
        let late = || {
            let mut v = Vec::new();
            for i in 0..10usize {
                let t = (100 + 60 * i as i64) * s;
                v.push((i, flow("10.1.1.5", "45.33.32.156", 8443, 300, t)));
                for j in 0..2 {
                    let other = format!("45.33.40.{}", i * 2 + j);
                    v.push((
                        i + j,
                        flow("10.1.1.6", &other, 443, 700, t + (j as i64 + 1) * s),
                    ));
                }
            }
            v
        };
        let callbacks = |d: &FlowDigest| {
            detect_with(d, &[])
                .into_iter()
                .filter(|f| f.rule == "periodic-callback")
                .map(|f| (f.ip.unwrap_or_default(), f.peer, f.count))
                .collect::<Vec<_>>()
        };
        let want = vec![("10.1.1.5".to_string(), Some("45.33.32.156".to_string()), 10)];
        let mut d = full_digest(64, 1000);
        for (_, f) in late() {
            d.add(&f);
        }
        // The beacon's pair was promoted with every connection; the
        // 20 one-off visits were not kept (counted dropped).
        let p = d
            .pairs
            .iter()
            .find(|(k, _)| k.server == ip("45.33.32.156"))
            .map(|(_, p)| (p.conns, p.sample_count()));
        assert_eq!(p, Some((10, 10)));
        assert_eq!((d.pairs.len(), d.promoted, d.dropped), (65, 1, 20));
        assert_eq!(callbacks(&d), want);
        // Split between two full workers (neither sees the eight
        // connections the watch asks for), then merged.
        const { assert!(CALLBACK_MIN_CONNS > 5) };
        let (mut a, mut b) = (full_digest(32, 1000), full_digest(32, 2000));
        for (i, f) in late() {
            if i % 2 == 0 {
                a.add(&f)
            } else {
                b.add(&f)
            }
        }
        assert_eq!((a.promoted, b.promoted), (0, 0));
        let mut merged = FlowDigest::new(64);
        merged.merge(a);
        merged.merge(b);
        assert_eq!(callbacks(&merged), want);
        // Fewer connections than the watch asks for: nothing taken.
        let mut d = full_digest(64, 1000);
        for i in 0..CALLBACK_MIN_CONNS as i64 - 1 {
            d.add(&flow(
                "10.1.1.5",
                "45.33.32.156",
                8443,
                300,
                (100 + 60 * i) * s,
            ));
        }
        assert_eq!((d.pairs.len(), d.promoted), (64, 0));
    }

    #[test]
    fn coefficient_of_variation() {
        let (m, c) = cv(&[60.0, 60.0, 60.0]).unwrap_or((0.0, 1.0));
        assert_eq!((m, c), (60.0, 0.0));
        assert!(cv(&[1.0]).is_none());
    }
}
