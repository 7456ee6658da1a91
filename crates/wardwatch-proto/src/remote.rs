//! RDP, a remote-access protocol a biomedical engineer should know is
//! exposed: the `mstshash` cookie names the user in the clear. (VNC has a
//! dissector of its own, [`crate::vnc`].)

use crate::obs::ObsKind;

/// Whether a client stream starts with an RDP connection request (TPKT +
/// X.224 CR).
pub fn probe_rdp(b: &[u8]) -> bool {
    b.len() >= 7 && b[0] == 3 && b[1] == 0 && b[5] & 0xF0 == 0xE0
}

/// Reads the RDP cookie from a connection request.
pub fn rdp_request(b: &[u8]) -> Option<ObsKind> {
    let len = u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize;
    let pdu = b.get(..len.min(b.len()))?;
    let text = String::from_utf8_lossy(pdu.get(11..)?);
    let user = text
        .split("\r\n")
        .find_map(|l| l.strip_prefix("Cookie: mstshash="))
        .map(|u| {
            u.chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        });
    Some(ObsKind::RemoteAccess {
        protocol: "rdp".into(),
        detail: user
            .map(|u| format!("mstshash user {u}"))
            .unwrap_or_else(|| "connection request".into()),
    })
}

/// Remote-access state of one connection: the first message each way.
#[derive(Default)]
pub struct RemoteState {
    buf: Vec<u8>,
    done: bool,
}

impl RemoteState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        crate::bytes::held(&mut self.buf)
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
        if dir == 0 {
            self.buf.extend_from_slice(&data[..data.len().min(512)]);
            let need = self
                .buf
                .get(2..4)
                .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
                .unwrap_or(usize::MAX);
            if self.buf.len() >= need.min(512) {
                if let Some(o) = rdp_request(&self.buf) {
                    out.push(o);
                }
                self.done = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdp_cookie() {
        let cookie = b"Cookie: mstshash=nurse1\r\n";
        let mut pdu = vec![3, 0, 0, 0, 0, 0xE0, 0, 0, 0, 0, 0];
        pdu.extend_from_slice(cookie);
        let len = pdu.len() as u16;
        pdu[2..4].copy_from_slice(&len.to_be_bytes());
        assert!(probe_rdp(&pdu));
        let mut st = RemoteState::default();
        let mut out = Vec::new();
        st.feed(0, &pdu, &mut out);
        assert!(
            matches!(&out[..], [ObsKind::RemoteAccess { detail, .. }] if detail == "mstshash user nurse1")
        );
    }
}
