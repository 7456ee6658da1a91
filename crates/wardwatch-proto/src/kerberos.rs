//! Kerberos requests to a domain controller (RFC 4120, port 88, over UDP
//! and over TCP with a 4-byte length). A domain-joined Windows host logs
//! its machine account on in the clear: the client principal of its
//! AS-REQ is its NetBIOS name with a `$`, the realm its domain, and a
//! request may list the host's NetBIOS address. On a server VLAN, where no
//! broadcast reaches the sensor, this is often the only place a workstation
//! names itself.
//!
//! Only machine accounts name a device: a person's principal (a clinician's
//! logon) is never kept, nor anything encrypted or any pre-authentication
//! data.

use crate::bytes::tlv;
use crate::obs::{DomainMemberFact, ObsKind};

/// A request's message: AS-REQ (application 10) or TGS-REQ (12).
fn is_request(tag: u8) -> bool {
    tag == 0x6A || tag == 0x6C
}

/// Whether a client stream starts with a Kerberos request over TCP: a
/// record length that fits the record's own DER length.
pub fn probe_tcp(b: &[u8]) -> bool {
    let (Some(len), Some(&tag)) = (b.get(..4), b.get(4)) else {
        return false;
    };
    let record = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if !is_request(tag) || !(16..=MAX_RECORD).contains(&record) {
        return false;
    }
    // The DER length of the request must say the same (short or long form).
    let Some(&first) = b.get(5) else {
        return false;
    };
    let (inner, hdr) = match first {
        0..=0x7F => (usize::from(first), 2),
        0x81 => (b.get(6).map_or(0, |l| usize::from(*l)), 3),
        0x82 => (
            b.get(6..8)
                .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]]))),
            4,
        ),
        _ => return false,
    };
    inner + hdr == record
}

/// Longest TCP record read (an AS-REQ is a few hundred bytes; a TGS-REQ
/// with a ticket a few kilobytes).
const MAX_RECORD: usize = 64 * 1024;

/// The strings of a PrincipalName's name-string, joined with `/`.
fn principal(b: &[u8]) -> Option<String> {
    let (0x30, seq, _) = tlv(b)? else {
        return None;
    };
    let mut fields = seq;
    while let Some((tag, v, rest)) = tlv(fields) {
        fields = rest;
        if tag != 0xA1 {
            continue;
        }
        let (0x30, mut names, _) = tlv(v)? else {
            return None;
        };
        let mut parts = Vec::new();
        while let Some((0x1B, s, rest)) = tlv(names) {
            parts.push(crate::bytes::text(s, 64));
            names = rest;
        }
        return Some(parts.join("/"));
    }
    None
}

/// A NetBIOS name fit to name a host: letters, digits and `-_.`.
pub(crate) fn host_name(s: &str) -> Option<String> {
    let s = s.trim_end_matches(' ');
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    ok.then(|| s.to_string())
}

/// Parses a request (without the TCP length): the machine account it
/// names, its realm and the NetBIOS address it lists. `None` when it names
/// no host (a person's logon, a service ticket without addresses).
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    let (tag, body, _) = tlv(b)?;
    if !is_request(tag) {
        return None;
    }
    let (0x30, mut fields, _) = tlv(body)? else {
        return None;
    };
    let mut req_body = None;
    while let Some((tag, v, rest)) = tlv(fields) {
        fields = rest;
        if tag == 0xA4 {
            req_body = Some(v);
        }
    }
    let (0x30, mut fields, _) = tlv(req_body?)? else {
        return None;
    };
    let mut f = DomainMemberFact {
        protocol: "kerberos".into(),
        ..Default::default()
    };
    while let Some((tag, v, rest)) = tlv(fields) {
        fields = rest;
        match tag {
            0xA1 => {
                // A machine account is its host's NetBIOS name and a `$`.
                f.machine = principal(v).and_then(|p| p.strip_suffix('$').and_then(host_name));
            }
            0xA2 => {
                if let Some((0x1B, s, _)) = tlv(v) {
                    f.domain = crate::bytes::text_opt(s, 128);
                }
            }
            0xA9 => {
                // HostAddresses: addr-type 20 is a NetBIOS name.
                let Some((0x30, mut addrs, _)) = tlv(v) else {
                    continue;
                };
                while let Some((0x30, a, rest)) = tlv(addrs) {
                    addrs = rest;
                    let (Some((0xA0, t, r)), true) = (tlv(a), f.netbios.is_none()) else {
                        continue;
                    };
                    let Some((0xA1, addr, _)) = tlv(r) else {
                        continue;
                    };
                    let is_netbios = matches!(tlv(t), Some((0x02, [20], _)));
                    if let (true, Some((0x04, name, _))) = (is_netbios, tlv(addr)) {
                        f.netbios = host_name(&crate::bytes::text(name, 16));
                    }
                }
            }
            _ => {}
        }
    }
    if f.machine.is_none() && f.netbios.is_none() {
        return None;
    }
    Some(ObsKind::DomainMember(Box::new(f)))
}

/// Kerberos over TCP: the client's first request, read whole.
#[derive(Default)]
pub struct KerberosState {
    buf: Vec<u8>,
    done: bool,
}

impl KerberosState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        crate::bytes::held(&mut self.buf)
    }

    /// Whether there is nothing more to read.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Feeds stream bytes of direction `dir` (the server's are not read).
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.done || dir != 0 {
            return;
        }
        let need = |b: &[u8]| {
            b.get(..4)
                .map(|l| 4 + u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
        };
        self.buf.extend_from_slice(data);
        match need(&self.buf) {
            Some(n) if n > MAX_RECORD + 4 => self.done = true,
            Some(n) if self.buf.len() >= n => {
                out.extend(self.buf.get(4..n).and_then(parse));
                self.done = true;
                self.buf = Vec::new();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bytes::der;

    fn name(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
        let strings: Vec<u8> = parts.iter().flat_map(|p| der(0x1B, p)).collect();
        der(
            0x30,
            &[
                der(0xA0, &der(0x02, &[kind])),
                der(0xA1, &der(0x30, &strings)),
            ]
            .concat(),
        )
    }

    fn as_req(cname: &[u8], netbios: Option<&[u8]>) -> Vec<u8> {
        let mut body = der(0xA0, &der(0x03, &[0, 0x40, 0x81, 0, 0x10]));
        body.extend(der(0xA1, &name(1, &[cname])));
        body.extend(der(0xA2, &der(0x1B, b"RAD.EXAMPLE")));
        body.extend(der(0xA3, &name(2, &[b"krbtgt", b"RAD.EXAMPLE"])));
        body.extend(der(0xA7, &der(0x02, &[0x12, 0x34])));
        if let Some(n) = netbios {
            let addr = der(
                0x30,
                &[der(0xA0, &der(0x02, &[20])), der(0xA1, &der(0x04, n))].concat(),
            );
            body.extend(der(0xA9, &der(0x30, &addr)));
        }
        let mut req = der(0xA1, &der(0x02, &[5]));
        req.extend(der(0xA2, &der(0x02, &[10])));
        req.extend(der(0xA3, &der(0x30, &[])));
        req.extend(der(0xA4, &der(0x30, &body)));
        der(0x6A, &der(0x30, &req))
    }

    #[test]
    fn a_machine_logon_names_its_host() {
        let req = as_req(b"WS-RAD-07$", Some(b"WS-RAD-07       "));
        let Some(ObsKind::DomainMember(f)) = parse(&req) else {
            panic!("not parsed");
        };
        assert_eq!(f.machine.as_deref(), Some("WS-RAD-07"));
        assert_eq!(f.domain.as_deref(), Some("RAD.EXAMPLE"));
        assert_eq!(f.netbios.as_deref(), Some("WS-RAD-07"));
        // Over TCP, in pieces: the record is read whole, once.
        let mut tcp = (req.len() as u32).to_be_bytes().to_vec();
        tcp.extend_from_slice(&req);
        assert!(probe_tcp(&tcp));
        let mut st = KerberosState::default();
        let mut out = Vec::new();
        for piece in tcp.chunks(7) {
            st.feed(0, piece, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert!(st.done());
        for n in 0..req.len() {
            let _ = parse(&req[..n]);
        }
    }

    #[test]
    fn a_persons_logon_names_nobody() {
        // A user principal is never kept, and without a NetBIOS address
        // the request names no host.
        assert_eq!(parse(&as_req(b"jdoe", None)), None);
        let Some(ObsKind::DomainMember(f)) = parse(&as_req(b"jdoe", Some(b"WS-RAD-07"))) else {
            panic!("not parsed");
        };
        assert_eq!(f.machine, None);
        assert!(!format!("{f:?}").contains("jdoe"));
        // A length that disagrees with the request is no Kerberos stream.
        let req = as_req(b"WS-RAD-07$", None);
        let mut tcp = (req.len() as u32 + 1).to_be_bytes().to_vec();
        tcp.extend_from_slice(&req);
        assert!(!probe_tcp(&tcp));
    }
}
