//! RDP's connection sequence as far as it is readable (MS-RDPBCGR 2.2.1.1
//! and 2.2.1.2): the client's X.224 Connection Request (the `mstshash`
//! cookie names the user in the clear; the negotiation request lists the
//! security protocols the client can do) and the server's Connection
//! Confirm (the protocol it chose, or why it refused). What follows is
//! encrypted (TLS, CredSSP) or RC4 (Standard RDP Security) and not read.
//!
//! The server's choice is its security posture: Standard RDP Security
//! (no server authentication, a man in the middle reads the session),
//! TLS without Network Level Authentication (the login screen, and the
//! pre-authentication attack surface of BlueKeep, CVE-2019-0708, open to
//! anyone), or NLA (CredSSP).

use crate::bytes::{be16, le32, text, Opening};
use crate::obs::{ObsKind, RdpFact};

/// Whether a client stream starts with an RDP connection request (TPKT +
/// X.224 CR) whose variable part is RDP's: nothing, a cookie or routing
/// token line, or a negotiation request. Other users of TPKT and X.224
/// (Siemens S7 PLCs on port 102, IEC 61850 MMS) send TSAP parameters
/// there (codes 0xC0-0xC2) and are not RDP.
pub fn probe(b: &[u8]) -> bool {
    if !(b.len() >= 11 && b[0] == 3 && b[1] == 0 && b[5] & 0xF0 == 0xE0) {
        return false;
    }
    let len = usize::from(be16(b, 2).unwrap_or(0));
    match b.get(11..len.min(b.len())) {
        Some([]) => len == 11,
        Some(rest) => rest.starts_with(b"Cookie: ") || rest.first() == Some(&1),
        None => false,
    }
}

/// Bytes kept per direction: a connection request with its cookie and
/// negotiation fits.
const CAP: usize = 512;

/// One TPKT-framed PDU at the start of `b`, whole, or `None`.
fn tpkt(b: &[u8]) -> Option<&[u8]> {
    if b.first() != Some(&3) {
        return None;
    }
    b.get(..usize::from(be16(b, 2)?)).filter(|p| p.len() >= 11)
}

/// A negotiation structure (type, flags, length 8, a 32-bit value) at
/// `at`, if one of `kind` is there.
fn negotiation(pdu: &[u8], at: usize, kind: u8) -> Option<u32> {
    let n = pdu.get(at..at + 8)?;
    (n[0] == kind && n[2..4] == [8, 0])
        .then(|| le32(n, 4))
        .flatten()
}

/// Reads a Connection Request: the cookie's user and the protocols asked.
fn request(pdu: &[u8], f: &mut RdpFact) {
    // After the 7-byte X.224 header: a cookie or routing token line, then
    // the negotiation request (possibly followed by correlation info).
    let mut at = 11;
    if let Some(rest) = pdu.get(11..) {
        if rest.starts_with(b"Cookie: ") {
            let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line = String::from_utf8_lossy(&rest[..end]);
            f.cookie_user = line
                .strip_prefix("Cookie: mstshash=")
                .map(|u| text(u.as_bytes(), 64));
            at += end + 2;
        }
    }
    f.requested = negotiation(pdu, at, 1);
}

/// Reads a Connection Confirm: the protocol chosen or the failure.
fn confirm(pdu: &[u8], f: &mut RdpFact) {
    f.confirmed = true;
    f.selected = negotiation(pdu, 11, 2);
    f.failure = negotiation(pdu, 11, 3);
}

/// The connection request and confirm of one connection.
#[derive(Default)]
pub struct RdpState {
    buf: Opening,
    fact: RdpFact,
    /// The request was read.
    asked: bool,
    /// The server chose a protocol that runs over TLS: the bytes after the
    /// confirm are a TLS handshake.
    tls: bool,
    done: bool,
}

impl RdpState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.buf.held()
    }

    /// Whether there is nothing more to read.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Whether the connection goes on in TLS (the server chose TLS, NLA or
    /// RDSTLS): its certificate names the server.
    pub fn tls_started(&self) -> bool {
        self.tls
    }

    /// Feeds stream bytes of direction `dir`.
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.done {
            return;
        }
        if !self.buf.push(dir, data, CAP) {
            return;
        }
        if !self.asked {
            if let Some(pdu) = tpkt(&self.buf.dirs[0]) {
                request(pdu, &mut self.fact);
                self.asked = true;
            }
        }
        // The answer counts once the request was read (a confirm cannot
        // come before it).
        if self.asked {
            if let Some(pdu) = tpkt(&self.buf.dirs[1]).filter(|p| p[5] & 0xF0 == 0xD0) {
                confirm(pdu, &mut self.fact);
                self.tls = matches!(self.fact.selected, Some(1 | 2 | 4 | 8));
                self.emit(out);
                return;
            }
        }
        if self.buf.full(CAP) {
            self.emit(out);
        }
    }

    /// The connection ended: the request alone, if the answer never came.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        if !self.done {
            self.emit(out);
        }
    }

    fn emit(&mut self, out: &mut Vec<ObsKind>) {
        self.done = true;
        self.buf.clear();
        if self.asked {
            out.push(ObsKind::Rdp(Box::new(std::mem::take(&mut self.fact))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdu(code: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![3, 0, 0, 0, 0, code, 0, 0, 0, 0, 0];
        p.extend_from_slice(body);
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_be_bytes());
        p[4] = (p.len() - 5) as u8;
        p
    }

    fn neg(kind: u8, value: u32) -> Vec<u8> {
        let mut n = vec![kind, 0, 8, 0];
        n.extend(value.to_le_bytes());
        n
    }

    fn run(steps: &[(usize, Vec<u8>)]) -> Vec<ObsKind> {
        let mut st = RdpState::default();
        let mut out = Vec::new();
        for (dir, b) in steps {
            for x in b {
                st.feed(*dir, std::slice::from_ref(x), &mut out);
            }
        }
        st.finish(&mut out);
        out
    }

    #[test]
    fn cookie_request_and_the_servers_choice() {
        let mut req = b"Cookie: mstshash=nurse1\r\n".to_vec();
        req.extend(neg(1, 3));
        let req = pdu(0xE0, &req);
        assert!(probe(&req));
        assert!(probe(&pdu(0xE0, &[])));
        let out = run(&[(0, req.clone()), (1, pdu(0xD0, &neg(2, 1)))]);
        let [ObsKind::Rdp(f)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(f.cookie_user.as_deref(), Some("nurse1"));
        assert_eq!(
            (f.requested, f.selected, f.failure),
            (Some(3), Some(1), None)
        );
        assert!(f.confirmed);
        // A refusal: TLS required by the server.
        let out = run(&[(0, req.clone()), (1, pdu(0xD0, &neg(3, 1)))]);
        let [ObsKind::Rdp(f)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!((f.selected, f.failure), (None, Some(1)));
        // No answer: the request alone, at the end.
        let out = run(&[(0, req)]);
        let [ObsKind::Rdp(f)] = &out[..] else {
            panic!("{out:?}")
        };
        assert!(!f.confirmed && f.requested == Some(3));
        // Not RDP: an S7 PLC's connection request (TSAP parameters).
        assert!(!probe(&pdu(
            0xE0,
            &[0xC1, 2, 1, 0, 0xC2, 2, 1, 2, 0xC0, 1, 0x0A]
        )));
        // An old client: no negotiation, no cookie.
        let out = run(&[(0, pdu(0xE0, &[])), (1, pdu(0xD0, &[]))]);
        let [ObsKind::Rdp(f)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!((f.requested, f.selected, f.confirmed), (None, None, true));
    }
}
