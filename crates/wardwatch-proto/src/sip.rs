//! SIP (RFC 3261) over UDP and TCP: IP phones, wireless handsets, nurse-call
//! and paging gateways name their software in `User-Agent` (requests, and
//! many responses) and `Server` (responses). Found by content: a request line
//! `METHOD sip:… SIP/2.0` or a status line `SIP/2.0 NNN …`.
//!
//! Privacy: only the start line's method or status and those two headers
//! leave the parser. From, To, Contact, P-Asserted-Identity and the body
//! (SDP) name staff, extensions and call parties and are never copied.

use crate::obs::{ObsKind, SipFact};

/// Largest header block buffered on a TCP stream; a longer one ends the
/// dissection of that stream.
const MAX_HEADERS: usize = 16 * 1024;
/// Messages read from one TCP stream direction: identity is in the first.
const MAX_MESSAGES: u32 = 16;

/// The method and the rest of a line that starts `METHOD SP sip:` (or
/// `sips:`, `tel:`): an uppercase token of at most 16 letters.
fn method_and_uri(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = line.iter().take(17).position(|c| *c == b' ')?;
    let (method, rest) = line.split_at(sp);
    let uri = rest.get(1..)?;
    let scheme_ok = [&b"sip:"[..], b"sips:", b"tel:"].iter().any(|s| {
        uri.get(..s.len())
            .is_some_and(|u| u.eq_ignore_ascii_case(s))
    });
    (!method.is_empty() && method.iter().all(u8::is_ascii_uppercase) && scheme_ok)
        .then_some((method, uri))
}

/// The request line's method, or `None` when `line` is not a SIP request
/// line (`METHOD SP Request-URI SP SIP/2.0`).
fn request_method(line: &[u8]) -> Option<&str> {
    let (method, uri) = method_and_uri(line)?;
    if !uri.ends_with(b" SIP/2.0") {
        return None;
    }
    std::str::from_utf8(method).ok()
}

/// The status code of a SIP status line (`SIP/2.0 SP 3DIGIT SP reason`).
fn status(line: &[u8]) -> Option<u16> {
    let code = line.strip_prefix(b"SIP/2.0 ")?.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || line.get(11).is_some_and(|c| *c != b' ') {
        return None;
    }
    let n = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    (100..700).contains(&n).then_some(n)
}

/// The first line of `b` (without its CR LF).
fn first_line(b: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', b).unwrap_or(b.len());
    let line = b.get(..end).unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether bytes start like a SIP message: a status line, or a request
/// line's method and URI scheme (looked at in the first bytes only: every
/// UDP datagram on another port is asked).
pub fn probe(b: &[u8]) -> bool {
    b.starts_with(b"SIP/2.0 ") || method_and_uri(b).is_some()
}

/// Parses one SIP message's start line and headers (the body is not read).
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    read(b).map(|(fact, _)| ObsKind::Sip(Box::new(fact)))
}

/// A message's fact and its body's length (`Content-Length`, or the
/// compact `l`; 0 without one), from one pass over its headers.
fn read(b: &[u8]) -> Option<(SipFact, usize)> {
    let line = first_line(b);
    let (method, status) = match status(line) {
        Some(s) => (None, Some(s)),
        None => (Some(request_method(line)?.to_string()), None),
    };
    let head = b.get(line.len()..).unwrap_or_default();
    // Headers end at the first empty line.
    let end = memchr::memmem::find(head, b"\r\n\r\n")
        .or_else(|| memchr::memmem::find(head, b"\n\n"))
        .unwrap_or(head.len());
    let mut fact = SipFact {
        method,
        status,
        user_agent: None,
        server: None,
        refused_registration: false,
    };
    let mut cseq_register = false;
    let mut body = None;
    for raw in head.get(..end).unwrap_or_default().split(|c| *c == b'\n') {
        let Some(colon) = raw.iter().position(|c| *c == b':') else {
            continue;
        };
        let (name, value) = raw.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        let name = name.trim_ascii();
        if name.eq_ignore_ascii_case(b"cseq") {
            // `CSeq: 2 REGISTER`: the method the answer is to.
            cseq_register = value.trim_ascii().ends_with(b" REGISTER");
            continue;
        }
        if body.is_none()
            && (name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l"))
        {
            body = std::str::from_utf8(value.trim_ascii())
                .ok()
                .and_then(|v| v.parse().ok());
            continue;
        }
        let slot = if name.eq_ignore_ascii_case(b"user-agent") {
            &mut fact.user_agent
        } else if name.eq_ignore_ascii_case(b"server") {
            &mut fact.server
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = crate::bytes::text_opt(value, 128);
        }
    }
    fact.refused_registration = cseq_register && fact.status == Some(403);
    Some((fact, body.unwrap_or(0)))
}

/// SIP state of one TCP connection: each direction's messages, framed by
/// their headers' end and `Content-Length`.
#[derive(Default)]
pub struct SipState {
    dirs: [SipDir; 2],
}

#[derive(Default)]
struct SipDir {
    buf: Vec<u8>,
    /// Body bytes still to skip.
    skip: usize,
    messages: u32,
    /// Framing lost (an oversized header block): nothing more is read.
    lost: bool,
}

impl SipState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.dirs
            .iter_mut()
            .map(|d| crate::bytes::held(&mut d.buf))
            .sum()
    }

    /// Whether both directions have said what they will say.
    pub fn done(&self) -> bool {
        self.dirs
            .iter()
            .all(|d| d.lost || d.messages >= MAX_MESSAGES)
    }

    /// Feeds stream bytes of direction `dir`. A header block whole within
    /// `data` is read in place; one cut by a segment is held until its end.
    pub fn feed(&mut self, dir: usize, mut data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(d) = self.dirs.get_mut(dir) else {
            return;
        };
        loop {
            if d.lost || d.messages >= MAX_MESSAGES {
                d.buf = Vec::new();
                return;
            }
            let n = d.skip.min(data.len());
            d.skip -= n;
            data = data.get(n..).unwrap_or_default();
            if d.buf.is_empty() {
                // Keep-alive CR LF pairs (RFC 5626) between messages.
                let blank = data
                    .iter()
                    .position(|c| *c != b'\r' && *c != b'\n')
                    .unwrap_or(data.len());
                data = data.get(blank..).unwrap_or_default();
            }
            if data.is_empty() {
                return;
            }
            let held = d.buf.len();
            // The header block's end, searched from a few bytes back in
            // what is held (an end cut by the segment boundary).
            let end = if held == 0 {
                memchr::memmem::find(data, b"\r\n\r\n").map(|i| i + 4)
            } else {
                d.buf.extend_from_slice(data);
                let from = held.saturating_sub(3);
                d.buf
                    .get(from..)
                    .and_then(|t| memchr::memmem::find(t, b"\r\n\r\n"))
                    .map(|i| from + i + 4)
            };
            let Some(end) = end else {
                if held == 0 {
                    d.buf.extend_from_slice(data);
                }
                if d.buf.len() > MAX_HEADERS {
                    d.lost = true;
                }
                return;
            };
            let head = if held == 0 {
                data.get(..end)
            } else {
                d.buf.get(..end)
            }
            .unwrap_or_default();
            let Some((fact, body)) = read(head) else {
                // Not SIP: nothing more is read on this side.
                d.lost = true;
                return;
            };
            out.push(ObsKind::Sip(Box::new(fact)));
            d.messages += 1;
            d.skip = body;
            // What follows the block (a body, the next message) is in
            // `data`, past the bytes that were held.
            data = data.get(end.saturating_sub(held)..).unwrap_or_default();
            d.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &[u8] = b"REGISTER sip:pbx.ward.example SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.1.2.3:5060;branch=z9hG4bK776asdhds\r\n\
        From: \"Nurse Station 4\" <sip:4711@pbx.ward.example>;tag=1928301774\r\n\
        To: <sip:4711@pbx.ward.example>\r\n\
        Call-ID: a84b4c76e66710@10.1.2.3\r\nCSeq: 1 REGISTER\r\n\
        User-Agent: Ascom i62/6.3.1\r\nContent-Length: 0\r\n\r\n";

    fn fact(b: &[u8]) -> SipFact {
        match parse(b) {
            Some(ObsKind::Sip(f)) => *f,
            other => panic!("not a SIP fact: {other:?}"),
        }
    }

    #[test]
    fn requests_and_responses_name_their_software_and_nobody() {
        let f = fact(REGISTER);
        assert_eq!(f.method.as_deref(), Some("REGISTER"));
        assert_eq!(f.status, None);
        assert_eq!(f.user_agent.as_deref(), Some("Ascom i62/6.3.1"));
        let shown = format!("{f:?}");
        for private in ["Nurse", "4711", "a84b4c76"] {
            assert!(!shown.contains(private), "{private} kept: {shown}");
        }
        let ok = fact(
            b"SIP/2.0 200 OK\r\nVia: x\r\nserver:  Asterisk PBX 16.2.1~dfsg-1+deb10u2 \r\n\r\n",
        );
        assert_eq!(ok.status, Some(200));
        assert_eq!(ok.method, None);
        assert_eq!(
            ok.server.as_deref(),
            Some("Asterisk PBX 16.2.1~dfsg-1+deb10u2")
        );
        // Not SIP: an HTTP request, a bad status, a lowercase method.
        for not in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"SIP/2.0 20 OK\r\n\r\n",
            b"SIP/2.0 2000 OK\r\n\r\n",
            b"register sip:x SIP/2.0\r\n\r\n",
            b"OPTIONS http://x SIP/2.0\r\n\r\n",
        ] {
            assert!(parse(not).is_none(), "{}", String::from_utf8_lossy(not));
        }
        assert!(probe(b"OPTIONS sip:100@10.0.0.1 SIP/2.0\r\nVia"));
        assert!(probe(b"SIP/2.0 100 Trying"));
        for not in [
            &b"GET / HTTP/1.1"[..],
            b"OPTIONS * HTTP/1.1",
            b"NOTIFY * HTTP/1.1",
            b"sip:x",
        ] {
            assert!(!probe(not));
        }
        for n in 0..REGISTER.len() {
            let _ = parse(&REGISTER[..n]);
        }
    }

    #[test]
    fn tcp_messages_in_any_cut_are_framed_by_content_length() {
        // The body looks like a request line: framing must skip it.
        let body = "v=0\r\no=INVITE sip:x SIP/2.0\r\n\r\n";
        let invite = format!(
            "INVITE sip:200@pbx SIP/2.0\r\nUser-Agent: Polycom/5.9.0.9373 \
             PolycomVVX-VVX_411-UA/5.9.0.9373\r\nl: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(invite.as_bytes());
        stream.extend_from_slice(REGISTER);
        for cut in 0..stream.len() {
            let mut s = SipState::default();
            let mut out = Vec::new();
            s.feed(0, &stream[..cut], &mut out);
            s.feed(0, &stream[cut..], &mut out);
            let uas: Vec<_> = out
                .iter()
                .map(|o| match o {
                    ObsKind::Sip(f) => f.user_agent.clone().unwrap_or_default(),
                    _ => String::new(),
                })
                .collect();
            assert_eq!(
                uas,
                [
                    "Polycom/5.9.0.9373 PolycomVVX-VVX_411-UA/5.9.0.9373",
                    "Ascom i62/6.3.1"
                ],
                "cut at {cut}"
            );
        }
    }
}
