//! Modbus/TCP (Modbus Application Protocol v1.1b3 and Messaging on TCP/IP
//! v1.0b): the MBAP header frames each message; a server's answers say it
//! is a field device (in a hospital: power meters, UPS and generator
//! controllers, chillers, medical-gas alarm panels), and its answer to Read
//! Device Identification (function 43, MEI type 14) names its vendor,
//! product code, revision, product and model. Register values are never
//! read.

use crate::bytes::be16;
use crate::obs::{ModbusFact, ObsKind};

/// Largest MBAP length field (unit id + PDU of at most 253 bytes).
const MAX_LEN: usize = 254;
/// Frames read per direction: a poller's connection repeats the same few
/// requests for hours, and identity is asked early.
const MAX_FRAMES: u32 = 256;
/// Requests remembered while their answers are awaited.
const MAX_PENDING: usize = 32;

/// Function codes a client sends (public ones of the specification).
fn request_function(f: u8) -> bool {
    matches!(f, 1..=8 | 11 | 12 | 15..=17 | 20..=24 | 43)
}

/// What the start of a buffer holds.
enum Frame<'a> {
    /// A whole MBAP frame: transaction id, unit id, PDU, bytes it takes.
    Whole(u16, u8, &'a [u8], usize),
    /// A header that is not Modbus.
    NotModbus,
}

/// The MBAP frame at the start of `b`; `None` while it is not whole.
fn frame(b: &[u8]) -> Option<Frame<'_>> {
    let txid = be16(b, 0)?;
    let proto = be16(b, 2)?;
    let len = usize::from(be16(b, 4)?);
    if proto != 0 || !(2..=MAX_LEN).contains(&len) {
        return Some(Frame::NotModbus);
    }
    let unit = *b.get(6)?;
    let pdu = b.get(7..6 + len)?;
    Some(Frame::Whole(txid, unit, pdu, 6 + len))
}

/// Whether a client's first bytes are Modbus/TCP requests: whole MBAP
/// frames with protocol id 0 and a request function code, one after the
/// other as far as the bytes go.
pub fn probe(p: &[u8]) -> bool {
    let mut rest = p;
    let mut whole = 0;
    while !rest.is_empty() {
        match frame(rest) {
            Some(Frame::Whole(_, _, pdu, n))
                if pdu.first().is_some_and(|f| request_function(*f)) =>
            {
                whole += 1;
                rest = rest.get(n..).unwrap_or_default();
            }
            // A frame cut by the end of the probe bytes: only after a
            // whole one.
            None => return whole > 0 && rest.len() >= 8,
            _ => return false,
        }
    }
    whole > 0
}

/// The Read Device Identification objects of a function 43 / MEI 14
/// answer (`pdu` from its function code on).
fn device_identification(pdu: &[u8], fact: &mut ModbusFact) {
    // 0x2B, 0x0E, read device id code, conformity level, more follows,
    // next object id, number of objects, then (id, length, value)*.
    if pdu.get(1) != Some(&0x0E) {
        return;
    }
    let Some(&count) = pdu.get(6) else {
        return;
    };
    let mut at = 7;
    for _ in 0..count {
        let (Some(&id), Some(&len)) = (pdu.get(at), pdu.get(at + 1)) else {
            return;
        };
        let Some(value) = pdu.get(at + 2..at + 2 + usize::from(len)) else {
            return;
        };
        at += 2 + usize::from(len);
        let slot = match id {
            0 => &mut fact.vendor,
            1 => &mut fact.product_code,
            2 => &mut fact.revision,
            4 => &mut fact.product_name,
            5 => &mut fact.model_name,
            // Vendor URL, the user's application name and private
            // objects are not identity of the device.
            _ => continue,
        };
        *slot = crate::bytes::text_opt(value, 128);
    }
}

/// Modbus state of one TCP connection.
#[derive(Default)]
pub struct ModbusState {
    bufs: [Vec<u8>; 2],
    frames: [u32; 2],
    /// (transaction id, function) of requests awaiting their answer.
    pending: Vec<(u16, u8)>,
    /// Framing lost (a header that is not Modbus): nothing more is read.
    lost: bool,
    /// Malformed frames.
    pub errors: u64,
}

impl ModbusState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.bufs.iter_mut().map(crate::bytes::held).sum()
    }

    /// Whether nothing more will be read.
    pub fn done(&self) -> bool {
        self.lost || self.frames.iter().all(|n| *n >= MAX_FRAMES)
    }

    /// Feeds stream bytes of direction `dir` (0 client, 1 server).
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.lost || dir > 1 {
            return;
        }
        let mut buf = std::mem::take(&mut self.bufs[dir]);
        let held = !buf.is_empty();
        // Frames whole within `data` are read in place.
        let bytes: &[u8] = if !held {
            data
        } else {
            buf.extend_from_slice(data);
            &buf
        };
        let mut used = 0;
        while let Some(r) = bytes.get(used..).and_then(frame) {
            let Frame::Whole(txid, unit, pdu, n) = r else {
                self.lost = true;
                self.errors += 1;
                self.bufs = Default::default();
                return;
            };
            used += n;
            if self.frames[dir] < MAX_FRAMES {
                self.frames[dir] += 1;
                self.message(dir, txid, unit, pdu, out);
            }
        }
        if held {
            buf.drain(..used.min(buf.len()));
        } else {
            buf.extend_from_slice(data.get(used..).unwrap_or_default());
        }
        self.bufs[dir] = buf;
    }

    fn message(&mut self, dir: usize, txid: u16, unit: u8, pdu: &[u8], out: &mut Vec<ObsKind>) {
        let Some(&function) = pdu.first() else {
            self.errors += 1;
            return;
        };
        if dir == 0 {
            if self.pending.len() >= MAX_PENDING {
                self.pending.remove(0);
            }
            self.pending.push((txid, function));
            return;
        }
        // An answer: to a request seen, with its function (or the
        // exception bit set on it), by its transaction id, else the oldest
        // such request (servers that do not echo the id: the shared
        // capture's starts counting its own once the client's wraps to 0).
        let asked = |f: &u8| *f == function & 0x7F;
        let Some(i) = self
            .pending
            .iter()
            .position(|(t, f)| *t == txid && asked(f))
            .or_else(|| self.pending.iter().position(|(_, f)| asked(f)))
        else {
            return;
        };
        self.pending.remove(i);
        let mut fact = ModbusFact {
            unit,
            function: function & 0x7F,
            exception: (function & 0x80 != 0).then(|| pdu.get(1).copied().unwrap_or(0)),
            vendor: None,
            product_code: None,
            revision: None,
            product_name: None,
            model_name: None,
        };
        if function == 43 {
            device_identification(pdu, &mut fact);
        }
        out.push(ObsKind::Modbus(Box::new(fact)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbap(txid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut f = txid.to_be_bytes().to_vec();
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        f.push(unit);
        f.extend_from_slice(pdu);
        f
    }

    fn identification() -> Vec<u8> {
        let mut pdu = vec![0x2B, 0x0E, 0x01, 0x83, 0x00, 0x00, 5];
        for (id, v) in [
            (0u8, "Schneider Electric"),
            (1, "METSEPM5560"),
            (2, "v2.7.4"),
            (3, "www.se.com"),
            (5, "PM5560"),
        ] {
            pdu.extend_from_slice(&[id, v.len() as u8]);
            pdu.extend_from_slice(v.as_bytes());
        }
        pdu
    }

    #[test]
    fn answers_name_the_server_and_its_identity_in_any_cut() {
        let client = [
            mbap(1, 1, &[3, 0, 0, 0, 10]),
            mbap(2, 1, &[0x2B, 0x0E, 0x01, 0x00]),
            mbap(3, 1, &[6, 0, 1, 0, 3]),
        ]
        .concat();
        let server = [
            mbap(1, 1, &[3, 4, 0, 1, 0, 2]),
            mbap(2, 1, &identification()),
            mbap(3, 1, &[0x86, 0x02]),
        ]
        .concat();
        assert!(probe(&client) && probe(&client[..20]));
        for cut in 0..server.len() {
            let mut s = ModbusState::default();
            let mut out = Vec::new();
            s.feed(0, &client, &mut out);
            s.feed(1, &server[..cut], &mut out);
            s.feed(1, &server[cut..], &mut out);
            let facts: Vec<&ModbusFact> = out
                .iter()
                .map(|o| match o {
                    ObsKind::Modbus(f) => &**f,
                    _ => panic!("not modbus"),
                })
                .collect();
            assert_eq!(facts.len(), 3, "cut {cut}");
            assert_eq!((facts[0].function, facts[0].exception), (3, None));
            let id = facts[1];
            assert_eq!(id.vendor.as_deref(), Some("Schneider Electric"));
            assert_eq!(id.product_code.as_deref(), Some("METSEPM5560"));
            assert_eq!(id.revision.as_deref(), Some("v2.7.4"));
            assert_eq!(id.model_name.as_deref(), Some("PM5560"));
            assert_eq!(id.product_name, None);
            assert_eq!((facts[2].function, facts[2].exception), (6, Some(2)));
        }
        // Not Modbus: text, a wrong protocol id, an unknown function.
        for not in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            &[0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 10],
            &[0, 1, 0, 0, 0, 6, 1, 99, 0, 0, 0, 10],
            &[0, 1, 0, 0, 0, 6, 1],
        ] {
            assert!(!probe(not), "{not:?}");
        }
        // An answer to nothing asked is not taken.
        let mut s = ModbusState::default();
        let mut out = Vec::new();
        s.feed(1, &server, &mut out);
        assert!(out.is_empty());
        for n in 0..server.len() {
            let mut s = ModbusState::default();
            s.feed(0, &client, &mut out);
            s.feed(1, &server[..n], &mut out);
        }
    }
}
