//! Observations: typed facts the dissectors emit, free of references into
//! packet buffers and free of patient data, so they can cross a process
//! boundary as they are.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Where an observation was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Input index.
    pub input: u16,
    /// Frame number in that input.
    pub frame: u64,
    /// Capture time (ns since the epoch).
    pub ts_ns: i64,
}

/// Which end of the flow a fact describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// The initiator.
    Client,
    /// The responder.
    Server,
}

/// One fact, with the flow it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Frame and time.
    pub origin: Origin,
    /// The client's address and port.
    pub client: (IpAddr, u16),
    /// The server's address and port.
    pub server: (IpAddr, u16),
    /// Which side the fact is about.
    pub subject: Side,
    /// For link-layer facts (no addresses): the sender's MAC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// The fact.
    pub kind: ObsKind,
}

impl Observation {
    /// When it was seen, as the run orders facts: capture time, then input
    /// and frame. Of the sightings of one fact the least is kept.
    pub fn seen_at(&self) -> (i64, u16, u64) {
        (self.origin.ts_ns, self.origin.input, self.origin.frame)
    }

    /// A hash of the fact and who it is about (both addresses, the side, the
    /// MAC): two observations with the same key repeat one fact. `None` for
    /// facts that are events, kept every time (see [`ObsKind::repeat_key`]).
    pub fn fact_key(&self) -> Option<u64> {
        use std::hash::BuildHasher;
        let k = self.kind.repeat_key()?;
        // A name of a site address is one fact whichever client asked and
        // whichever resolver answered.
        if let ObsKind::DnsName { .. } = self.kind {
            return Some(foldhash::fast::FixedState::with_seed(0xfac7).hash_one(k));
        }
        let key = (self.client.0, self.server.0, self.subject, &self.mac, k);
        Some(foldhash::fast::FixedState::with_seed(0xfac7).hash_one(key))
    }

    /// The address of the side the fact describes.
    pub fn subject_ip(&self) -> IpAddr {
        match self.subject {
            Side::Client => self.client.0,
            Side::Server => self.server.0,
        }
    }
}

/// A UID or a name from the wire: the well-known ones (a table of SOP
/// classes, transfer syntaxes, DIMSE commands) are borrowed, the rest owned.
pub type WireName = std::borrow::Cow<'static, str>;

/// A DICOM presentation context as proposed or accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PresentationContext {
    /// Context id.
    pub id: u8,
    /// Abstract syntax (SOP class) UID, when proposed.
    pub abstract_syntax: Option<WireName>,
    /// Transfer syntax UIDs proposed, or the one accepted.
    pub transfer_syntaxes: Vec<WireName>,
    /// Acceptance result (AC only): 0 accepted.
    pub result: Option<u8>,
}

/// An HL7 v2 message header (MSH) and acknowledgement (MSA) — never PID,
/// NK1, PV1, AL1 or OBX values. Boxed in [`ObsKind::Hl7Message`]: it is the
/// largest fact, and every observation would otherwise be its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hl7Header {
    /// MLLP framed.
    pub mllp: bool,
    /// Field separator and encoding characters (MSH-1, MSH-2).
    pub encoding: String,
    /// MSH-3.
    pub sending_application: String,
    /// MSH-4.
    pub sending_facility: String,
    /// MSH-5.
    pub receiving_application: String,
    /// MSH-6.
    pub receiving_facility: String,
    /// MSH-9.1.
    pub message_type: String,
    /// MSH-9.2.
    pub trigger: String,
    /// MSH-10.
    pub control_id: String,
    /// MSH-12.
    pub version: String,
    /// MSA-1, when an acknowledgement.
    pub ack_code: Option<String>,
    /// SFT software (vendor organisation, version, product).
    pub software: Vec<String>,
    /// OBX-18 and PRT device identifiers.
    pub equipment: Vec<String>,
}

/// A-ASSOCIATE-RQ or -AC.
/// Boxed in [`ObsKind::DicomAssociate`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DicomAssociateFact {
    /// True for the request (client), false for the accept.
    pub request: bool,
    /// Called AE title.
    pub called_ae: String,
    /// Calling AE title.
    pub calling_ae: String,
    /// Application context UID.
    pub application_context: Option<WireName>,
    /// Presentation contexts.
    pub contexts: Vec<PresentationContext>,
    /// Implementation class UID.
    pub implementation_class_uid: Option<String>,
    /// Implementation version name.
    pub implementation_version: Option<String>,
    /// Maximum PDU length.
    pub max_pdu: Option<u32>,
    /// User identity negotiation: the username (never the passcode).
    pub user_identity: Option<String>,
    /// Whether a passcode was sent with it (masked).
    pub user_passcode_present: bool,
}

/// Device identity elements from a dataset; never anything else.
/// Boxed in [`ObsKind::DicomIdentity`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DicomIdentityFact {
    /// (0008,0070)
    pub manufacturer: Option<String>,
    /// (0008,1090)
    pub model: Option<String>,
    /// (0018,1020)
    pub software_versions: Option<String>,
    /// (0018,1000)
    pub serial: Option<String>,
    /// (0008,1010)
    pub station_name: Option<String>,
    /// (0008,0060)
    pub modality: Option<String>,
    /// (0008,0080)
    pub institution: Option<String>,
    /// Transfer syntax the dataset was read in.
    pub transfer_syntax: Option<String>,
}

/// An HTTP request line and headers of interest.
/// Boxed in [`ObsKind::HttpRequest`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HttpRequestFact {
    /// Method.
    pub method: String,
    /// Path without query string, identifier-like segments as `{id}`.
    pub path: String,
    /// FHIR resource type, when the path is a FHIR one (never its id).
    pub fhir_resource: Option<String>,
    /// FHIR interaction (read, search, create, update, patch, delete).
    pub fhir_interaction: Option<String>,
    /// Host header.
    pub host: Option<String>,
    /// User-Agent.
    pub user_agent: Option<String>,
    /// Basic auth user (password masked), if any.
    pub basic_user: Option<String>,
    /// An RTSP request (a camera's stream), not HTTP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rtsp: bool,
}

/// A TLS ClientHello.
/// Boxed in [`ObsKind::TlsClientHello`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsClientHelloFact {
    /// Server name indication.
    pub sni: Option<String>,
    /// ALPN protocols offered.
    pub alpn: Vec<String>,
    /// Versions offered (supported_versions, else the hello version).
    pub versions: Vec<String>,
    /// JA3 MD5.
    pub ja3: String,
    /// JA3 string.
    pub ja3_string: String,
    /// JA4 client fingerprint.
    pub ja4: String,
}

/// A server certificate sent in the clear (TLS ≤ 1.2).
/// Boxed in [`ObsKind::TlsCertificate`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsCertificateFact {
    /// Subject common name.
    pub subject: String,
    /// Issuer common name.
    pub issuer: String,
    /// notBefore as written.
    pub not_before: String,
    /// notAfter as written.
    pub not_after: String,
    /// Subject equals issuer.
    pub self_signed: bool,
    /// RSA key size.
    pub rsa_bits: Option<u32>,
}

/// An SNMP message; the community is classified, never kept.
/// Boxed in [`ObsKind::Snmp`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnmpFact {
    /// v1, v2c or v3.
    pub version: String,
    /// `public (default)`, `private (default)` or `other (masked)`.
    pub community: Option<String>,
    /// PDU type.
    pub pdu: String,
    /// sysDescr.0 from a response.
    pub sys_descr: Option<String>,
    /// sysObjectID.0.
    pub sys_object_id: Option<String>,
    /// sysName.0.
    pub sys_name: Option<String>,
    /// SNMPv3 authoritative engine id (hex).
    pub engine_id: Option<String>,
    /// SNMPv3 user name.
    pub user: Option<String>,
}

/// NTLMSSP identity (never responses or hashes).
/// Boxed in [`ObsKind::Ntlm`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NtlmFact {
    /// `challenge` (server) or `authenticate` (client).
    pub message: String,
    /// Domain or target name.
    pub domain: Option<String>,
    /// Workstation name.
    pub host: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Windows version from the NTLM version field.
    pub os: Option<String>,
}

/// An SSDP message.
/// Boxed in [`ObsKind::Ssdp`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SsdpFact {
    /// NOTIFY, M-SEARCH or the status line's protocol.
    pub method: String,
    /// SERVER header.
    pub server: Option<String>,
    /// USN header.
    pub usn: Option<String>,
    /// LOCATION header.
    pub location: Option<String>,
}

/// A SIP message's start line and the software it names; boxed in
/// [`ObsKind::Sip`]. Never From, To, Contact or the body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SipFact {
    /// Request method (REGISTER, INVITE, OPTIONS …); `None` for a response.
    pub method: Option<String>,
    /// Response status code; `None` for a request.
    pub status: Option<u16>,
    /// User-Agent header: the sender's software.
    pub user_agent: Option<String>,
    /// Server header: the answering server's software.
    pub server: Option<String>,
    /// A 403 answer to a REGISTER: the registrar refused the credentials
    /// (a wrong password, or a guess). Each is kept, not collapsed as a
    /// repeat: failed logins are counted.
    #[serde(default)]
    pub refused_registration: bool,
}

/// A Modbus/TCP server's answer to a request; boxed in [`ObsKind::Modbus`].
/// Register and coil values are never kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModbusFact {
    /// Unit identifier the answer came from.
    pub unit: u8,
    /// Function code answered (exception bit cleared).
    pub function: u8,
    /// Exception code, when the server refused.
    pub exception: Option<u8>,
    /// Read Device Identification: VendorName (object 0).
    pub vendor: Option<String>,
    /// ProductCode (object 1).
    pub product_code: Option<String>,
    /// MajorMinorRevision (object 2).
    pub revision: Option<String>,
    /// ProductName (object 4).
    pub product_name: Option<String>,
    /// ModelName (object 5).
    pub model_name: Option<String>,
}

/// A TFTP read or write request; boxed in [`ObsKind::Tftp`]. Never the
/// file's name: its extension, the mode and the options asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TftpRequestFact {
    /// A write request (WRQ), else a read request (RRQ).
    pub write: bool,
    /// Transfer mode: `octet`, `netascii` or `mail`.
    pub mode: String,
    /// The file name's extension, lower case (`bin`, `xml` …).
    pub extension: Option<String>,
    /// Names of the options asked for (`blksize`, `tsize` …), not values.
    pub options: Vec<String>,
}

/// An IPP message (printing); boxed in [`ObsKind::Ipp`]. Only the
/// operation of a request and a printer's identity attributes: never a
/// job's name, its user or its document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IppFact {
    /// A client's request (else a printer's response).
    pub request: bool,
    /// The request's operation (`Print-Job`, `Get-Printer-Attributes` …).
    pub operation: Option<String>,
    /// The response's status code.
    pub status: Option<u16>,
    /// printer-make-and-model.
    pub make_and_model: Option<String>,
    /// MFG of printer-device-id (IEEE 1284).
    pub maker: Option<String>,
    /// MDL of printer-device-id.
    pub model: Option<String>,
    /// SN of printer-device-id.
    pub serial: Option<String>,
    /// printer-firmware-name with printer-firmware-string-version, each.
    pub firmware: Vec<String>,
    /// The answer describes a print server's queue (the printer behind
    /// it), not the device that sent it.
    #[serde(default)]
    pub queue: bool,
}

/// An RDP connection's negotiation; boxed in [`ObsKind::Rdp`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RdpFact {
    /// The user the client's `mstshash` cookie names.
    pub cookie_user: Option<String>,
    /// The security protocols the client asked for (a bit set: 1 TLS,
    /// 2 CredSSP, 4 RDSTLS, 8 CredSSP with early user authorization,
    /// 16 Azure AD); `None` when it sent no negotiation request.
    pub requested: Option<u32>,
    /// The server's Connection Confirm was seen.
    pub confirmed: bool,
    /// The protocol the server chose (0 Standard RDP Security).
    pub selected: Option<u32>,
    /// The server's negotiation failure code.
    pub failure: Option<u32>,
}

impl RdpFact {
    /// The server's security as its answer shows it.
    pub fn security(&self) -> Option<std::borrow::Cow<'static, str>> {
        use std::borrow::Cow::{Borrowed, Owned};
        if let Some(code) = self.failure {
            return Some(match code {
                1 => Borrowed("refused: TLS required by server"),
                2 => Borrowed("refused: TLS not allowed by server (Standard RDP Security only)"),
                3 => Borrowed("refused: no TLS certificate on server"),
                5 => Borrowed("refused: NLA (CredSSP) required by server"),
                6 => Borrowed("refused: TLS with user authentication required by server"),
                c => Owned(format!("refused: failure code {c}")),
            });
        }
        match self.selected {
            Some(0) => Some(Borrowed("Standard RDP Security")),
            Some(1) => Some(Borrowed("TLS without NLA")),
            Some(2) => Some(Borrowed("NLA (CredSSP)")),
            Some(4) => Some(Borrowed("RDSTLS")),
            Some(8) => Some(Borrowed("NLA (CredSSP) with early user authorization")),
            Some(16) => Some(Borrowed("Azure AD authentication")),
            Some(p) => Some(Owned(format!("protocol {p}"))),
            // A confirm without a negotiation answer to a client that
            // asked: a server older than the negotiation (Standard RDP
            // Security only).
            None if self.confirmed && self.requested.is_some() => Some(Borrowed(
                "Standard RDP Security (no negotiation: an old server)",
            )),
            None => None,
        }
    }

    /// Whether the server uses Standard RDP Security (RC4, no server
    /// authentication).
    pub fn standard_security(&self) -> bool {
        self.selected == Some(0)
            || self.failure == Some(2)
            || (self.confirmed
                && self.requested.is_some()
                && self.selected.is_none()
                && self.failure.is_none())
    }
}

/// A VNC (RFB) connection's handshake, as far as it was seen; boxed in
/// [`ObsKind::Vnc`]. Never the password or the challenge: a VNC
/// Authentication response is only compared, in the parser, with the
/// response a default or common password would give.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VncFact {
    /// The server's protocol version banner (`RFB 003.008`).
    pub version: String,
    /// The version the client answered with.
    pub client_version: Option<String>,
    /// Security types the server offered (RFB 3.7 and later), or the one
    /// it dictated (3.3).
    pub offered: Vec<u8>,
    /// The security type in use.
    pub chosen: Option<u8>,
    /// The verdict on a VNC Authentication password (`Unknown` where the
    /// response matched no candidate or none was seen).
    #[serde(default)]
    pub password: crate::creds::PasswordCheck,
    /// The server's security result: accepted or refused, when seen.
    pub accepted: Option<bool>,
    /// The desktop name the server sent after a successful handshake.
    pub desktop: Option<String>,
    /// Its framebuffer's width and height.
    pub screen: Option<(u16, u16)>,
}

impl VncFact {
    /// Whether the server took a client in without authentication
    /// (security type None, and the session went on).
    pub fn unauthenticated(&self) -> bool {
        self.chosen == Some(1)
            && self.accepted != Some(false)
            && (self.accepted == Some(true) || self.desktop.is_some() || self.screen.is_some())
    }
}

/// The name of an RFB security type (IANA "Remote Framebuffer Security
/// Types" registry).
pub fn vnc_security_name(t: u8) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(match t {
        0 => "Invalid",
        1 => "None",
        2 => "VNC Authentication",
        5 => "RA2",
        6 => "RA2ne",
        16 => "Tight",
        17 => "Ultra",
        18 => "TLS",
        19 => "VeNCrypt",
        20 => "SASL",
        21 => "MD5 hash",
        22 => "xvp",
        30 => "Apple Remote Desktop",
        113 => "UltraVNC MS-Logon II",
        _ => return std::borrow::Cow::Owned(format!("type {t}")),
    })
}

impl TftpRequestFact {
    /// `read` or `write`.
    pub fn verb(&self) -> &'static str {
        if self.write {
            "write"
        } else {
            "read"
        }
    }

    /// What was asked for: `.bin file`, or `file` without an extension.
    pub fn file(&self) -> String {
        self.extension
            .as_deref()
            .map_or_else(|| "file".to_string(), |e| format!(".{e} file"))
    }
}

/// A device describing itself in WS-Discovery (Hello, ProbeMatches);
/// boxed in [`ObsKind::WsDiscovery`]. Never its location scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WsDiscoveryFact {
    /// Hello, ProbeMatches or ResolveMatches.
    pub message: String,
    /// The types it implements, prefixes dropped (`NetworkVideoTransmitter`,
    /// `PrintDeviceType`, `Computer` …).
    pub types: Vec<String>,
    /// ONVIF hardware scope: the model.
    pub hardware: Option<String>,
    /// ONVIF name scope: the maker's (or the site's) name for it.
    pub name: Option<String>,
}

/// An EtherNet/IP device's CIP Identity (its List Identity answer); boxed
/// in [`ObsKind::EnipIdentity`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnipIdentityFact {
    /// CIP vendor id (ODVA's registry).
    pub vendor_id: u16,
    /// CIP device type, by name where known.
    pub device_type: String,
    /// The vendor's product code.
    pub product_code: u16,
    /// Major.minor revision (minor in three digits, as the makers write it).
    pub revision: String,
    /// Serial number, hex.
    pub serial: String,
    /// Product name.
    pub product_name: Option<String>,
}

/// The sending product of a CEF (ArcSight Common Event Format) or LEEF
/// (IBM QRadar Log Event Extended Format) syslog message: the header
/// fields after the format's version; boxed in [`ObsKind::Syslog`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyslogProduct {
    /// `CEF` or `LEEF`.
    pub format: String,
    /// Device Vendor.
    pub vendor: String,
    /// Device Product.
    pub product: String,
    /// Device Version.
    pub version: Option<String>,
}

/// A UPnP device description's root device (served over HTTP at the URL
/// its SSDP announcements give).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UpnpDeviceFact {
    /// `deviceType` (`urn:schemas-upnp-org:device:MediaRenderer:1` …).
    pub device_type: Option<String>,
    /// `manufacturer`.
    pub manufacturer: Option<String>,
    /// `modelName`.
    pub model_name: Option<String>,
    /// `modelNumber`.
    pub model_number: Option<String>,
    /// `serialNumber`.
    pub serial: Option<String>,
}

/// An 802.11 network (an access point's beacon or probe response) or a
/// station on one (its association request, or a protected data frame it
/// sent to its access point).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WifiFact {
    /// A station (else an access point).
    pub station: bool,
    /// The network's BSSID.
    pub bssid: String,
    /// Its SSID, when not hidden (a station's, when it named it or a
    /// beacon of its access point was seen).
    pub ssid: Option<String>,
    /// `open`, `WEP`, `WPA`, `WPA2-Personal`, `WPA2-Enterprise`,
    /// `WPA2/WPA3-Personal`, `WPA3-Personal`, `WPA3-Enterprise` or `OWE`.
    pub security: Option<String>,
}

/// A BACnet device's identity: its I-Am, or its answer to a read of its
/// device object's identity properties.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BacnetFact {
    /// Device object instance.
    pub instance: Option<u32>,
    /// Vendor identifier (ASHRAE's registry).
    pub vendor_id: Option<u16>,
    /// `vendor-name` (121).
    pub vendor_name: Option<String>,
    /// `model-name` (70).
    pub model_name: Option<String>,
    /// `firmware-revision` (44).
    pub firmware_revision: Option<String>,
    /// `application-software-version` (12).
    pub application_software: Option<String>,
    /// `object-name` (77): the device's name on the building network.
    pub object_name: Option<String>,
    /// A request the sender made of the building's devices (`Who-Is`,
    /// `ReadProperty`, `WriteProperty` …): it is a client, a front-end or
    /// a controller binding to its peers.
    #[serde(default)]
    pub request: Option<String>,
}

impl WifiFact {
    /// The network as evidence says it: `SSID (security) BSSID …`.
    pub fn network(&self) -> String {
        format!(
            "{} ({}) BSSID {}",
            self.ssid.as_deref().unwrap_or("hidden or unseen SSID"),
            self.security.as_deref().unwrap_or("security unseen"),
            self.bssid
        )
    }

    /// The (SSID, security) of a [`WifiFact::network`] text (an SSID may
    /// hold parentheses).
    pub fn read_network(text: &str) -> Option<(&str, &str)> {
        let close = text.rfind(") BSSID ")?;
        let open = text.get(..close)?.rfind(" (")?;
        Some((text.get(..open)?, text.get(open + 2..close)?))
    }
}

impl BacnetFact {
    /// Whether it says more than the instance.
    pub fn has_identity(&self) -> bool {
        self.vendor_id.is_some()
            || self.vendor_name.is_some()
            || self.model_name.is_some()
            || self.firmware_revision.is_some()
            || self.application_software.is_some()
            || self.object_name.is_some()
    }
}

/// A laboratory or point-of-care instrument's identity (ASTM header,
/// POCT1-A HEL/DST device element).
/// Boxed in [`ObsKind::LabInstrument`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LabInstrumentFact {
    /// `astm` or `poct1-a`.
    pub protocol: String,
    /// Vendor.
    pub vendor: Option<String>,
    /// Instrument name or model.
    pub model: Option<String>,
    /// Software version.
    pub version: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// Standard version (e.g. LIS2-A2).
    pub standard: Option<String>,
}

/// A link-layer discovery announcement (LLDP, CDP), found by MAC.
/// Boxed in [`ObsKind::LinkNeighbor`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkNeighborFact {
    /// `lldp` or `cdp`.
    pub protocol: String,
    /// Chassis id.
    pub chassis_id: Option<String>,
    /// Port id.
    pub port_id: Option<String>,
    /// System name (CDP device id).
    pub system_name: Option<String>,
    /// System description (CDP software version).
    pub system_description: Option<String>,
    /// CDP platform.
    pub platform: Option<String>,
    /// LLDP-MED inventory (ANSI/TIA-1057 10.2.6), as (field, value):
    /// `hardware revision`, `firmware revision`, `software revision`,
    /// `serial number`, `manufacturer`, `model`.
    pub inventory: Vec<(String, String)>,
}

/// A DHCPv6 client message, or a server's answer.
/// Boxed in [`ObsKind::Dhcp6`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dhcp6Fact {
    /// Message type (1 Solicit, 3 Request … 11 Information-request).
    pub message_type: u8,
    /// Option 1, hex.
    pub duid: Option<String>,
    /// The link-layer address in a DUID-LLT or DUID-LL.
    pub duid_mac: Option<String>,
    /// Option 39 client FQDN.
    pub fqdn: Option<String>,
    /// Option 16 vendor class: its data items and enterprise number.
    pub vendor_class: Option<String>,
    /// Option 6, as a comma-separated list.
    pub option_request: Option<String>,
    /// A server's Advertise or Reply: what it gives (`duid` and
    /// `duid_mac` are then the client's, from its option 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<Dhcp6ServerView>,
}

/// What a DHCPv6 server's Advertise or Reply gives the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dhcp6ServerView {
    /// Option 2, server identifier (DUID), hex.
    pub duid: Option<String>,
    /// The first address of an IA_NA or IA_TA (options 3 and 4, their
    /// option 5).
    pub address: Option<IpAddr>,
    /// The first DNS recursive name server (option 23).
    pub dns: Option<IpAddr>,
}

/// An IPv6 Router Advertisement (RFC 4861 4.2), found by the router's MAC.
/// Boxed in [`ObsKind::RouterAdvert`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouterAdvertFact {
    /// The router's address (link-local).
    pub source: IpAddr,
    /// The VLAN it was seen on (outermost tag).
    pub vlan: Option<u16>,
    /// Router lifetime in seconds (0: not a default router).
    pub lifetime: u16,
    /// Default router preference: `high`, `medium` or `low`.
    pub preference: String,
    /// Managed address configuration flag (addresses from DHCPv6).
    pub managed: bool,
    /// Other configuration flag (DNS and the rest from DHCPv6).
    pub other: bool,
    /// Prefixes given for address autoconfiguration (autonomous flag, valid
    /// lifetime above 0), as `prefix/length`, at most 8.
    pub prefixes: Vec<String>,
}

/// A browser announcement (NetBIOS datagram service).
/// Boxed in [`ObsKind::BrowserAnnouncement`], which would otherwise make
/// every observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BrowserFact {
    /// The host's NetBIOS name, or (domain announcements) its workgroup or
    /// domain.
    pub name: String,
    /// A domain announcement: `name` is a workgroup or domain.
    pub domain: bool,
    /// Operating system major version.
    pub os_major: u8,
    /// Operating system minor version.
    pub os_minor: u8,
    /// Server type bits (workstation, server, domain controller, NT,
    /// Unix …).
    pub server_type: u32,
    /// The host's description (server comment), as its administrator set
    /// it.
    pub comment: String,
}

/// A domain member naming itself to a domain controller: a Kerberos
/// request's machine account and NetBIOS address, or a CLDAP domain
/// controller ping's host and machine account. Never a person's account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DomainMemberFact {
    /// `kerberos` or `cldap`.
    pub protocol: String,
    /// The machine account's name, without its `$`.
    pub machine: Option<String>,
    /// The domain (Kerberos realm, upper case; CLDAP DNS domain).
    pub domain: Option<String>,
    /// The host's NetBIOS name (a Kerberos request's address, a CLDAP
    /// ping's `Host`).
    pub netbios: Option<String>,
}

/// The make and model an mDNS message's TXT records give (Apple device
/// information, Bonjour Printing, AirPlay, Google Cast), and whose they
/// are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MdnsIdentity {
    /// `(key, value)`: `model`, `osxvers`, `ty`, `product`, `usb_MFG`,
    /// `usb_MDL`, `md`.
    pub pairs: Vec<(String, String)>,
    /// The address the message's address records give its one host, if
    /// it has any (else the sender's own records).
    pub host: Option<std::net::IpAddr>,
}

/// A FHIR Device resource in a cleartext HTTP body: what it says of the
/// device's maker, model, software and serial (nothing else of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FhirDeviceFact {
    /// Sent client to server (a device or gateway registering it), not
    /// answered by a FHIR server from its records.
    pub request: bool,
    /// `manufacturer`.
    pub manufacturer: Option<String>,
    /// `modelNumber`, a `deviceName` of type model-name, or STU3 `model`.
    pub model: Option<String>,
    /// The first `version` value (STU3: the `version` string).
    pub version: Option<String>,
    /// `serialNumber`.
    pub serial: Option<String>,
}

/// A DHCP client message.
/// Boxed in [`ObsKind::Dhcp`], which would otherwise make every
/// observation its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DhcpFact {
    /// Message type (1 DISCOVER … 8 INFORM).
    pub message_type: u8,
    /// Client MAC (chaddr).
    pub client_mac: String,
    /// Option 12.
    pub hostname: Option<String>,
    /// Option 60.
    pub vendor_class: Option<String>,
    /// Option 55, as a comma-separated list.
    pub parameter_list: Option<String>,
    /// Option 61, hex.
    pub client_id: Option<String>,
    /// Option 81 FQDN.
    pub fqdn: Option<String>,
    /// Option 50 / yiaddr: the address asked for or given.
    pub address: Option<IpAddr>,
    /// A server's answer: the network it gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<DhcpServerView>,
}

/// The network a DHCP server's answer gives (the first address of each
/// option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DhcpServerView {
    /// Option 54, server identifier.
    pub server_id: Option<IpAddr>,
    /// Option 1, subnet mask.
    pub subnet_mask: Option<IpAddr>,
    /// Option 3, router.
    pub router: Option<IpAddr>,
    /// Option 6, DNS server.
    pub dns: Option<IpAddr>,
}

/// The facts, by protocol.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ObsKind {
    /// A-ASSOCIATE-RQ or -AC.
    DicomAssociate(Box<DicomAssociateFact>),
    /// A-ASSOCIATE-RJ.
    DicomReject {
        /// Result (1 permanent, 2 transient).
        result: u8,
        /// Source.
        source: u8,
        /// Reason.
        reason: u8,
    },
    /// A-RELEASE or A-ABORT.
    DicomRelease {
        /// True for A-ABORT.
        abort: bool,
    },
    /// A DIMSE command.
    DicomCommand {
        /// Command field name, e.g. `C-STORE-RQ`.
        command: WireName,
        /// Affected SOP class UID (requested, in the N-services'
        /// requests that name no affected one).
        sop_class: Option<WireName>,
        /// Status (responses).
        status: Option<u16>,
    },
    /// Device identity elements from a dataset; never anything else.
    DicomIdentity(Box<DicomIdentityFact>),
    /// Bytes moved in one association, per direction (at its end).
    DicomVolume {
        /// Dataset bytes from the client.
        to_server: u64,
        /// Dataset bytes from the server.
        to_client: u64,
        /// Deflated transfer syntax seen (not inflated).
        deflated: bool,
        /// C-FIND requests the client sent (a count, never the keys).
        #[serde(default)]
        finds: u32,
    },
    /// An HL7 v2 message header (MSH) and acknowledgement (MSA) — never
    /// PID, NK1, PV1, AL1 or OBX values.
    Hl7Message(Box<Hl7Header>),
    /// An HTTP request line and headers of interest.
    HttpRequest(Box<HttpRequestFact>),
    /// An HTTP response.
    HttpResponse {
        /// Status code.
        status: u16,
        /// Server header.
        server: Option<String>,
        /// An RTSP answer, not HTTP.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rtsp: bool,
    },
    /// A TLS ClientHello.
    TlsClientHello(Box<TlsClientHelloFact>),
    /// A TLS ServerHello.
    TlsServerHello {
        /// Version chosen.
        version: String,
        /// Cipher suite chosen (hex code).
        cipher: String,
    },
    /// A service's greeting or identification string (FTP 220, SSH, Telnet).
    Banner {
        /// Protocol.
        protocol: String,
        /// The text, cut at 256 characters.
        text: String,
    },
    /// A cleartext login attempt. The password is never kept: only whether
    /// one was sent.
    Login {
        /// Protocol.
        protocol: String,
        /// User name.
        user: String,
        /// A password was sent.
        password_present: bool,
        /// Whether the server accepted it, when its answer was seen.
        success: Option<bool>,
        /// The session was protected (AUTH TLS) before the login.
        encrypted: bool,
        /// The verdict on the password, made in the parser (see `creds`).
        #[serde(default)]
        password: crate::creds::PasswordCheck,
        /// The password's tag ([`crate::creds::tag`]), when one was read:
        /// never written out.
        #[serde(skip)]
        password_tag: Option<u16>,
    },
    /// File transfers on a control connection (counts, no names).
    FileTransfers {
        /// Protocol.
        protocol: String,
        /// Uploads (STOR/STOU/APPE).
        uploads: u32,
        /// Downloads (RETR).
        downloads: u32,
        /// Sizes the server announced for them (`150 … (N bytes)`).
        announced_bytes: u64,
    },
    /// A DNS, mDNS or LLMNR message.
    Dns {
        /// `dns`, `mdns` or `llmnr`.
        flavour: String,
        /// A response.
        response: bool,
        /// `name TYPE` asked.
        queries: Vec<String>,
        /// `name TYPE value` answered.
        answers: Vec<String>,
        /// What an mDNS message's TXT records say the device is.
        identity: Option<Box<MdnsIdentity>>,
    },
    /// A name a DNS response gives a site address (an A or AAAA record of a
    /// private address, or the PTR record of its reverse name): the fact is
    /// the addressed host's, not the resolver's that sent it.
    DnsName {
        /// The name, lower case, without the trailing dot.
        name: String,
        /// The address it names.
        addr: std::net::IpAddr,
        /// From a PTR record (the site's own reverse zone).
        ptr: bool,
    },
    /// A plain-DNS query whose name looks like tunnelled data (and names no
    /// watched domain): its registered domain and a hash of the whole name.
    /// The name itself, the data, is not kept: the tunnel rule counts
    /// distinct names, and a tunnel sends hundreds of thousands.
    DnsTunnel {
        /// Registered domain (see `base_domain`), or `(no domain)`.
        domain: String,
        /// [`crate::dns::name_hash`] of the name asked.
        name_hash: u64,
        /// The name's length in bytes.
        length: u16,
    },
    /// The tunnel-like queries of one client under one domain, as a flow
    /// worker gathers them in place of one [`ObsKind::DnsTunnel`] each
    /// (kept whole, a tunnel's queries would crowd every other fact out of
    /// the observations a run keeps). The observation is the earliest
    /// query's, with the other facts of the gathered ones.
    DnsTunnelQueries {
        /// Registered domain (see `base_domain`), or `(no domain)`.
        domain: String,
        /// The distinct [`crate::dns::name_hash`]es asked, in order.
        names: Vec<u64>,
        /// Time of the latest name's first query (ns).
        last_ns: i64,
    },
    /// An SSDP message.
    Ssdp(Box<SsdpFact>),
    /// An SNMP message; the community is classified, never kept.
    Snmp(Box<SnmpFact>),
    /// An MQTT CONNECT.
    MqttConnect {
        /// Client identifier.
        client_id: String,
        /// Protocol level (4 = 3.1.1, 5 = 5.0).
        level: u8,
    },
    /// A topic published to (only names without identifiers).
    MqttTopic {
        /// The topic.
        topic: String,
    },
    /// The SMB dialect offered (SMB1) or chosen (SMB2/3).
    SmbDialect {
        /// Dialect name.
        dialect: String,
        /// SMB version 1 (deprecated, EternalBlue-era).
        smb1: bool,
    },
    /// SMB1 native OS string from Session Setup.
    SmbNativeOs {
        /// The OS string.
        os: String,
    },
    /// NTLMSSP identity (never responses or hashes).
    Ntlm(Box<NtlmFact>),
    /// An RDP connection request and the server's answer.
    Rdp(Box<RdpFact>),
    /// A syslog header (never the message).
    Syslog {
        /// Facility.
        facility: u8,
        /// Severity.
        severity: u8,
        /// HOSTNAME field.
        hostname: Option<String>,
        /// APP-NAME or TAG.
        app: Option<String>,
        /// The product a CEF or LEEF message's header names (never its
        /// event fields).
        #[serde(default)]
        product: Option<Box<SyslogProduct>>,
    },
    /// An NTP header.
    Ntp {
        /// Version.
        version: u8,
        /// Mode (3 client, 4 server …).
        mode: u8,
        /// Stratum.
        stratum: u8,
    },
    /// A server certificate sent in the clear (TLS ≤ 1.2).
    TlsCertificate(Box<TlsCertificateFact>),
    /// A laboratory or point-of-care instrument's identity (ASTM header,
    /// POCT1-A HEL/DST device element).
    LabInstrument(Box<LabInstrumentFact>),
    /// The name an SMTP client gives itself in EHLO or HELO (its host name
    /// or domain; an address literal is not kept).
    SmtpClientName {
        /// The name, as sent.
        name: String,
    },
    /// A NetBIOS name service message.
    NetbiosName {
        /// The name (15 characters at most, padding removed).
        name: String,
        /// The 16th byte: 0x00 workstation, 0x20 file server, 0x1C domain …
        suffix: u8,
        /// A registration or refresh (the sender naming itself).
        registration: bool,
        /// A response.
        response: bool,
    },
    /// A link-layer discovery announcement (LLDP, CDP), found by MAC.
    LinkNeighbor(Box<LinkNeighborFact>),
    /// An IPv6 Router Advertisement, found by the router's MAC.
    RouterAdvert(Box<RouterAdvertFact>),
    /// A DHCP client message.
    Dhcp(Box<DhcpFact>),
    /// A DHCPv6 client message.
    Dhcp6(Box<Dhcp6Fact>),
    /// A browser announcement: a Windows (or Samba) host naming itself, its
    /// OS version and roles.
    BrowserAnnouncement(Box<BrowserFact>),
    /// A domain member naming itself to a domain controller.
    DomainMember(Box<DomainMemberFact>),
    /// A FHIR Device resource sent in cleartext.
    FhirDevice(Box<FhirDeviceFact>),
    /// A UPnP device description a device served about itself.
    UpnpDevice(Box<UpnpDeviceFact>),
    /// A BACnet device's identity.
    Bacnet(Box<BacnetFact>),
    /// An 802.11 access point or station.
    Wifi(Box<WifiFact>),
    /// A SIP request or response.
    Sip(Box<SipFact>),
    /// A Modbus/TCP server's answer.
    Modbus(Box<ModbusFact>),
    /// A TFTP read or write request.
    Tftp(Box<TftpRequestFact>),
    /// A VNC (RFB) handshake.
    Vnc(Box<VncFact>),
    /// An IPP request or a printer's answer.
    Ipp(Box<IppFact>),
    /// A WS-Discovery Hello or ProbeMatches.
    WsDiscovery(Box<WsDiscoveryFact>),
    /// An EtherNet/IP List Identity answer.
    EnipIdentity(Box<EnipIdentityFact>),
}

impl ObsKind {
    /// A login whose password crossed in the clear (judged by the parser,
    /// not kept), with the server's verdict when it was seen.
    pub fn cleartext_login(
        protocol: &str,
        user: String,
        password_present: bool,
        password: (crate::creds::PasswordCheck, Option<u16>),
        success: Option<bool>,
    ) -> ObsKind {
        ObsKind::Login {
            protocol: protocol.into(),
            user,
            password_present,
            success,
            encrypted: false,
            password: password.0,
            password_tag: password.1,
        }
    }

    /// A key under which repeats of the same fact collapse: the same modality
    /// storing a thousand images to the same PACS is one fact, not a
    /// thousand. `None` for facts that are events in their own right
    /// (logins, volumes, transfers), which are all kept.
    pub fn repeat_key(&self) -> Option<u64> {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = foldhash::fast::FixedState::with_seed(0x0b5).build_hasher();
        match self {
            ObsKind::DicomVolume { .. } | ObsKind::FileTransfers { .. } => return None,
            // A refused or unanswered login is an event (guessing is
            // counted); an accepted one repeated between the same two hosts
            // is one fact (a pool re-binding its service account every few
            // seconds would otherwise crowd the kept facts).
            ObsKind::Login { success, .. } if *success != Some(true) => return None,
            ObsKind::Sip(f) if f.refused_registration => return None,
            ObsKind::Vnc(f) if f.accepted == Some(false) => return None,
            // Control ids differ on every message.
            ObsKind::Hl7Message(m) => {
                let Hl7Header {
                    control_id: _,
                    mllp,
                    encoding,
                    sending_application,
                    sending_facility,
                    receiving_application,
                    receiving_facility,
                    message_type,
                    trigger,
                    version,
                    ack_code,
                    software,
                    equipment,
                } = &**m;
                (
                    mllp,
                    encoding,
                    sending_application,
                    sending_facility,
                    receiving_application,
                    receiving_facility,
                    message_type,
                )
                    .hash(&mut h);
                (trigger, version, ack_code, software, equipment).hash(&mut h);
            }
            other => other.hash(&mut h),
        }
        Some(h.finish())
    }
}

#[cfg(test)]
mod tests {
    /// A run keeps up to 2^18 observations and moves each a few times
    /// (gathered, merged, sorted): the large facts are boxed so that every
    /// observation is not the size of the largest. 296 bytes before.
    #[test]
    fn an_observation_stays_small() {
        assert!(std::mem::size_of::<super::ObsKind>() <= 88);
        assert!(std::mem::size_of::<super::Observation>() <= 184);
    }
}
