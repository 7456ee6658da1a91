//! Line framing shared by the text protocols (FTP, SSH banners, Telnet):
//! complete lines are handed out, partial ones wait, over-long ones are cut.

/// Longest line kept.
pub const MAX_LINE: usize = 1024;

/// Buffers one direction of a text protocol.
#[derive(Default)]
pub struct LineBuf {
    buf: Vec<u8>,
}

impl LineBuf {
    /// Appends bytes and returns the complete lines (without CR/LF).
    pub fn push(&mut self, data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &c in data {
            if c == b'\n' {
                out.push(self.take());
            } else if self.buf.len() < MAX_LINE {
                self.buf.push(c);
            }
        }
        out
    }

    fn take(&mut self) -> String {
        let s: String = String::from_utf8_lossy(&self.buf)
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        self.buf.clear();
        s.trim_end().to_string()
    }
}
