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
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub fn held(&mut self) -> usize {
        crate::bytes::held(&mut self.buf)
    }

    /// Appends bytes and returns the complete lines (without CR/LF).
    pub fn push(&mut self, mut data: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        // Whole runs up to each line feed, not byte by byte.
        loop {
            let (run, rest) = match data.iter().position(|c| *c == b'\n') {
                Some(i) => (&data[..i], Some(&data[i + 1..])),
                None => (data, None),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&run[..run.len().min(room)]);
            match rest {
                Some(rest) => {
                    out.push(self.take());
                    data = rest;
                }
                None => return out,
            }
        }
    }

    fn take(&mut self) -> String {
        let mut s = if self.buf.is_ascii() {
            // Nearly every line: no UTF-8 decoding.
            self.buf
                .iter()
                .filter(|c| !c.is_ascii_control())
                .map(|c| char::from(*c))
                .collect::<String>()
        } else {
            String::from_utf8_lossy(&self.buf)
                .chars()
                .filter(|c| !c.is_control())
                .collect()
        };
        self.buf.clear();
        s.truncate(s.trim_end().len());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: byte by byte, lines decoded whole.
    fn reference(chunks: &[&[u8]]) -> Vec<String> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for &c in chunks.iter().flat_map(|c| c.iter()) {
            if c == b'\n' {
                let s: String = String::from_utf8_lossy(&buf)
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect();
                out.push(s.trim_end().to_string());
                buf.clear();
            } else if buf.len() < MAX_LINE {
                buf.push(c);
            }
        }
        out
    }

    #[test]
    fn lines_split_as_defined() {
        let mut next = crate::below(0x853c_49e6_748f_ea9b);
        for _ in 0..2000 {
            let mut data = Vec::new();
            for _ in 0..next(3000) {
                data.push(match next(10) {
                    0 => b'\n',
                    1 => b'\r',
                    2 => [0xC3u8, 0xA9, 0xFF, 0x01, b'\t'][next(5) as usize],
                    3 => b' ',
                    _ => b'a' + next(26) as u8,
                });
            }
            if next(4) == 0 {
                // A line longer than the limit.
                data.extend(std::iter::repeat_n(b'x', 1500));
                data.push(b'\n');
            }
            let mut cuts: Vec<usize> = (0..next(6))
                .map(|_| next(data.len() as u64 + 1) as usize)
                .collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &data[w[0]..w[1]]).collect();
            let mut lb = LineBuf::default();
            let got: Vec<String> = chunks.iter().flat_map(|c| lb.push(c)).collect();
            assert_eq!(got, reference(&chunks), "{data:?}");
        }
    }
}
