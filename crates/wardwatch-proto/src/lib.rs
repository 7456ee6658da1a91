//! Protocol dissectors. Each protocol is a module with a pure parser and a
//! per-flow state; facts come out as typed [`ObsKind`]s that hold no
//! reference into packet buffers and no patient data. Protocols are found by
//! content, not by port.

pub mod bacnet;
pub mod browser;
mod bytes;
pub mod cldap;
pub mod creds;
mod des;
pub mod dhcp;
pub mod dhcp6;
pub mod dicom;
pub mod dns;
pub mod enip;
pub mod fhir;
pub mod ftp;
pub mod hl7;
pub mod http;
pub mod ipp;
pub mod kerberos;
pub mod l2;
pub mod lab;
pub mod ldap;
mod lines;
pub mod mail;
pub mod modbus;
pub mod mqtt;
pub mod ndp;
pub mod obs;
pub mod rdp;
pub mod sip;
pub mod smb;
pub mod snmp;
pub mod ssdp;
pub mod ssh;
pub mod syslog;
pub mod telnet;
pub mod tftp;
pub mod tls;
pub mod vnc;
pub mod watch;
pub mod wlan;
pub mod wsd;
pub mod x509;

pub use obs::{
    BacnetFact, Dhcp6Fact, Dhcp6ServerView, DhcpFact, DicomAssociateFact, DicomIdentityFact,
    DomainMemberFact, EnipIdentityFact, FhirDeviceFact, HttpRequestFact, LabInstrumentFact,
    LinkNeighborFact, ModbusFact, NtlmFact, ObsKind, Observation, Origin, PresentationContext,
    RouterAdvertFact, Side, SipFact, SnmpFact, SsdpFact, TftpRequestFact, TlsCertificateFact,
    TlsClientHelloFact, UpnpDeviceFact, WifiFact, WireName, WsDiscoveryFact,
};

/// Bytes looked at before deciding what a stream carries.
const PROBE_BYTES: usize = 64;
/// Distinct facts one flow may emit (a repeat of one it emitted is passed
/// on without counting); past them, facts are counted in
/// `stats.observations_dropped`, not kept.
const MAX_PER_FLOW: usize = 64;

/// What a TCP flow was found to carry.
#[derive(Default)]
enum App {
    #[default]
    Undecided,
    Dicom(Box<dicom::DicomState>),
    Hl7(Box<hl7::Hl7State>),
    Http(Box<http::HttpState>),
    Tls(Box<tls::TlsState>),
    Ftp(Box<ftp::FtpState>),
    Ssh(Box<ssh::SshState>),
    Telnet(Box<telnet::TelnetState>),
    Mqtt(Box<mqtt::MqttState>),
    Smb(Box<smb::SmbState>),
    Rdp(Box<rdp::RdpState>),
    Vnc(Box<vnc::VncState>),
    Astm(Box<lab::AstmState>),
    Poct(Box<lab::PoctState>),
    Kerberos(Box<kerberos::KerberosState>),
    Sip(Box<sip::SipState>),
    Modbus(Box<modbus::ModbusState>),
    Mail(Box<mail::MailState>),
    Ldap(Box<ldap::LdapState>),
    /// Nothing this crate dissects.
    Other,
}

/// The first bytes of a direction, held while deciding (no allocation).
#[derive(Clone, Copy)]
struct Probe {
    buf: [u8; PROBE_BYTES],
    len: usize,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            buf: [0; PROBE_BYTES],
            len: 0,
        }
    }
}

impl Probe {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len.min(PROBE_BYTES)]
    }
}

/// The dissection state of one TCP flow.
#[derive(Default)]
pub struct ProtoFlow {
    app: App,
    /// Allocated on the first stream bytes and dropped once the protocol
    /// is decided: most flows of a full table never need it.
    probe: Option<Box<[Probe; 2]>>,
    emitted: usize,
    seen_commands: Vec<(WireName, Option<WireName>)>,
    /// Observations not kept because the flow had emitted its share.
    pub suppressed: u64,
    /// The facts passed on, by direction and repeat key (see `keep`).
    passed: Vec<(usize, u64)>,
    /// DIMSE commands not kept because the flow had already shown the
    /// same command on the same SOP class (a transfer's thousandth
    /// C-STORE): repeats, no fact lost.
    pub repeated: u64,
}

impl ProtoFlow {
    /// Whether stream data is still wanted.
    pub fn wants_stream(&self) -> bool {
        match &self.app {
            App::Other => false,
            // After the hellos everything is encrypted.
            App::Tls(t) => !t.done(),
            App::Ssh(t) => !t.done(),
            App::Rdp(t) => !t.done(),
            App::Vnc(t) => !t.done(),
            App::Astm(t) => !t.done(),
            App::Poct(t) => !t.done(),
            App::Kerberos(t) => !t.done(),
            App::Sip(t) => !t.done(),
            App::Modbus(t) => !t.done(),
            App::Ldap(t) => !t.done(),
            _ => true,
        }
    }

    /// The protocol found, if any.
    pub fn protocol(&self) -> Option<&'static str> {
        match self.app {
            App::Dicom(_) => Some("dicom"),
            App::Hl7(_) => Some("hl7"),
            App::Http(ref h) if h.is_rtsp() => Some("rtsp"),
            App::Http(_) => Some("http"),
            App::Tls(_) => Some("tls"),
            App::Ftp(_) => Some("ftp"),
            App::Ssh(_) => Some("ssh"),
            App::Telnet(_) => Some("telnet"),
            App::Mqtt(_) => Some("mqtt"),
            App::Smb(_) => Some("smb"),
            App::Rdp(_) => Some("rdp"),
            App::Vnc(_) => Some("vnc"),
            App::Astm(_) => Some("astm"),
            App::Poct(_) => Some("poct1-a"),
            App::Kerberos(_) => Some("kerberos"),
            App::Sip(_) => Some("sip"),
            App::Modbus(_) => Some("modbus"),
            App::Mail(ref m) => Some(m.kind().name()),
            App::Ldap(_) => Some("ldap"),
            _ => None,
        }
    }

    /// The memory this flow's dissector holds in buffers (partial
    /// messages waiting for their end); an emptied buffer gives back room
    /// past 16 KiB here. The engine keeps the sum over all flows under a
    /// cap (see [`ProtoFlow::shed`]).
    pub fn held(&mut self) -> usize {
        match &mut self.app {
            App::Dicom(d) => d.held(),
            App::Hl7(h) => h.held(),
            App::Http(h) => h.held(),
            App::Tls(t) => t.held(),
            App::Ftp(f) => f.held(),
            App::Ssh(s) => s.held(),
            App::Telnet(t) => t.held(),
            App::Mqtt(m) => m.held(),
            App::Smb(m) => m.held(),
            App::Rdp(r) => r.held(),
            App::Vnc(r) => r.held(),
            App::Astm(a) => a.held(),
            App::Poct(p) => p.held(),
            App::Kerberos(k) => k.held(),
            App::Sip(k) => k.held(),
            App::Modbus(k) => k.held(),
            App::Mail(m) => m.held(),
            App::Ldap(m) => m.held(),
            App::Undecided | App::Other => 0,
        }
    }

    /// Stops dissecting this flow and frees what it held: the engine's
    /// answer to a flow whose buffers grow while those of all flows are at
    /// their cap. Facts already passed on stay; the flow's later ones are
    /// lost, and the engine counts the flow in `stats.dissection_shed`.
    pub fn shed(&mut self) {
        self.app = App::Other;
        self.probe = None;
    }

    /// Malformed messages met in this flow.
    pub fn errors(&self) -> u64 {
        match &self.app {
            App::Dicom(d) => d.errors,
            App::Hl7(h) => h.errors,
            App::Modbus(m) => m.errors,
            App::Ldap(m) => m.errors,
            _ => 0,
        }
    }

    /// Stream bytes in direction `dir` (0 client→server, 1 server→client).
    pub fn on_stream(&mut self, dir: usize, data: &[u8], out: &mut Vec<(usize, ObsKind)>) {
        let mut rest = data;
        if matches!(self.app, App::Undecided) {
            let probes = self.probe.get_or_insert_with(Box::default);
            let Some(p) = probes.get_mut(dir) else {
                return;
            };
            let took = PROBE_BYTES.saturating_sub(p.len).min(data.len());
            if let Some(dst) = p.buf.get_mut(p.len..p.len + took) {
                dst.copy_from_slice(&data[..took]);
                p.len += took;
            }
            rest = &data[took..];
            self.app = decide(dir, p.bytes());
            match self.app {
                App::Undecided => return,
                App::Other => {
                    self.probe = None;
                    return;
                }
                _ => {}
            }
            // Replay what was held back while deciding, both directions.
            if let Some(heads) = self.probe.take() {
                for d in [1 - dir.min(1), dir] {
                    self.dispatch_keep(d, heads[d].bytes(), out);
                }
            }
        }
        self.dispatch_keep(dir, rest, out);
    }

    /// Dissects and keeps what is new, in the direction of the facts: an
    /// FTP greeting held until the client spoke is the server's; so is an
    /// SMTP server's whose greeting did not say SMTP (taken for FTP until
    /// the client's EHLO).
    fn dispatch_keep(&mut self, dir: usize, data: &[u8], out: &mut Vec<(usize, ObsKind)>) {
        let mut tmp = Vec::new();
        self.dispatch(dir, data, &mut tmp);
        self.keep(dir, tmp, out);
        if let App::Ftp(f) = &mut self.app {
            if let Some(g) = f.due_greeting() {
                self.keep(1, vec![g], out);
            } else if let Some(h) = f.smtp_handover() {
                let (m, facts) = mail::MailState::from_ftp(h);
                self.app = App::Mail(Box::new(m));
                for (d, o) in facts {
                    self.keep(d, vec![o], out);
                }
            }
        }
    }
}

/// The protocol of a flow whose direction `dir` began with `p`
/// (`Undecided`: not enough bytes yet).
fn decide(dir: usize, p: &[u8]) -> App {
    if dir == 0 && dicom::probe(p) {
        App::Dicom(Box::default())
    } else if hl7::probe(p) {
        App::Hl7(Box::default())
    } else if lab::probe_astm(p) {
        App::Astm(Box::default())
    } else if lab::probe_poct(p) {
        App::Poct(Box::default())
    } else if dir == 0 && rdp::probe(p) {
        App::Rdp(Box::default())
    } else if vnc::probe(p) {
        App::Vnc(Box::default())
    } else if smb::probe(p) {
        App::Smb(Box::default())
    } else if dir == 0 && kerberos::probe_tcp(p) {
        App::Kerberos(Box::default())
    } else if dir == 0 && mqtt::probe(p) {
        App::Mqtt(Box::default())
    } else if dir == 0 && modbus::probe(p) {
        App::Modbus(Box::default())
    } else if (dir == 0 && ldap::probe_client(p)) || (dir == 1 && ldap::probe_server(p)) {
        App::Ldap(Box::default())
    } else if telnet::probe(p) {
        App::Telnet(Box::default())
    } else if ssh::probe(p) {
        App::Ssh(Box::default())
    } else if let Some(kind) = match dir {
        0 => mail::probe_client(p),
        _ => mail::probe_server(p),
    } {
        App::Mail(Box::new(mail::MailState::new(kind)))
    } else if (dir == 1 && ftp::probe_server(p)) || (dir == 0 && ftp::probe_client(p)) {
        App::Ftp(Box::default())
    } else if sip::probe(p) {
        App::Sip(Box::default())
    } else if tls::probe(p) {
        App::Tls(Box::default())
    } else if (dir == 0 && http::probe_rtsp_request(p))
        || (dir == 1 && http::probe_rtsp_response(p))
    {
        App::Http(Box::new(http::HttpState::rtsp()))
    } else if (dir == 0 && http::probe_request(p)) || (dir == 1 && http::probe_response(p)) {
        App::Http(Box::default())
    } else if p.len() >= PROBE_BYTES
        || (p.len() >= 8
            && !p.iter().take(8).all(|c| c.is_ascii_graphic() || *c == b' ')
            && !dicom::probe_prefix(p)
            && p.first() != Some(&0x0B))
    {
        App::Other
    } else {
        App::Undecided
    }
}

impl ProtoFlow {
    fn dispatch(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        match &mut self.app {
            App::Dicom(d) => d.feed(dir, data, out),
            App::Hl7(h) => h.feed(dir, data, out),
            App::Http(h) => h.feed(dir, data, out),
            App::Tls(t) => t.feed(dir, data, out),
            App::Ftp(f) => f.feed(dir, data, out),
            App::Mail(m) => m.feed(dir, data, out),
            App::Ldap(m) => m.feed(dir, data, out),
            App::Ssh(f) => f.feed(dir, data, out),
            App::Telnet(t) => t.feed(dir, data, out),
            App::Mqtt(m) => m.feed(dir, data, out),
            App::Smb(m) => m.feed(dir, data, out),
            App::Rdp(m) => m.feed(dir, data, out),
            App::Vnc(m) => m.feed(dir, data, out),
            App::Astm(m) => m.feed(data, out),
            App::Poct(m) => m.feed(data, out),
            App::Kerberos(m) => m.feed(dir, data, out),
            App::Sip(m) => m.feed(dir, data, out),
            App::Modbus(m) => m.feed(dir, data, out),
            App::Undecided | App::Other => {}
        }
        // STARTTLS accepted (mail, LDAP), or an RDP server's choice of a
        // protocol over TLS: the rest is a TLS handshake.
        let tls = match &self.app {
            App::Mail(m) => m.tls_started(),
            App::Ldap(l) => l.tls_started(),
            App::Rdp(r) => r.tls_started(),
            _ => false,
        };
        if tls {
            self.app = App::Tls(Box::default());
        }
    }

    /// Keeps what is new: the first of each DIMSE command per flow, and at
    /// most [`MAX_PER_FLOW`] distinct facts (their repeats pass freely).
    fn keep(&mut self, dir: usize, got: Vec<ObsKind>, out: &mut Vec<(usize, ObsKind)>) {
        for o in got {
            if let ObsKind::DicomCommand {
                command, sop_class, ..
            } = &o
            {
                let k = (command.clone(), sop_class.clone());
                if self.seen_commands.contains(&k) {
                    self.repeated += 1;
                    continue;
                }
                if self.seen_commands.len() < 32 {
                    self.seen_commands.push(k);
                }
            }
            // A fact the flow already passed on in this direction (an MLLP
            // link's thousandth identical header) is passed on again, the
            // run keeping its earliest sighting, without using up the
            // flow's share: a new fact late in a long connection still
            // fits. The facts passed on are at most the share, and so are
            // their keys.
            let fact = o.repeat_key().map(|k| (dir, k));
            if fact.is_some_and(|f| self.passed.contains(&f)) {
                out.push((dir, o));
                continue;
            }
            if self.emitted >= MAX_PER_FLOW {
                self.suppressed += 1;
                continue;
            }
            self.emitted += 1;
            self.passed.extend(fact);
            out.push((dir, o));
        }
    }

    /// A gap in direction `dir`: framing is lost there.
    pub fn on_gap(&mut self, dir: usize) {
        match &mut self.app {
            App::Undecided => self.app = App::Other,
            // Framing cannot be recovered after lost bytes.
            App::Http(_) | App::Dicom(_) | App::Tls(_) | App::Ssh(_) => self.app = App::Other,
            App::Ftp(_) | App::Telnet(_) | App::Mail(_) => {}
            App::Mqtt(_)
            | App::Smb(_)
            | App::Rdp(_)
            | App::Vnc(_)
            | App::Poct(_)
            | App::Kerberos(_)
            | App::Sip(_)
            | App::Modbus(_)
            | App::Ldap(_) => self.app = App::Other,
            App::Astm(_) => {}
            // MLLP resynchronises on the next start block.
            App::Hl7(h) => h.resync(dir),
            App::Other => {}
        }
    }

    /// The flow ended.
    pub fn finish(&mut self, out: &mut Vec<(usize, ObsKind)>) {
        let mut tmp = Vec::new();
        let mut server = Vec::new();
        match &mut self.app {
            App::Hl7(h) => h.finish(&mut tmp),
            App::Dicom(d) => tmp.push(d.volume()),
            App::Ftp(f) => {
                f.finish(&mut tmp);
                if let Some(g) = f.due_greeting() {
                    out.push((1, g));
                }
            }
            App::Mail(m) => m.finish(&mut tmp),
            App::Ldap(m) => m.finish(&mut tmp),
            App::Http(h) => h.finish(&mut tmp),
            App::Telnet(t) => t.finish(&mut tmp),
            // The server's facts.
            App::Vnc(v) => v.finish(&mut server),
            App::Rdp(r) => r.finish(&mut server),
            _ => {}
        }
        self.keep(1, server, out);
        out.extend(tmp.into_iter().map(|o| (0, o)));
    }
}

/// Dissects one UDP datagram. Plain DNS (port 53) is parsed by
/// [`dns::parse`] but not reported per message: a busy site sends millions,
/// and what detection needs from them is an aggregate, not a list.
pub fn on_datagram(sport: u16, dport: u16, payload: &[u8]) -> Option<ObsKind> {
    let either = |p: u16| sport == p || dport == p;
    if matches!((sport, dport), (68, 67) | (67, 68) | (67, 67)) && dhcp::probe(payload) {
        dhcp::parse(payload)
    } else if either(5353) {
        dns::parse(payload, "mdns")
    } else if either(137) {
        dns::parse_netbios(payload)
    } else if either(138) {
        browser::parse(payload)
    } else if dport == 547 {
        dhcp6::parse(payload)
    } else if (sport, dport) == (547, 546) {
        dhcp6::parse_server(payload)
    } else if dport == 88 {
        kerberos::parse(payload)
    } else if dport == 389 {
        cldap::parse(payload)
    } else if let Some(verdict) = (dport == 53 || sport == 53)
        .then(|| dns::reporting(payload, dport == 53, watch::any()))
        .filter(|v| *v != dns::Verdict::Skip)
    {
        // Plain DNS is not reported per message; only messages naming a
        // watched domain are, and queries whose names look like data
        // (tunnelling), by their domain and a hash of the name.
        if let dns::Verdict::Tunnel(n) = verdict {
            // Nothing watched: the tunnel query alone, as the whole
            // message parsed would give it.
            return dns::tunnel_query(payload, n);
        }
        match dns::parse(payload, "dns") {
            Some(ObsKind::Dns {
                response,
                queries,
                answers,
                flavour,
                identity,
            }) => {
                let names = || queries.iter().map(|q| q.split(' ').next().unwrap_or(""));
                if names().any(watch::is_watched) {
                    // The indicator rules read the whole message.
                    return Some(ObsKind::Dns {
                        flavour,
                        response,
                        queries,
                        answers,
                        identity,
                    });
                }
                if response {
                    return None;
                }
                names().find(|n| dns::tunnel_like(n)).map(dns::tunnel_fact)
            }
            _ => None,
        }
    } else if let Some(name) = (sport == 53).then(|| dns::site_name(payload)).flatten() {
        Some(name)
    } else if either(5355) {
        dns::parse(payload, "llmnr")
    } else if either(1900) {
        ssdp::parse(payload)
    } else if either(161) || either(162) {
        snmp::parse(payload)
    } else if dport == 514 {
        syslog::parse_syslog(payload)
    } else if either(123) {
        syslog::parse_ntp(payload)
    } else if either(47808) {
        bacnet::parse(payload)
    } else if either(44818) {
        enip::parse(payload)
    } else if either(3702) {
        wsd::parse(payload)
    } else if dport == 69 {
        tftp::parse(payload)
    } else if either(5060) || sip::probe(payload) {
        sip::parse(payload)
    } else {
        None
    }
}

/// Runs `data` through every dissector: as a client stream, a server
/// stream (split into chunks at 0xA5 bytes), a UDP datagram and a DICOM
/// dataset; what the fuzz target and its corpus replay run.
#[doc(hidden)]
pub fn exercise(data: &[u8]) -> usize {
    let mut out = Vec::new();
    let mut flow = ProtoFlow::default();
    for (i, chunk) in data.split(|b| *b == 0xA5).enumerate().take(256) {
        flow.on_stream(i % 2, chunk, &mut out);
        if i % 7 == 6 {
            flow.on_gap(i % 2);
        }
    }
    flow.finish(&mut out);
    // Each dissector on its own, so that one's probe does not hide another.
    let mut d = dicom::DicomState::default();
    let mut h = hl7::Hl7State::default();
    let mut w = http::HttpState::default();
    let mut t = tls::TlsState::default();
    let mut f = ftp::FtpState::default();
    let mut sh = ssh::SshState::default();
    let mut tn = telnet::TelnetState::default();
    let mut mq = mqtt::MqttState::default();
    let mut sm = smb::SmbState::default();
    let mut rm = rdp::RdpState::default();
    let mut vn = vnc::VncState::default();
    let mut astm = lab::AstmState::default();
    let mut poct = lab::PoctState::default();
    let mut krb = kerberos::KerberosState::default();
    let mut sip = sip::SipState::default();
    let mut modbus = modbus::ModbusState::default();
    let mut mail = [mail::Mail::Smtp, mail::Mail::Pop3, mail::Mail::Imap].map(mail::MailState::new);
    let mut ldap = ldap::LdapState::default();
    let mut o = Vec::new();
    for (i, chunk) in data.chunks(97).enumerate() {
        d.feed(i % 2, chunk, &mut o);
        h.feed(i % 2, chunk, &mut o);
        w.feed(i % 2, chunk, &mut o);
        t.feed(i % 2, chunk, &mut o);
        f.feed(i % 2, chunk, &mut o);
        sh.feed(i % 2, chunk, &mut o);
        tn.feed(i % 2, chunk, &mut o);
        mq.feed(i % 2, chunk, &mut o);
        sm.feed(i % 2, chunk, &mut o);
        rm.feed(i % 2, chunk, &mut o);
        vn.feed(i % 2, chunk, &mut o);
        astm.feed(chunk, &mut o);
        poct.feed(chunk, &mut o);
        krb.feed(0, chunk, &mut o);
        sip.feed(i % 2, chunk, &mut o);
        modbus.feed(i % 2, chunk, &mut o);
        for m in &mut mail {
            m.feed(i % 2, chunk, &mut o);
        }
        ldap.feed(i % 2, chunk, &mut o);
    }
    for m in &mut mail {
        m.finish(&mut o);
    }
    ldap.finish(&mut o);
    let _ = on_datagram(40000, 514, data);
    let _ = on_datagram(123, 123, data);
    let _ = on_datagram(137, 137, data);
    let _ = on_datagram(138, 138, data);
    let _ = on_datagram(546, 547, data);
    let _ = on_datagram(547, 546, data);
    let _ = ndp::router_advert(data, 255, std::net::Ipv6Addr::LOCALHOST.into(), None);
    let _ = on_datagram(50000, 88, data);
    let _ = on_datagram(50000, 389, data);
    let _ = on_datagram(47808, 47808, data);
    let _ = on_datagram(5060, 5060, data);
    let _ = on_datagram(3702, 40000, data);
    let _ = on_datagram(44818, 40000, data);
    let _ = on_datagram(40000, 69, data);
    let _ = wlan::parse_management(data);
    let _ = fhir::devices(data, true);
    let _ = ssdp::description(data);
    tn.finish(&mut o);
    f.finish(&mut o);
    let _ = tls::parse_client_hello(data);
    let _ = tls::parse_server_hello(data);
    let _ = x509::parse(data);
    let _ = l2::parse_lldp(data);
    let _ = l2::parse_cdp(data);
    h.finish(&mut o);
    let _ = dicom::parse_identity(data, true);
    let _ = dicom::parse_identity(data, false);
    let _ = dicom::parse_associate(true, data);
    let _ = dicom::parse_command(data);
    let _ = on_datagram(68, 67, data);
    let _ = on_datagram(5353, 5353, data);
    let _ = on_datagram(1900, 1900, data);
    let _ = on_datagram(40000, 161, data);
    // Plain DNS both ways (the tunnel prefilter reads labels in place).
    let _ = on_datagram(40000, 53, data);
    let _ = on_datagram(53, 40000, data);
    // The text framings again in small pieces (their searches resume).
    let (mut h, mut w, mut f) = (
        hl7::Hl7State::default(),
        http::HttpState::default(),
        ftp::FtpState::default(),
    );
    for (i, chunk) in data.chunks(7).enumerate() {
        h.feed(i % 2, chunk, &mut o);
        w.feed(i % 2, chunk, &mut o);
        f.feed(i % 2, chunk, &mut o);
    }
    h.finish(&mut o);
    out.len() + o.len()
}

/// Test inputs: a seeded xorshift stream; each call gives a number below
/// its argument (which must not be zero).
#[cfg(test)]
pub(crate) fn below(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed;
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    }
}

/// Test inputs: `count` strings of up to `max_len - 1` bytes drawn from
/// `alphabet`, the same for the same seed.
#[cfg(test)]
pub(crate) fn strings(seed: u64, alphabet: &[u8], max_len: u64, count: usize) -> Vec<Vec<u8>> {
    let mut below = below(seed);
    (0..count)
        .map(|_| {
            let len = below(max_len) as usize;
            (0..len)
                .map(|_| alphabet[below(alphabet.len() as u64) as usize])
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_counts_partial_messages_and_gives_back_emptied_room() {
        let mut flow = ProtoFlow::default();
        let mut out = Vec::new();
        let head = b"\x0bMSH|^~\\&|PUMP|ICU|EMR|H|20260101||ORU^R01|1|P|2.6\r";
        let filler = b"OBX|1|NM|X||1|\r".repeat(3000);
        flow.on_stream(0, head, &mut out);
        flow.on_stream(0, &filler, &mut out);
        // A 45 KB message waiting for its end block is held.
        assert!(flow.held() >= head.len() + filler.len());
        flow.on_stream(0, b"\x1c\r", &mut out);
        assert!(!out.is_empty());
        // Once read, its room above 16 KiB is given back.
        assert_eq!(flow.held(), 0);
        // A small message's room is kept for the next one.
        flow.on_stream(0, head, &mut out);
        flow.on_stream(0, b"\x1c\r", &mut out);
        assert!((1..=16 << 10).contains(&flow.held()));
        flow.on_stream(0, head, &mut out);
        flow.shed();
        assert_eq!(flow.held(), 0);
        assert!(!flow.wants_stream());
    }

    /// Content decides, whatever the port: an instrument bidding with ENQ,
    /// then sending its header frame in a later segment.
    #[test]
    fn astm_found_by_content_across_segments() {
        let mut f = ProtoFlow::default();
        let mut out = Vec::new();
        f.on_stream(0, &[0x05], &mut out);
        assert_eq!(f.protocol(), Some("astm"));
        f.on_stream(1, &[0x06], &mut out);
        let mut frame = vec![0x02, b'1'];
        frame.extend_from_slice(b"H|\\^&|||AU480^2.1^77|||||||P|LIS2-A2\r");
        frame.extend_from_slice(&[0x03, b'0', b'0', b'\r', b'\n']);
        f.on_stream(0, &frame, &mut out);
        assert!(
            matches!(&out[..], [(0, ObsKind::LabInstrument(i))] if i.model.as_deref() == Some("AU480")),
            "{out:?}"
        );
        // An unrelated binary stream is given up quickly.
        let mut g = ProtoFlow::default();
        g.on_stream(
            0,
            &[0x99, 0x01, 0x02, 0x03, 0xfe, 0x00, 0x10, 0x20, 0x30],
            &mut out,
        );
        assert!(!g.wants_stream());
    }

    /// A long connection repeats its facts (an interface engine's MLLP
    /// link sends the same header thousands of times; a browser's
    /// keep-alive connection the same request line): the repeats are
    /// passed on (the run keeps the earliest sighting) but do not use up
    /// the flow's share, so a new fact late in the connection is kept.
    #[test]
    fn repeats_do_not_use_up_a_flows_share() {
        let mut f = ProtoFlow::default();
        let mut out = Vec::new();
        let msg = |ty: &str, id: usize| {
            let mut m = vec![0x0b];
            m.extend_from_slice(
                format!("MSH|^~\\&|MONITOR|ICU|EMR|HOSP|20260101||{ty}|{id}|P|2.5\rOBR|1\r")
                    .as_bytes(),
            );
            m.extend_from_slice(&[0x1c, 0x0d]);
            m
        };
        for i in 0..3 * MAX_PER_FLOW {
            f.on_stream(0, &msg("ORU^R01", i), &mut out);
        }
        f.on_stream(0, &msg("ADT^A08", 9999), &mut out);
        let types: Vec<String> = out
            .iter()
            .filter_map(|(_, o)| match o {
                ObsKind::Hl7Message(m) => Some(format!("{}^{}", m.message_type, m.trigger)),
                _ => None,
            })
            .collect();
        assert!(
            types.iter().any(|t| t == "ADT^A08"),
            "late new fact lost: {} kept",
            types.len()
        );
        assert_eq!(f.suppressed, 0);

        let mut h = ProtoFlow::default();
        let mut out = Vec::new();
        for _ in 0..3 * MAX_PER_FLOW {
            h.on_stream(
                0,
                b"GET /status HTTP/1.1\r\nHost: pump-7\r\nUser-Agent: probe/1.0\r\n\r\n",
                &mut out,
            );
        }
        h.on_stream(
            0,
            b"GET /admin HTTP/1.1\r\nHost: pump-7\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n\r\n",
            &mut out,
        );
        assert!(
            out.iter().any(
                |(_, o)| matches!(o, ObsKind::HttpRequest(r) if r.basic_user.as_deref() == Some("admin"))
            ),
            "late credential lost: {:?}",
            out.last()
        );
    }
}
