//! LDAP over TCP (RFC 4511, port 389 or wherever it is found): simple
//! binds, whose password crosses the network in the clear. Applications
//! (PACS, EHR front ends, badge and nurse-call systems) bind with a service
//! account, and many check a clinician's password by binding as the user:
//! every such bind on 389 without StartTLS shows a directory password.
//!
//! Kept: each simple bind's name (the DN or user principal), whether a
//! password was sent (judged in the parser, never kept) and the server's
//! result. Anonymous and unauthenticated binds (no password) and SASL binds
//! (Kerberos, NTLM: no password on the wire) give no login. StartTLS hands
//! the connection to the TLS dissector. Searches and their entries (names,
//! group memberships) are never read.

use crate::bytes::{ber_header, tlv};
use crate::creds;
use crate::obs::ObsKind;

/// Longest message read whole; longer ones (search results) are skipped by
/// their length.
const MAX_MESSAGE: usize = 16 * 1024;
/// Binds awaiting their result (a client may send several at once).
const MAX_PENDING: usize = 8;
/// The StartTLS extended operation (RFC 4511 4.14).
const START_TLS: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// Whether `b` begins like an LDAPMessage: SEQUENCE, a message id of one
/// to four bytes, then an operation tag of the given set.
fn head(b: &[u8], ops: &[u8]) -> bool {
    let Ok((0x30, _, hdr)) = ber_header(b) else {
        return false;
    };
    let (Some(0x02), Some(id_len)) = (b.get(hdr), b.get(hdr + 1)) else {
        return false;
    };
    (1..=4).contains(id_len)
        && b.get(hdr + 2 + usize::from(*id_len))
            .is_some_and(|op| ops.contains(op))
}

/// Whether a client stream starts with an LDAP bind, search or extended
/// request (how clients open a connection).
pub fn probe_client(b: &[u8]) -> bool {
    head(b, &[0x60, 0x63, 0x77])
}

/// Whether a server stream starts with a bind or extended response (a
/// capture holding the server's side first).
pub fn probe_server(b: &[u8]) -> bool {
    head(b, &[0x61, 0x78])
}

/// A bind waiting for its result, or a StartTLS request.
struct Pending {
    id: Vec<u8>,
    /// `None` for StartTLS.
    bind: Option<(String, creds::Judged)>,
}

/// One LDAP connection's state.
#[derive(Default)]
pub struct LdapState {
    buf: [Vec<u8>; 2],
    /// Bytes of an over-long message still to pass by, per direction.
    skip: [usize; 2],
    pending: Vec<Pending>,
    tls: bool,
    /// Malformed messages.
    pub errors: u64,
    broken: bool,
}

impl LdapState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.buf.iter_mut().map(crate::bytes::held).sum()
    }

    /// Whether StartTLS was accepted: the connection's bytes from here on
    /// are TLS.
    pub fn tls_started(&self) -> bool {
        self.tls
    }

    /// Whether nothing more will be read (framing lost).
    pub fn done(&self) -> bool {
        self.broken
    }

    /// Feeds stream bytes of direction `dir` (0 client, 1 server).
    pub fn feed(&mut self, dir: usize, mut data: &[u8], out: &mut Vec<ObsKind>) {
        if self.broken || self.tls || dir > 1 {
            return;
        }
        let passing = self.skip[dir].min(data.len());
        self.skip[dir] -= passing;
        data = &data[passing..];
        let mut buf = std::mem::take(&mut self.buf[dir]);
        buf.extend_from_slice(data);
        let mut at = 0;
        while let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) {
            // Every message a SEQUENCE with a length it can have.
            let len = match ber_header(rest) {
                Err(true) => break,
                Ok((0x30, len, hdr)) if hdr.checked_add(len).is_some() => hdr + len,
                _ => {
                    self.broken = true;
                    self.errors += 1;
                    break;
                }
            };
            if len > MAX_MESSAGE {
                // Passed by: its bytes here, the rest as they come.
                let here = rest.len().min(len);
                self.skip[dir] = len - here;
                at += here;
                continue;
            }
            let Some(message) = rest.get(..len) else {
                break;
            };
            if dir == 0 {
                self.request(message);
            } else {
                self.response(message, out);
            }
            at += len;
            if self.tls {
                break;
            }
        }
        buf.drain(..at.min(buf.len()));
        self.buf[dir] = buf;
    }

    fn request(&mut self, message: &[u8]) {
        let Some((id, op, v)) = operation(message) else {
            self.errors += 1;
            return;
        };
        let bind = match op {
            // BindRequest: version, name, authentication.
            0x60 => {
                let Some((0x02, _, rest)) = tlv(v) else {
                    self.errors += 1;
                    return;
                };
                let Some((0x04, name, rest)) = tlv(rest) else {
                    self.errors += 1;
                    return;
                };
                // simple [0]: the password; SASL [3] sends none in clear.
                let Some((0x80, password, _)) = tlv(rest) else {
                    return;
                };
                let user = crate::bytes::text(name, 128);
                if user.is_empty() || password.is_empty() {
                    // Anonymous or unauthenticated: no password.
                    return;
                }
                Some((user.clone(), creds::judge(&user, password)))
            }
            // ExtendedRequest: requestName [0].
            0x77 => match tlv(v) {
                Some((0x80, START_TLS, _)) => None,
                _ => return,
            },
            _ => return,
        };
        if self.pending.len() < MAX_PENDING {
            self.pending.push(Pending {
                id: id.to_vec(),
                bind,
            });
        }
    }

    fn response(&mut self, message: &[u8], out: &mut Vec<ObsKind>) {
        let Some((id, op, v)) = operation(message) else {
            self.errors += 1;
            return;
        };
        if op != 0x61 && op != 0x78 {
            return;
        }
        // LDAPResult: resultCode (ENUMERATED) first.
        let Some((0x0A, code, _)) = tlv(v) else {
            self.errors += 1;
            return;
        };
        let code = code.iter().fold(0u32, |c, x| (c << 8) | u32::from(*x));
        let Some(i) = self.pending.iter().position(|p| p.id == id) else {
            return;
        };
        let p = self.pending.remove(i);
        match (op, p.bind) {
            (0x61, Some((user, password))) => out.push(ObsKind::cleartext_login(
                "ldap",
                user,
                true,
                password,
                Some(code == 0),
            )),
            (0x78, None) => self.tls = code == 0,
            _ => {}
        }
    }

    /// At the connection's end: binds whose result was not seen.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        for p in self.pending.drain(..) {
            if let Some((user, password)) = p.bind {
                out.push(ObsKind::cleartext_login("ldap", user, true, password, None));
            }
        }
    }
}

/// An LDAPMessage's id, operation tag and operation contents.
fn operation(message: &[u8]) -> Option<(&[u8], u8, &[u8])> {
    let (0x30, body, _) = tlv(message)? else {
        return None;
    };
    let (0x02, id, rest) = tlv(body)? else {
        return None;
    };
    let (op, v, _) = tlv(rest)?;
    Some((id, op, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bytes::der;
    use crate::creds::PasswordCheck;

    fn message(id: u8, op: Vec<u8>) -> Vec<u8> {
        der(0x30, &[der(0x02, &[id]), op].concat())
    }

    fn bind(id: u8, name: &[u8], auth: Vec<u8>) -> Vec<u8> {
        message(
            id,
            der(0x60, &[der(0x02, &[3]), der(0x04, name), auth].concat()),
        )
    }

    fn result(id: u8, op: u8, code: u8) -> Vec<u8> {
        message(
            id,
            der(
                op,
                &[der(0x0A, &[code]), der(0x04, b""), der(0x04, b"")].concat(),
            ),
        )
    }

    fn logins(out: &[ObsKind]) -> Vec<(String, Option<bool>, PasswordCheck)> {
        out.iter()
            .filter_map(|o| match o {
                ObsKind::Login {
                    user,
                    success,
                    password,
                    ..
                } => Some((user.clone(), *success, password.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn simple_binds_give_logins_with_their_results() {
        let mut st = LdapState::default();
        let mut out = Vec::new();
        let dn = b"CN=svc-pacs,OU=Service Accounts,DC=hospital,DC=example";
        let first = bind(1, dn, der(0x80, b"Pacs#2019"));
        assert!(probe_client(&first));
        // Cut across segments.
        st.feed(0, &first[..9], &mut out);
        st.feed(0, &first[9..], &mut out);
        assert!(probe_server(&result(1, 0x61, 0)));
        st.feed(1, &result(1, 0x61, 0), &mut out);
        // Two binds at once (a pool checking users); answers in any order.
        let two = [
            bind(2, b"jdoe@hospital.example", der(0x80, b"password")),
            bind(3, b"asmith@hospital.example", der(0x80, b"x")),
        ]
        .concat();
        st.feed(0, &two, &mut out);
        st.feed(
            1,
            &[result(3, 0x61, 0), result(2, 0x61, 49)].concat(),
            &mut out,
        );
        st.finish(&mut out);
        let got = logins(&out);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].0, String::from_utf8_lossy(dn));
        assert_eq!(got[0].1, Some(true));
        assert_eq!(
            (got[1].0.as_str(), got[1].1),
            ("asmith@hospital.example", Some(true))
        );
        assert_eq!(
            got[2],
            (
                "jdoe@hospital.example".into(),
                Some(false),
                PasswordCheck::Common
            )
        );
        assert!(!format!("{out:?}").contains("Pacs#2019"));
    }

    #[test]
    fn anonymous_and_sasl_binds_are_no_logins_and_starttls_ends_reading() {
        let mut st = LdapState::default();
        let mut out = Vec::new();
        st.feed(0, &bind(1, b"", der(0x80, b"")), &mut out);
        st.feed(0, &bind(2, b"cn=x", der(0x80, b"")), &mut out);
        let sasl = der(0xA3, &der(0x04, b"GSS-SPNEGO"));
        st.feed(0, &bind(3, b"", sasl), &mut out);
        st.feed(
            1,
            &[
                result(1, 0x61, 0),
                result(2, 0x61, 0),
                result(3, 0x61, 14),
                result(3, 0x61, 0),
            ]
            .concat(),
            &mut out,
        );
        // A search result too long to hold is passed by.
        let entry = message(4, der(0x64, &vec![b'a'; 40_000]));
        st.feed(1, &entry[..1000], &mut out);
        st.feed(1, &entry[1000..], &mut out);
        assert!(!st.done() && st.held() < 4096);
        let start = message(5, der(0x77, &der(0x80, START_TLS)));
        assert!(probe_client(&start));
        st.feed(0, &start, &mut out);
        assert!(!st.tls_started());
        st.feed(1, &result(5, 0x78, 0), &mut out);
        assert!(st.tls_started());
        st.finish(&mut out);
        assert_eq!(logins(&out), vec![]);
        assert_eq!(st.errors, 0);
    }

    #[test]
    fn other_streams_are_not_ldap_and_garbage_stops_reading() {
        for no in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"\x30\x05\x02\x01\x01\x42\x00",
            b"\x30\x80\x02\x01\x01\x60",
            b"0",
            b"",
        ] {
            assert!(!probe_client(no), "{no:?}");
        }
        let mut st = LdapState::default();
        let mut out = Vec::new();
        st.feed(0, b"\x31\x03abc", &mut out);
        assert!(st.done());
        assert_eq!(st.errors, 1);
    }
}
