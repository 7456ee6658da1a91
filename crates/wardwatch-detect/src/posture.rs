//! Posture: what the dissectors saw that is unsafe in itself — default,
//! weak and cleartext logins, insecure protocols and TLS, clinical
//! protocols leaving the site in the clear — and legacy systems.

use std::net::IpAddr;

use wardwatch_inventory::kb::legacy_os;
use wardwatch_model::Device;
use wardwatch_proto::creds::{is_anonymous, PasswordCheck};
use wardwatch_proto::obs::{ObsKind, Observation, TftpRequestFact};

use crate::digest::PairKey;

use crate::{Context, Findings, Raise, Severity};

/// What to do, per rule family.
pub mod remedy {
    /// Default credentials.
    pub const DEFAULT_LOGIN: &str = "Change the default password now (ask the vendor how, for a medical device); restrict the service to the management network.";
    /// Weak password.
    pub const WEAK_PASSWORD: &str = "Replace the password with a strong unique one and move the login to an encrypted protocol (SSH, SFTP, HTTPS).";
    /// Cleartext login.
    pub const CLEARTEXT_LOGIN: &str = "Move the login to an encrypted protocol (SSH, SFTP/FTPS, HTTPS, MQTT over TLS) and rotate the password that crossed the network.";
    /// Cleartext mail login.
    pub const CLEARTEXT_MAIL: &str = "Require STARTTLS before AUTH on the server (or implicit TLS: 465, 993, 995), set the device's mail account to use it, and rotate the password that crossed the network.";
    /// Cleartext LDAP simple bind.
    pub const CLEARTEXT_LDAP: &str = "Bind over LDAPS (636) or StartTLS, require LDAP signing and channel binding on the directory, and rotate the password that crossed the network.";

    /// Cleartext RTSP Basic login (cameras).
    pub const CLEARTEXT_RTSP: &str = "The camera's password crossed the network in Basic authentication: set the camera (and the recorder or viewer asking it) to Digest authentication or RTSP over TLS, change the password, and keep cameras on their own VLAN reachable only from the recorder.";

    /// The remedy for a password sent in the clear over `protocol`.
    pub fn cleartext_login(protocol: &str) -> &'static str {
        match protocol {
            "smtp" | "pop3" | "imap" => CLEARTEXT_MAIL,
            "ldap" => CLEARTEXT_LDAP,
            "rtsp-basic" => CLEARTEXT_RTSP,
            _ => CLEARTEXT_LOGIN,
        }
    }
    /// Telnet.
    pub const TELNET: &str = "Disable Telnet and use SSH; if the device cannot, allow Telnet only from a jump host on the management VLAN.";
    /// FTP.
    pub const FTP: &str = "Replace FTP with SFTP or FTPS; if the device cannot, restrict it to the hosts that need it.";
    /// Anonymous FTP.
    pub const FTP_ANON: &str = "Disable anonymous FTP unless the server is meant to be public.";
    /// SNMP default community.
    pub const SNMP_DEFAULT: &str = "Change the SNMP community from its default (or move to SNMPv3 with authentication and privacy) and limit SNMP to the monitoring hosts.";
    /// SNMP v1/v2c.
    pub const SNMP_V12: &str =
        "Prefer SNMPv3 with authentication and privacy; limit SNMP to the monitoring hosts.";
    /// TFTP.
    pub const TFTP: &str = "TFTP has no authentication: anyone who can reach the server reads (or writes) its files. Turn it off where nothing needs it; otherwise allow it only from the devices it serves (an ACL on the management VLAN), serve read-only, and move firmware and configuration to HTTPS or SFTP where the devices can.";
    /// VNC without a password.
    pub const VNC_NO_AUTH: &str = "Anyone who reaches this VNC server sees and controls the screen without a password: turn VNC off where the vendor does not need it; otherwise require a strong password (or, better, VeNCrypt/TLS with user accounts), and allow VNC only from the vendor's support gateway or a jump host.";
    /// VNC with a default or guessable password.
    pub const VNC_PASSWORD: &str = "The VNC password is a default or common one, and VNC Authentication lets anyone who recorded the exchange try passwords offline: set a strong password now (VNC keeps only its first eight characters), prefer VeNCrypt/TLS with user accounts, and allow VNC only from a jump host.";
    /// VNC offered.
    pub const VNC: &str = "VNC sends the screen (and what the keyboard types) unencrypted, and its password check (eight characters at most, DES) can be guessed offline from one recorded login: allow it only from a jump host or the vendor's support gateway, or tunnel it (SSH, VPN, VeNCrypt/TLS).";
    /// RDP with Standard RDP Security.
    pub const RDP_STANDARD: &str = "The server uses Standard RDP Security: the client cannot tell it from an impostor, so a man in the middle reads the session and the password typed into it. Set the server to require TLS with Network Level Authentication (Windows: security layer SSL and \"Require user authentication ... Network Level Authentication\"); a device that cannot is old enough to need isolating: allow RDP to it only from a jump host.";
    /// RDP without NLA.
    pub const RDP_NO_NLA: &str = "The server shows its login screen to anyone before they authenticate (no Network Level Authentication): the pre-authentication attack surface BlueKeep (CVE-2019-0708) used. Require NLA on the server, and allow RDP only from the hosts that administer it.";
    /// SMBv1.
    pub const SMB1: &str = "Disable SMBv1 (EternalBlue/WannaCry); for a medical device that needs it, ask the vendor and isolate it.";
    /// Old TLS.
    pub const TLS_OLD: &str = "Enable TLS 1.2 or later and disable SSL 3.0, TLS 1.0 and 1.1.";
    /// Weak cipher.
    pub const TLS_CIPHER: &str = "Disable RC4, DES/3DES, NULL, EXPORT and anonymous cipher suites.";
    /// Certificate.
    pub const TLS_CERT: &str =
        "Install a valid certificate from the hospital's CA with an RSA key of at least 2048 bits.";
    /// Clinical protocol leaving the site.
    pub const CLINICAL_EXTERNAL: &str = "Clinical data must not cross the internet in the clear: use DICOM TLS (port 2762) or HL7 over TLS/VPN, and confirm the peer is an approved partner.";
    /// DICOM passcode.
    pub const DICOM_PASSCODE: &str =
        "DICOM user identity passcodes cross the network in the clear: use DICOM TLS.";
    /// Known exploited vulnerability.
    pub const KEV: &str = "Exploited in the wild: apply the vendor's fix or mitigation first (CISA KEV due dates apply to US federal sites; treat them as the bar). Until then isolate the device.";
    /// Known vulnerability.
    pub const VULN: &str = "Check the advisories' remediations with the vendor and plan the update; restrict network access to what the device needs.";
    /// SIP scanner.
    pub const SIP_SCANNER: &str = "A SIP attack tool is probing for phones and call servers to register to or place toll-fraud calls through: from the internet, block SIP at the edge except from the carrier's addresses; from inside, find who runs it and isolate the host. Check that no extension has a default or weak password.";
    /// Legacy OS.
    pub const WIFI_WEP: &str = "WEP is broken (its key is recovered from captured traffic within minutes): move the network to WPA2/WPA3, Enterprise where the devices support it; devices that cannot do better belong on an isolated network allowed only the flows they need.";
    pub const WIFI_OPEN: &str = "An open network encrypts nothing over the air: move the device to a WPA2/WPA3 Enterprise network, or isolate it and encrypt its traffic end to end.";
    /// A second DHCP server.
    pub const ROGUE_DHCP: &str = "Find the device by its MAC (the switch's address table names its port) and unplug it (often a consumer router someone connected); turn on DHCP snooping on the switches so that only the site's servers' ports may answer; renew the leases of the clients it served.";
    pub const ROGUE_DHCP6: &str = "Find the device by its MAC (the switch's address table names its port) and take it off the network; turn on DHCPv6 Guard and RA Guard on the switches so that only the site's servers and routers may answer; where the site does not use IPv6, block DHCPv6 (UDP 546 and 547) at the access ports; then have the clients it answered renew their addresses and clear their DNS caches, and check the logins they made since for relaying (LDAP and SMB signing, Extended Protection stop it).";
    pub const ROGUE_ROUTER: &str = "Find the device by its MAC (the switch's address table names its port) and take it off the network, or stop it advertising (a Windows host sharing its connection, a consumer router); turn on RA Guard on the switches so that only the routers' ports may send Router Advertisements; where the site does not use IPv6, filter Router Advertisements at the access ports.";
    pub const LEGACY_OS: &str = "The operating system no longer gets security updates: ask the vendor for a supported version; until then isolate the device and allow only the flows it needs.";
}

/// Cipher suites no one should negotiate: NULL, EXPORT, RC4, DES, 3DES and
/// anonymous key exchange (IANA TLS Cipher Suites registry).
fn weak_cipher(code: u16) -> Option<&'static str> {
    Some(match code {
        0x0000..=0x0002 | 0x002C..=0x002E | 0x003B | 0xC001 | 0xC006 | 0xC00B | 0xC010 | 0xC015 => {
            "NULL encryption"
        }
        0x0003 | 0x0006 | 0x0008 | 0x000B | 0x000E | 0x0011 | 0x0014 | 0x0017 | 0x0019 => "EXPORT",
        0x0004 | 0x0005 | 0x0018 | 0x008A | 0x008E | 0x0092 | 0xC002 | 0xC007 | 0xC00C | 0xC011
        | 0xC016 => "RC4",
        0x0009 | 0x000C | 0x000F | 0x0012 | 0x0015 | 0x001A => "DES",
        0x000A | 0x000D | 0x0010 | 0x0013 | 0x0016 | 0x001B | 0x008B | 0x008F | 0x0093 | 0xC003
        | 0xC008 | 0xC00D | 0xC012 | 0xC017 => "3DES",
        0x0034 | 0x003A | 0x006C | 0x006D | 0x00A6 | 0x00A7 | 0xC018 | 0xC019 => {
            "anonymous key exchange"
        }
        _ => return None,
    })
}

/// An RFC 3339 time as the report writes it (`2026-01-01T00:00:00.123Z`)
/// as ns since the epoch; 0 when it cannot be read.
pub fn rfc3339_ns(t: &str) -> i64 {
    wardwatch_model::time::parse_rfc3339_ns(t).unwrap_or(0)
}

/// A device's time span as ns.
fn device_span(d: &Device) -> (i64, i64) {
    (rfc3339_ns(&d.first_seen), rfc3339_ns(&d.last_seen))
}

/// An X.509 UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`) as ns since the epoch.
pub fn x509_time_ns(t: &str) -> Option<i64> {
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let (y, rest) = match digits.len() {
        12 => {
            let yy: i64 = digits.get(..2)?.parse().ok()?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                digits.get(2..)?,
            )
        }
        14 => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    let n = |a: usize| -> Option<i64> { rest.get(a..a + 2)?.parse().ok() };
    let days = wardwatch_model::time::days_from_civil(y, n(0)?, n(2)?);
    Some(((days * 86_400) + n(4)? * 3600 + n(6)? * 60 + n(8)?) * 1_000_000_000)
}

fn origin(o: &Observation) -> Option<(u16, u64, i64)> {
    Some((o.origin.input, o.origin.frame, o.origin.ts_ns))
}

fn span(o: &Observation) -> (i64, i64) {
    (o.origin.ts_ns, o.origin.ts_ns)
}

/// A finding about the local side of a conversation with the internet,
/// the external end its peer.
fn on_local(ctx: &Context<'_>, o: &Observation, r: Raise) -> Raise {
    let (subject, peer) = if ctx.is_public(&o.server.0) {
        (o.client.0, o.server.0)
    } else {
        (o.server.0, o.client.0)
    };
    Raise {
        subject,
        peer: Some(peer),
        ..r
    }
}

/// Whether the observation's server is an internet address a site host
/// reached: the server's own posture (its banners, its TLS) is not the
/// site's to mend.
fn internet_server(ctx: &Context<'_>, o: &Observation) -> bool {
    ctx.is_public(&o.server.0) && ctx.is_local(&o.client.0)
}

/// A finding about an internet server, told of the site host that reached
/// it (as [`on_local`] puts it) and naming the server: the credential it
/// sent across the internet, the weak TLS its connection used.
fn on_site_client(ctx: &Context<'_>, o: &Observation, r: Raise) -> Raise {
    let summary = format!("{} (internet server {})", r.summary, o.server.0);
    Raise {
        summary,
        ..on_local(ctx, o, r)
    }
}

/// A finding about a server: as it is, or (a credential sent to an
/// internet server) told of the site host that sent it.
fn toward_site(ctx: &Context<'_>, o: &Observation, r: Raise) -> Raise {
    if internet_server(ctx, o) {
        on_site_client(ctx, o, r)
    } else {
        r
    }
}

/// Raises a finding about a server's TLS: on a site server as it is; for
/// an internet server, on the site host that reached it when that is a
/// medical device (its vendor channel is weakly protected), and not at
/// all otherwise (a browser visiting an old web site).
fn server_tls(ctx: &Context<'_>, o: &Observation, r: Raise, out: &mut Findings<'_>) {
    if !internet_server(ctx, o) {
        out.raise(r);
    } else if ctx.is_medical(&o.client.0) {
        out.raise(on_site_client(ctx, o, r));
    }
}

/// A finding about the server side of an observation, the client its peer.
fn on_server(
    o: &Observation,
    kind: &'static str,
    rule: impl Into<std::borrow::Cow<'static, str>>,
    severity: Severity,
    summary: String,
    detail: String,
    remediation: &'static str,
) -> Raise {
    Raise {
        kind,
        rule: rule.into(),
        severity,
        subject: o.server.0,
        peer: Some(o.client.0),
        peers: Vec::new(),
        peer_count: None,
        summary,
        detail,
        origin: origin(o),
        span: span(o),
        count: 1,
        remediation,
    }
}

fn proto_label(p: &str) -> &str {
    match p {
        "telnet" => "Telnet",
        "ftp" => "FTP",
        "mqtt" => "MQTT",
        "smtp" => "SMTP",
        "pop3" => "POP3",
        "imap" => "IMAP",
        "ldap" => "LDAP simple bind",
        "http-basic" => "HTTP Basic",
        "http-form" => "HTTP form",
        "rtsp-basic" => "RTSP Basic",
        other => other,
    }
}

/// Runs the posture rules over the observations.
pub fn run(ctx: &Context<'_>, observations: &[Observation], out: &mut Findings<'_>) {
    // Agents seen answering a manager with a default community: they
    // accept it. (An agent asked with a wrong community stays silent.)
    let answered: std::collections::HashSet<(IpAddr, IpAddr)> = observations
        .iter()
        .filter_map(|o| match &o.kind {
            ObsKind::Snmp(s)
                if s.pdu == "response"
                    && s.community
                        .as_deref()
                        .is_some_and(|c| c.contains("(default)")) =>
            {
                Some(snmp_ends(o, &s.pdu))
            }
            _ => None,
        })
        .collect();
    // RDP servers (address and port), whose TLS certificates are their own.
    let rdp_servers: std::collections::HashSet<(IpAddr, u16)> = observations
        .iter()
        .filter(|o| matches!(o.kind, ObsKind::Rdp(_)))
        .map(|o| o.server)
        .collect();
    for o in observations {
        match &o.kind {
            ObsKind::Login {
                protocol,
                user,
                password_present,
                success,
                encrypted,
                password,
                ..
            } => login(
                ctx,
                o,
                protocol,
                user,
                *password_present,
                *success,
                *encrypted,
                password,
                out,
            ),
            // An internet server's banners are its own business.
            ObsKind::Banner { .. } | ObsKind::SmbDialect { .. } if internet_server(ctx, o) => {}
            ObsKind::Banner { protocol, text } if protocol == "telnet" => out.raise(on_server(
                o,
                "insecure-protocol",
                "telnet-service",
                Severity::Medium,
                format!("Telnet service offered ({})", short(text)),
                format!("Telnet banner: {}", short(text)),
                remedy::TELNET,
            )),
            ObsKind::Banner { protocol, text } if protocol == "ftp" => out.raise(on_server(
                o,
                "insecure-protocol",
                "ftp-service",
                Severity::Low,
                format!("FTP service offered ({})", short(text)),
                format!("FTP banner: {}", short(text)),
                remedy::FTP,
            )),
            ObsKind::Snmp(s) => {
                if let Some(c) = &s.community {
                    snmp(o, &s.version, c, &s.pdu, &answered, out);
                }
            }
            ObsKind::SmbDialect {
                dialect,
                smb1: true,
            } => out.raise(on_server(
                o,
                "insecure-protocol",
                "smbv1",
                Severity::High,
                "SMBv1 offered (the protocol of EternalBlue/WannaCry)".into(),
                format!("SMB negotiate: {dialect}"),
                remedy::SMB1,
            )),
            ObsKind::Tftp(t) if !internet_server(ctx, o) => tftp(ctx, o, t, out),
            ObsKind::Vnc(f) if !internet_server(ctx, o) => vnc(ctx, o, f, out),
            ObsKind::Rdp(f) if !internet_server(ctx, o) => rdp(o, f, out),
            ObsKind::TlsServerHello { version, cipher } => tls(ctx, o, version, cipher, out),
            ObsKind::TlsCertificate(c) => certificate(
                ctx,
                o,
                &c.subject,
                &c.not_after,
                // Every RDP server makes its own certificate unless given
                // one: its security is judged from its RDP answer.
                c.self_signed && !rdp_servers.contains(&o.server),
                c.rsa_bits,
                out,
            ),
            ObsKind::DicomAssociate(fact) if fact.request => {
                let wardwatch_proto::DicomAssociateFact {
                    called_ae,
                    calling_ae,
                    user_passcode_present,
                    user_identity,
                    ..
                } = &**fact;
                if ctx.is_public(&o.server.0) || ctx.is_public(&o.client.0) {
                    let r = on_server(
                        o,
                        "insecure-protocol",
                        "dicom-cleartext-external",
                        Severity::High,
                        format!(
                            "DICOM in the clear across the internet: {calling_ae} → {called_ae}"
                        ),
                        format!("A-ASSOCIATE-RQ {calling_ae} → {called_ae}"),
                        remedy::CLINICAL_EXTERNAL,
                    );
                    out.raise(on_local(ctx, o, r));
                }
                if *user_passcode_present {
                    out.raise(on_server(
                        o,
                        "cleartext-credentials",
                        "dicom-user-identity-cleartext",
                        Severity::Medium,
                        format!(
                            "DICOM user identity with passcode sent in the clear by {calling_ae} (user {})",
                            user_identity.as_deref().unwrap_or("?")
                        ),
                        "A-ASSOCIATE-RQ user identity: username and passcode (masked)".into(),
                        remedy::DICOM_PASSCODE,
                    ));
                }
            }
            // A request (not an answer) from an attack tool.
            ObsKind::Sip(f) => {
                if let (Some(method), Some(tool)) =
                    (&f.method, f.user_agent.as_deref().and_then(sip_scanner))
                {
                    out.raise(sip_scan(ctx, o, method, tool));
                }
            }
            ObsKind::Hl7Message(m) if ctx.is_public(&o.server.0) || ctx.is_public(&o.client.0) => {
                out.raise(on_local(
                    ctx,
                    o,
                    on_server(
                        o,
                        "insecure-protocol",
                        "hl7-cleartext-external",
                        Severity::High,
                        format!(
                            "HL7 in the clear across the internet: {} → {}",
                            m.sending_application, m.receiving_application
                        ),
                        format!("HL7 {}^{}", m.message_type, m.trigger),
                        remedy::CLINICAL_EXTERNAL,
                    ),
                ))
            }
            _ => {}
        }
    }
    rogue_dhcp(ctx, observations, out);
    rogue_router(observations, out);
}

/// What a DHCP server's answer gives: its server, the network (its
/// address and prefix length: from the mask in DHCP, the address's /64 in
/// DHCPv6), router and DNS server.
#[derive(Clone, Copy, PartialEq, Eq)]
struct DhcpGift {
    server: IpAddr,
    network: Option<(IpAddr, u8)>,
    router: Option<IpAddr>,
    dns: Option<IpAddr>,
    /// The address given.
    given: Option<IpAddr>,
    /// DHCPv6: the address given is link-local, which hosts form
    /// themselves and no server hands out (mitm6 does).
    link_local: bool,
}

impl DhcpGift {
    /// Two servers send a client different ways: another network or
    /// another router (DNS alone may differ between partners).
    fn differs(&self, o: &DhcpGift) -> bool {
        fn apart<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
            matches!((a, b), (Some(x), Some(y)) if x != y)
        }
        apart(self.network, o.network) || apart(self.router, o.router)
    }

    fn text(&self) -> String {
        let mut t = String::new();
        if let Some((net, len)) = self.network {
            t += &format!("{net}/{len}");
        }
        for (what, a) in [("router", self.router), ("DNS", self.dns)] {
            if let Some(a) = a {
                t += &format!("{}{what} {a}", if t.is_empty() { "" } else { ", " });
            }
        }
        t
    }
}

/// One server's answer to one client: the client (its MAC; in DHCPv6 the
/// MAC of its DUID, else the DUID) and what it is given.
struct DhcpAnswer<'o> {
    client: &'o str,
    gift: DhcpGift,
    o: &'o Observation,
}

/// The server's end of an answer: the endpoint on `port`.
fn server_end(o: &Observation, port: u16) -> Option<IpAddr> {
    if o.client.1 == port {
        Some(o.client.0)
    } else if o.server.1 == port {
        Some(o.server.0)
    } else {
        None
    }
}

/// A DHCP OFFER or ACK.
fn dhcp_answer(o: &Observation) -> Option<DhcpAnswer<'_>> {
    let ObsKind::Dhcp(d) = &o.kind else {
        return None;
    };
    let (Some(view), 2 | 5) = (d.server, d.message_type) else {
        return None;
    };
    // The server: its identifier, else the sender (from port 67).
    let server = view.server_id.or_else(|| server_end(o, 67))?;
    let network = match (d.address, view.subnet_mask) {
        (Some(IpAddr::V4(a)), Some(IpAddr::V4(m))) => Some((
            IpAddr::V4((a.to_bits() & m.to_bits()).into()),
            m.to_bits().leading_ones() as u8,
        )),
        _ => None,
    };
    Some(DhcpAnswer {
        client: d.client_mac.as_str(),
        gift: DhcpGift {
            server,
            network,
            router: view.router,
            dns: view.dns,
            given: d.address,
            link_local: false,
        },
        o,
    })
}

/// A DHCPv6 Advertise or Reply that gives an address or a DNS server.
fn dhcp6_answer(o: &Observation) -> Option<DhcpAnswer<'_>> {
    let ObsKind::Dhcp6(d) = &o.kind else {
        return None;
    };
    let view = d.server.as_ref()?;
    let client = d.duid_mac.as_deref().or(d.duid.as_deref())?;
    let server = server_end(o, 547)?;
    let address = match view.address {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    };
    if address.is_none() && view.dns.is_none() {
        return None;
    }
    Some(DhcpAnswer {
        client,
        gift: DhcpGift {
            server,
            network: address.map(|a| (IpAddr::V6((a.to_bits() & !((1u128 << 64) - 1)).into()), 64)),
            router: None,
            dns: view.dns,
            given: view.address,
            link_local: address.is_some_and(|a| a.is_unicast_link_local()),
        },
        o,
    })
}

/// Rogue DHCP and DHCPv6 servers: two servers answering the same client
/// (its MAC) with different networks or routers. A failover pair answers
/// alike; the servers of other VLANs never answer the same client. The one
/// that served fewer clients (else the later) is the rogue: a consumer
/// router plugged in, or an attacker handing out itself as router or DNS.
/// A DHCPv6 server handing out link-local addresses is one on its own
/// (mitm6: no server gives those; it names itself the DNS server to answer
/// the clients' lookups). High; critical once it answered a medical device.
fn rogue_dhcp(ctx: &Context<'_>, observations: &[Observation], out: &mut Findings<'_>) {
    let v4: Vec<_> = observations.iter().filter_map(dhcp_answer).collect();
    rogue_servers(ctx, &v4, false, out);
    let v6: Vec<_> = observations.iter().filter_map(dhcp6_answer).collect();
    rogue_servers(ctx, &v6, true, out);
}

/// [`rogue_dhcp`] on one protocol's answers.
fn rogue_servers(ctx: &Context<'_>, answers: &[DhcpAnswer<'_>], v6: bool, out: &mut Findings<'_>) {
    use std::collections::{BTreeMap, BTreeSet};
    // Per client, each server's first answer; per server, its clients, its
    // answers and its first answer.
    let mut by_client: BTreeMap<&str, Vec<(DhcpGift, &Observation)>> = BTreeMap::new();
    let mut served: BTreeMap<IpAddr, (BTreeSet<&str>, u64, &Observation)> = BTreeMap::new();
    // Servers that handed out a link-local address: their first such answer.
    let mut link_local: BTreeMap<IpAddr, (DhcpGift, &Observation)> = BTreeMap::new();
    for a in answers {
        let (gift, o) = (a.gift, a.o);
        let e = served
            .entry(gift.server)
            .or_insert_with(|| (BTreeSet::new(), 0, o));
        e.0.insert(a.client);
        e.1 += 1;
        if gift.link_local {
            link_local.entry(gift.server).or_insert((gift, o));
        }
        let answers = by_client.entry(a.client).or_default();
        if !answers.iter().any(|(g, _)| g.server == gift.server) {
            answers.push((gift, o));
        }
    }
    // Pairs of servers that sent one client different ways: (rogue, the
    // other), with the rogue's answer and the other's.
    let mut rogues: BTreeMap<IpAddr, (DhcpGift, &Observation, BTreeMap<IpAddr, DhcpGift>)> =
        BTreeMap::new();
    for (server, (gift, o)) in link_local {
        let first = served.get(&server).map_or(o, |s| s.2);
        rogues.insert(server, (gift, first, BTreeMap::new()));
    }
    for answers in by_client.values() {
        for (i, (a, ao)) in answers.iter().enumerate() {
            for (b, bo) in answers.iter().skip(i + 1) {
                if !a.differs(b) {
                    continue;
                }
                let weight = |g: &DhcpGift, o: &Observation| {
                    let n = served.get(&g.server).map_or(0, |s| s.0.len());
                    // A server giving link-local addresses first, then the
                    // one that served fewer clients, then the later answer.
                    (g.link_local, std::cmp::Reverse(n), o.seen_at(), g.server)
                };
                let ((rogue, ro), (other, _)) = if weight(a, ao) > weight(b, bo) {
                    ((a, ao), (b, bo))
                } else {
                    ((b, bo), (a, ao))
                };
                let first = served.get(&rogue.server).map_or(*ro, |s| s.2);
                rogues
                    .entry(rogue.server)
                    .or_insert_with(|| (*rogue, first, BTreeMap::new()))
                    .2
                    .insert(other.server, *other);
            }
        }
    }
    let (rule, protocol) = if v6 {
        ("rogue-dhcpv6-server", "DHCPv6")
    } else {
        ("rogue-dhcp-server", "DHCP")
    };
    for (server, (gift, first, others)) in rogues {
        let (clients, answers) = served.get(&server).map_or((1, 1), |s| (s.0.len(), s.1));
        // Critical once a medical device took (or was offered) its lease.
        let medical = served.get(&server).is_some_and(|s| {
            ctx.devices().iter().any(|d| {
                d.mac.as_deref().is_some_and(|m| s.0.contains(m))
                    && (d.medical == Some(true) || crate::is_medical_category(&d.category))
            })
        });
        let counted = format!(
            "{answers} answers to {clients} client{}",
            if clients == 1 { "" } else { "s" }
        );
        let summary = if gift.link_local {
            let also = if others.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} also answered them",
                    others
                        .keys()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            };
            format!(
                "Rogue DHCPv6 server: {server} hands clients link-local addresses ({}), which no DHCPv6 server gives, and names {} their DNS server ({counted}{also}): the way of mitm6, which then answers their name lookups (WPAD, the domain's servers) to take their traffic and relay their Windows logins",
                gift.given.map_or(String::new(), |a| format!("{a}, first")),
                match gift.dns {
                    Some(d) if d == server => "itself".to_string(),
                    Some(d) => d.to_string(),
                    None => "no one".to_string(),
                },
            )
        } else {
            let others_text: Vec<String> = others
                .iter()
                .map(|(s, g)| format!("{s} ({})", g.text()))
                .collect();
            format!(
                "Rogue {protocol} server: {server} gives {} to clients that {} also answered ({counted}): a client taking its lease is sent to another network, router or resolver (a man in the middle, or a device cut off)",
                gift.text(),
                others_text.join(" and "),
            )
        };
        out.raise(Raise {
            kind: "man-in-the-middle",
            rule: rule.into(),
            severity: Severity::high_or_critical(medical),
            subject: server,
            // One finding per server as the servers it competed with are
            // met (in a live watch, one by one): they are its peers, not
            // part of its key.
            peer: None,
            peers: others.keys().copied().collect(),
            peer_count: None,
            summary,
            detail: format!("{protocol} answer from {server}"),
            origin: origin(first),
            span: span(first),
            count: answers,
            remediation: if v6 {
                remedy::ROGUE_DHCP6
            } else {
                remedy::ROGUE_DHCP
            },
        });
    }
}

/// One IPv6 router of a link, as its advertisements show it.
struct Router<'o> {
    source: IpAddr,
    prefixes: std::collections::BTreeSet<&'o str>,
    /// Its first advertisement giving a prefix.
    first: &'o Observation,
    /// Distinct advertisements giving prefixes (by their facts: each
    /// worker reports a fact once, and two may report one).
    adverts: std::collections::BTreeSet<Option<u64>>,
    /// The longest router lifetime, and the preference it came with.
    lifetime: (u16, &'o str),
}

/// Rogue IPv6 routers: on one link (VLAN), a router whose advertisements
/// give prefixes none of which the site's routers give (those the most
/// routers agree on, else the first seen): hosts taking its prefix and
/// route send their IPv6 traffic through it (THC-IPv6's fake_router6,
/// bettercap's ndp.spoof, a consumer router or a Windows host sharing its
/// connection). Routers agreeing on a prefix (a redundant pair, VRRPv3)
/// and advertisements without prefixes stay quiet. High.
fn rogue_router(observations: &[Observation], out: &mut Findings<'_>) {
    use std::collections::BTreeMap;
    let mut links: BTreeMap<Option<u16>, BTreeMap<&str, Router<'_>>> = BTreeMap::new();
    for o in observations {
        let (ObsKind::RouterAdvert(f), Some(mac)) = (&o.kind, o.mac.as_deref()) else {
            continue;
        };
        if f.prefixes.is_empty() {
            continue;
        }
        let r = links
            .entry(f.vlan)
            .or_default()
            .entry(mac)
            .or_insert(Router {
                source: f.source,
                prefixes: Default::default(),
                first: o,
                adverts: Default::default(),
                lifetime: (0, "medium"),
            });
        r.prefixes.extend(f.prefixes.iter().map(String::as_str));
        if o.seen_at() < r.first.seen_at() {
            r.first = o;
        }
        r.adverts.insert(o.kind.repeat_key());
        if f.lifetime >= r.lifetime.0 {
            r.lifetime = (f.lifetime, f.preference.as_str());
        }
    }
    for (vlan, routers) in links {
        let agree = |r: &Router<'_>| {
            routers
                .values()
                .filter(|o| !o.prefixes.is_disjoint(&r.prefixes))
                .count()
        };
        // The site's: agreed on by the most routers, else seen first.
        let Some(site) = routers
            .values()
            .max_by_key(|r| (agree(r), std::cmp::Reverse(r.first.seen_at())))
        else {
            continue;
        };
        let (site_routers, site_prefixes): (Vec<IpAddr>, Vec<&str>) = (
            routers
                .values()
                .filter(|r| !r.prefixes.is_disjoint(&site.prefixes))
                .map(|r| r.source)
                .collect(),
            site.prefixes.iter().copied().collect(),
        );
        for (mac, r) in &routers {
            if !r.prefixes.is_disjoint(&site.prefixes) {
                continue;
            }
            let prefixes: Vec<&str> = r.prefixes.iter().copied().collect();
            let route = match r.lifetime {
                (0, _) => String::new(),
                (l, p) => format!(" and itself as default router ({l} s, preference {p})"),
            };
            out.raise(Raise {
                kind: "man-in-the-middle",
                rule: "rogue-router-advertisement".into(),
                severity: Severity::High,
                subject: r.source,
                peer: None,
                peers: site_routers.clone(),
                peer_count: None,
                summary: format!(
                    "Rogue IPv6 router: {} ({mac}) advertises {}{route}{}, where the site's router{} {} advertise{} {}: hosts taking its prefix and route send their IPv6 traffic through it (a man in the middle) or nowhere",
                    r.source,
                    prefixes.join(", "),
                    vlan.map(|v| format!(" on VLAN {v}")).unwrap_or_default(),
                    if site_routers.len() == 1 { "" } else { "s" },
                    site_routers
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if site_routers.len() == 1 { "s" } else { "" },
                    site_prefixes.join(", "),
                ),
                detail: format!("Router Advertisement from {}", r.source),
                origin: origin(r.first),
                span: span(r.first),
                count: r.adverts.len() as u64,
                remediation: remedy::ROGUE_ROUTER,
            });
        }
    }
}

/// The SIP attack tool a User-Agent names: SIPVicious (`friendly-scanner`
/// by default, or its own name), sipcli, VaxSIPUserAgent, sundayddr, pplsip,
/// iWar, smap and sip-scan, as toll-fraud scanners send them.
fn sip_scanner(ua: &str) -> Option<&str> {
    let l = ua.trim().to_ascii_lowercase();
    const TOOLS: [&str; 9] = [
        "friendly-scanner",
        "sipvicious",
        "sipcli",
        "vaxsipuseragent",
        "sundayddr",
        "pplsip",
        "iwar",
        "smap",
        "sip-scan",
    ];
    TOOLS.iter().any(|t| l.starts_with(t)).then(|| ua.trim())
}

/// A SIP request from an attack tool: a scan by its sender (the targets
/// gathered as its peers), high from inside the site, medium from the
/// internet (its requests reach the site's SIP service).
fn sip_scan(ctx: &Context<'_>, o: &Observation, method: &str, tool: &str) -> Raise {
    let scanner = o.subject_ip();
    let target = if scanner == o.client.0 {
        o.server.0
    } else {
        o.client.0
    };
    let outside = ctx.is_public(&scanner);
    Raise {
        kind: "port-scan",
        rule: "sip-scanner".into(),
        severity: if outside {
            Severity::Medium
        } else {
            Severity::High
        },
        subject: scanner,
        peer: Some(target),
        peers: vec![target],
        peer_count: None,
        summary: if outside {
            format!(
                "SIP scanner '{}' from the internet reaches the site's SIP service",
                short(tool)
            )
        } else {
            format!("SIP scanner '{}' run from a site host", short(tool))
        },
        detail: format!("SIP {method} with User-Agent '{}'", short(tool)),
        origin: origin(o),
        span: span(o),
        count: 1,
        remediation: remedy::SIP_SCANNER,
    }
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

#[allow(clippy::too_many_arguments)]
fn login(
    ctx: &Context<'_>,
    o: &Observation,
    protocol: &str,
    user: &str,
    password_present: bool,
    success: Option<bool>,
    encrypted: bool,
    password: &PasswordCheck,
    out: &mut Findings<'_>,
) {
    if encrypted {
        return;
    }
    // A credential sent to an internet server is the site host's finding
    // (it crossed the internet in the clear); the server's service, and
    // anonymous logins to public mirrors, are not the site's.
    let internet = internet_server(ctx, o);
    if protocol == "telnet" && !internet {
        // A Telnet login proves the service even without a banner.
        out.raise(on_server(
            o,
            "insecure-protocol",
            "telnet-service",
            Severity::Medium,
            "Telnet service offered".into(),
            "Telnet login prompt".into(),
            remedy::TELNET,
        ));
    }
    let p = proto_label(protocol);
    let outcome = match success {
        Some(true) => "accepted",
        Some(false) => "refused",
        None => "outcome not seen",
    };
    let user_shown = if user.is_empty() { "(no user)" } else { user };
    if protocol == "ftp" && is_anonymous(user) {
        if !internet {
            out.raise(on_server(
                o,
                "insecure-protocol",
                "ftp-anonymous",
                Severity::Low,
                "Anonymous FTP login".into(),
                format!("FTP USER {user} ({outcome})"),
                remedy::FTP_ANON,
            ));
        }
        return;
    }
    let medical = ctx.is_medical(&o.server.0);
    // A refused attempt proves nothing about the device's own password, but
    // the password still crossed the network in the clear.
    if success == Some(false) {
        let weak = matches!(password, PasswordCheck::Common | PasswordCheck::Empty);
        let tried = match password {
            PasswordCheck::VendorDefault { entry, .. } => {
                format!(" (tried vendor default {entry})")
            }
            PasswordCheck::Common => " (a common password)".into(),
            PasswordCheck::Empty => " (an empty password)".into(),
            _ => String::new(),
        };
        if !password_present && !weak {
            return;
        }
        let rule = if weak {
            "weak-password".to_string()
        } else {
            format!("{protocol}-cleartext-login")
        };
        out.raise(toward_site(
            ctx,
            o,
            on_server(
                o,
                "cleartext-credentials",
                rule,
                if weak {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!("{p} login as {user_shown} with the password in the clear{tried}; refused"),
                format!(
                    "{p} login user {user_shown}, password in the clear (masked){tried}; refused"
                ),
                remedy::cleartext_login(protocol),
            ),
        ));
        return;
    }
    match password {
        PasswordCheck::VendorDefault { entry, matches } => {
            let sev = if success == Some(true) || medical {
                Severity::Critical
            } else {
                Severity::High
            };
            let which = if *matches > 1 {
                format!("a documented default of {matches} products, e.g. {entry}")
            } else {
                format!("the documented default of {entry}")
            };
            out.raise(toward_site(
                ctx,
                o,
                on_server(
                    o,
                    "default-credentials",
                    format!("{protocol}-default-login"),
                    sev,
                    format!(
                    "{p} login as {user_shown} with a vendor default password ({which}); {outcome}"
                ),
                    format!("{p} login user {user_shown}, password is {which} (masked); {outcome}"),
                    remedy::DEFAULT_LOGIN,
                ),
            ));
        }
        PasswordCheck::Common | PasswordCheck::Empty => {
            let what = if *password == PasswordCheck::Empty {
                "an empty password"
            } else {
                "a common password"
            };
            out.raise(toward_site(
                ctx,
                o,
                on_server(
                    o,
                    "cleartext-credentials",
                    "weak-password",
                    Severity::Critical,
                    format!("{p} login as {user_shown} in the clear with {what}; {outcome}"),
                    format!("{p} login user {user_shown}, {what} (masked); {outcome}"),
                    remedy::WEAK_PASSWORD,
                ),
            ));
        }
        PasswordCheck::Other | PasswordCheck::Unknown => {
            if !password_present {
                return;
            }
            out.raise(toward_site(
                ctx,
                o,
                on_server(
                    o,
                    "cleartext-credentials",
                    format!("{protocol}-cleartext-login"),
                    Severity::High,
                    format!("{p} login as {user_shown} with the password in the clear; {outcome}"),
                    format!(
                    "{p} login user {user_shown}, password sent in the clear (masked); {outcome}"
                ),
                    remedy::cleartext_login(protocol),
                ),
            ));
        }
    }
}

/// A VNC handshake: a server that takes clients in without a password, a
/// password that is a default or common one, and VNC offered without
/// encryption at all (every security type it offers sends the screen in
/// the clear).
fn vnc(
    ctx: &Context<'_>,
    o: &Observation,
    f: &wardwatch_proto::obs::VncFact,
    out: &mut Findings<'_>,
) {
    let medical = ctx.is_medical(&o.server.0);
    let desktop = f
        .desktop
        .as_deref()
        .map(|d| format!(", desktop \"{}\"", short(d)))
        .unwrap_or_default();
    if f.unauthenticated() {
        out.raise(on_server(
            o,
            "insecure-protocol",
            "vnc-no-auth",
            Severity::high_or_critical(medical),
            format!(
                "VNC server lets clients in without a password ({}{desktop})",
                f.version
            ),
            format!("VNC security type None accepted ({}{desktop})", f.version),
            remedy::VNC_NO_AUTH,
        ));
    }
    let outcome = match f.accepted {
        Some(true) => "accepted",
        Some(false) => "refused",
        None => "outcome not seen",
    };
    let password = match &f.password {
        PasswordCheck::VendorDefault { entry, matches } => Some((
            "vnc-default-login",
            if *matches > 1 {
                format!("a documented default of {matches} products, e.g. {entry}")
            } else {
                format!("the documented default of {entry}")
            },
        )),
        PasswordCheck::Common => Some(("vnc-weak-password", "a common password".to_string())),
        PasswordCheck::Empty => Some(("vnc-weak-password", "an empty password".to_string())),
        _ => None,
    };
    if let Some((rule, which)) = password {
        // A refused guess proves nothing about the server's password.
        if f.accepted != Some(false) {
            out.raise(on_server(
                o,
                "default-credentials",
                rule,
                if f.accepted == Some(true) || medical {
                    Severity::Critical
                } else {
                    Severity::High
                },
                format!("VNC password is {which}; {outcome}"),
                format!("VNC Authentication response matches {which} (password masked); {outcome}"),
                remedy::VNC_PASSWORD,
            ));
        }
    }
    // Encrypted types: TLS, VeNCrypt, RA2/RA2ne, Apple's, UltraVNC's.
    // (A server open to all has its finding above.)
    let encrypted = |t: &u8| matches!(t, 5 | 6 | 18 | 19 | 30 | 113);
    if !f.unauthenticated() && !f.offered.is_empty() && !f.offered.iter().any(encrypted) {
        out.raise(on_server(
            o,
            "insecure-protocol",
            "vnc-service",
            Severity::Low,
            format!("VNC service offered without encryption ({})", f.version),
            format!(
                "VNC {} offers {}",
                f.version,
                f.offered
                    .iter()
                    .map(|t| wardwatch_proto::obs::vnc_security_name(*t))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            remedy::VNC,
        ));
    }
}

/// An RDP server's answer to a connection request: Standard RDP Security
/// (chosen, the only one it allows, or a server too old to negotiate), or
/// TLS without Network Level Authentication. A server that chose NLA, or
/// refused for want of it, raises nothing; neither does a request no one
/// answered.
fn rdp(o: &Observation, f: &wardwatch_proto::obs::RdpFact, out: &mut Findings<'_>) {
    let (rule, severity, summary, remediation) = if f.standard_security() {
        (
            "rdp-standard-security",
            Severity::Medium,
            "RDP server uses Standard RDP Security (no TLS, no server authentication)",
            remedy::RDP_STANDARD,
        )
    } else if f.selected == Some(1) {
        (
            "rdp-no-nla",
            Severity::Low,
            "RDP server does not require Network Level Authentication",
            remedy::RDP_NO_NLA,
        )
    } else {
        return;
    };
    let asked = match f.requested {
        None => "no security protocol".to_string(),
        Some(0) => "Standard RDP Security only".to_string(),
        Some(r) => {
            let names: Vec<&str> = [
                (1, "TLS"),
                (2, "NLA"),
                (4, "RDSTLS"),
                (8, "NLA-EX"),
                (16, "Azure AD"),
            ]
            .iter()
            .filter(|(bit, _)| r & bit != 0)
            .map(|(_, n)| *n)
            .collect();
            names.join(", ")
        }
    };
    let security = f.security().unwrap_or_default();
    out.raise(on_server(
        o,
        "insecure-protocol",
        rule,
        severity,
        summary.into(),
        format!("RDP client asked for {asked}; server: {security}"),
        remediation,
    ));
}

/// The agent and the manager of an SNMP message: the agent answers on 161
/// and sends traps from anywhere to 162.
fn snmp_ends(o: &Observation, pdu: &str) -> (IpAddr, IpAddr) {
    if o.server.1 == 162 || pdu.contains("trap") || pdu.contains("Trap") {
        (o.client.0, o.server.0)
    } else {
        (o.server.0, o.client.0)
    }
}

/// An SNMP message with a community. A default community is the agent's
/// weakness when the agent uses it: it answers with it or sends traps with
/// it. Only asked with it (a monitoring server or a scanner trying
/// "public" on every address), with no answer seen, it is the cleartext
/// community's low finding: most such agents ignore it.
fn snmp(
    o: &Observation,
    version: &str,
    community: &str,
    pdu: &str,
    answered: &std::collections::HashSet<(IpAddr, IpAddr)>,
    out: &mut Findings<'_>,
) {
    let (agent, manager) = snmp_ends(o, pdu);
    let default = community.contains("(default)");
    // (An inform, like a trap, is the agent using the community itself.)
    let asked = matches!(
        pdu,
        "get-request" | "get-next-request" | "get-bulk-request" | "set-request"
    );
    let unanswered = asked && !answered.contains(&(agent, manager));
    let (kind, rule, sev, summary, remediation) = if default && unanswered {
        let name = community.split(' ').next().unwrap_or("public");
        (
            "insecure-protocol",
            "snmp-v1-v2c",
            Severity::Low,
            format!("SNMP {version} asked with the default community \"{name}\" (no answer seen)"),
            remedy::SNMP_V12,
        )
    } else if default {
        let name = community.split(' ').next().unwrap_or("public");
        (
            "default-credentials",
            "snmp-default-community",
            Severity::High,
            format!("SNMP {version} with the default community \"{name}\""),
            remedy::SNMP_DEFAULT,
        )
    } else {
        (
            "insecure-protocol",
            "snmp-v1-v2c",
            Severity::Low,
            format!("SNMP {version}: community strings cross the network in the clear"),
            remedy::SNMP_V12,
        )
    };
    out.raise(Raise {
        kind,
        rule: rule.into(),
        severity: sev,
        subject: agent,
        peer: Some(manager),
        peers: Vec::new(),
        peer_count: None,
        summary,
        detail: format!("SNMP {version} {pdu}, community {community}"),
        origin: origin(o),
        span: span(o),
        count: 1,
        remediation,
    });
}

/// A TFTP request its server answered. The answer comes from another port
/// of the server, to the request's source port: a flow of its own, found
/// in the digest (or, for an error sent from port 69, the request's flow
/// answered). Data both ways on it is a transfer (TFTP acknowledges every
/// block; an error is not answered): a write the server took is worse than
/// a server offering its files. A request nobody answered raises nothing.
fn tftp(ctx: &Context<'_>, o: &Observation, t: &TftpRequestFact, out: &mut Findings<'_>) {
    let (client, server) = (o.client.0, o.server.0);
    let pairs = &ctx.digest().pairs;
    let reply = pairs.get(&PairKey {
        client: server,
        server: client,
        proto: 17,
        port: o.client.1,
    });
    let at_69 = pairs.get(&PairKey {
        client,
        server,
        proto: 17,
        port: 69,
    });
    let answered_at_69 = at_69.is_some_and(|p| p.answered > 0);
    if reply.is_none() && !answered_at_69 {
        return;
    }
    let transfer = reply.is_some_and(|p| p.payload[0] > 0 && p.payload[1] > 0);
    let file = format!("a {}", t.file());
    let mut detail = format!("TFTP {} request, mode {}", t.verb(), t.mode);
    if !t.options.is_empty() {
        detail += &format!(", options {}", t.options.join(", "));
    }
    let (rule, severity, summary) = match (t.write, transfer) {
        (true, true) => (
            "tftp-write",
            Severity::Medium,
            format!("TFTP server took a write without authentication: {client} uploaded {file}"),
        ),
        (false, true) => (
            "tftp-service",
            Severity::Low,
            format!("TFTP server offered files without authentication: {client} read {file}"),
        ),
        (_, false) => (
            "tftp-service",
            Severity::Low,
            format!(
                "TFTP server answering (no authentication): {client} asked to {} {file}",
                t.verb()
            ),
        ),
    };
    out.raise(on_server(
        o,
        "insecure-protocol",
        rule,
        severity,
        summary,
        detail,
        remedy::TFTP,
    ));
}

fn tls(ctx: &Context<'_>, o: &Observation, version: &str, cipher: &str, out: &mut Findings<'_>) {
    let sev = match version {
        "SSL 2.0" | "SSL 3.0" => Some(Severity::High),
        "TLS 1.0" | "TLS 1.1" => Some(Severity::Medium),
        _ => None,
    };
    if let Some(sev) = sev {
        server_tls(
            ctx,
            o,
            on_server(
                o,
                "insecure-protocol",
                "tls-legacy-version",
                sev,
                format!("Server negotiated {version}"),
                format!("ServerHello {version}, cipher {cipher}"),
                remedy::TLS_OLD,
            ),
            out,
        );
    }
    let code = u16::from_str_radix(cipher.trim_start_matches("0x"), 16).ok();
    if let Some(why) = code.and_then(weak_cipher) {
        server_tls(
            ctx,
            o,
            on_server(
                o,
                "insecure-protocol",
                "tls-weak-cipher",
                Severity::Medium,
                format!("Server negotiated a weak cipher suite ({why}, {cipher})"),
                format!("ServerHello {version}, cipher {cipher}"),
                remedy::TLS_CIPHER,
            ),
            out,
        );
    }
}

fn certificate(
    ctx: &Context<'_>,
    o: &Observation,
    subject: &str,
    not_after: &str,
    self_signed: bool,
    rsa_bits: Option<u32>,
    out: &mut Findings<'_>,
) {
    if x509_time_ns(not_after).is_some_and(|t| t < o.origin.ts_ns) {
        server_tls(
            ctx,
            o,
            on_server(
                o,
                "insecure-protocol",
                "tls-expired-certificate",
                Severity::Medium,
                format!("Server certificate \"{subject}\" expired ({not_after})"),
                format!("Certificate {subject}, notAfter {not_after}"),
                remedy::TLS_CERT,
            ),
            out,
        );
    }
    if self_signed {
        server_tls(
            ctx,
            o,
            on_server(
                o,
                "insecure-protocol",
                "tls-self-signed-certificate",
                Severity::Low,
                format!("Server certificate \"{subject}\" is self-signed"),
                format!("Certificate {subject}, issuer = subject"),
                remedy::TLS_CERT,
            ),
            out,
        );
    }
    if let Some(bits) = rsa_bits.filter(|b| *b < 2048) {
        server_tls(
            ctx,
            o,
            on_server(
                o,
                "insecure-protocol",
                "tls-weak-key",
                Severity::Medium,
                format!("Server certificate \"{subject}\" has a {bits}-bit RSA key"),
                format!("Certificate {subject}, RSA {bits} bits"),
                remedy::TLS_CERT,
            ),
            out,
        );
    }
}

/// Known-exploited and known vulnerabilities the intel stage matched: one
/// finding per KEV CVE, one per device for the rest (VEX `not_affected` and
/// `fixed` statements take a CVE out).
fn vulnerability_rules(d: &Device, ip: IpAddr, out: &mut Findings<'_>) {
    let live: Vec<_> = d.vulnerabilities.iter().filter(|v| v.applies()).collect();
    let what = format!(
        "{} {}{}",
        d.vendor.as_deref().unwrap_or("?"),
        d.model.as_deref().unwrap_or("?"),
        d.firmware
            .as_deref()
            .map(|f| format!(" {f}"))
            .unwrap_or_default()
    );
    for v in live.iter().filter(|v| v.kev) {
        out.raise(Raise {
            kind: "known-exploited-vulnerability",
            rule: format!("kev:{}", v.id).into(),
            severity: if v.confidence >= 0.8 {
                Severity::Critical
            } else {
                Severity::High
            },
            subject: ip,
            peer: None,
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "{what}: {} is exploited in the wild (CISA KEV); match confidence {:.2}",
                v.id, v.confidence
            ),
            detail: v.match_reason.clone(),
            origin: None,
            span: device_span(d),
            count: 1,
            remediation: remedy::KEV,
        });
    }
    let rest: Vec<_> = live.iter().filter(|v| !v.kev).collect();
    if rest.is_empty() {
        return;
    }
    let top = rest
        .iter()
        .max_by(|a, b| a.cvss.unwrap_or(0.0).total_cmp(&b.cvss.unwrap_or(0.0)));
    let max = top.and_then(|v| v.cvss).unwrap_or(0.0);
    let sure = rest.iter().any(|v| v.confidence >= 0.8);
    let severity = match (max, sure) {
        (m, true) if m >= 9.0 => Severity::High,
        (m, _) if m >= 7.0 => Severity::Medium,
        _ => Severity::Low,
    };
    let mut advisories: Vec<&str> = rest
        .iter()
        .flat_map(|v| v.advisories.iter().map(String::as_str))
        .collect();
    advisories.sort();
    advisories.dedup();
    out.raise(Raise {
        kind: "vulnerability",
        rule: "advisory-match".into(),
        severity,
        subject: ip,
        peer: None,
        peers: Vec::new(),
        peer_count: None,
        summary: format!(
            "{what}: {} known vulnerabilities (highest CVSS {max:.1}; advisories {})",
            rest.len(),
            if advisories.is_empty() {
                "-".to_string()
            } else {
                advisories.join(", ")
            }
        ),
        detail: top
            .map(|v| format!("{}: {}", v.id, v.match_reason))
            .unwrap_or_default(),
        origin: None,
        span: device_span(d),
        count: rest.len() as u64,
        remediation: remedy::VULN,
    });
}

/// A device on (or an access point offering) a Wi-Fi network that
/// encrypts with WEP only, and a medical device on an open one (a guest
/// network's phones are not: open is its design), from the inventory's
/// `wifi` evidence ("SSID (security) BSSID …"). One finding per device.
fn wifi_rules(index: usize, d: &Device, out: &mut Findings<'_>) {
    let medical = d.medical == Some(true) || crate::is_medical_category(&d.category);
    for e in d.evidence.iter().filter(|e| e.source == "wifi") {
        let station = e.field == "station on";
        let v = &*e.value;
        let Some((network, security)) = wardwatch_proto::WifiFact::read_network(v) else {
            continue;
        };
        let (rule, severity, summary, remediation) = match (security, station, medical) {
            ("WEP", true, _) => (
                "wifi-wep",
                if medical {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!("On a Wi-Fi network protected by WEP only ({network}): its traffic can be read and forged"),
                remedy::WIFI_WEP,
            ),
            ("WEP", false, _) => (
                "wifi-wep",
                Severity::Medium,
                format!("Offers a Wi-Fi network protected by WEP only ({network})"),
                remedy::WIFI_WEP,
            ),
            ("open", true, true) => (
                "wifi-open",
                Severity::Medium,
                format!("Medical device on an open Wi-Fi network ({network}): its traffic crosses the air unencrypted"),
                remedy::WIFI_OPEN,
            ),
            _ => continue,
        };
        let ip = d.ips.iter().find_map(|i| i.parse::<IpAddr>().ok());
        let r = Raise {
            kind: "insecure-protocol",
            rule: rule.into(),
            severity,
            subject: ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            peer: None,
            peers: Vec::new(),
            peer_count: None,
            summary,
            detail: format!("wifi {}: {v}", e.field),
            origin: None,
            span: device_span(d),
            count: 1,
            remediation,
        };
        match ip {
            Some(_) => out.raise(r),
            None => out.raise_on(index, r),
        }
        return;
    }
}

/// Rules on the run's devices as the inventory describes them.
pub fn device_rules(ctx: &Context<'_>, out: &mut Findings<'_>) {
    for (i, d) in ctx.devices().iter().enumerate() {
        wifi_rules(i, d, out);
        if !d.vulnerabilities.is_empty() {
            if let Some(ip) = d.ips.iter().find_map(|i| i.parse::<IpAddr>().ok()) {
                vulnerability_rules(d, ip, out);
            }
        }
        let Some(os) = d.os.as_deref() else { continue };
        let Some(name) = legacy_os(os) else { continue };
        let Some(ip) = d.ips.iter().find_map(|i| i.parse::<IpAddr>().ok()) else {
            continue;
        };
        let medical = d.medical == Some(true) || crate::is_medical_category(&d.category);
        let ev = d.evidence.iter().find(|e| e.value == os);
        out.raise(Raise {
            kind: "legacy-os",
            rule: "unsupported-os".into(),
            severity: if medical {
                Severity::High
            } else {
                Severity::Medium
            },
            subject: ip,
            peer: None,
            peers: Vec::new(),
            peer_count: None,
            summary: format!("Runs {name}, which no longer receives security updates ({os})"),
            detail: format!(
                "{} {}: {os}",
                ev.map(|e| &*e.source).unwrap_or("os"),
                ev.map(|e| &*e.field).unwrap_or("")
            ),
            origin: None,
            span: device_span(d),
            count: 1,
            remediation: remedy::LEGACY_OS,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The (rule, subject, summary) of the findings of `observations` seen
    /// at a site whose devices are `devices`.
    fn posture_of(
        devices: &[wardwatch_model::Device],
        observations: &[Observation],
    ) -> Vec<(String, String, String)> {
        let digest = crate::digest::FlowDigest::default();
        let mut f: Vec<_> = crate::detect_for_test(devices, &digest, observations)
            .into_iter()
            .map(|f| (f.rule, f.ip.unwrap_or_default(), f.summary))
            .collect();
        f.sort();
        f
    }

    /// The (rule, subject) of each finding [`posture_of`] gave.
    fn rules_and_ips(found: &[(String, String, String)]) -> Vec<(&str, &str)> {
        found
            .iter()
            .map(|(r, ip, _)| (r.as_str(), ip.as_str()))
            .collect()
    }

    fn seen(client: &str, server: &str, port: u16, kind: ObsKind) -> Observation {
        let ip = |s: &str| s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Observation {
            origin: wardwatch_proto::Origin {
                input: 0,
                frame: 1,
                ts_ns: 1,
            },
            client: (ip(client), 40000),
            server: (ip(server), port),
            subject: wardwatch_proto::Side::Server,
            mac: None,
            kind,
        }
    }

    #[test]
    fn a_dhcp_server_sending_a_client_elsewhere_is_rogue_but_other_vlans_servers_are_not() {
        let v4 = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // `server` answering `client` with an address of `net`.x and router
        // `net`.1 (options 54, 1, 3, 6 as given).
        let answer = |server: &str, client: u8, net: &str, frame: u64| {
            let mut o = seen(
                server,
                &format!("{net}.{}", 100 + client),
                68,
                ObsKind::Dhcp(Box::new(wardwatch_proto::DhcpFact {
                    message_type: 2,
                    client_mac: format!("02:00:00:00:01:{client:02x}"),
                    hostname: None,
                    vendor_class: None,
                    parameter_list: None,
                    client_id: None,
                    fqdn: None,
                    address: v4(&format!("{net}.{}", 100 + client)),
                    server: Some(wardwatch_proto::obs::DhcpServerView {
                        server_id: v4(server),
                        subnet_mask: v4("255.255.255.0"),
                        router: v4(&format!("{net}.1")),
                        dns: v4("10.0.0.53"),
                    }),
                })),
            );
            o.origin.frame = frame;
            o
        };
        // The servers of two VLANs, each answering its own clients.
        let vlans = [
            answer("10.10.0.2", 1, "10.10.0", 1),
            answer("10.10.0.2", 2, "10.10.0", 2),
            answer("10.20.0.2", 3, "10.20.0", 3),
        ];
        assert_eq!(posture_of(&[], &vlans), vec![]);
        // A third server answers client 2 too, with another network: it
        // served one client, the VLAN's server two.
        let mut with_rogue = vlans.to_vec();
        with_rogue.push(answer("192.168.1.1", 2, "192.168.1", 4));
        let found = posture_of(&[], &with_rogue);
        assert_eq!(
            rules_and_ips(&found),
            vec![("rogue-dhcp-server", "192.168.1.1")]
        );
        assert!(
            found[0]
                .2
                .contains("10.10.0.2 (10.10.0.0/24, router 10.10.0.1"),
            "{found:?}"
        );
        // An answer without a mask or router cannot be told apart.
        let mut bare = answer("192.168.1.1", 2, "192.168.1", 4);
        if let ObsKind::Dhcp(d) = &mut bare.kind {
            d.server = Some(wardwatch_proto::obs::DhcpServerView {
                server_id: v4("192.168.1.1"),
                subnet_mask: None,
                router: None,
                dns: v4("192.168.1.1"),
            });
        }
        let mut quiet = vlans.to_vec();
        quiet.push(bare);
        assert_eq!(posture_of(&[], &quiet), vec![]);
    }

    #[test]
    fn a_router_giving_a_prefix_the_sites_routers_do_not_is_rogue() {
        // `mac` advertising `prefixes` from fe80::`n` on `vlan` at frame
        // `frame`.
        let advert = |n: u8, prefixes: &[&str], vlan: Option<u16>, frame: u64| {
            let mut o = seen(
                "0.0.0.0",
                "0.0.0.0",
                0,
                ObsKind::RouterAdvert(Box::new(wardwatch_proto::RouterAdvertFact {
                    source: format!("fe80::{n}").parse().unwrap(),
                    vlan,
                    lifetime: 1800,
                    preference: "medium".into(),
                    managed: false,
                    other: false,
                    prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
                })),
            );
            o.mac = Some(format!("02:00:00:00:00:{n:02x}"));
            o.origin.frame = frame;
            o.origin.ts_ns = frame as i64;
            o
        };
        // Two routers agreeing (one also gives a second prefix); another
        // VLAN's router; an advertisement without a prefix.
        let site = [
            advert(1, &["fd00:a::/64"], None, 1),
            advert(2, &["fd00:a::/64", "2001:db8:a::/64"], None, 2),
            advert(3, &["fd00:b::/64"], Some(20), 3),
            advert(4, &[], None, 4),
        ];
        assert_eq!(posture_of(&[], &site), vec![]);
        // A third router on the first link with a prefix of its own: the
        // two agreeing routers outnumber it.
        let mut rogue = site.to_vec();
        rogue.push(advert(9, &["2001:db8:bad::/64"], None, 5));
        let found = posture_of(&[], &rogue);
        assert_eq!(
            rules_and_ips(&found),
            vec![("rogue-router-advertisement", "fe80::9")]
        );
        assert!(
            found[0].2.contains("routers fe80::1, fe80::2 advertise"),
            "{found:?}"
        );
        // One router against one: the one seen first is the site's.
        let pair = [
            advert(3, &["fd00:b::/64"], Some(20), 3),
            advert(8, &["2001:db8:bad::/64"], Some(20), 6),
        ];
        assert_eq!(
            rules_and_ips(&posture_of(&[], &pair)),
            vec![("rogue-router-advertisement", "fe80::8")]
        );
    }

    #[test]
    fn a_dhcpv6_server_giving_link_local_addresses_or_another_prefix_is_rogue() {
        let v6 = |s: &str| s.parse::<IpAddr>().ok();
        // `server` (sending from port 547) answering client `client` with
        // `address` and DNS `dns`.
        let answer = |server: &str, client: u8, address: &str, dns: &str, frame: u64| {
            let mut o = seen(
                server,
                &format!("fe80::1:{client}"),
                546,
                ObsKind::Dhcp6(Box::new(wardwatch_proto::Dhcp6Fact {
                    message_type: 2,
                    duid_mac: Some(format!("02:00:00:00:01:{client:02x}")),
                    server: Some(wardwatch_proto::Dhcp6ServerView {
                        duid: Some("000300010200000000ff".into()),
                        address: v6(address),
                        dns: v6(dns),
                    }),
                    ..Default::default()
                })),
            );
            o.client.1 = 547;
            o.origin.frame = frame;
            o
        };
        // The site's server and its partner give addresses of one prefix.
        let site = [
            answer("fe80::2", 1, "fd00:8::101", "fd00:8::2", 1),
            answer("fe80::2", 2, "fd00:8::102", "fd00:8::2", 2),
            answer("fe80::3", 2, "fd00:8::202", "fd00:8::3", 3),
        ];
        assert_eq!(posture_of(&[], &site), vec![]);
        // mitm6 alone, on a site without DHCPv6: link-local addresses, and
        // itself the resolver.
        let mitm6 = answer("fe80::66", 3, "fe80::999:1", "fe80::66", 4);
        let found = posture_of(&[], std::slice::from_ref(&mitm6));
        assert_eq!(
            rules_and_ips(&found),
            vec![("rogue-dhcpv6-server", "fe80::66")]
        );
        assert!(
            found[0]
                .2
                .contains("link-local addresses (fe80::999:1, first)")
                && found[0].2.contains("names itself their DNS server"),
            "{found:?}"
        );
        // A server answering a client of the site's with another prefix,
        // having served fewer clients.
        let mut other = site.to_vec();
        other.push(answer("fe80::9", 1, "2001:db8:9::5", "2001:db8:9::1", 5));
        assert_eq!(
            rules_and_ips(&posture_of(&[], &other)),
            vec![("rogue-dhcpv6-server", "fe80::9")]
        );
        // Stateless answers (DNS only) are not told apart.
        let mut stateless = site.to_vec();
        stateless.push(answer("fe80::9", 1, "", "2001:db8:9::1", 5));
        assert_eq!(posture_of(&[], &stateless), vec![]);
    }

    #[test]
    fn an_rdp_servers_own_certificate_is_no_finding_but_its_security_is() {
        let cert = |server: &str, port: u16| {
            seen(
                "10.0.0.9",
                server,
                port,
                ObsKind::TlsCertificate(Box::new(wardwatch_proto::TlsCertificateFact {
                    subject: "WS-RADIOLOGY-07".into(),
                    issuer: "WS-RADIOLOGY-07".into(),
                    not_before: "260101000000Z".into(),
                    not_after: "360101000000Z".into(),
                    self_signed: true,
                    rsa_bits: Some(2048),
                })),
            )
        };
        let rdp = |server: &str, selected: u32| {
            seen(
                "10.0.0.9",
                server,
                3389,
                ObsKind::Rdp(Box::new(wardwatch_proto::obs::RdpFact {
                    cookie_user: Some("tech".into()),
                    requested: Some(3),
                    confirmed: true,
                    selected: Some(selected),
                    failure: None,
                })),
            )
        };
        let got = posture_of(
            &[],
            &[
                rdp("10.0.0.1", 2),
                cert("10.0.0.1", 3389),
                rdp("10.0.0.2", 1),
                cert("10.0.0.2", 3389),
                // The same host's web server is judged as ever.
                cert("10.0.0.2", 443),
            ],
        );
        assert_eq!(
            rules_and_ips(&got),
            vec![
                ("rdp-no-nla", "10.0.0.2"),
                ("tls-self-signed-certificate", "10.0.0.2")
            ]
        );
    }

    #[test]
    fn an_internet_servers_posture_is_not_the_sites() {
        let banner = |c, s| {
            seen(
                c,
                s,
                21,
                ObsKind::Banner {
                    protocol: "ftp".into(),
                    text: "vsFTPd 3.0.3".into(),
                },
            )
        };
        let login = |c, s, user: &str| {
            seen(
                c,
                s,
                21,
                ObsKind::Login {
                    protocol: "ftp".into(),
                    user: user.into(),
                    password_present: true,
                    success: Some(true),
                    encrypted: false,
                    password: wardwatch_proto::creds::PasswordCheck::Other,
                    password_tag: None,
                },
            )
        };
        let hello = |c, s| {
            seen(
                c,
                s,
                443,
                ObsKind::TlsServerHello {
                    version: "TLS 1.0".into(),
                    cipher: "0x002f".into(),
                },
            )
        };
        // A site server: its banner, its anonymous login, a cleartext
        // login to it and its old TLS are its own findings.
        let site = posture_of(
            &[],
            &[
                banner("10.0.0.5", "10.0.0.9"),
                login("10.0.0.5", "10.0.0.9", "anonymous"),
                login("10.0.0.6", "10.0.0.9", "svc"),
                hello("10.0.0.5", "10.0.0.9"),
            ],
        );
        assert_eq!(
            rules_and_ips(&site),
            vec![
                ("ftp-anonymous", "10.0.0.9"),
                ("ftp-cleartext-login", "10.0.0.9"),
                ("ftp-service", "10.0.0.9"),
                ("tls-legacy-version", "10.0.0.9")
            ]
        );
        // The same of an internet server: only the password the site host
        // sent across the internet, on that host, naming the server.
        let web = "93.184.216.34";
        let internet = posture_of(
            &[],
            &[
                banner("10.0.0.5", web),
                login("10.0.0.5", web, "anonymous"),
                login("10.0.0.6", web, "svc"),
                hello("10.0.0.5", web),
            ],
        );
        assert_eq!(
            internet,
            vec![(
                "ftp-cleartext-login".to_string(),
                "10.0.0.6".to_string(),
                format!("FTP login as svc with the password in the clear; accepted (internet server {web})")
            )]
        );
        // A medical device's old TLS to its vendor's server is its own.
        let pump = wardwatch_model::Device {
            ips: vec!["10.0.0.5".into()],
            medical: Some(true),
            category: "infusion-pump".into(),
            ..Default::default()
        };
        let medical = posture_of(&[pump], &[hello("10.0.0.5", web)]);
        assert_eq!(medical.len(), 1, "{medical:?}");
        assert_eq!(medical[0].0, "tls-legacy-version");
        assert_eq!(medical[0].1, "10.0.0.5");
    }

    #[test]
    fn report_times() {
        assert_eq!(
            rfc3339_ns("2025-01-01T00:00:00Z"),
            1_735_689_600_000_000_000
        );
        assert_eq!(
            rfc3339_ns("2025-01-01T00:00:01.500Z"),
            1_735_689_601_500_000_000
        );
        assert_eq!(rfc3339_ns(""), 0);
    }

    #[test]
    fn x509_times() {
        // 2025-01-01T00:00:00Z
        assert_eq!(
            x509_time_ns("250101000000Z"),
            Some(1_735_689_600_000_000_000)
        );
        assert_eq!(
            x509_time_ns("20250101000000Z"),
            Some(1_735_689_600_000_000_000)
        );
        assert_eq!(x509_time_ns("garbage"), None);
    }

    #[test]
    fn weak_ciphers() {
        assert_eq!(weak_cipher(0x0005), Some("RC4"));
        assert_eq!(weak_cipher(0x000A), Some("3DES"));
        assert_eq!(weak_cipher(0xC02F), None);
    }

    #[test]
    fn wifi_networks_without_real_encryption() {
        let dev = |id: &str, ips: &[&str], category: &str, field: &str, value: &str| {
            wardwatch_model::Device {
                id: id.into(),
                mac: Some(format!("00:00:00:00:00:{id}")),
                ips: ips.iter().map(|i| i.to_string()).collect(),
                category: category.into(),
                medical: Some(category == "infusion-pump"),
                evidence: vec![wardwatch_model::Evidence::unplaced(
                    "wifi",
                    field.to_string(),
                    value,
                )],
                ..Default::default()
            }
        };
        let devices = [
            dev(
                "01",
                &[],
                "infusion-pump",
                "station on",
                "OLD (WEP) BSSID 00:0b:86:00:00:01",
            ),
            dev(
                "02",
                &["10.1.1.2"],
                "workstation",
                "station on",
                "OLD (WEP) BSSID 00:0b:86:00:00:01",
            ),
            dev(
                "03",
                &[],
                "network-device",
                "access point of",
                "OLD (WEP) BSSID 00:0b:86:00:00:01",
            ),
            dev(
                "04",
                &[],
                "infusion-pump",
                "station on",
                "Guest (x) (open) BSSID 00:0b:86:00:00:02",
            ),
            dev(
                "05",
                &[],
                "workstation",
                "station on",
                "Guest (x) (open) BSSID 00:0b:86:00:00:02",
            ),
            dev(
                "06",
                &[],
                "infusion-pump",
                "station on",
                "ICU (WPA2-Personal) BSSID 00:0b:86:00:00:03",
            ),
            dev(
                "07",
                &[],
                "infusion-pump",
                "station on",
                "hidden or unseen SSID (security unseen) BSSID 00:0b:86:00:00:03",
            ),
        ];
        let digest = crate::digest::FlowDigest::default();
        let mut got: Vec<_> = crate::detect_for_test(&devices, &digest, &[])
            .into_iter()
            .map(|f| (f.device.unwrap_or_default(), f.ip, f.severity, f.rule))
            .collect();
        got.sort();
        let want = |d: &str, ip: Option<&str>, sev: &str, rule: &str| {
            (
                d.to_string(),
                ip.map(String::from),
                sev.to_string(),
                rule.to_string(),
            )
        };
        // The medical station on WEP (high), the workstation on it (by
        // its address), the access point offering it; the medical station
        // on the open guest network (its name holding parentheses), not
        // the workstation there; nobody on WPA2 or an unseen network.
        assert_eq!(
            got,
            vec![
                want("01", None, "high", "wifi-wep"),
                want("02", Some("10.1.1.2"), "medium", "wifi-wep"),
                want("03", None, "medium", "wifi-wep"),
                want("04", None, "medium", "wifi-open"),
            ]
        );
    }
}
