//! Zero-copy L2–L4 decoding, including the encapsulations that mirror and
//! wireless infrastructure put around hospital traffic (GRE, ERSPAN II/III,
//! VXLAN, CAPWAP with 802.11 inside). Every length comes from the wire and is
//! checked; a short or inconsistent header is a [`DecodeError`], never a panic.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wardwatch_capture::linktype;

/// A MAC address.
pub type Mac = [u8; 6];

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(m: &Mac) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame ends inside the named header.
    Truncated(&'static str),
    /// A header field holds an impossible value.
    Malformed(&'static str),
    /// The capture's link type is not one the decoder knows.
    UnknownLinkType(u32),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated(h) => write!(f, "truncated {h} header"),
            DecodeError::Malformed(h) => write!(f, "malformed {h} header"),
            DecodeError::UnknownLinkType(l) => write!(f, "unknown link type {l}"),
        }
    }
}

/// The tunnel a frame was found in, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    /// Plain GRE (transparent Ethernet bridging or IP in GRE).
    Gre,
    /// ERSPAN type I or II (GRE protocol 0x88BE).
    Erspan2,
    /// ERSPAN type III (GRE protocol 0x22EB).
    Erspan3,
    /// VXLAN with its network identifier.
    Vxlan(u32),
    /// CAPWAP data channel (wireless controller to access point).
    Capwap,
    /// IP in IP: IPv4 or IPv6 inside IPv4 or IPv6 (protocols 4 and 41).
    IpInIp,
    /// Teredo: IPv6 in UDP (port 3544).
    Teredo,
    /// GTP-U: a mobile network's user plane (UDP 2152).
    Gtp,
}

/// An ARP packet's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware address.
    pub sha: Mac,
    /// Sender protocol address.
    pub spa: Ipv4Addr,
    /// Target hardware address.
    pub tha: Mac,
    /// Target protocol address.
    pub tpa: Ipv4Addr,
}

/// IP fragment information (IPv4 flags/offset or the IPv6 fragment header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Datagram identification.
    pub id: u32,
    /// Offset of this fragment's payload in bytes.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
}

/// An IPv4 or IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IPv4 identification (0 for IPv6).
    pub ident: u16,
    /// Set when the packet is a fragment.
    pub frag: Option<Fragment>,
    /// Upper-layer bytes as captured (may be shorter than on the wire).
    pub payload: &'a [u8],
    /// Bytes the header says follow it (more than `payload` holds when the
    /// capture cut the packet at its snap length).
    pub claimed_len: u32,
}

/// [`Network::Other`]'s "EtherType" of an 802.11 management frame
/// (beacon, probe response, association request), the whole frame as its
/// payload: values below 0x0600 are lengths on Ethernet, never EtherTypes.
pub const WLAN_MANAGEMENT: u16 = 0x0001;

/// What sits above the link layer.
#[derive(Debug, Clone, Copy)]
pub enum Network<'a> {
    /// IPv4 or IPv6.
    Ip(IpPacket<'a>),
    /// ARP.
    Arp(Arp),
    /// Anything else, by EtherType (LLDP 0x88CC, STP …) with its payload.
    Other(u16, &'a [u8]),
}

/// A decoded frame.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    /// Source MAC of the innermost Ethernet/802.11 header, if any.
    pub src_mac: Option<Mac>,
    /// Destination MAC of the innermost Ethernet/802.11 header.
    pub dst_mac: Option<Mac>,
    /// The access point (BSSID) an 802.11 data frame was sent to by its
    /// station (to the distribution system), encrypted or not, if any.
    pub bssid: Option<Mac>,
    /// Up to two 802.1Q tags (outer, inner), 0 where absent.
    pub vlans: [u16; 2],
    /// The outermost tunnel the frame was found in.
    pub tunnel: Option<Tunnel>,
    /// The network layer.
    pub net: Network<'a>,
}

impl Decoded<'_> {
    /// The VLAN key of the frame: outer and inner tag packed into one value.
    pub fn vlan_key(&self) -> u32 {
        ((self.vlans[0] as u32) << 12) | self.vlans[1] as u32
    }
    /// The outermost VLAN id, or `None` when the frame is untagged.
    pub fn vlan(&self) -> Option<u16> {
        (self.vlans[0] != 0).then_some(self.vlans[0])
    }
}

/// A TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (valid when `flags & ACK`).
    pub ack: u32,
    /// TCP flags byte.
    pub flags: u8,
    /// Payload as captured.
    pub payload: &'a [u8],
}

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, Copy)]
pub enum Transport<'a> {
    /// TCP.
    Tcp(TcpSegment<'a>),
    /// UDP with ports and payload.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload as captured.
        payload: &'a [u8],
    },
    /// ICMP or ICMPv6 with type and code.
    Icmp {
        /// ICMP type.
        kind: u8,
        /// ICMP code.
        code: u8,
    },
    /// Another protocol, or a non-first fragment.
    Other,
}

impl Transport<'_> {
    /// Source and destination ports (0 for portless protocols).
    pub fn ports(&self) -> (u16, u16) {
        match self {
            Transport::Tcp(t) => (t.sport, t.dport),
            Transport::Udp { sport, dport, .. } => (*sport, *dport),
            _ => (0, 0),
        }
    }
}

const MAX_TUNNEL_DEPTH: u8 = 4;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn mac_at(b: &[u8], at: usize) -> Option<Mac> {
    let s = b.get(at..at + 6)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Some(m)
}

struct Ctx {
    src_mac: Option<Mac>,
    dst_mac: Option<Mac>,
    bssid: Option<Mac>,
    vlans: [u16; 2],
    nvlans: usize,
    tunnel: Option<Tunnel>,
    depth: u8,
}

/// Decodes one captured frame of the given link type.
pub fn decode(linktype: u32, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let mut ctx = Ctx {
        src_mac: None,
        dst_mac: None,
        bssid: None,
        vlans: [0; 2],
        nvlans: 0,
        tunnel: None,
        depth: 0,
    };
    let net = decode_link(&mut ctx, linktype, data)?;
    Ok(Decoded {
        src_mac: ctx.src_mac,
        dst_mac: ctx.dst_mac,
        bssid: ctx.bssid,
        vlans: ctx.vlans,
        tunnel: ctx.tunnel,
        net,
    })
}

fn decode_link<'a>(
    ctx: &mut Ctx,
    linktype: u32,
    data: &'a [u8],
) -> Result<Network<'a>, DecodeError> {
    match linktype {
        linktype::ETHERNET => decode_ethernet(ctx, data),
        linktype::RAW
        | linktype::RAW_ALT1
        | linktype::RAW_ALT2
        | linktype::IPV4
        | linktype::IPV6 => decode_ip_by_version(ctx, data),
        linktype::NULL | linktype::LOOP => {
            let h = data.get(..4).ok_or(DecodeError::Truncated("loopback"))?;
            // The family is in host byte order for NULL; accept either.
            let fam = if h[0] != 0 { h[0] as u32 } else { h[3] as u32 };
            let rest = &data[4..];
            match fam {
                2 => decode_ipv4(ctx, rest),
                24 | 28 | 30 => decode_ipv6(ctx, rest),
                _ => Ok(Network::Other(0, rest)),
            }
        }
        linktype::LINUX_SLL => {
            let h = data
                .get(..16)
                .ok_or(DecodeError::Truncated("linux cooked"))?;
            let hatype = u16::from_be_bytes([h[2], h[3]]);
            let alen = u16::from_be_bytes([h[4], h[5]]);
            if hatype == 1 && alen == 6 {
                ctx.src_mac = mac_at(h, 6);
            }
            let proto = u16::from_be_bytes([h[14], h[15]]);
            decode_ethertype(ctx, proto, &data[16..])
        }
        linktype::LINUX_SLL2 => {
            let h = data
                .get(..20)
                .ok_or(DecodeError::Truncated("linux cooked v2"))?;
            let proto = u16::from_be_bytes([h[0], h[1]]);
            let hatype = u16::from_be_bytes([h[8], h[9]]);
            if hatype == 1 && h[11] == 6 {
                ctx.src_mac = mac_at(h, 12);
            }
            decode_ethertype(ctx, proto, &data[20..])
        }
        linktype::NFLOG => decode_nflog(ctx, data),
        linktype::PPP | linktype::PPP_HDLC | linktype::PPP_ETHER => decode_ppp(ctx, data),
        linktype::IEEE802_11 => decode_80211(ctx, data),
        linktype::RADIOTAP | linktype::PRISM | linktype::AVS | linktype::PPI => {
            decode_radio(ctx, linktype, data)
        }
        other => Err(DecodeError::UnknownLinkType(other)),
    }
}

fn decode_ethernet<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    let h = data.get(..14).ok_or(DecodeError::Truncated("ethernet"))?;
    ctx.dst_mac = mac_at(h, 0);
    ctx.src_mac = mac_at(h, 6);
    let et = u16::from_be_bytes([h[12], h[13]]);
    if et <= 1500 || et == 0x8870 {
        // 802.3 length field (or 0x8870, LLC in jumbo frames): LLC,
        // possibly SNAP with an EtherType.
        let llc = &data[14..];
        if llc.len() >= 8 && llc[0] == 0xAA && llc[1] == 0xAA && llc[2] == 0x03 {
            let et = u16::from_be_bytes([llc[6], llc[7]]);
            return decode_ethertype(ctx, et, &llc[8..]);
        }
        return Ok(Network::Other(0, llc));
    }
    decode_ethertype(ctx, et, &data[14..])
}

fn decode_ethertype<'a>(
    ctx: &mut Ctx,
    mut et: u16,
    mut data: &'a [u8],
) -> Result<Network<'a>, DecodeError> {
    loop {
        match et {
            0x8100 | 0x88A8 | 0x9100 => {
                let tci = be16(data, 0).ok_or(DecodeError::Truncated("802.1Q"))?;
                et = be16(data, 2).ok_or(DecodeError::Truncated("802.1Q"))?;
                if ctx.nvlans < 2 {
                    ctx.vlans[ctx.nvlans] = tci & 0x0FFF;
                }
                ctx.nvlans += 1;
                data = &data[4..];
            }
            0x0800 => return decode_ipv4(ctx, data),
            0x86DD => return decode_ipv6(ctx, data),
            0x0806 => return decode_arp(data),
            0x8847 | 0x8848 => {
                // MPLS: pop labels to the bottom of the stack, then guess IP.
                let mut i = 0;
                loop {
                    let l = be32(data, i).ok_or(DecodeError::Truncated("MPLS"))?;
                    i += 4;
                    if l & 0x100 != 0 {
                        break;
                    }
                    if i > 64 {
                        return Err(DecodeError::Malformed("MPLS"));
                    }
                }
                return decode_ip_by_version(ctx, &data[i..]);
            }
            0x8864 => {
                // PPPoE session: 6-byte header, then a PPP protocol field.
                let d = data.get(6..).ok_or(DecodeError::Truncated("PPPoE"))?;
                return decode_ppp(ctx, d);
            }
            _ => return Ok(Network::Other(et, data)),
        }
    }
}

fn decode_ppp<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    let mut d = data;
    if d.len() >= 2 && d[0] == 0xFF && d[1] == 0x03 {
        d = &d[2..];
    }
    let first = *d.first().ok_or(DecodeError::Truncated("PPP"))?;
    // Protocol-field compression: an odd first byte is a 1-byte protocol.
    let (proto, rest) = if first & 1 == 1 {
        (first as u16, &d[1..])
    } else {
        (be16(d, 0).ok_or(DecodeError::Truncated("PPP"))?, &d[2..])
    };
    match proto {
        0x0021 => decode_ipv4(ctx, rest),
        0x0057 => decode_ipv6(ctx, rest),
        _ => Ok(Network::Other(0, rest)),
    }
}

fn decode_nflog<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    let h = data.get(..4).ok_or(DecodeError::Truncated("NFLOG"))?;
    let family = h[0];
    let mut tlvs = &data[4..];
    while tlvs.len() >= 4 {
        // TLV lengths and types are in host byte order (little endian on
        // every platform these captures come from).
        let len = u16::from_le_bytes([tlvs[0], tlvs[1]]) as usize;
        let ty = u16::from_le_bytes([tlvs[2], tlvs[3]]);
        if len < 4 {
            return Err(DecodeError::Malformed("NFLOG TLV"));
        }
        let val = tlvs
            .get(4..len)
            .ok_or(DecodeError::Truncated("NFLOG TLV"))?;
        if ty == 9 {
            return match family {
                2 => decode_ipv4(ctx, val),
                10 => decode_ipv6(ctx, val),
                _ => decode_ip_by_version(ctx, val),
            };
        }
        let padded = (len + 3) & !3;
        tlvs = tlvs.get(padded..).unwrap_or(&[]);
    }
    Ok(Network::Other(0, &[]))
}

/// Monitor-mode captures: a radio header (signal, rate, channel: nothing a
/// device is named by), then the 802.11 frame. Each header says its own
/// length; PPI also says what follows it.
fn decode_radio<'a>(ctx: &mut Ctx, link: u32, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    // Radiotap and PPI lengths are little-endian.
    let le16 = |at| be16(data, at).map(|v| usize::from(v.swap_bytes()));
    let (len, inner) = match (link, be32(data, 0)) {
        (linktype::RADIOTAP, _) => (
            le16(2).ok_or(DecodeError::Truncated("radiotap"))?,
            linktype::IEEE802_11,
        ),
        (linktype::PPI, _) => (
            le16(2).ok_or(DecodeError::Truncated("PPI"))?,
            be32(data, 4)
                .ok_or(DecodeError::Truncated("PPI"))?
                .swap_bytes(),
        ),
        // AVS: magic 0x8021100x, then its length (big-endian).
        (_, Some(magic)) if magic & 0xFFFF_FFF0 == 0x8021_1000 => (
            be32(data, 4).map_or(usize::MAX, |n| n as usize),
            linktype::IEEE802_11,
        ),
        // Prism: a fixed 144-byte header.
        _ => (144, linktype::IEEE802_11),
    };
    let frame = data
        .get(len..)
        .ok_or(DecodeError::Truncated("radio header"))?;
    match inner {
        linktype::IEEE802_11 => decode_80211(ctx, frame),
        linktype::ETHERNET => decode_ethernet(ctx, frame),
        other => Err(DecodeError::UnknownLinkType(other)),
    }
}

fn decode_80211<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    let h = data.get(..24).ok_or(DecodeError::Truncated("802.11"))?;
    let fc0 = h[0];
    let fc1 = h[1];
    let ftype = (fc0 >> 2) & 3;
    let subtype = fc0 >> 4;
    if ftype == 0 && matches!(subtype, 0 | 2 | 5 | 8) {
        // Association and reassociation requests, probe responses and
        // beacons: who the network and its stations are.
        ctx.src_mac = mac_at(h, 10);
        ctx.dst_mac = mac_at(h, 4);
        return Ok(Network::Other(WLAN_MANAGEMENT, data));
    }
    if ftype != 2 || subtype & 0x4 != 0 {
        // Other management, control, or a data frame without a body.
        return Ok(Network::Other(0, &[]));
    }
    let to_ds = fc1 & 1 != 0;
    let from_ds = fc1 & 2 != 0;
    let (a1, a2, a3) = (mac_at(h, 4), mac_at(h, 10), mac_at(h, 16));
    let mut off = 24;
    let a4 = if to_ds && from_ds {
        off += 6;
        mac_at(data, 24)
    } else {
        None
    };
    let (src, dst) = match (to_ds, from_ds) {
        (false, false) => (a2, a1),
        (true, false) => (a2, a3),
        (false, true) => (a3, a1),
        (true, true) => (a4, a3),
    };
    ctx.src_mac = src;
    ctx.dst_mac = dst;
    if subtype & 0x8 != 0 {
        off += 2; // QoS control
        if fc1 & 0x80 != 0 {
            off += 4; // HT control
        }
    }
    if to_ds && !from_ds {
        // A station sending to its access point, encrypted or not: it is
        // on that network.
        ctx.bssid = a1;
    }
    if fc1 & 0x40 != 0 {
        // Protected frame: the body is encrypted.
        return Ok(Network::Other(0, &[]));
    }
    let llc = data.get(off..).ok_or(DecodeError::Truncated("802.11"))?;
    if llc.len() >= 8 && llc[0] == 0xAA && llc[1] == 0xAA && llc[2] == 0x03 {
        let et = u16::from_be_bytes([llc[6], llc[7]]);
        return decode_ethertype(ctx, et, &llc[8..]);
    }
    Ok(Network::Other(0, llc))
}

/// An IPv6 neighbour discovery message (RFC 4861) that says where an
/// address is: a Neighbor Solicitation (its sender's address at its source
/// link-layer address option; `target` the address asked for) or a
/// Neighbor Advertisement (`target` at its target link-layer address
/// option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ndp {
    /// An advertisement (else a solicitation).
    pub advert: bool,
    /// Advertisement flags: router, solicited, override (the top three bits).
    pub flags: u8,
    /// The target address.
    pub target: std::net::Ipv6Addr,
    /// The link-layer address option: source (solicitation) or target
    /// (advertisement).
    pub mac: Option<Mac>,
}

/// Reads a Neighbor Solicitation (ICMPv6 135) or Advertisement (136) from
/// an ICMPv6 message. Hosts drop those a router forwarded (hop limit below
/// 255, RFC 4861 7.1), so `hop_limit` must be 255.
pub fn ndp(icmp: &[u8], hop_limit: u8) -> Option<Ndp> {
    let kind = *icmp.first()?;
    if !matches!(kind, 135 | 136) || hop_limit != 255 || icmp.get(1) != Some(&0) {
        return None;
    }
    let target: [u8; 16] = icmp.get(8..24)?.try_into().ok()?;
    let want = if kind == 135 { 1 } else { 2 };
    let mut opts = icmp.get(24..)?;
    let mut mac = None;
    // Options: type, length in units of 8 bytes (0 is invalid), data.
    while let [t, len, ..] = *opts {
        let n = usize::from(len) * 8;
        let Some(opt) = opts.get(..n).filter(|_| n > 0) else {
            break;
        };
        if t == want && mac.is_none() {
            mac = opt.get(2..8).and_then(|m| m.try_into().ok());
        }
        opts = &opts[n..];
    }
    Some(Ndp {
        advert: kind == 136,
        flags: icmp.get(4).copied().unwrap_or(0) & 0xe0,
        target: target.into(),
        mac,
    })
}

fn decode_arp(data: &[u8]) -> Result<Network<'_>, DecodeError> {
    let h = data.get(..28).ok_or(DecodeError::Truncated("ARP"))?;
    if be16(h, 0) != Some(1) || be16(h, 2) != Some(0x0800) || h[4] != 6 || h[5] != 4 {
        return Ok(Network::Other(0x0806, data));
    }
    let ip = |at: usize| Ipv4Addr::new(h[at], h[at + 1], h[at + 2], h[at + 3]);
    Ok(Network::Arp(Arp {
        op: u16::from_be_bytes([h[6], h[7]]),
        sha: mac_at(h, 8).unwrap_or_default(),
        spa: ip(14),
        tha: mac_at(h, 18).unwrap_or_default(),
        tpa: ip(24),
    }))
}

fn decode_ip_by_version<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    match data.first().map(|b| b >> 4) {
        Some(4) => decode_ipv4(ctx, data),
        Some(6) => decode_ipv6(ctx, data),
        Some(_) => Err(DecodeError::Malformed("IP version")),
        None => Err(DecodeError::Truncated("IP")),
    }
}

fn decode_ipv4<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    let h = data.get(..20).ok_or(DecodeError::Truncated("IPv4"))?;
    if h[0] >> 4 != 4 {
        return Err(DecodeError::Malformed("IPv4 version"));
    }
    let ihl = ((h[0] & 0x0F) as usize) * 4;
    if ihl < 20 {
        return Err(DecodeError::Malformed("IPv4 header length"));
    }
    let total = u16::from_be_bytes([h[2], h[3]]) as usize;
    // A total length of 0 is what TCP segmentation offload leaves on the
    // sender's side: trust the captured length then.
    let end = if total == 0 {
        data.len()
    } else {
        if total < ihl {
            return Err(DecodeError::Malformed("IPv4 total length"));
        }
        total.min(data.len())
    };
    let payload = data.get(ihl..end).ok_or(DecodeError::Truncated("IPv4"))?;
    let ident = u16::from_be_bytes([h[4], h[5]]);
    let ff = u16::from_be_bytes([h[6], h[7]]);
    let offset = ((ff & 0x1FFF) as u32) * 8;
    let more = ff & 0x2000 != 0;
    let frag = (more || offset != 0).then_some(Fragment {
        id: ident as u32,
        offset,
        more,
    });
    let ip = IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15])),
        dst: IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19])),
        proto: h[9],
        ttl: h[8],
        ident,
        frag,
        payload,
        claimed_len: if total == 0 {
            payload.len() as u32
        } else {
            total.saturating_sub(ihl) as u32
        },
    };
    maybe_decapsulate(ctx, ip)
}

fn decode_ipv6<'a>(ctx: &mut Ctx, data: &'a [u8]) -> Result<Network<'a>, DecodeError> {
    let h = data.get(..40).ok_or(DecodeError::Truncated("IPv6"))?;
    if h[0] >> 4 != 6 {
        return Err(DecodeError::Malformed("IPv6 version"));
    }
    let plen = u16::from_be_bytes([h[4], h[5]]) as usize;
    let end = if plen == 0 {
        data.len()
    } else {
        (40 + plen).min(data.len())
    };
    let mut next = h[6];
    let mut off = 40;
    let mut frag = None;
    // Walk the extension-header chain (bounded).
    for _ in 0..16 {
        match next {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let e = data
                    .get(off..off + 2)
                    .ok_or(DecodeError::Truncated("IPv6 extension"))?;
                next = e[0];
                off += (e[1] as usize + 1) * 8;
            }
            51 => {
                let e = data
                    .get(off..off + 2)
                    .ok_or(DecodeError::Truncated("IPv6 AH"))?;
                next = e[0];
                off += (e[1] as usize + 2) * 4;
            }
            44 => {
                let e = data
                    .get(off..off + 8)
                    .ok_or(DecodeError::Truncated("IPv6 fragment"))?;
                next = e[0];
                let fo = u16::from_be_bytes([e[2], e[3]]);
                frag = Some(Fragment {
                    id: u32::from_be_bytes([e[4], e[5], e[6], e[7]]),
                    offset: ((fo >> 3) as u32) * 8,
                    more: fo & 1 != 0,
                });
                off += 8;
                if frag.is_some_and(|f| f.offset == 0 && !f.more) {
                    // An atomic fragment is a whole datagram.
                    frag = None;
                }
            }
            _ => break,
        }
    }
    if off > end {
        return Err(DecodeError::Truncated("IPv6 extension"));
    }
    let mut s = [0u8; 16];
    s.copy_from_slice(&h[8..24]);
    let mut d = [0u8; 16];
    d.copy_from_slice(&h[24..40]);
    let ip = IpPacket {
        src: IpAddr::V6(Ipv6Addr::from(s)),
        dst: IpAddr::V6(Ipv6Addr::from(d)),
        proto: next,
        ttl: h[7],
        ident: 0,
        frag,
        payload: &data[off..end],
        claimed_len: if plen == 0 {
            (end - off) as u32
        } else {
            (40 + plen).saturating_sub(off) as u32
        },
    };
    maybe_decapsulate(ctx, ip)
}

/// Looks inside tunnels that carry mirrored or wireless traffic. A packet
/// that is not a recognised tunnel is returned as it is.
fn maybe_decapsulate<'a>(ctx: &mut Ctx, ip: IpPacket<'a>) -> Result<Network<'a>, DecodeError> {
    if ip.frag.is_some() || ctx.depth >= MAX_TUNNEL_DEPTH {
        return Ok(Network::Ip(ip));
    }
    let inner = match ip.proto {
        47 => decapsulate_gre(ip.payload),
        4 | 41 => Some((Tunnel::IpInIp, Inner::Ip, ip.payload)),
        17 => {
            let (sport, dport) = (be16(ip.payload, 0), be16(ip.payload, 2));
            let body = ip.payload.get(8..);
            let either = |port: u16| sport == Some(port) || dport == Some(port);
            match (dport, body) {
                (Some(4789 | 8472), Some(b)) => decapsulate_vxlan(b),
                (_, Some(b)) if either(5247) => decapsulate_capwap(b),
                (_, Some(b)) if either(3544) => decapsulate_teredo(b),
                (_, Some(b)) if either(2152) => decapsulate_gtp(b),
                _ => None,
            }
        }
        _ => None,
    };
    let Some((tunnel, kind, inner)) = inner else {
        return Ok(Network::Ip(ip));
    };
    ctx.depth += 1;
    ctx.tunnel.get_or_insert(tunnel);
    // The inner frame's own MACs and tags describe the mirrored traffic.
    let saved = (ctx.src_mac, ctx.dst_mac, ctx.vlans, ctx.nvlans);
    ctx.src_mac = None;
    ctx.dst_mac = None;
    ctx.vlans = [0; 2];
    ctx.nvlans = 0;
    let r = match kind {
        Inner::Ethernet => decode_ethernet(ctx, inner),
        Inner::Ip => decode_ip_by_version(ctx, inner),
        Inner::Wifi => decode_80211(ctx, inner),
    };
    match r {
        Ok(n) => Ok(n),
        Err(_) => {
            // A payload that only looked like a tunnel: keep the outer packet.
            (ctx.src_mac, ctx.dst_mac, ctx.vlans, ctx.nvlans) = saved;
            ctx.tunnel = None;
            Ok(Network::Ip(ip))
        }
    }
}

enum Inner {
    Ethernet,
    Ip,
    Wifi,
}

fn decapsulate_gre(p: &[u8]) -> Option<(Tunnel, Inner, &[u8])> {
    let flags = be16(p, 0)?;
    let proto = be16(p, 2)?;
    if flags & 0x7 != 0 {
        return None; // version 1 is PPTP's enhanced GRE
    }
    let mut off = 4;
    for bit in [0x8000, 0x2000, 0x1000] {
        if flags & bit != 0 {
            off += 4;
        }
    }
    let body = p.get(off..)?;
    match proto {
        0x6558 => Some((Tunnel::Gre, Inner::Ethernet, body)),
        0x0800 | 0x86DD => Some((Tunnel::Gre, Inner::Ip, body)),
        0x88BE => {
            // Type II has a sequence number (S bit) and an 8-byte header;
            // type I has neither.
            if flags & 0x1000 != 0 {
                Some((Tunnel::Erspan2, Inner::Ethernet, body.get(8..)?))
            } else {
                Some((Tunnel::Erspan2, Inner::Ethernet, body))
            }
        }
        0x22EB => {
            let h = body.get(..12)?;
            let optional = h[11] & 1 != 0;
            let len = if optional { 20 } else { 12 };
            Some((Tunnel::Erspan3, Inner::Ethernet, body.get(len..)?))
        }
        _ => None,
    }
}

fn decapsulate_vxlan(b: &[u8]) -> Option<(Tunnel, Inner, &[u8])> {
    let h = b.get(..8)?;
    if h[0] & 0x08 == 0 {
        return None;
    }
    let vni = u32::from_be_bytes([0, h[4], h[5], h[6]]);
    Some((Tunnel::Vxlan(vni), Inner::Ethernet, &b[8..]))
}

fn decapsulate_capwap(b: &[u8]) -> Option<(Tunnel, Inner, &[u8])> {
    let w = be32(b, 0)?;
    if w >> 24 != 0 {
        return None; // version must be 0; type 1 is DTLS, which we cannot read
    }
    let hlen = ((w >> 19) & 0x1F) as usize * 4;
    let wbid = (w >> 9) & 0x1F;
    let t = w & 0x100 != 0;
    let fragmented = w & 0x80 != 0;
    let keepalive = w & 0x08 != 0;
    if hlen < 8 || fragmented || keepalive {
        return None;
    }
    let body = b.get(hlen..)?;
    if t && wbid == 1 {
        Some((Tunnel::Capwap, Inner::Wifi, body))
    } else if !t {
        Some((Tunnel::Capwap, Inner::Ethernet, body))
    } else {
        None
    }
}

/// Teredo (RFC 4380): an IPv6 packet, possibly after an authentication
/// indicator (type 1) and an origin indicator (type 0, 8 bytes).
fn decapsulate_teredo(b: &[u8]) -> Option<(Tunnel, Inner, &[u8])> {
    let mut b = b;
    if b.starts_with(&[0, 1]) {
        // Client id and authentication value lengths, nonce (8), confirmation (1).
        let (id, auth) = (usize::from(*b.get(2)?), usize::from(*b.get(3)?));
        b = b.get(4 + id + auth + 9..)?;
    }
    if b.starts_with(&[0, 0]) {
        b = b.get(8..)?;
    }
    (b.first()? >> 4 == 6).then_some((Tunnel::Teredo, Inner::Ip, b))
}

/// GTP-U version 1 (3GPP TS 29.281): a T-PDU (message type 255) carries an
/// IP packet after an 8-byte header, 4 more when any of the E, S and PN
/// flags is set, and the chain of extension headers the E flag announces.
fn decapsulate_gtp(b: &[u8]) -> Option<(Tunnel, Inner, &[u8])> {
    let flags = *b.first()?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || *b.get(1)? != 0xFF {
        return None;
    }
    let mut off = 8;
    if flags & 0x07 != 0 {
        let mut next = *b.get(11)?;
        off = 12;
        while next != 0 {
            // Each extension header's length is in 4-byte units and its
            // last byte names the next one.
            let len = usize::from(*b.get(off)?) * 4;
            if len == 0 {
                return None;
            }
            next = *b.get(off + len - 1)?;
            off += len;
        }
    }
    Some((Tunnel::Gtp, Inner::Ip, b.get(off..)?))
}

/// Decodes the transport header of a (non-fragment or first-fragment)
/// IP payload.
pub fn transport(proto: u8, p: &[u8]) -> Result<Transport<'_>, DecodeError> {
    match proto {
        6 => {
            let h = p.get(..20).ok_or(DecodeError::Truncated("TCP"))?;
            let off = ((h[12] >> 4) as usize) * 4;
            if off < 20 {
                return Err(DecodeError::Malformed("TCP data offset"));
            }
            Ok(Transport::Tcp(TcpSegment {
                sport: u16::from_be_bytes([h[0], h[1]]),
                dport: u16::from_be_bytes([h[2], h[3]]),
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                ack: u32::from_be_bytes([h[8], h[9], h[10], h[11]]),
                flags: h[13],
                payload: p.get(off..).unwrap_or(&[]),
            }))
        }
        17 => {
            let h = p.get(..8).ok_or(DecodeError::Truncated("UDP"))?;
            let ulen = u16::from_be_bytes([h[4], h[5]]) as usize;
            let end = if ulen >= 8 {
                ulen.min(p.len())
            } else {
                p.len()
            };
            Ok(Transport::Udp {
                sport: u16::from_be_bytes([h[0], h[1]]),
                dport: u16::from_be_bytes([h[2], h[3]]),
                payload: &p[8..end],
            })
        }
        1 | 58 => {
            let h = p.get(..2).ok_or(DecodeError::Truncated("ICMP"))?;
            Ok(Transport::Icmp {
                kind: h[0],
                code: h[1],
            })
        }
        _ => Ok(Transport::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut v = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            17,
            0,
            0,
        ];
        v.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    fn eth(src: u8, et: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 0xEE, 2, 0, 0, 0, 0, src];
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn vxlan_inner_frame_is_decoded() {
        let inner = eth(7, 0x0800, &ipv4_udp(1000, 53, b"q"));
        let mut vx = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
        vx.extend(inner);
        let outer = eth(1, 0x0800, &ipv4_udp(5555, 4789, &vx));
        let d = decode(linktype::ETHERNET, &outer).unwrap();
        assert_eq!(d.tunnel, Some(Tunnel::Vxlan(42)));
        assert_eq!(d.src_mac, Some([2, 0, 0, 0, 0, 7]));
        let Network::Ip(ip) = d.net else { panic!() };
        assert_eq!(transport(ip.proto, ip.payload).unwrap().ports(), (1000, 53));
    }

    #[test]
    fn qinq_keeps_both_tags() {
        let mut p = vec![0x00, 0x0A, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00];
        p.extend(ipv4_udp(1, 2, b""));
        let f = eth(1, 0x88A8, &p);
        let d = decode(linktype::ETHERNET, &f).unwrap();
        assert_eq!(d.vlans, [10, 20]);
    }

    #[test]
    fn truncated_headers_are_errors_not_panics() {
        let f = eth(1, 0x0800, &ipv4_udp(1, 2, b"abc"));
        for n in 0..f.len() {
            let _ = decode(linktype::ETHERNET, &f[..n]);
        }
        assert!(decode(linktype::ETHERNET, &f[..20]).is_err());
    }

    #[test]
    fn null_loop_sll_and_nflog_links() {
        let ip = ipv4_udp(5, 6, b"z");
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        let mut lp = 2u32.to_be_bytes().to_vec();
        lp.extend_from_slice(&ip);
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 9, 0, 0, 8, 0];
        sll.extend_from_slice(&ip);
        let mut nflog = vec![2, 0, 0, 0];
        let tlv_len = (4 + ip.len()) as u16;
        nflog.extend_from_slice(&tlv_len.to_le_bytes());
        nflog.extend_from_slice(&9u16.to_le_bytes());
        nflog.extend_from_slice(&ip);
        for (lt, f) in [
            (linktype::NULL, &null),
            (linktype::LOOP, &lp),
            (linktype::LINUX_SLL, &sll),
            (linktype::NFLOG, &nflog),
            (linktype::RAW, &ip),
        ] {
            let d = decode(lt, f).unwrap_or_else(|e| panic!("{lt}: {e}"));
            let Network::Ip(p) = d.net else {
                panic!("{lt}")
            };
            assert_eq!(
                transport(p.proto, p.payload).unwrap().ports(),
                (5, 6),
                "{lt}"
            );
        }
        let d = decode(linktype::LINUX_SLL, &sll).unwrap();
        assert_eq!(d.src_mac, Some([2, 0, 0, 0, 0, 9]));
    }

    #[test]
    fn monitor_mode_radio_headers_are_skipped() {
        // An 802.11 data frame to the DS from station ..:09, LLC/SNAP, IPv4.
        let mut wifi = vec![0x08, 0x01, 0, 0];
        wifi.extend_from_slice(&[2, 0, 0, 0, 0, 0xAA]); // BSSID
        wifi.extend_from_slice(&[2, 0, 0, 0, 0, 9]); // station
        wifi.extend_from_slice(&[2, 0, 0, 0, 0, 0xEE]); // destination
        wifi.extend_from_slice(&[0, 0]);
        wifi.extend_from_slice(&[0xAA, 0xAA, 3, 0, 0, 0, 8, 0]);
        wifi.extend(ipv4_udp(7, 8, b"w"));
        let with = |head: Vec<u8>| [head, wifi.clone()].concat();
        let mut avs = vec![0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64];
        avs.resize(64, 0);
        let mut prism = vec![0x44, 0, 0, 0, 144, 0, 0, 0];
        prism.resize(144, 0);
        let mut ppi = vec![0, 0, 12, 0, 105, 0, 0, 0];
        ppi.extend_from_slice(&[0; 4]);
        for (lt, f) in [
            // Radiotap: version, pad, length 12, a present word (rate), rate.
            (
                linktype::RADIOTAP,
                with(vec![0, 0, 12, 0, 4, 0, 0, 0, 0x6c, 0, 0, 0]),
            ),
            (linktype::PPI, with(ppi)),
            (linktype::PRISM, with(prism)),
            (linktype::PRISM, with(avs.clone())),
            (linktype::AVS, with(avs)),
        ] {
            let d = decode(lt, &f).unwrap_or_else(|e| panic!("{lt}: {e}"));
            assert_eq!(d.src_mac, Some([2, 0, 0, 0, 0, 9]), "{lt}");
            let Network::Ip(p) = d.net else {
                panic!("{lt}")
            };
            assert_eq!(transport(p.proto, p.payload).unwrap().ports(), (7, 8));
            for n in 0..f.len() {
                let _ = decode(lt, &f[..n]);
            }
        }
        // The station sent it to its access point, in the clear or
        // encrypted; a frame from the access point (relaying a wired host)
        // names no station's network.
        let d = decode(linktype::IEEE802_11, &wifi).unwrap();
        assert_eq!(d.bssid, Some([2, 0, 0, 0, 0, 0xAA]));
        let mut sealed = wifi.clone();
        sealed[1] = 0x41;
        let d = decode(linktype::IEEE802_11, &sealed).unwrap();
        assert_eq!(
            (d.bssid, d.src_mac),
            (Some([2, 0, 0, 0, 0, 0xAA]), Some([2, 0, 0, 0, 0, 9]))
        );
        assert!(matches!(d.net, Network::Other(0, [])));
        sealed[1] = 0x42;
        assert_eq!(decode(linktype::IEEE802_11, &sealed).unwrap().bssid, None);
        // A header longer than the frame, and PPI over a link it does not know.
        assert!(decode(linktype::RADIOTAP, &[0, 0, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        assert!(decode(linktype::PPI, &[0, 0, 8, 0, 0xff, 0, 0, 0, 1]).is_err());
    }

    #[test]
    fn teredo_indicators_are_skipped() {
        let mut v6 = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
        v6.extend_from_slice(&[0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        v6.extend_from_slice(&[0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        // Authentication (client id 2 bytes, no value), then origin.
        let mut t = vec![0, 1, 2, 0, 0xAB, 0xCD];
        t.extend_from_slice(&[0; 9]);
        t.extend_from_slice(&[0, 0, 0x9c, 0x40, 0x3f, 0xfd, 0xfd, 0xfe]);
        t.extend_from_slice(&v6);
        let f = eth(1, 0x0800, &ipv4_udp(3544, 40000, &t));
        let d = decode(linktype::ETHERNET, &f).unwrap();
        assert_eq!(d.tunnel, Some(Tunnel::Teredo));
        let Network::Ip(ip) = d.net else { panic!() };
        assert_eq!(ip.proto, 59);
        // Not IPv6 after the indicators: the outer UDP datagram stays.
        let at = t.len() - v6.len();
        t[at] = 0x45;
        let f = eth(1, 0x0800, &ipv4_udp(3544, 40000, &t));
        assert_eq!(decode(linktype::ETHERNET, &f).unwrap().tunnel, None);
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        let mut v6 = vec![0x60, 0, 0, 0, 0, 0, 0, 64];
        v6.extend_from_slice(&[0; 32]);
        // Hop-by-hop (8 bytes) then destination options (8 bytes) then UDP.
        let udp = [0, 7, 0, 8, 0, 8, 0, 0];
        let ext = [60, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0];
        let plen = (ext.len() + udp.len()) as u16;
        v6[4..6].copy_from_slice(&plen.to_be_bytes());
        v6[6] = 0;
        v6.extend_from_slice(&ext);
        v6.extend_from_slice(&udp);
        let d = decode(linktype::RAW, &v6).unwrap();
        let Network::Ip(p) = d.net else { panic!() };
        assert_eq!(p.proto, 17);
        assert_eq!(transport(p.proto, p.payload).unwrap().ports(), (7, 8));
    }

    #[test]
    fn neighbour_discovery_names_the_address_and_its_mac() {
        let target: [u8; 16] = [0xfd, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let mac = [2, 0, 0x0a, 0x0a, 0, 0x66];
        // An advertisement: solicited and override flags, then a nonce
        // option (type 14, skipped) and the target link-layer address.
        let mut na = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
        na.extend_from_slice(&target);
        na.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
        na.extend_from_slice(&[2, 1]);
        na.extend_from_slice(&mac);
        let n = ndp(&na, 255).unwrap();
        assert_eq!((n.advert, n.flags, n.mac), (true, 0x60, Some(mac)));
        assert_eq!(n.target, std::net::Ipv6Addr::from(target));
        // A router forwarded it: hosts drop it.
        assert_eq!(ndp(&na, 254), None);
        // A solicitation's source option; a target option there is not it.
        let mut ns = na.clone();
        ns[0] = 135;
        assert_eq!(ndp(&ns, 255).unwrap().mac, None);
        let last = ns.len() - 8;
        ns[last] = 1;
        assert_eq!(ndp(&ns, 255).unwrap().mac, Some(mac));
        // An option of length 0 ends them; truncated anywhere: never a
        // panic, and no address from a short message.
        let mut zero = na.clone();
        zero[25] = 0;
        assert_eq!(ndp(&zero, 255).unwrap().mac, None);
        for n in 0..na.len() {
            let r = ndp(&na[..n], 255);
            assert_eq!(r.is_some(), n >= 24, "{n}");
        }
        // Other ICMPv6 messages are not neighbour discovery.
        let mut echo = na.clone();
        echo[0] = 128;
        assert_eq!(ndp(&echo, 255), None);
    }
}
