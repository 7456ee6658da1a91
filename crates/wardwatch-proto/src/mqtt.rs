//! MQTT 3.1/3.1.1/5: CONNECT (client id, user; the password only as
//! present), CONNACK (accepted or refused), and the names of topics
//! published — only those that match no identifier pattern.

use crate::creds::{self, PasswordCheck};
use crate::obs::ObsKind;

/// Whether a client stream starts with an MQTT CONNECT.
pub fn probe(b: &[u8]) -> bool {
    if b.first() != Some(&0x10) {
        return false;
    }
    // Skip the remaining-length varint, then the protocol name.
    let mut i = 1;
    while i < 5 && b.get(i).is_some_and(|c| c & 0x80 != 0) {
        i += 1;
    }
    let name = b.get(i + 1..i + 7);
    name.is_some_and(|n| n.starts_with(b"\x00\x04MQTT") || n.starts_with(b"\x00\x06MQIs"))
}

/// One MQTT control packet: type nibble, flags, body.
fn packet(b: &[u8]) -> Option<(u8, u8, &[u8], usize)> {
    let first = *b.first()?;
    let mut len = 0usize;
    let mut mult = 1usize;
    let mut i = 1;
    loop {
        let c = *b.get(i)?;
        len += (c & 0x7F) as usize * mult;
        i += 1;
        if c & 0x80 == 0 {
            break;
        }
        mult *= 128;
        if i > 4 {
            return None;
        }
    }
    let body = b.get(i..i + len)?;
    Some((first >> 4, first & 0x0F, body, i + len))
}

fn string(b: &[u8], at: &mut usize) -> Option<String> {
    let l = u16::from_be_bytes([*b.get(*at)?, *b.get(*at + 1)?]) as usize;
    let s = b.get(*at + 2..*at + 2 + l)?;
    *at += 2 + l;
    Some(
        String::from_utf8_lossy(s)
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect(),
    )
}

/// A length-prefixed binary field (the CONNECT password), borrowed.
fn binary<'a>(b: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let l = u16::from_be_bytes([*b.get(*at)?, *b.get(*at + 1)?]) as usize;
    let s = b.get(*at + 2..*at + 2 + l)?;
    *at += 2 + l;
    Some(s)
}

/// A topic is reported only if it carries no identifier-like part (long
/// digit runs, UUIDs, hex serials), which could name a patient or bed.
pub fn topic_is_safe(t: &str) -> bool {
    t.split('/').all(|part| {
        let digits = part.chars().filter(|c| c.is_ascii_digit()).count();
        let hex = part.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        digits < 4 && !(hex && part.len() >= 8)
    })
}

/// MQTT state of one connection.
#[derive(Default)]
pub struct MqttState {
    buf: [Vec<u8>; 2],
    pending: Option<(String, String, creds::Judged)>,
    topics: Vec<String>,
}

impl MqttState {
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
        if buf.len() > 1 << 20 {
            buf.clear();
            return;
        }
        loop {
            let Some(buf) = self.buf.get_mut(dir) else {
                return;
            };
            let Some((ty, _flags, body, used)) = packet(buf) else {
                return;
            };
            let body = body.to_vec();
            buf.drain(..used);
            match (dir, ty) {
                (0, 1) => self.connect(&body, out),
                (1, 2) => {
                    // CONNACK: return/reason code in the second byte.
                    let code = body.get(1).copied().unwrap_or(0xFF);
                    if let Some((_, user, (pass, tag))) = self.pending.take() {
                        let present = pass != PasswordCheck::Unknown;
                        if !user.is_empty() || present {
                            out.push(ObsKind::Login {
                                protocol: "mqtt".into(),
                                user,
                                password_present: present,
                                success: Some(code == 0),
                                encrypted: false,
                                password: pass,
                                password_tag: tag,
                            });
                        }
                    }
                }
                (0, 3) => {
                    let mut at = 0;
                    if let Some(t) = string(&body, &mut at) {
                        if topic_is_safe(&t) && !self.topics.contains(&t) && self.topics.len() < 16
                        {
                            self.topics.push(t.clone());
                            out.push(ObsKind::MqttTopic { topic: t });
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn connect(&mut self, b: &[u8], out: &mut Vec<ObsKind>) {
        let mut at = 0;
        let Some(_proto) = string(b, &mut at) else {
            return;
        };
        let Some(&level) = b.get(at) else { return };
        let Some(&flags) = b.get(at + 1) else { return };
        at += 4; // level, flags, keepalive
        if level == 5 {
            // MQTT 5 properties: a varint length, skipped.
            let mut len = 0usize;
            let mut mult = 1usize;
            loop {
                let Some(&c) = b.get(at) else { return };
                at += 1;
                len += (c & 0x7F) as usize * mult;
                mult *= 128;
                if c & 0x80 == 0 || mult > 1 << 21 {
                    break;
                }
            }
            at += len;
        }
        let client_id = string(b, &mut at).unwrap_or_default();
        if flags & 0x04 != 0 {
            // Will properties (v5), topic and message.
            let _ = string(b, &mut at);
            let _ = string(b, &mut at);
        }
        let user = if flags & 0x80 != 0 {
            string(b, &mut at).unwrap_or_default()
        } else {
            String::new()
        };
        // Judged here and dropped: only the verdict is kept.
        let pass = if flags & 0x40 != 0 {
            match binary(b, &mut at) {
                Some(p) => creds::judge(&user, p),
                None => (PasswordCheck::Other, None),
            }
        } else {
            (PasswordCheck::Unknown, None)
        };
        out.push(ObsKind::MqttConnect {
            client_id: client_id.clone(),
            level,
        });
        self.pending = Some((client_id, user, pass));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_with_identifiers_are_withheld() {
        assert!(topic_is_safe("ward3/pump/status"));
        assert!(!topic_is_safe("patients/12345/vitals"));
        assert!(!topic_is_safe("dev/3f2a9c0d-11aa/state"));
    }
}
