//! SMB over NetBIOS session service (TCP 139/445): the dialect (SMBv1 is
//! flagged), SMBv1 native OS / LAN manager strings, and NTLMSSP host,
//! domain and Windows version from the challenge and authenticate messages.
//! Passwords and hashes are never read.

use crate::bytes::{le16, le32};
use crate::obs::ObsKind;

/// Whether a stream starts with an NBSS message carrying SMB1 or SMB2/3.
pub fn probe(b: &[u8]) -> bool {
    b.len() >= 8 && b[0] == 0 && (b[4..8] == *b"\xffSMB" || b[4..8] == *b"\xfeSMB")
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect()
}

/// SMB2 dialect names.
pub fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "SMB 2.0.2".into(),
        0x0210 => "SMB 2.1".into(),
        0x0222 => "SMB 2.2.2".into(),
        0x0224 => "SMB 2.2.4".into(),
        0x0300 => "SMB 3.0".into(),
        0x0302 => "SMB 3.0.2".into(),
        0x0311 => "SMB 3.1.1".into(),
        0x02ff => "SMB 2.???".into(),
        d => format!("0x{d:04x}"),
    }
}

/// Windows product names for NTLM version numbers.
pub fn windows_name(major: u8, minor: u8, build: u16) -> String {
    let name = match (major, minor) {
        (5, 0) => "Windows 2000",
        (5, 1) => "Windows XP",
        (5, 2) => "Windows XP x64 / Server 2003",
        (6, 0) => "Windows Vista / Server 2008",
        (6, 1) => "Windows 7 / Server 2008 R2",
        (6, 2) => "Windows 8 / Server 2012",
        (6, 3) => "Windows 8.1 / Server 2012 R2",
        (10, 0) if build >= 22000 => "Windows 11 / Server 2022",
        (10, 0) => "Windows 10 / Server 2016-2019",
        _ => "Windows",
    };
    format!("{name} ({major}.{minor}.{build})")
}

/// Finds NTLMSSP in a message and reads what identifies the machine.
fn ntlmssp(b: &[u8], out: &mut Vec<ObsKind>) {
    let Some(at) = b.windows(8).position(|w| w == b"NTLMSSP\0") else {
        return;
    };
    let m = &b[at..];
    let Some(ty) = le32(m, 8) else { return };
    // The version field is there only when NEGOTIATE_VERSION is set.
    let version = |flags_at: usize, off: usize| -> Option<String> {
        let flags = le32(m, flags_at)?;
        if flags & 0x0200_0000 == 0 {
            return None;
        }
        let v = m.get(off..off + 8)?;
        (v[0] != 0).then(|| windows_name(v[0], v[1], u16::from_le_bytes([v[2], v[3]])))
    };
    let field = |off: usize| -> Option<String> {
        let len = le16(m, off)? as usize;
        let pos = le32(m, off + 4)? as usize;
        let s = utf16(m.get(pos..pos + len)?);
        (!s.is_empty() && s != "NULL").then_some(s)
    };
    match ty {
        2 => {
            // CHALLENGE: target name, and the server's version.
            out.push(ObsKind::Ntlm(Box::new(crate::obs::NtlmFact {
                message: "challenge".into(),
                domain: field(12),
                host: None,
                user: None,
                os: version(20, 48),
            })));
        }
        3 => {
            // AUTHENTICATE: domain, user, workstation; never the responses.
            out.push(ObsKind::Ntlm(Box::new(crate::obs::NtlmFact {
                message: "authenticate".into(),
                domain: field(28),
                user: field(36),
                host: field(44),
                os: version(60, 64),
            })));
        }
        _ => {}
    }
}

/// SMB state of one connection.
#[derive(Default)]
pub struct SmbState {
    buf: [Vec<u8>; 2],
    dialect_sent: bool,
    messages: u32,
}

impl SmbState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.buf.iter_mut().map(crate::bytes::held).sum()
    }

    /// Feeds stream bytes of direction `dir`.
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(buf) = self.buf.get_mut(dir) else {
            return;
        };
        buf.extend_from_slice(data);
        loop {
            let Some(buf) = self.buf.get_mut(dir) else {
                return;
            };
            if buf.len() < 4 {
                return;
            }
            let len = u32::from_be_bytes([0, buf[1], buf[2], buf[3]]) as usize;
            if buf[0] != 0 || len > 1 << 20 {
                buf.clear();
                return;
            }
            if buf.len() < 4 + len {
                if buf.len() > 1 << 20 {
                    buf.clear();
                }
                return;
            }
            let msg: Vec<u8> = buf[4..4 + len].to_vec();
            buf.drain(..4 + len);
            self.messages += 1;
            if self.messages > 64 {
                // Identity is in the first exchanges; the rest is file I/O.
                self.buf = Default::default();
                return;
            }
            self.message(dir, &msg, out);
        }
    }

    fn message(&mut self, dir: usize, m: &[u8], out: &mut Vec<ObsKind>) {
        if m.starts_with(b"\xffSMB") {
            let cmd = m.get(4).copied().unwrap_or(0);
            if cmd == 0x72 && dir == 0 && !self.dialect_sent {
                self.dialect_sent = true;
                out.push(ObsKind::SmbDialect {
                    dialect: "SMB 1 (NT LM 0.12)".into(),
                    smb1: true,
                });
            }
            if cmd == 0x73 {
                // Session Setup AndX: native OS and LAN manager strings sit
                // at the end of the byte block as two terminated strings.
                let unicode = le16(m, 10).is_some_and(|f| f & 0x8000 != 0);
                let wc = m.get(32).copied().unwrap_or(0) as usize;
                if let Some(bytes) = m.get(33 + wc * 2 + 2..) {
                    let strings: Vec<String> = if unicode {
                        let start = if (33 + wc * 2 + 2) % 2 == 1 { 1 } else { 0 };
                        bytes
                            .get(start..)
                            .unwrap_or(&[])
                            .chunks(2)
                            .collect::<Vec<_>>()
                            .split(|c| *c == [0, 0])
                            .map(|parts| utf16(&parts.concat()))
                            .filter(|s| s.len() > 3)
                            .collect()
                    } else {
                        bytes
                            .split(|c| *c == 0)
                            .map(|s| {
                                String::from_utf8_lossy(s)
                                    .chars()
                                    .filter(|c| !c.is_control())
                                    .collect::<String>()
                            })
                            .filter(|s| s.len() > 3)
                            .collect()
                    };
                    if let Some(os) = strings.iter().find(|s| {
                        s.contains("Windows") || s.contains("Unix") || s.contains("Samba")
                    }) {
                        out.push(ObsKind::SmbNativeOs {
                            os: os.chars().take(128).collect(),
                        });
                    }
                }
                ntlmssp(m, out);
            }
        } else if m.starts_with(b"\xfeSMB") {
            let cmd = le16(m, 12).unwrap_or(0xffff);
            let response = le32(m, 16).is_some_and(|f| f & 1 != 0);
            if cmd == 0 && response && !self.dialect_sent {
                if let Some(d) = le16(m, 64 + 4) {
                    self.dialect_sent = true;
                    out.push(ObsKind::SmbDialect {
                        dialect: dialect_name(d),
                        smb1: false,
                    });
                }
            }
            if cmd == 1 {
                ntlmssp(m, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_garbage() {
        assert_eq!(dialect_name(0x0311), "SMB 3.1.1");
        assert!(windows_name(6, 1, 7601).starts_with("Windows 7"));
        let mut st = SmbState::default();
        let mut out = Vec::new();
        st.feed(
            0,
            &[0, 0, 0, 8, 0xff, b'S', b'M', b'B', 0x72, 0, 0, 0],
            &mut out,
        );
        assert!(matches!(&out[..], [ObsKind::SmbDialect { smb1: true, .. }]));
        for n in 0..64 {
            let mut st = SmbState::default();
            st.feed(0, &vec![0xA5; n], &mut out);
        }
    }
}
