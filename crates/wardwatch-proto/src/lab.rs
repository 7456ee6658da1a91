//! Laboratory and point-of-care protocols.
//!
//! * ASTM E1381 framing (ENQ, STX frame ETX/ETB checksum CR LF, EOT) carrying
//!   E1394 / LIS2-A2 records: only the header record (H) is read — sender
//!   name, version and serial, and the standard version. Patient (P), order
//!   (O) and result (R) records are never copied.
//! * POCT1-A XML device messages: HEL.R01 / DST.R01 device identity
//!   (vendor, model, serial, software version). Observations are never read.

use crate::obs::ObsKind;

const ENQ: u8 = 0x05;
const STX: u8 = 0x02;
const ETX: u8 = 0x03;
const ETB: u8 = 0x17;

/// Whether a stream starts like ASTM E1381 (ENQ, or a frame starting
/// STX digit H).
pub fn probe_astm(b: &[u8]) -> bool {
    // A sender bids with a lone ENQ and waits for the ACK.
    b == [ENQ]
        || b.starts_with(&[ENQ, STX])
        || (b.len() >= 3 && b[0] == STX && b[1].is_ascii_digit() && b[2] == b'H')
}

/// Whether a stream starts with a POCT1-A XML message.
pub fn probe_poct(b: &[u8]) -> bool {
    b.starts_with(b"<?xml") || b.starts_with(b"<HEL.R01") || b.starts_with(b"<DST.R01")
}

/// Parses an E1394 header record: `H|\^&|||sender^version^serial|…|P|LIS2-A2|date`.
pub fn parse_header(rec: &str) -> Option<ObsKind> {
    if !rec.starts_with('H') || rec.len() < 5 {
        return None;
    }
    let field_sep = rec.chars().nth(1)?;
    let comp_sep = rec.chars().nth(3).unwrap_or('^');
    let f: Vec<&str> = rec.split(field_sep).collect();
    let sender = f.get(4).copied().unwrap_or("");
    let mut parts = sender.split(comp_sep).map(|s| s.trim().to_string());
    let clean = |s: String| -> Option<String> {
        let s: String = s.chars().filter(|c| !c.is_control()).take(64).collect();
        (!s.is_empty()).then_some(s)
    };
    Some(ObsKind::LabInstrument(Box::new(
        crate::obs::LabInstrumentFact {
            protocol: "astm".into(),
            vendor: None,
            model: parts.next().and_then(clean),
            version: parts.next().and_then(clean),
            serial: parts.next().and_then(clean),
            standard: f.get(12).map(|s| s.to_string()).and_then(clean),
        },
    )))
}

/// ASTM state of one connection: frames reassembled into records until the
/// header is read.
#[derive(Default)]
pub struct AstmState {
    buf: Vec<u8>,
    record: Vec<u8>,
    done: bool,
}

impl AstmState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        crate::bytes::held(&mut self.buf) + crate::bytes::held(&mut self.record)
    }

    /// Whether the header was read (nothing more is wanted).
    pub fn done(&self) -> bool {
        self.done
    }

    /// Feeds stream bytes (either direction: instruments and hosts both send).
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.done {
            return;
        }
        self.buf
            .extend_from_slice(&data[..data.len().min(64 * 1024)]);
        loop {
            let Some(start) = self.buf.iter().position(|c| *c == STX) else {
                self.buf.clear();
                return;
            };
            let Some(end) = self.buf[start..]
                .iter()
                .position(|c| *c == ETX || *c == ETB)
            else {
                if self.buf.len() > 64 * 1024 {
                    self.buf.clear();
                }
                return;
            };
            let last = self.buf[start + end] == ETX;
            // Skip STX and the frame number; the text runs to ETX/ETB.
            let text = self.buf.get(start + 2..start + end).unwrap_or(&[]).to_vec();
            self.buf.drain(..start + end + 1);
            self.record.extend_from_slice(&text);
            if self.record.len() > 64 * 1024 {
                self.record.clear();
            }
            if last {
                let rec = std::mem::take(&mut self.record);
                // Records in one frame are CR separated; only H is read.
                for r in String::from_utf8_lossy(&rec).split('\r') {
                    if let Some(o) = parse_header(r) {
                        out.push(o);
                        self.done = true;
                        return;
                    }
                }
            }
        }
    }
}

/// The `V` attribute of the first `<name ... V="...">` element.
fn attr(xml: &str, name: &str) -> Option<String> {
    let at = xml.find(&format!("<{name}"))?;
    let rest = &xml[at..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let v = tag.find("V=\"")?;
    let val = &tag[v + 3..];
    let close = val.find('"')?;
    let s: String = val[..close]
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// POCT1-A state: XML gathered until a device identity is read.
#[derive(Default)]
pub struct PoctState {
    buf: Vec<u8>,
    done: bool,
}

impl PoctState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        crate::bytes::held(&mut self.buf)
    }

    /// Whether the identity was read.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Feeds stream bytes of the device's direction.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.done {
            return;
        }
        self.buf
            .extend_from_slice(&data[..data.len().min(64 * 1024)]);
        let xml = String::from_utf8_lossy(&self.buf).into_owned();
        let closed = xml.contains("</HEL.R01>") || xml.contains("</DST.R01>");
        if !closed {
            if self.buf.len() > 64 * 1024 {
                self.done = true;
            }
            return;
        }
        self.done = true;
        out.push(ObsKind::LabInstrument(Box::new(
            crate::obs::LabInstrumentFact {
                protocol: "poct1-a".into(),
                vendor: attr(&xml, "DEV.vendor_id"),
                model: attr(&xml, "DEV.model_id"),
                version: attr(&xml, "DEV.sw_version"),
                serial: attr(&xml, "DEV.serial_id").or_else(|| attr(&xml, "DEV.device_id")),
                standard: Some("POCT1-A".into()),
            },
        )));
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn astm_header_only() {
        let mut frame = vec![ENQ, STX, b'1'];
        frame.extend_from_slice(
            b"H|\\^&|||cobas c311^1.04^SN12345|||||||P|LIS2-A2|20261125\rP|1||PID123||DOE^JANE\r",
        );
        frame.extend_from_slice(&[ETX, b'A', b'B', b'\r', b'\n']);
        let mut st = AstmState::default();
        let mut out = Vec::new();
        for c in frame.chunks(5) {
            st.feed(c, &mut out);
        }
        let dump = format!("{out:?}");
        assert!(!dump.contains("DOE") && !dump.contains("PID123"), "{dump}");
        assert!(
            matches!(&out[..], [ObsKind::LabInstrument(i)]
            if i.model.as_deref() == Some("cobas c311") && i.version.as_deref() == Some("1.04")
                && i.serial.as_deref() == Some("SN12345") && i.standard.as_deref() == Some("LIS2-A2")),
            "{dump}"
        );
    }

    #[test]
    fn poct_hello() {
        let xml = br#"<?xml version="1.0"?><HEL.R01><HDR><HDR.control_id V="1"/></HDR><DEV><DEV.device_id V="0123"/><DEV.vendor_id V="Abbott"/><DEV.model_id V="i-STAT 1"/><DEV.serial_id V="SN-77"/><DEV.sw_version V="JAMS 142"/></DEV></HEL.R01>"#;
        assert!(probe_poct(xml));
        let mut st = PoctState::default();
        let mut out = Vec::new();
        st.feed(&xml[..40], &mut out);
        assert!(out.is_empty());
        st.feed(&xml[40..], &mut out);
        assert!(matches!(&out[..], [ObsKind::LabInstrument(i)]
            if i.vendor.as_deref() == Some("Abbott") && i.model.as_deref() == Some("i-STAT 1")
                && i.serial.as_deref() == Some("SN-77")));
    }
}
