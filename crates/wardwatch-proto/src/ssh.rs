//! SSH identification strings (RFC 4253 §4.2), both directions.

use crate::obs::ObsKind;

/// Whether a stream starts with an SSH identification string.
pub fn probe(b: &[u8]) -> bool {
    b.starts_with(b"SSH-")
}

/// SSH state: the banner of each side, then nothing (all else is encrypted).
#[derive(Default)]
pub struct SshState {
    buf: [Vec<u8>; 2],
    done: [bool; 2],
}

impl SshState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.buf.iter_mut().map(crate::bytes::held).sum()
    }

    /// Whether both banners were read.
    pub fn done(&self) -> bool {
        self.done[0] && self.done[1]
    }

    /// Feeds stream bytes of direction `dir`.
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        let (Some(buf), Some(done)) = (self.buf.get_mut(dir), self.done.get_mut(dir)) else {
            return;
        };
        if *done {
            return;
        }
        buf.extend_from_slice(&data[..data.len().min(256)]);
        // Lines before the identification string are allowed (server side).
        while let Some(nl) = buf.iter().position(|c| *c == b'\n') {
            let line: String = String::from_utf8_lossy(&buf[..nl])
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            buf.drain(..=nl);
            if line.starts_with("SSH-") {
                *done = true;
                out.push(ObsKind::Banner {
                    protocol: "ssh".into(),
                    text: line.trim().chars().take(255).collect(),
                });
                return;
            }
        }
        if buf.len() >= 256 {
            *done = true;
        }
    }
}
