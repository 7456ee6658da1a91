//! Folding dissector observations into devices: every fact becomes evidence
//! on the device it describes, and the strongest facts fill fields.

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::net::IpAddr;

use wardwatch_model::{Device, Evidence, Name, Stamp};
use wardwatch_proto::{dicom, ObsKind, Observation, Side};

use crate::hosts::InputNames;

/// Evidence entries kept per device (the first of each kind are the ones
/// that matter; repeats add nothing).
const MAX_EVIDENCE: usize = 64;

fn ev(
    o: &Observation,
    inputs: &InputNames,
    source: impl Into<Name>,
    field: impl Into<Name>,
    value: String,
) -> Evidence {
    Evidence {
        source: source.into(),
        field: field.into(),
        value,
        input: inputs.name(o.origin.input),
        frame: Some(o.origin.frame),
        ts: Some(Stamp(o.origin.ts_ns)),
        rule: None,
    }
}

/// The device category a DICOM Modality code implies.
pub fn modality_category(m: &str) -> Option<&'static str> {
    match m.trim() {
        "US" | "IVUS" => Some("ultrasound"),
        "CT" | "MR" | "CR" | "DX" | "DR" | "MG" | "XA" | "RF" | "NM" | "PT" | "OT" | "IO"
        | "PX" | "RG" | "XC" | "ES" | "OP" | "OPT" | "BMD" => Some("imaging-modality"),
        "ECG" | "HD" | "EPS" => Some("medical-workstation"),
        _ => None,
    }
}

/// Manufacturer, model, software versions: what tells two makers apart.
type Maker = (Option<String>, Option<String>, Option<String>);

/// The first identity a device sent about itself.
struct SelfIdentity {
    maker: Maker,
    serial: Option<String>,
    modality: Option<String>,
}

struct Acc {
    evidence: Vec<Evidence>,
    seen: std::collections::HashSet<u64, foldhash::fast::FixedState>,
    protocols: BTreeSet<String>,
    ae_titles: BTreeSet<String>,
    identities: BTreeSet<Maker>,
    identity: Option<SelfIdentity>,
    hostname: Option<String>,
    /// Names resolvers gave its address (PTR first, four at most): its
    /// host name when it named itself nowhere.
    dns_names: Vec<(bool, String)>,
    /// Machine accounts and NetBIOS names its Kerberos requests and CLDAP
    /// pings gave (two at most): its name only when there is one, since a
    /// host asking tickets for many machine accounts is probing them, not
    /// naming itself.
    member_names: BTreeSet<String>,
    /// The serial number its link-layer inventory (LLDP-MED) or its UPnP
    /// description gave.
    serial: Option<String>,
    /// The FHIR Device resources it sent (two at most): its own identity
    /// only when there is one, since a gateway registers many devices.
    fhir_devices: Vec<wardwatch_proto::FhirDeviceFact>,
    os: Option<String>,
    dicom_server: bool,
    /// The DICOM services requests asked of it ([`dicom_service`] bits).
    dicom_serves: u8,
    /// It asked others' archives queries or retrievals itself.
    dicom_queries: bool,
    hl7_receiver: bool,
    dhcp_server: bool,
    /// Machines logged on to it (Kerberos) or asked it to serve their
    /// domain (CLDAP ping): a domain controller.
    domain_controller: bool,
    lab: bool,
    /// Answers Modbus/TCP requests: a facility field device.
    modbus_server: bool,
    /// Asks BACnet devices (Who-Is, ReadProperty …).
    bacnet_client: bool,
}

/// DICOM services a device performs, from the requests it receives.
const SERVES_STORE: u8 = 1;
const SERVES_QUERY: u8 = 2;
const SERVES_WORKLIST: u8 = 4;
const SERVES_PRINT: u8 = 8;
/// Storage commitment results reported to it: the device that sent the
/// images (a modality).
const SERVES_COMMIT_REPORT: u8 = 16;

/// Storage Commitment Push Model SOP Class.
const STORAGE_COMMITMENT: &str = "1.2.840.10008.1.20.1";
/// Modality Worklist Information Model - FIND.
const WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

/// What a DICOM request asks of the device receiving it (PS3.4): keeping
/// images or answering queries (an archive), handing out the worklist,
/// printing film, or taking a storage commitment result (the sender of the
/// images). A verification (C-ECHO) tells nothing.
fn dicom_service(command: &str, sop_class: Option<&str>) -> u8 {
    let sop = sop_class.unwrap_or("");
    match command {
        "C-STORE-RQ" => SERVES_STORE,
        "C-FIND-RQ" if sop == WORKLIST_FIND => SERVES_WORKLIST,
        "C-FIND-RQ" | "C-MOVE-RQ" | "C-GET-RQ" => SERVES_QUERY,
        "N-ACTION-RQ" if sop == STORAGE_COMMITMENT => SERVES_STORE,
        "N-EVENT-REPORT-RQ" if sop == STORAGE_COMMITMENT => SERVES_COMMIT_REPORT,
        _ if sop.starts_with("1.2.840.10008.5.1.1.") => SERVES_PRINT,
        _ => 0,
    }
}

/// A role a device was seen playing (a DNS server, a DICOM archive …), as
/// evidence: no frame of its own, the rule naming the role.
fn role_evidence(value: &str, rule: String) -> Evidence {
    Evidence {
        source: "behaviour".into(),
        field: "role".into(),
        value: value.into(),
        input: None,
        frame: None,
        ts: None,
        rule: Some(rule.into()),
    }
}

impl Acc {
    /// Adds a fact once: repeats are recognised by a hash before anything
    /// is built (a busy device repeats the same facts millions of times).
    fn add(
        &mut self,
        o: &Observation,
        inputs: &InputNames,
        source: impl Into<Name>,
        field: impl Into<Name>,
        value: &str,
    ) {
        if self.evidence.len() >= MAX_EVIDENCE {
            return;
        }
        let (source, field) = (source.into(), field.into());
        let h = foldhash::fast::FixedState::with_seed(0xe7).hash_one((&*source, &*field, value));
        if !self.seen.insert(h) {
            return;
        }
        self.evidence
            .push(ev(o, inputs, source, field, value.to_string()));
    }

    /// [`Acc::add`] for each field of `fields` that has a value.
    fn add_present(
        &mut self,
        o: &Observation,
        inputs: &InputNames,
        source: impl Into<Name> + Clone,
        fields: &[(&'static str, &Option<String>)],
    ) {
        for (field, v) in fields {
            if let Some(v) = v {
                self.add(o, inputs, source.clone(), *field, v);
            }
        }
    }
}

/// Devices under this many are not worth a second thread.
const MIN_SHARD: usize = 2048;

type Index<K> = HashMap<K, usize, foldhash::fast::RandomState>;

/// Adds observation evidence and fields to the devices.
pub fn apply_observations(
    devices: Vec<Device>,
    observations: &[Observation],
    inputs: &InputNames,
) -> Vec<Device> {
    apply_observations_threads(devices, observations, inputs, 1)
}

/// [`apply_observations`] on up to `threads` threads, each one owning a
/// contiguous share of the devices (every observation changes only the
/// devices it names, so the shares never touch; the result is the same
/// whatever the thread count).
pub fn apply_observations_threads(
    mut devices: Vec<Device>,
    observations: &[Observation],
    inputs: &InputNames,
    threads: usize,
) -> Vec<Device> {
    let mut by_ip: Index<IpAddr> = HashMap::default();
    let mut by_mac: Index<String> = HashMap::default();
    // (Without observations the devices are only classified.)
    let indexed = if observations.is_empty() {
        &[][..]
    } else {
        &devices[..]
    };
    for (i, d) in indexed.iter().enumerate() {
        for ip in &d.ips {
            if let Ok(a) = ip.parse() {
                by_ip.insert(a, i);
            }
        }
        if let Some(m) = &d.mac {
            by_mac.insert(m.clone(), i);
        }
    }
    // The devices each observation names (its subject, then its peer), by
    // index, looked up once for every share.
    let index = |ip: &IpAddr| by_ip.get(ip).map_or(NOBODY, |i| *i as u32);
    let named: Vec<[u32; 2]> = observations
        .iter()
        .map(|o| {
            let peer = match o.subject {
                Side::Client => o.server.0,
                Side::Server => o.client.0,
            };
            // An mDNS message's records may be another host's (a sleep
            // proxy answering for a sleeping Mac): they are that host's.
            let subject = match &o.kind {
                ObsKind::Dns {
                    identity: Some(id), ..
                } => id.host.unwrap_or_else(|| o.subject_ip()),
                // A resolver's answer naming another host: that host's,
                // and nobody else's.
                ObsKind::DnsName { addr, .. } => return [index(addr), NOBODY],
                _ => o.subject_ip(),
            };
            [index(&subject), index(&peer)]
        })
        .collect();
    let n = threads.clamp(1, devices.len() / MIN_SHARD + 1);
    if n == 1 {
        apply_share(&mut devices, 0, &by_mac, observations, &named, inputs);
        return devices;
    }
    // Shares of equal work, not of equal device counts: a capture's facts
    // crowd on some devices (the modalities, not the workstations). A
    // device costs about as much as eight facts about it (its evidence
    // gathered, sorted and classified): weighed 1, the share of 24,731
    // devices took 78 ms of the 1 GB hospital benchmark and the one of
    // 5,693 56 ms.
    let mut work = vec![8usize; devices.len()];
    for i in named.iter().flatten() {
        if let Some(w) = work.get_mut(*i as usize) {
            *w += 1;
        }
    }
    let per_share = work.iter().sum::<usize>().div_ceil(n);
    let mut shares: Vec<(usize, &mut [Device])> = Vec::with_capacity(n);
    let (mut rest, mut start, mut sum) = (&mut devices[..], 0, 0);
    for (i, w) in work.iter().enumerate() {
        sum += w;
        if sum >= per_share && shares.len() + 1 < n {
            let (share, tail) = rest.split_at_mut(i + 1 - start);
            shares.push((start, share));
            (rest, start, sum) = (tail, i + 1, 0);
        }
    }
    shares.push((start, rest));
    std::thread::scope(|s| {
        for (start, share) in shares {
            let (by_mac, named) = (&by_mac, &named);
            s.spawn(move || apply_share(share, start, by_mac, observations, named, inputs));
        }
    });
    devices
}

/// The host name of an mDNS or LLMNR answer (`name A|AAAA address`) that
/// gives `own` address (`.local` dropped), if it is one.
fn own_name(answer: &str, own: IpAddr) -> Option<&str> {
    let mut words = answer.split(' ');
    let (name, ty, value) = (words.next()?, words.next()?, words.next()?);
    let ours = matches!(ty, "A" | "AAAA") && value.parse::<IpAddr>().ok() == Some(own);
    let name = name.strip_suffix(".local").unwrap_or(name);
    (ours && !name.is_empty() && !name.contains(' ')).then_some(name)
}

/// The macOS release of a Darwin major version (`osxvers` of an mDNS
/// device-information record): 10.x until Darwin 19, then 11 to 15, then
/// 26 (Apple numbers releases by year from Darwin 25).
fn macos_release(darwin: &str) -> Option<String> {
    let n: u32 = darwin.trim().parse().ok()?;
    match n {
        5..=19 => Some(format!("macOS 10.{}", n - 4)),
        20..=24 => Some(format!("macOS {}", n - 9)),
        25..=40 => Some(format!("macOS {}", n + 1)),
        _ => None,
    }
}

/// The model and firmware a desk or wireless phone's SIP User-Agent gives,
/// in the forms its maker documents: Polycom `PolycomVVX-VVX_411-UA/5.9.0`
/// (model `VVX 411`), Cisco `Cisco-CP8845/11.7.1` and `Cisco/SPA504G-7.6.2b`,
/// snom `snom760/10.1.54.13`, and `<Maker> <Model> <version>` (Yealink,
/// Grandstream, Fanvil, Spectralink, Ascom, Gigaset, Htek). Other agents
/// (softphones on a PC, PBXs) give none: their software is not the
/// device's model.
fn sip_phone(ua: &str) -> Option<(String, Option<String>)> {
    let versionish = |v: &str| v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.');
    let tokens: Vec<&str> = ua.split_whitespace().collect();
    // Polycom: one token `Polycom<family>-<model>-UA/<version>`.
    if let Some(t) = tokens
        .iter()
        .find(|t| t.starts_with("Polycom") && t.contains("-UA/"))
    {
        let (name, version) = t.split_once("-UA/")?;
        let model = name.split_once('-')?.1.replace('_', " ");
        return (!model.is_empty()).then(|| (model, Some(version.to_string())));
    }
    let first = *tokens.first()?;
    if let Some(rest) = first.strip_prefix("Cisco-").filter(|r| r.starts_with("CP")) {
        let (model, version) = rest.split_once('/').unwrap_or((rest, ""));
        return Some((
            model.to_string(),
            versionish(version).then(|| version.to_string()),
        ));
    }
    if let Some(rest) = first
        .strip_prefix("Cisco/")
        .filter(|r| r.starts_with("SPA"))
    {
        let (model, version) = rest.split_once('-').unwrap_or((rest, ""));
        return Some((
            model.to_string(),
            versionish(version).then(|| version.to_string()),
        ));
    }
    if let Some(rest) = first.strip_prefix("snom").filter(|r| !r.is_empty()) {
        let (model, version) = rest.split_once('/').unwrap_or((rest, ""));
        return Some((
            format!("snom {model}"),
            versionish(version).then(|| version.to_string()),
        ));
    }
    const MAKERS: [&str; 7] = [
        "yealink",
        "grandstream",
        "fanvil",
        "spectralink",
        "ascom",
        "gigaset",
        "htek",
    ];
    if !MAKERS.contains(&first.to_ascii_lowercase().as_str()) {
        return None;
    }
    // `<Maker> <Model> <version>` or `<Maker> <Model>/<version>`.
    let second = tokens.get(1)?;
    let (model, version) = match second.split_once('/') {
        Some((m, v)) => (m, Some(v)),
        None => (*second, tokens.get(2).copied()),
    };
    let version = version
        .map(|v| v.trim_start_matches(['v', 'V']))
        .filter(|v| versionish(v));
    (!model.is_empty() && !versionish(model))
        .then(|| (model.to_string(), version.map(str::to_string)))
}

/// No device: an observation's address no device has.
const NOBODY: u32 = u32::MAX;

/// The server's device of an observation, of the subject's (`me`) and the
/// peer's.
fn server_of(o: &Observation, me: Option<usize>, peer: Option<usize>) -> Option<usize> {
    match o.subject {
        Side::Server => me,
        Side::Client => peer,
    }
}

/// Applies the observations to `devices`, the share of all devices that
/// starts at index `start` of the indexes; `named` holds the indexes of the
/// devices each observation names (subject, peer; [`NOBODY`] for none).
fn apply_share(
    devices: &mut [Device],
    start: usize,
    by_mac: &Index<String>,
    observations: &[Observation],
    named: &[[u32; 2]],
    inputs: &InputNames,
) {
    let len = devices.len();
    let mine = |i: usize| i.checked_sub(start).filter(|j| *j < len);
    // Link-layer facts carry the sender's MAC, not an address: its device.
    let by_sender_mac = |o: &Observation| {
        o.mac
            .as_ref()
            .and_then(|m| by_mac.get(m))
            .and_then(|i| mine(*i))
    };
    let mut acc: Vec<Acc> = devices
        .iter()
        .map(|_| Acc {
            evidence: Vec::new(),
            seen: Default::default(),
            protocols: BTreeSet::new(),
            ae_titles: BTreeSet::new(),
            identities: BTreeSet::new(),
            identity: None,
            hostname: None,
            dns_names: Vec::new(),
            member_names: BTreeSet::new(),
            serial: None,
            fhir_devices: Vec::new(),
            os: None,
            dicom_server: false,
            dicom_serves: 0,
            dicom_queries: false,
            hl7_receiver: false,
            dhcp_server: false,
            domain_controller: false,
            lab: false,
            modbus_server: false,
            bacnet_client: false,
        })
        .collect();
    for (o, [me, peer]) in observations.iter().zip(named) {
        let me = mine(*me as usize);
        let peer = mine(*peer as usize);
        // Every rule below changes only the subject's or the peer's device
        // (a link neighbour's, a Wi-Fi station's and a DHCP client's are found by
        // their MAC):
        // an observation naming neither of this share's is passed at once.
        if me.is_none()
            && peer.is_none()
            && !matches!(
                o.kind,
                ObsKind::LinkNeighbor(_)
                    | ObsKind::RouterAdvert(_)
                    | ObsKind::Dhcp(_)
                    | ObsKind::Wifi(_)
            )
        {
            continue;
        }
        if let ObsKind::DnsName { name, ptr, .. } = &o.kind {
            // Not a protocol the device spoke: the resolver's answer. Four
            // names at most: a load balancer's address may carry hundreds
            // of aliases, which would crowd its other evidence out.
            if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                if a.dns_names.len() < 4 && !a.dns_names.iter().any(|(_, n)| n == name) {
                    a.dns_names.push((*ptr, name.clone()));
                    let field = if *ptr {
                        "PTR name"
                    } else {
                        "address record name"
                    };
                    a.add(o, inputs, "dns", field, name);
                }
            }
            continue;
        }
        let proto = match &o.kind {
            ObsKind::DicomAssociate(_)
            | ObsKind::DicomReject { .. }
            | ObsKind::DicomRelease { .. }
            | ObsKind::DicomCommand { .. }
            | ObsKind::DicomIdentity(_)
            | ObsKind::DicomVolume { .. } => "dicom",
            ObsKind::Hl7Message(_) => "hl7",
            ObsKind::HttpRequest(f) if f.rtsp => "rtsp",
            ObsKind::HttpResponse { rtsp: true, .. } => "rtsp",
            ObsKind::HttpRequest(_) | ObsKind::HttpResponse { .. } => "http",
            ObsKind::Dhcp(_) => "dhcp",
            ObsKind::Dhcp6(_) => "dhcpv6",
            ObsKind::Dns { flavour, .. } => flavour.as_str(),
            ObsKind::DnsTunnel { .. }
            | ObsKind::DnsTunnelQueries { .. }
            | ObsKind::DnsName { .. } => "dns",
            ObsKind::Ssdp(_) => "ssdp",
            ObsKind::MqttConnect { .. } | ObsKind::MqttTopic { .. } => "mqtt",
            ObsKind::SmbDialect { .. } | ObsKind::SmbNativeOs { .. } | ObsKind::Ntlm(_) => "smb",
            ObsKind::Snmp(_) => "snmp",
            ObsKind::Rdp(_) => "rdp",
            ObsKind::Syslog { .. } => "syslog",
            ObsKind::Ntp { .. } => "ntp",
            ObsKind::LabInstrument(f) => f.protocol.as_str(),
            ObsKind::NetbiosName { .. } => "netbios-ns",
            ObsKind::SmtpClientName { .. } => "smtp",
            ObsKind::BrowserAnnouncement(_) => "browser",
            ObsKind::DomainMember(f) => f.protocol.as_str(),
            ObsKind::FhirDevice(_) => "fhir",
            ObsKind::UpnpDevice(_) => "upnp",
            ObsKind::Bacnet(_) => "bacnet",
            ObsKind::Wifi(_) => "wifi",
            ObsKind::Sip(_) => "sip",
            ObsKind::Modbus(_) => "modbus",
            ObsKind::Tftp(_) => "tftp",
            ObsKind::Vnc(_) => "vnc",
            ObsKind::Ipp(_) => "ipp",
            ObsKind::WsDiscovery(_) => "ws-discovery",
            ObsKind::EnipIdentity(_) => "enip",
            ObsKind::LinkNeighbor(f) => f.protocol.as_str(),
            ObsKind::RouterAdvert(_) => "ipv6-nd",
            ObsKind::TlsClientHello(_)
            | ObsKind::TlsServerHello { .. }
            | ObsKind::TlsCertificate(_) => "tls",
            ObsKind::Banner { protocol, .. }
            | ObsKind::Login { protocol, .. }
            | ObsKind::FileTransfers { protocol, .. } => protocol.as_str(),
        };
        for i in [me, peer].into_iter().flatten() {
            if let Some(a) = acc.get_mut(i) {
                if !a.protocols.contains(proto) {
                    a.protocols.insert(proto.into());
                }
            }
        }
        match &o.kind {
            ObsKind::DicomAssociate(fact) => {
                let wardwatch_proto::DicomAssociateFact {
                    request,
                    called_ae,
                    calling_ae,
                    implementation_class_uid,
                    implementation_version,
                    user_identity,
                    ..
                } = &**fact;
                // The request names the caller's own AE; the accept confirms
                // the called AE belongs to the responder.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    let own = if *request { calling_ae } else { called_ae };
                    a.ae_titles.insert(own.clone());
                    a.add(
                        o,
                        inputs,
                        "dicom",
                        if *request { "calling_ae" } else { "called_ae" },
                        own,
                    );
                    if let Some(u) = implementation_class_uid {
                        a.add(o, inputs, "dicom", "implementation_class_uid", u);
                    }
                    if let Some(v) = implementation_version {
                        a.add(o, inputs, "dicom", "implementation_version", v);
                    }
                    if let Some(u) = user_identity {
                        a.add(o, inputs, "dicom", "user_identity", u);
                    }
                    if !*request {
                        a.dicom_server = true;
                    }
                }
            }
            ObsKind::DicomReject { reason, .. } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(
                        o,
                        inputs,
                        "dicom",
                        "associate_reject",
                        &format!("reason {reason}"),
                    );
                }
            }
            ObsKind::DicomCommand {
                command,
                sop_class,
                status,
            } => {
                // A request is performed by the other side: a DICOM
                // service provider.
                let service = dicom_service(command, sop_class.as_deref());
                if let Some(a) = peer
                    .filter(|_| command.ends_with("-RQ"))
                    .and_then(|i| acc.get_mut(i))
                {
                    a.dicom_server = true;
                    a.dicom_serves |= service;
                }
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.dicom_queries |= service == SERVES_QUERY;
                    // Built without `format!`: a busy modality sends these
                    // by the thousand.
                    let sop = sop_class
                        .as_deref()
                        .map(|u| dicom::uid_name(u).unwrap_or(u))
                        .unwrap_or_default();
                    let mut hex = *b" status 0x0000";
                    if let Some(s) = status {
                        for (i, d) in hex.iter_mut().rev().take(4).enumerate() {
                            *d = b"0123456789abcdef"[usize::from((s >> (4 * i)) & 15)];
                        }
                    }
                    let st = match status {
                        Some(_) => std::str::from_utf8(&hex).unwrap_or_default(),
                        None => "",
                    };
                    a.add(
                        o,
                        inputs,
                        "dicom",
                        "dimse",
                        [command.as_ref(), " ", sop, st].concat().trim(),
                    );
                }
            }
            ObsKind::DicomIdentity(fact) => {
                let wardwatch_proto::DicomIdentityFact {
                    manufacturer,
                    model,
                    software_versions,
                    serial,
                    station_name,
                    modality,
                    ..
                } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add_present(
                        o,
                        inputs,
                        "dicom",
                        &[
                            ("Manufacturer", manufacturer),
                            ("ManufacturerModelName", model),
                            ("SoftwareVersions", software_versions),
                            ("DeviceSerialNumber", serial),
                            ("StationName", station_name),
                            ("Modality", modality),
                        ],
                    );
                    // Only the sender of C-STORE as association requester is
                    // taken for the maker of the image; a PACS forwarding
                    // studies of many makers shows several identities.
                    if o.subject == Side::Client {
                        a.identities.insert((
                            manufacturer.clone(),
                            model.clone(),
                            software_versions.clone(),
                        ));
                        a.identity.get_or_insert(SelfIdentity {
                            maker: (
                                manufacturer.clone(),
                                model.clone(),
                                software_versions.clone(),
                            ),
                            serial: serial.clone(),
                            modality: modality.clone(),
                        });
                    }
                }
            }
            ObsKind::DicomVolume { .. } | ObsKind::DicomRelease { .. } => {}
            ObsKind::Hl7Message(m) => {
                let wardwatch_proto::obs::Hl7Header {
                    sending_application,
                    sending_facility,
                    message_type,
                    trigger,
                    version,
                    software,
                    equipment,
                    ..
                } = &**m;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(
                        o,
                        inputs,
                        "hl7",
                        "MSH-3",
                        &[sending_application, " (", sending_facility, ")"].concat(),
                    );
                    a.add(
                        o,
                        inputs,
                        "hl7",
                        "MSH-9",
                        &[message_type, "^", trigger, " v", version].concat(),
                    );
                    for s in software {
                        a.add(o, inputs, "hl7", "SFT", s);
                    }
                    for e in equipment {
                        a.add(o, inputs, "hl7", "OBX-18", e);
                    }
                }
                if o.subject == Side::Client && message_type != "ACK" {
                    if let Some(a) = peer.and_then(|i| acc.get_mut(i)) {
                        a.hl7_receiver = true;
                    }
                }
            }
            ObsKind::HttpRequest(fact) => {
                let wardwatch_proto::HttpRequestFact {
                    host,
                    user_agent,
                    basic_user,
                    fhir_resource,
                    fhir_interaction,
                    rtsp,
                    ..
                } = &**fact;
                let source = if *rtsp { "rtsp" } else { "http" };
                if let (Some(r), Some(a)) = (fhir_resource, peer.and_then(|i| acc.get_mut(i))) {
                    let i = fhir_interaction.clone().unwrap_or_default();
                    a.add(o, inputs, "fhir", "resource", &format!("{r} {i}"));
                }
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(u) = user_agent {
                        a.add(o, inputs, source, "User-Agent", u);
                    }
                    if let Some(u) = basic_user {
                        a.add(o, inputs, source, "basic_auth_user", u);
                    }
                }
                if let (Some(h), Some(a)) = (host, peer.and_then(|i| acc.get_mut(i))) {
                    a.add(o, inputs, source, "Host", h);
                }
            }
            ObsKind::HttpResponse { server, rtsp, .. } => {
                let source = if *rtsp { "rtsp" } else { "http" };
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(s) = server {
                        a.add(o, inputs, source, "Server", s);
                    }
                    // A device answering RTSP serves live media: a camera,
                    // a video encoder, a recorder.
                    if *rtsp {
                        a.add(o, inputs, "rtsp", "role", "media stream server");
                    }
                }
            }
            ObsKind::TlsClientHello(fact) => {
                let wardwatch_proto::TlsClientHelloFact {
                    sni,
                    ja3,
                    ja4,
                    versions,
                    ..
                } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "tls", "JA4", ja4);
                    a.add(o, inputs, "tls", "JA3", ja3);
                    a.add(o, inputs, "tls", "offered versions", &versions.join(", "));
                }
                if let (Some(n), Some(a)) = (sni, peer.and_then(|i| acc.get_mut(i))) {
                    a.add(o, inputs, "tls", "SNI", n);
                }
            }
            ObsKind::Banner { protocol, text } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, protocol.clone(), "banner", text);
                }
            }
            ObsKind::Login {
                protocol,
                user,
                success,
                ..
            } => {
                // Evidence on the server: which account was used on it,
                // whichever direction reported the outcome.
                let server = server_of(o, me, peer);
                if let Some(a) = server.and_then(|i| acc.get_mut(i)) {
                    let outcome = match success {
                        Some(true) => "accepted",
                        Some(false) => "refused",
                        None => "outcome not seen",
                    };
                    a.add(
                        o,
                        inputs,
                        protocol.clone(),
                        "login user",
                        &format!("{user} ({outcome})"),
                    );
                }
            }
            ObsKind::FileTransfers { .. } => {}
            ObsKind::Tftp(f) => {
                // What a device fetched or sent over TFTP (firmware,
                // configuration, a boot image), and what the server was
                // asked for; never the file's name.
                let mut what = format!("{} {}", f.mode, f.file());
                if !f.options.is_empty() {
                    what += &format!(" (options {})", f.options.join(", "));
                }
                // (Field names stay static: no allocation per evidence.)
                let (asked, served) = if f.write {
                    ("write request", "write request received")
                } else {
                    ("read request", "read request received")
                };
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "tftp", asked, &what);
                }
                if let Some(a) = peer.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "tftp", served, &what);
                }
            }
            ObsKind::Vnc(f) => {
                // Evidence on the server: it offers remote control, how it
                // lets clients in, and the desktop it names.
                if let Some(a) = server_of(o, me, peer).and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "vnc", "remote access", &f.version);
                    if !f.offered.is_empty() {
                        let names: Vec<_> = f
                            .offered
                            .iter()
                            .map(|t| wardwatch_proto::obs::vnc_security_name(*t))
                            .collect();
                        a.add(o, inputs, "vnc", "security types", &names.join(", "));
                    }
                    if let Some(d) = &f.desktop {
                        a.add(o, inputs, "vnc", "desktop name", d);
                    }
                    if let Some((w, h)) = f.screen {
                        a.add(o, inputs, "vnc", "screen", &format!("{w}x{h}"));
                    }
                }
            }
            ObsKind::MqttConnect { client_id, .. } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "mqtt", "client id", client_id);
                }
            }
            ObsKind::SmbDialect { dialect, .. } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "smb", "dialect", dialect);
                }
            }
            ObsKind::SmbNativeOs { os } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.os.get_or_insert(os.clone());
                    a.add(o, inputs, "smb", "native OS", os);
                }
            }
            ObsKind::Ntlm(fact) => {
                let wardwatch_proto::NtlmFact {
                    message,
                    domain,
                    host,
                    os,
                    ..
                } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(h) = host {
                        a.hostname.get_or_insert(h.clone());
                        a.add(o, inputs, "ntlmssp", "workstation", h);
                    }
                    if let Some(d) = domain {
                        a.add(o, inputs, "ntlmssp", format!("{message} domain"), d);
                    }
                    if let Some(v) = os {
                        a.os.get_or_insert(v.clone());
                        a.add(o, inputs, "ntlmssp", "version", v);
                    }
                }
            }
            ObsKind::Rdp(f) => {
                // Evidence on the server: it accepts remote desktop
                // connections, and how it secures them.
                if let Some(a) = server_of(o, me, peer).and_then(|i| acc.get_mut(i)) {
                    let asked = f.cookie_user.as_ref().map_or_else(
                        || "connection request".to_string(),
                        |u| format!("mstshash user {u}"),
                    );
                    a.add(o, inputs, "rdp", "remote access", &asked);
                    if let Some(s) = f.security() {
                        a.add(o, inputs, "rdp", "security", &s);
                    }
                }
            }
            ObsKind::Syslog {
                hostname,
                app,
                product,
                ..
            } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(h) = hostname {
                        a.hostname.get_or_insert(h.clone());
                        a.add(o, inputs, "syslog", "HOSTNAME", h);
                    }
                    if let Some(x) = app {
                        a.add(o, inputs, "syslog", "APP-NAME", x);
                    }
                    // The product a CEF or LEEF header names.
                    if let Some(p) = product {
                        let f = |field: &str| format!("{} {field}", p.format);
                        a.add(o, inputs, "syslog", f("vendor"), &p.vendor);
                        a.add(o, inputs, "syslog", f("product"), &p.product);
                        if let Some(v) = &p.version {
                            a.add(o, inputs, "syslog", f("version"), v);
                        }
                    }
                }
            }
            ObsKind::Ntp { .. } => {}
            ObsKind::RouterAdvert(f) => {
                if let Some(a) = by_sender_mac(o).and_then(|i| acc.get_mut(i)) {
                    let mut v = if f.prefixes.is_empty() {
                        "no prefix".to_string()
                    } else {
                        f.prefixes.join(", ")
                    };
                    v += &format!(
                        "; router lifetime {} s, preference {}",
                        f.lifetime, f.preference
                    );
                    for (set, flag) in [(f.managed, "managed"), (f.other, "other configuration")] {
                        if set {
                            v += &format!(", {flag} (DHCPv6)");
                        }
                    }
                    a.add(o, inputs, "ipv6-nd", "router advertisement", &v);
                }
            }
            ObsKind::LinkNeighbor(fact) => {
                let wardwatch_proto::LinkNeighborFact {
                    protocol,
                    system_name,
                    system_description,
                    platform,
                    inventory,
                    ..
                } = &**fact;
                let dev = by_sender_mac(o);
                if let Some(a) = dev.and_then(|i| acc.get_mut(i)) {
                    if let Some(n) = system_name {
                        a.hostname.get_or_insert(n.clone());
                        a.add(o, inputs, protocol.clone(), "system name", n);
                    }
                    if let Some(d) = system_description {
                        a.add(o, inputs, protocol.clone(), "system description", d);
                    }
                    if let Some(p) = platform {
                        a.add(o, inputs, protocol.clone(), "platform", p);
                    }
                    // LLDP-MED inventory: the knowledge base reads maker,
                    // model and software revision; the serial is kept.
                    for (f, v) in inventory {
                        a.add(o, inputs, protocol.clone(), format!("med {f}"), v);
                        if f == "serial number" {
                            a.serial.get_or_insert(v.clone());
                        }
                    }
                }
            }
            ObsKind::SmtpClientName { name } => {
                // Evidence only (the knowledge base reads makers' default
                // names in it): an EHLO name may be a relay's or a
                // domain, not the host's own name.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "smtp", "EHLO name", name);
                }
            }
            ObsKind::NetbiosName {
                name,
                suffix,
                registration,
                response,
            } => {
                // A registration, or a positive answer, is the host naming
                // itself; a query names someone else.
                if *registration || *response {
                    if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                        if *suffix == 0 {
                            a.hostname.get_or_insert(name.clone());
                        }
                        a.add(
                            o,
                            inputs,
                            "netbios-ns",
                            "name",
                            &format!("{name}<{suffix:02x}>"),
                        );
                    }
                }
            }
            // A server's answer names its client, not its sender.
            ObsKind::Dhcp6(f) if f.server.is_some() => {}
            ObsKind::Dhcp6(f) => {
                // Sent from the client's link-local address, or found by
                // the MAC in its DUID.
                let dev = me.or_else(|| {
                    f.duid_mac
                        .as_ref()
                        .and_then(|m| by_mac.get(m))
                        .and_then(|i| mine(*i))
                });
                if let Some(a) = dev.and_then(|i| acc.get_mut(i)) {
                    if let Some(n) = &f.fqdn {
                        let host = n.split('.').next().unwrap_or(n);
                        a.hostname.get_or_insert(host.to_string());
                        a.add(o, inputs, "dhcpv6", "option 39 client FQDN", n);
                    }
                    if let Some(v) = &f.vendor_class {
                        a.add(o, inputs, "dhcpv6", "option 16 vendor class", v);
                    }
                    if let Some(r) = &f.option_request {
                        a.add(o, inputs, "dhcpv6", "option 6 option request", r);
                    }
                }
            }
            ObsKind::BrowserAnnouncement(f) => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if f.domain {
                        a.add(o, inputs, "browser", "workgroup or domain", &f.name);
                    } else {
                        a.hostname.get_or_insert(f.name.clone());
                        a.add(o, inputs, "browser", "server name", &f.name);
                        let os = wardwatch_proto::browser::os_name(f);
                        let version = match &os {
                            Some(os) => os.clone(),
                            None => format!("{}.{}", f.os_major, f.os_minor),
                        };
                        if let Some(os) = os {
                            a.os.get_or_insert(os);
                        }
                        a.add(o, inputs, "browser", "os version", &version);
                        let roles = wardwatch_proto::browser::roles(f.server_type).join(", ");
                        a.add(o, inputs, "browser", "server type", &roles);
                        if !f.comment.is_empty() {
                            a.add(o, inputs, "browser", "comment", &f.comment);
                        }
                    }
                }
            }
            ObsKind::DomainMember(f) => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    let realm = f
                        .domain
                        .as_deref()
                        .map(|r| format!("@{r}"))
                        .unwrap_or_default();
                    // NetBIOS names are case-insensitive.
                    for n in f.machine.iter().chain(&f.netbios) {
                        if a.member_names.len() < 2 {
                            a.member_names.insert(n.to_ascii_uppercase());
                        }
                    }
                    if let Some(m) = &f.machine {
                        a.add(
                            o,
                            inputs,
                            f.protocol.clone(),
                            "machine account",
                            &format!("{m}${realm}"),
                        );
                    }
                    if let Some(n) = &f.netbios {
                        a.add(o, inputs, f.protocol.clone(), "netbios name", n);
                    }
                }
                if let Some(a) = peer.and_then(|i| acc.get_mut(i)) {
                    a.domain_controller = true;
                }
            }
            ObsKind::FhirDevice(f) => {
                // A Device resource its sender posted: evidence, and its
                // identity if it is the only one it sent. One a FHIR server
                // answered from its records is another device's.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)).filter(|_| f.request) {
                    a.add_present(
                        o,
                        inputs,
                        "fhir",
                        &[
                            ("Device.manufacturer", &f.manufacturer),
                            ("Device.model", &f.model),
                            ("Device.version", &f.version),
                            ("Device.serialNumber", &f.serial),
                        ],
                    );
                    let same = |g: &wardwatch_proto::FhirDeviceFact| {
                        (&g.manufacturer, &g.model, &g.version)
                            == (&f.manufacturer, &f.model, &f.version)
                    };
                    if a.fhir_devices.len() < 2 && !a.fhir_devices.iter().any(same) {
                        a.fhir_devices.push((**f).clone());
                    }
                }
            }
            ObsKind::Wifi(f) => {
                let dev = by_sender_mac(o);
                if let Some(a) = dev.and_then(|i| acc.get_mut(i)) {
                    let network = f.network();
                    let field = if f.station {
                        "station on"
                    } else {
                        "access point of"
                    };
                    a.add(o, inputs, "wifi", field, &network);
                }
            }
            ObsKind::Bacnet(f) => {
                // A building automation device naming itself, or asking
                // the others (a front-end, a controller binding to peers).
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(r) = &f.request {
                        a.bacnet_client = true;
                        a.add(o, inputs, "bacnet", "request sent", r);
                    }
                    let instance = f.instance.map(|i| i.to_string());
                    let vendor_id = f.vendor_id.map(|i| i.to_string());
                    a.add_present(
                        o,
                        inputs,
                        "bacnet",
                        &[
                            ("device instance", &instance),
                            ("vendor identifier", &vendor_id),
                            ("vendor-name", &f.vendor_name),
                            ("model-name", &f.model_name),
                            ("firmware-revision", &f.firmware_revision),
                            ("application-software-version", &f.application_software),
                            ("object-name", &f.object_name),
                        ],
                    );
                }
            }
            ObsKind::Sip(f) => {
                // The software the sender names (a phone's User-Agent, a
                // PBX's Server), and a phone's model and firmware in it.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add_present(
                        o,
                        inputs,
                        "sip",
                        &[("User-Agent", &f.user_agent), ("Server", &f.server)],
                    );
                    if let Some((model, firmware)) = f.user_agent.as_deref().and_then(sip_phone) {
                        a.add(o, inputs, "sip", "phone model", &model);
                        if let Some(v) = firmware {
                            a.add(o, inputs, "sip", "phone firmware", &v);
                        }
                    }
                }
            }
            ObsKind::Modbus(f) => {
                // A server answering a controller's requests, and what its
                // Read Device Identification answer names.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.modbus_server = true;
                    a.add_present(
                        o,
                        inputs,
                        "modbus",
                        &[
                            ("VendorName", &f.vendor),
                            ("ProductCode", &f.product_code),
                            ("MajorMinorRevision", &f.revision),
                            ("ProductName", &f.product_name),
                            ("ModelName", &f.model_name),
                        ],
                    );
                }
            }
            ObsKind::EnipIdentity(f) => {
                // A PLC, drive or adapter naming itself.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    for (field, v) in [
                        ("vendor identifier", &f.vendor_id.to_string()),
                        ("device type", &f.device_type),
                        ("product code", &f.product_code.to_string()),
                        ("revision", &f.revision),
                        ("serial", &f.serial),
                    ] {
                        a.add(o, inputs, "enip", field, v);
                    }
                    a.serial.get_or_insert(f.serial.clone());
                    a.add_present(o, inputs, "enip", &[("product name", &f.product_name)]);
                }
            }
            ObsKind::WsDiscovery(f) => {
                // A device announcing what it is (and, an ONVIF camera or
                // recorder, its maker and model).
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if !f.types.is_empty() {
                        a.add(o, inputs, "ws-discovery", "types", &f.types.join(" "));
                    }
                    a.add_present(
                        o,
                        inputs,
                        "ws-discovery",
                        &[("onvif hardware", &f.hardware), ("onvif name", &f.name)],
                    );
                }
            }
            ObsKind::Ipp(f) => {
                // A printer's answer names it; a request says what the
                // printer was asked (never of a job). A print server's
                // answer for a queue names the printer behind it: kept as
                // such, not as the server's own make.
                if let Some(a) = server_of(o, me, peer).and_then(|i| acc.get_mut(i)) {
                    if let Some(op) = &f.operation {
                        a.add(o, inputs, "ipp", "operation received", op);
                    }
                    if f.queue {
                        if let Some(m) = f.make_and_model.as_ref().or(f.model.as_ref()) {
                            a.add(o, inputs, "ipp", "print queue for", m);
                        }
                    } else {
                        let firmware = f.firmware.join(", ");
                        a.add_present(
                            o,
                            inputs,
                            "ipp",
                            &[
                                ("printer-make-and-model", &f.make_and_model),
                                ("device-id MFG", &f.maker),
                                ("device-id MDL", &f.model),
                                ("device-id SN", &f.serial),
                                (
                                    "printer-firmware",
                                    &(!firmware.is_empty()).then_some(firmware),
                                ),
                            ],
                        );
                        if let Some(s) = &f.serial {
                            a.serial.get_or_insert(s.clone());
                        }
                    }
                }
            }
            ObsKind::UpnpDevice(f) => {
                // The description a device's web server served of itself.
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add_present(
                        o,
                        inputs,
                        "upnp",
                        &[
                            ("deviceType", &f.device_type),
                            ("manufacturer", &f.manufacturer),
                            ("modelName", &f.model_name),
                            ("modelNumber", &f.model_number),
                            ("serialNumber", &f.serial),
                        ],
                    );
                    if let Some(s) = &f.serial {
                        a.serial.get_or_insert(s.clone());
                    }
                }
            }
            ObsKind::LabInstrument(fact) => {
                let wardwatch_proto::LabInstrumentFact {
                    protocol,
                    vendor,
                    model,
                    version,
                    serial,
                    ..
                } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add_present(
                        o,
                        inputs,
                        protocol.clone(),
                        &[
                            ("vendor", vendor),
                            ("instrument", model),
                            ("software", version),
                            ("serial", serial),
                        ],
                    );
                    a.lab = true;
                }
            }
            ObsKind::TlsCertificate(fact) => {
                let wardwatch_proto::TlsCertificateFact {
                    subject,
                    issuer,
                    not_after,
                    self_signed,
                    rsa_bits,
                    ..
                } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    let bits = rsa_bits.map(|b| format!(", RSA {b}")).unwrap_or_default();
                    let signer = if *self_signed {
                        "self-signed".to_string()
                    } else {
                        format!("issued by {issuer}")
                    };
                    a.add(
                        o,
                        inputs,
                        "tls",
                        "certificate",
                        &format!("{subject} ({signer}, until {not_after}{bits})"),
                    );
                }
            }
            ObsKind::MqttTopic { topic } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(o, inputs, "mqtt", "topic", topic);
                }
            }
            ObsKind::Dns {
                flavour,
                response,
                answers,
                identity,
                ..
            } => {
                // mDNS and LLMNR answers are the responder naming itself:
                // an address record of its own address gives its host name.
                if *response && flavour != "dns" {
                    if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                        for ans in answers.iter().take(4) {
                            a.add(o, inputs, flavour.clone(), "answer", ans);
                        }
                        let own = identity
                            .as_ref()
                            .and_then(|id| id.host)
                            .unwrap_or_else(|| o.subject_ip());
                        if let Some(name) = answers.iter().find_map(|ans| own_name(ans, own)) {
                            a.hostname.get_or_insert(name.to_string());
                        }
                    }
                }
                // The make and model its TXT records give (the knowledge
                // base reads them).
                if let (Some(id), Some(a)) = (identity, me.and_then(|i| acc.get_mut(i))) {
                    for (k, v) in &id.pairs {
                        a.add(o, inputs, "mdns", format!("txt {k}"), v);
                        if let Some(m) = (k == "osxvers").then(|| macos_release(v)).flatten() {
                            a.add(o, inputs, "mdns", "macOS release", &m);
                        }
                    }
                }
            }
            // A tunnel's queries say nothing of the device (detection reads
            // them).
            // (Resolvers' names of a device were read above.)
            ObsKind::DnsTunnel { .. }
            | ObsKind::DnsTunnelQueries { .. }
            | ObsKind::DnsName { .. } => {}
            ObsKind::Ssdp(fact) => {
                let wardwatch_proto::SsdpFact { server, usn, .. } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(s) = server {
                        a.add(o, inputs, "ssdp", "SERVER", s);
                    }
                    if let Some(u) = usn {
                        a.add(o, inputs, "ssdp", "USN", u);
                    }
                }
            }
            ObsKind::Snmp(fact) => {
                let wardwatch_proto::SnmpFact {
                    version,
                    community,
                    engine_id,
                    sys_descr,
                    sys_object_id,
                    sys_name,
                    ..
                } = &**fact;
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    if let Some(d) = sys_descr {
                        a.add(o, inputs, "snmp", "sysDescr", d);
                    }
                    if let Some(d) = sys_object_id {
                        a.add(o, inputs, "snmp", "sysObjectID", d);
                    }
                    if let Some(d) = sys_name {
                        a.hostname.get_or_insert(d.clone());
                        a.add(o, inputs, "snmp", "sysName", d);
                    }
                    if let Some(c) = community {
                        a.add(o, inputs, "snmp", "community", &format!("{version} {c}"));
                    }
                    if let Some(e) = engine_id {
                        a.add(o, inputs, "snmp", "v3 engine id", e);
                    }
                }
            }
            ObsKind::TlsServerHello { version, cipher } => {
                if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                    a.add(
                        o,
                        inputs,
                        "tls",
                        "chosen version and cipher",
                        &format!("{version} {cipher}"),
                    );
                }
            }
            ObsKind::Dhcp(fact) => {
                let wardwatch_proto::DhcpFact {
                    client_mac,
                    hostname,
                    vendor_class,
                    parameter_list,
                    message_type,
                    ..
                } = &**fact;
                // OFFER and ACK come from the server.
                if matches!(message_type, 2 | 5) {
                    if let Some(a) = me.and_then(|i| acc.get_mut(i)) {
                        a.dhcp_server = true;
                    }
                }
                // The client often has no address yet: find it by MAC.
                if matches!(message_type, 1 | 3 | 8) {
                    if let Some(a) = by_mac
                        .get(client_mac)
                        .and_then(|i| mine(*i))
                        .and_then(|i| acc.get_mut(i))
                    {
                        if let Some(h) = hostname {
                            a.hostname.get_or_insert(h.clone());
                            a.add(o, inputs, "dhcp", "option 12 hostname", h);
                        }
                        if let Some(v) = vendor_class {
                            a.add(o, inputs, "dhcp", "option 60 vendor class", v);
                        }
                        if let Some(p) = parameter_list {
                            a.add(o, inputs, "dhcp", "option 55 parameter list", p);
                        }
                    }
                }
            }
        }
    }
    for (d, a) in devices.iter_mut().zip(acc) {
        d.protocols = a.protocols.into_iter().collect();
        d.ae_titles = a.ae_titles.into_iter().filter(|t| !t.is_empty()).collect();
        if d.hostname.is_none() {
            d.hostname = a.hostname;
        }
        if d.hostname.is_none() && a.member_names.len() == 1 {
            d.hostname = a.member_names.into_iter().next();
        }
        if d.hostname.is_none() {
            // The site's reverse zone before an address record (which may
            // be an alias of a service on the host).
            let best = a
                .dns_names
                .iter()
                .find(|(ptr, _)| *ptr)
                .or(a.dns_names.first());
            d.hostname = best.map(|(_, n)| n.split('.').next().unwrap_or(n).to_string());
        }
        if d.os.is_none() {
            d.os = a.os;
        }
        if d.serial.is_none() {
            d.serial = a.serial;
        }
        if let [f] = &a.fhir_devices[..] {
            // Below a device's own DICOM identity (0.9), above the OUI's.
            for (slot, conf, v) in [
                (&mut d.vendor, &mut d.confidence.vendor, &f.manufacturer),
                (&mut d.model, &mut d.confidence.model, &f.model),
                (&mut d.firmware, &mut d.confidence.firmware, &f.version),
            ] {
                if let (Some(v), true) = (v, *conf < 0.75) {
                    *slot = Some(v.clone());
                    *conf = 0.75;
                }
            }
            if d.serial.is_none() {
                d.serial.clone_from(&f.serial);
            }
        }
        if let Some(SelfIdentity {
            maker: (mfr, model, sw),
            serial,
            modality,
        }) = a.identity.filter(|_| a.identities.len() == 1)
        {
            if let Some(m) = mfr {
                d.vendor = Some(m);
                d.confidence.vendor = 0.9;
            }
            if let Some(m) = model {
                d.model = Some(m);
                d.confidence.model = 0.9;
            }
            if let Some(s) = sw {
                d.firmware = Some(s);
                d.confidence.firmware = 0.8;
            }
            if serial.is_some() {
                d.serial = serial;
            }
            if let Some(c) = modality.as_deref().and_then(modality_category) {
                d.category = c.into();
                d.medical = Some(true);
                d.confidence.category = 0.9;
            }
        } else if a.dicom_server && d.category == "unknown" {
            // A DICOM service provider is named by what it was asked to do:
            // accepting an association, or a verification, says only that
            // it speaks DICOM (modalities answer their archive's echoes).
            // Images received by a device that answers no query but asks
            // an archive itself: a reading workstation, the destination of
            // the retrievals it asked for.
            let role = if a.dicom_serves & SERVES_QUERY == 0
                && a.dicom_serves & SERVES_STORE != 0
                && a.dicom_queries
            {
                Some((
                    "medical-workstation",
                    0.5,
                    "DICOM workstation (receives images, queries an archive itself)",
                ))
            } else if a.dicom_serves & (SERVES_STORE | SERVES_QUERY) != 0 {
                Some(("pacs", 0.6, "DICOM archive (stores or answers queries)"))
            } else if a.dicom_serves & SERVES_PRINT != 0 {
                Some(("printer", 0.6, "DICOM film printer"))
            } else if a.dicom_serves & SERVES_COMMIT_REPORT != 0 {
                Some((
                    "imaging-modality",
                    0.5,
                    "DICOM image sender (storage commitment results reported to it)",
                ))
            } else {
                None
            };
            d.medical = Some(true);
            if let Some((category, confidence, why)) = role {
                d.category = category.into();
                d.confidence.category = confidence;
                d.evidence
                    .push(role_evidence(why, format!("role:dicom-{category}")));
            } else if a.dicom_serves & SERVES_WORKLIST != 0 {
                d.evidence.push(role_evidence(
                    "DICOM modality worklist provider",
                    "role:dicom-worklist".into(),
                ));
            }
        }
        if a.lab && d.category == "unknown" {
            d.category = "lab-analyzer".into();
            d.medical = Some(true);
            d.confidence.category = 0.7;
        }
        // Roles from behaviour: answering DNS, handing out DHCP leases,
        // taking domain members' logons and pings, receiving HL7, asking
        // BACnet devices, answering Modbus (in a hospital the facility's:
        // power meters, UPS and generator controllers, chillers,
        // medical-gas alarm panels). Each says so in the evidence (HL7
        // aside) and, in this order, names the category of a device
        // nothing else named.
        let dns = d
            .services
            .iter()
            .any(|s| s.port == 53 && s.proto.as_deref() == Some("dns"));
        let roles = [
            (dns, Some(("DNS server", "dns-server")), "server", false),
            (
                a.dhcp_server,
                Some(("DHCP server", "dhcp-server")),
                "server",
                false,
            ),
            (
                a.domain_controller,
                Some(("domain controller", "domain-controller")),
                "server",
                false,
            ),
            (a.hl7_receiver, None, "interface-engine", true),
            (
                a.bacnet_client,
                Some((
                    "BACnet client (asks the building's devices: a management front-end, or a controller binding to its peers)",
                    "bacnet-client",
                )),
                "building-automation",
                false,
            ),
            (
                a.modbus_server,
                Some((
                    "Modbus/TCP server (answers a controller's requests)",
                    "modbus-server",
                )),
                "building-automation",
                false,
            ),
        ];
        for (on, said, category, medical) in roles {
            if !on {
                continue;
            }
            if let Some((why, rule)) = said {
                d.evidence.push(role_evidence(why, format!("role:{rule}")));
            }
            if d.category == "unknown" {
                d.category = category.into();
                d.medical = Some(medical);
                d.confidence.category = 0.5;
            }
        }
        d.evidence.extend(a.evidence);
    }
    let kb = crate::kb::kb();
    let mut memo = crate::kb::Matches::default();
    for d in devices.iter_mut() {
        crate::kb::classify_with(d, kb, &mut memo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn darwin_versions_name_macos_releases() {
        for (darwin, release) in [
            ("17", Some("macOS 10.13")),
            ("19", Some("macOS 10.15")),
            ("20", Some("macOS 11")),
            ("24", Some("macOS 15")),
            ("25", Some("macOS 26")),
            ("4", None),
            ("x", None),
        ] {
            assert_eq!(macos_release(darwin).as_deref(), release, "{darwin}");
        }
    }

    #[test]
    fn phone_user_agents_name_model_and_firmware() {
        for (ua, model, firmware) in [
            (
                "Polycom/5.9.0.9373 PolycomVVX-VVX_411-UA/5.9.0.9373",
                Some("VVX 411"),
                Some("5.9.0.9373"),
            ),
            (
                "PolycomSoundPointIP-SPIP_650-UA/4.0.4.2906",
                Some("SPIP 650"),
                Some("4.0.4.2906"),
            ),
            ("Cisco-CP8845/11.7.1", Some("CP8845"), Some("11.7.1")),
            ("Cisco/SPA504G-7.6.2b", Some("SPA504G"), Some("7.6.2b")),
            ("snom760/10.1.54.13", Some("snom 760"), Some("10.1.54.13")),
            (
                "Yealink SIP-T46S 66.86.0.15",
                Some("SIP-T46S"),
                Some("66.86.0.15"),
            ),
            (
                "Grandstream GXP2170 1.0.11.6",
                Some("GXP2170"),
                Some("1.0.11.6"),
            ),
            ("Ascom i62/v6.3.1", Some("i62"), Some("6.3.1")),
            ("Yealink W60B", Some("W60B"), None),
            // A softphone on a PC, a PBX, a scanner: no device model.
            ("MicroSIP/3.21.3", None, None),
            ("Asterisk PBX 18.10.0", None, None),
            ("friendly-scanner", None, None),
            ("Cisco-SIPGateway/IOS-15.x", None, None),
            ("Yealink 1.2.3", None, None),
            ("", None, None),
        ] {
            let got = sip_phone(ua);
            assert_eq!(got.as_ref().map(|g| g.0.as_str()), model, "{ua}");
            assert_eq!(got.as_ref().and_then(|g| g.1.as_deref()), firmware, "{ua}");
        }
    }
    use wardwatch_proto::obs::{Hl7Header, Origin};

    fn ip(i: usize) -> IpAddr {
        IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8])
    }

    /// Devices of unknown kind, one per address [`ip`]`(i)`.
    fn devices_at(range: std::ops::Range<usize>) -> Vec<Device> {
        range
            .map(|i| Device {
                id: format!("dev-{i}"),
                ips: vec![ip(i).to_string()],
                category: "unknown".into(),
                ..Default::default()
            })
            .collect()
    }

    /// Sharing the devices between threads changes nothing: facts between
    /// devices of different shares (a client in one, its server in another)
    /// land on both, as with one thread.
    #[test]
    fn threads_give_the_same_devices() {
        let n = 3 * MIN_SHARD + 17;
        let devices = devices_at(0..n);
        let hl7 = ObsKind::Hl7Message(Box::new(Hl7Header {
            mllp: true,
            encoding: "^~\\&".into(),
            sending_application: "MX800".into(),
            sending_facility: "ICU".into(),
            receiving_application: "IE".into(),
            receiving_facility: "GH".into(),
            message_type: "ORU".into(),
            trigger: "R01".into(),
            control_id: "1".into(),
            version: "2.6".into(),
            ack_code: None,
            software: vec![],
            equipment: vec![],
        }));
        let http = ObsKind::HttpRequest(Box::new(wardwatch_proto::HttpRequestFact {
            method: "GET".into(),
            path: "/".into(),
            host: Some("pacs.example".into()),
            user_agent: Some("curl/8".into()),
            basic_user: None,
            fhir_resource: None,
            fhir_interaction: None,
            rtsp: false,
        }));
        let obs: Vec<Observation> = (0..4 * n)
            .map(|k| Observation {
                origin: Origin {
                    input: 0,
                    frame: k as u64,
                    ts_ns: k as i64,
                },
                client: (ip(k % n), 40000),
                // Servers far from their clients: another share.
                server: (ip((k * 7919 + n / 2) % n), 2575),
                subject: if k % 3 == 0 {
                    Side::Server
                } else {
                    Side::Client
                },
                mac: None,
                kind: if k % 2 == 0 {
                    hl7.clone()
                } else {
                    http.clone()
                },
            })
            .collect();
        let inputs = InputNames(vec!["t.pcap".into()]);
        let one = apply_observations_threads(devices.clone(), &obs, &inputs, 1);
        let three = apply_observations_threads(devices, &obs, &inputs, 3);
        assert!(one.iter().filter(|d| d.evidence.len() > 1).count() > n / 2);
        assert!(one.iter().any(|d| d.category == "interface-engine"));
        assert_eq!(one, three);
    }

    /// A DICOM service provider is named by the requests it receives: an
    /// archive by images and queries, a film printer by print requests, an
    /// image sender by storage commitment results; one only verified (its
    /// archive's echo) or handing out the worklist is medical, of no
    /// category (an association accepted said "pacs" before).
    #[test]
    fn dicom_providers_are_named_by_what_they_are_asked() {
        let devices = devices_at(1..12);
        let ask = |from: usize, to: usize, command: &'static str, sop: &'static str| Observation {
            origin: Origin {
                input: 0,
                frame: from as u64,
                ts_ns: from as i64,
            },
            client: (ip(from), 40000),
            server: (ip(to), 104),
            subject: Side::Client,
            mac: None,
            kind: ObsKind::DicomCommand {
                command: command.into(),
                sop_class: Some(sop.into()),
                status: None,
            },
        };
        let obs = vec![
            ask(1, 2, "C-STORE-RQ", "1.2.840.10008.5.1.4.1.1.2"),
            ask(3, 4, "C-ECHO-RQ", "1.2.840.10008.1.1"),
            ask(5, 6, "N-CREATE-RQ", "1.2.840.10008.5.1.1.1"),
            ask(7, 8, "N-EVENT-REPORT-RQ", STORAGE_COMMITMENT),
            ask(9, 10, "C-FIND-RQ", WORKLIST_FIND),
            // A reading workstation retrieving a study from the archive,
            // which sends it the images.
            ask(11, 2, "C-MOVE-RQ", "1.2.840.10008.5.1.4.1.2.2.2"),
            ask(2, 11, "C-STORE-RQ", "1.2.840.10008.5.1.4.1.1.2"),
        ];
        let inputs = InputNames(vec!["t.pcap".into()]);
        let d = apply_observations_threads(devices, &obs, &inputs, 1);
        let of = |i: usize| {
            let d = &d[i - 1];
            let role = d
                .evidence
                .iter()
                .find(|e| e.field == "role")
                .and_then(|e| e.rule.as_ref().map(|r| r.to_string()));
            (d.category.as_str(), d.medical, role)
        };
        let role = |r: &str| Some(r.to_string());
        assert_eq!(of(2), ("pacs", Some(true), role("role:dicom-pacs")));
        assert_eq!(of(4), ("unknown", Some(true), None));
        // (Whether a printer is medical is the category's to say.)
        assert_eq!((of(6).0, of(6).2), ("printer", role("role:dicom-printer")));
        assert_eq!(
            of(8),
            (
                "imaging-modality",
                Some(true),
                role("role:dicom-imaging-modality")
            )
        );
        assert_eq!(of(10), ("unknown", Some(true), role("role:dicom-worklist")));
        assert_eq!(
            of(11),
            (
                "medical-workstation",
                Some(true),
                role("role:dicom-medical-workstation")
            )
        );
        // The senders are not named by what they asked (a CT image sent
        // names its sender by the knowledge base's SOP class rule).
        assert_eq!(of(1), ("imaging-modality", Some(true), None));
        for i in [3, 5, 7, 9] {
            assert_eq!(of(i), ("unknown", None, None), "device {i}");
        }
    }

    /// A DHCP client that has no address yet and a link neighbour are
    /// found by their MAC, not by the addresses of the observation, which
    /// name no device: with one thread and with several.
    /// A resolver's names of an address are its device's, four at most;
    /// the reverse zone's gives the host name; the resolver gets none.
    #[test]
    fn dns_names_go_to_the_named_address_four_at_most() {
        let (vip, resolver) = (IpAddr::from([10, 1, 0, 9]), IpAddr::from([10, 1, 0, 53]));
        let devices: Vec<Device> = [vip, resolver]
            .iter()
            .map(|a| Device {
                id: format!("dev-{a}"),
                ips: vec![a.to_string()],
                category: "unknown".into(),
                ..Default::default()
            })
            .collect();
        let obs: Vec<Observation> = (0..12)
            .map(|i| Observation {
                origin: Origin {
                    input: 0,
                    frame: i,
                    ts_ns: i as i64,
                },
                client: (IpAddr::from([10, 1, 0, 20]), 50000),
                server: (resolver, 53),
                subject: Side::Server,
                mac: None,
                kind: ObsKind::DnsName {
                    name: format!("svc{i}.hospital.example"),
                    addr: vip,
                    ptr: i == 2,
                },
            })
            .collect();
        let inputs = InputNames(vec!["t.pcap".into()]);
        let out = apply_observations_threads(devices, &obs, &inputs, 1);
        let dns = |d: &Device| d.evidence.iter().filter(|e| e.source == "dns").count();
        assert_eq!(dns(&out[0]), 4);
        assert_eq!(out[0].hostname.as_deref(), Some("svc2"));
        assert_eq!((dns(&out[1]), out[1].hostname.as_deref()), (0, None));
        assert!(out[1].protocols.is_empty());
    }

    #[test]
    fn devices_named_by_mac_only_get_their_facts() {
        let mac = |i: usize| format!("00:1b:4f:00:{:02x}:{:02x}", i >> 8, i & 255);
        let n = 2 * MIN_SHARD + 5;
        let devices: Vec<Device> = (0..n)
            .map(|i| Device {
                id: format!("dev-{i}"),
                mac: Some(mac(i)),
                category: "unknown".into(),
                ..Default::default()
            })
            .collect();
        let nowhere = (IpAddr::from([0, 0, 0, 0]), 68);
        let obs: Vec<Observation> = (0..n)
            .map(|i| Observation {
                origin: Origin {
                    input: 0,
                    frame: i as u64,
                    ts_ns: i as i64,
                },
                client: nowhere,
                server: (IpAddr::from([255, 255, 255, 255]), 67),
                subject: Side::Client,
                mac: Some(mac(i)),
                kind: if i % 2 == 0 {
                    ObsKind::Dhcp(Box::new(wardwatch_proto::DhcpFact {
                        message_type: 3,
                        client_mac: mac(i),
                        hostname: Some(format!("pump-{i}")),
                        vendor_class: None,
                        parameter_list: None,
                        client_id: None,
                        fqdn: None,
                        address: None,
                        server: None,
                    }))
                } else {
                    ObsKind::LinkNeighbor(Box::new(wardwatch_proto::LinkNeighborFact {
                        protocol: "lldp".into(),
                        chassis_id: None,
                        port_id: None,
                        system_name: Some(format!("switch-{i}")),
                        system_description: None,
                        platform: None,
                        inventory: Vec::new(),
                    }))
                },
            })
            .collect();
        let inputs = InputNames(vec!["t.pcap".into()]);
        for threads in [1, 3] {
            let out = apply_observations_threads(devices.clone(), &obs, &inputs, threads);
            for (i, d) in out.iter().enumerate() {
                let want = if i % 2 == 0 {
                    format!("pump-{i}")
                } else {
                    format!("switch-{i}")
                };
                assert_eq!(d.hostname.as_deref(), Some(&*want), "{threads} threads");
            }
        }
    }

    #[test]
    fn dimse_evidence_names_command_class_and_status() {
        let command =
            |command: &'static str, sop: Option<&str>, status: Option<u16>| ObsKind::DicomCommand {
                command: command.into(),
                sop_class: sop.map(|s| s.to_string().into()),
                status,
            };
        let kinds = [
            command(
                "C-STORE-RSP",
                Some("1.2.840.10008.5.1.4.1.1.2"),
                Some(0xc001),
            ),
            command("C-ECHO-RQ", None, None),
            command("C-FIND-RSP", Some("1.2.3.4"), Some(0xff00)),
            command("N-EVENT-REPORT-RSP", None, Some(0x0000)),
        ];
        let want = [
            "C-STORE-RSP CT Image Storage status 0xc001",
            "C-ECHO-RQ",
            "C-FIND-RSP 1.2.3.4 status 0xff00",
            "N-EVENT-REPORT-RSP  status 0x0000",
        ];
        let devices = vec![Device {
            id: "dev-1".into(),
            ips: vec![ip(1).to_string()],
            category: "unknown".into(),
            ..Default::default()
        }];
        let obs: Vec<Observation> = kinds
            .into_iter()
            .enumerate()
            .map(|(k, kind)| Observation {
                origin: Origin {
                    input: 0,
                    frame: k as u64,
                    ts_ns: 0,
                },
                client: (ip(1), 40000),
                server: (ip(2), 104),
                subject: Side::Client,
                mac: None,
                kind,
            })
            .collect();
        let inputs = InputNames(vec!["t.pcap".into()]);
        let d = apply_observations(devices, &obs, &inputs);
        let got: Vec<&str> = d[0]
            .evidence
            .iter()
            .filter(|e| e.field == "dimse")
            .map(|e| e.value.as_str())
            .collect();
        assert_eq!(got, want);
    }
}
