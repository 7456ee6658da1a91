//! VNC: the Remote Framebuffer protocol's handshake (RFC 6143, and the
//! RFB 3.3 and 3.7 forms older servers speak). Imaging consoles, lab
//! analysers and nurse-station PCs run VNC servers for the vendor's remote
//! service; one that lets anyone in without a password, or with a default
//! one, hands the device's screen and keyboard to whoever reaches it.
//!
//! Read both ways: the versions, the security types the server offers and
//! the one the client picks, the security result, and the server's desktop
//! name and screen size. VNC Authentication sends the server's random
//! challenge back DES-encrypted under the password: the parser encrypts the
//! challenge under each default and common password (see
//! [`crate::creds::vnc_candidates`]) and keeps only the verdict. The
//! challenge and the response are never kept.

use std::sync::OnceLock;

use crate::bytes::{be16, be32, text_opt, Opening};
use crate::creds::{self, PasswordCheck};
use crate::des;
use crate::obs::{ObsKind, VncFact};

/// Bytes kept per direction: the handshake up to the desktop name fits.
const CAP: usize = 1024;
/// Longest desktop name kept.
const MAX_NAME: usize = 64;

/// The `RFB xxx.yyy\n` version banner at the start of `b`: (major, minor).
fn banner(b: &[u8]) -> Option<(u16, u16)> {
    let b = b.get(..12)?;
    if &b[..4] != b"RFB " || b[7] != b'.' || b[11] != b'\n' {
        return None;
    }
    let num = |x: &[u8]| {
        x.iter()
            .all(u8::is_ascii_digit)
            .then(|| x.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0')))
    };
    Some((num(&b[4..7])?, num(&b[8..11])?))
}

/// Whether a stream starts with an RFB version banner (the server's, or
/// the client's answer to it).
pub fn probe(b: &[u8]) -> bool {
    banner(b).is_some()
}

/// The candidates' DES keys, built once.
fn candidates() -> &'static [(des::Key, PasswordCheck)] {
    static C: OnceLock<Vec<(des::Key, PasswordCheck)>> = OnceLock::new();
    C.get_or_init(|| {
        creds::vnc_candidates()
            .into_iter()
            .map(|(p, v)| (des::vnc_key(&p), v))
            .collect()
    })
}

/// The verdict on the password behind a VNC Authentication response.
fn judge(challenge: &[u8], response: &[u8]) -> PasswordCheck {
    let (Some(c0), Some(c1), Some(r0), Some(r1)) = (
        challenge.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()),
        challenge
            .get(8..16)
            .and_then(|b| <[u8; 8]>::try_from(b).ok()),
        response.get(..8),
        response.get(8..16),
    ) else {
        return PasswordCheck::Unknown;
    };
    candidates()
        .iter()
        .find(|(k, _)| k.encrypt(c0) == r0 && k.encrypt(c1) == r1)
        .map_or(PasswordCheck::Unknown, |(_, v)| v.clone())
}

/// The handshake of one connection.
#[derive(Default)]
pub struct VncState {
    /// Bytes from the client and the server, up to [`CAP`] each.
    buf: Opening,
    /// The verdict on the password, once the response was judged.
    verdict: Option<PasswordCheck>,
    done: bool,
}

impl VncState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.buf.held()
    }

    /// Whether there is nothing more to read.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Feeds stream bytes of direction `dir`.
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.done {
            return;
        }
        if !self.buf.push(dir, data, CAP) {
            return;
        }
        let mut fact = None;
        let complete = self.walk(&mut fact).is_some();
        // A handshake longer than the buffers is not VNC as known.
        if complete || self.buf.full(CAP) {
            self.emit(fact, out);
        }
    }

    /// The connection ended: what was seen of the handshake.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        if !self.done {
            let mut fact = None;
            self.walk(&mut fact);
            self.emit(fact, out);
        }
    }

    fn emit(&mut self, fact: Option<VncFact>, out: &mut Vec<ObsKind>) {
        self.done = true;
        self.buf.clear();
        out.extend(fact.map(|f| ObsKind::Vnc(Box::new(f))));
    }

    /// Reads the handshake as far as the bytes go, into `fact` (left
    /// `None` without a server banner). `Some` when it is complete: the
    /// desktop name read, the client refused, or a security type whose
    /// rest is encrypted or unknown chosen.
    fn walk(&mut self, fact: &mut Option<VncFact>) -> Option<()> {
        let [c, s] = &self.buf.dirs;
        let (major, minor) = banner(s)?;
        let client = banner(c);
        let f = fact.insert(VncFact {
            version: String::from_utf8_lossy(&s[..11]).into_owned(),
            client_version: client.map(|_| String::from_utf8_lossy(&c[..11]).into_owned()),
            offered: Vec::new(),
            chosen: None,
            password: PasswordCheck::Unknown,
            accepted: None,
            desktop: None,
            screen: None,
        });
        // The client's version rules the rest (it answers with at most the
        // server's); Apple's 3.889 is a 3.8.
        let version = client?.min((major, minor));
        let (v37, v38) = (version >= (3, 7), version >= (3, 8));
        let (mut sp, mut cp) = (12, 12);
        let chosen = if v37 {
            let n = usize::from(*s.get(sp)?);
            sp += 1;
            if n == 0 {
                // The server refused the connection (a reason follows).
                f.accepted = Some(false);
                return Some(());
            }
            f.offered = s.get(sp..sp + n)?.to_vec();
            sp += n;
            let t = *c.get(cp)?;
            cp += 1;
            t
        } else {
            let t = be32(s, sp)?;
            sp += 4;
            if t == 0 {
                f.accepted = Some(false);
                return Some(());
            }
            let t = u8::try_from(t).ok()?;
            f.offered = vec![t];
            t
        };
        f.chosen = Some(chosen);
        match chosen {
            // No authentication: RFB 3.8 still sends a security result.
            1 if v38 => {
                let r = be32(s, sp)?;
                sp += 4;
                f.accepted = Some(r == 0);
            }
            1 => {}
            2 => {
                let challenge = s.get(sp..sp + 16)?;
                sp += 16;
                let response = c.get(cp..cp + 16)?;
                f.password = self
                    .verdict
                    .get_or_insert_with(|| judge(challenge, response))
                    .clone();
                let r = be32(s, sp)?;
                sp += 4;
                f.accepted = Some(r == 0);
            }
            // TLS, VeNCrypt, vendors' own: the rest is theirs.
            _ => return Some(()),
        }
        if f.accepted == Some(false) {
            return Some(());
        }
        // ServerInit: width, height, pixel format (16), name length, name.
        let (w, h) = (be16(s, sp)?, be16(s, sp + 2)?);
        let len = be32(s, sp + 20)? as usize;
        let name = s.get(sp + 24..)?;
        let name = name.get(..len.min(MAX_NAME))?;
        f.screen = Some((w, h));
        f.desktop = text_opt(name, MAX_NAME);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DES response a client with `password` sends to `challenge`.
    fn respond(password: &[u8], challenge: &[u8; 16]) -> Vec<u8> {
        let k = des::vnc_key(password);
        let mut r = k.encrypt(challenge[..8].try_into().unwrap()).to_vec();
        r.extend(k.encrypt(challenge[8..].try_into().unwrap()));
        r
    }

    fn server_init(name: &[u8]) -> Vec<u8> {
        let mut b = vec![0x04, 0x00, 0x03, 0x00];
        b.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
        b.extend((name.len() as u32).to_be_bytes());
        b.extend(name);
        b
    }

    fn run(steps: &[(usize, Vec<u8>)]) -> Vec<ObsKind> {
        let mut st = VncState::default();
        let mut out = Vec::new();
        for (dir, b) in steps {
            // Byte by byte: the handshake is read across any split.
            for x in b {
                st.feed(*dir, std::slice::from_ref(x), &mut out);
            }
        }
        st.finish(&mut out);
        out
    }

    fn fact(out: &[ObsKind]) -> &VncFact {
        match out {
            [ObsKind::Vnc(f)] => f,
            other => panic!("one VNC fact expected, got {other:?}"),
        }
    }

    #[test]
    fn no_authentication_in_rfb_3_8_and_3_3() {
        let out = run(&[
            (1, b"RFB 003.008\n".to_vec()),
            (0, b"RFB 003.008\n".to_vec()),
            (1, vec![2, 1, 2]),
            (0, vec![1]),
            (1, vec![0, 0, 0, 0]),
            (0, vec![1]),
            (1, server_init(b"ultrasound-3:0")),
        ]);
        let f = fact(&out);
        assert_eq!((f.offered.as_slice(), f.chosen), (&[1u8, 2][..], Some(1)));
        assert_eq!(f.accepted, Some(true));
        assert_eq!(f.desktop.as_deref(), Some("ultrasound-3:0"));
        assert_eq!(f.screen, Some((1024, 768)));
        assert!(f.unauthenticated());
        // RFB 3.3: the server dictates the type, no security result.
        let out = run(&[
            (1, b"RFB 003.003\n".to_vec()),
            (0, b"RFB 003.003\n".to_vec()),
            (1, vec![0, 0, 0, 1]),
            (0, vec![0]),
            (1, server_init(b"")),
        ]);
        let f = fact(&out);
        assert_eq!(
            (f.chosen, f.accepted, f.desktop.as_deref()),
            (Some(1), None, None)
        );
        assert!(f.unauthenticated());
    }

    #[test]
    fn a_default_password_is_recognised_and_another_is_not() {
        let challenge = *b"0123456789abcdef";
        for (password, accepted, default) in [
            (&b"1234"[..], true, true),
            (b"Xq7!vT9z", true, false),
            (b"1234", false, true),
        ] {
            let out = run(&[
                (1, b"RFB 003.008\n".to_vec()),
                (0, b"RFB 003.007\n".to_vec()),
                (1, vec![1, 2]),
                (0, vec![2]),
                (1, challenge.to_vec()),
                (0, respond(password, &challenge)),
                (1, vec![0, 0, 0, u8::from(!accepted)]),
                (0, vec![1]),
                (1, server_init(b"lab")),
            ]);
            let f = fact(&out);
            assert_eq!(f.accepted, Some(accepted));
            assert_eq!(f.password.is_default(), default, "{f:?}");
            assert!(!f.unauthenticated());
            // A refused client gets no desktop.
            assert_eq!(f.desktop.is_some(), accepted);
        }
    }

    #[test]
    fn a_banner_alone_is_reported_when_the_connection_ends() {
        let out = run(&[(1, b"RFB 003.008\n".to_vec())]);
        let f = fact(&out);
        assert_eq!((f.version.as_str(), f.chosen), ("RFB 003.008", None));
        // Refused at once: no security types, a reason.
        let mut refusal = vec![0, 0, 0, 0, 7];
        refusal.extend(b"blocked");
        let out = run(&[
            (1, b"RFB 003.008\n".to_vec()),
            (0, b"RFB 003.008\n".to_vec()),
            (1, refusal),
        ]);
        assert_eq!(fact(&out).accepted, Some(false));
        assert!(!probe(b"RFB 3.8\n    "));
    }
}
