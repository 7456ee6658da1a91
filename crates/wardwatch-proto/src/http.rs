//! HTTP/1.x request and response heads: request line, Host, User-Agent,
//! Server, and the user of Basic authentication (the password is never
//! kept). FHIR requests are recognised by their path.
//!
//! RTSP (RFC 2326, RFC 7826: IP cameras, video encoders and recorders)
//! shares the syntax and is read by the same code in its own mode: its
//! requests, its Server and User-Agent, and its Basic logins (an old
//! camera's password in the clear). Once the connection carries
//! interleaved media (`$` frames), it is followed no further.

use crate::creds::{self, PasswordCheck};
use crate::obs::ObsKind;

/// Largest head buffered.
const MAX_HEAD: usize = 16 * 1024;

const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
];

/// Whether a client stream starts with an HTTP request line.
pub fn probe_request(b: &[u8]) -> bool {
    METHODS.iter().any(|m| b.starts_with(m))
}

/// Whether a server stream starts with an HTTP status line.
pub fn probe_response(b: &[u8]) -> bool {
    b.starts_with(b"HTTP/1.")
}

/// RTSP methods a client starts a connection with.
const RTSP_METHODS: [&[u8]; 8] = [
    b"OPTIONS ",
    b"DESCRIBE ",
    b"SETUP ",
    b"PLAY ",
    b"ANNOUNCE ",
    b"GET_PARAMETER ",
    b"SET_PARAMETER ",
    b"RECORD ",
];

/// Whether a client stream starts with an RTSP request line (an `rtsp://`
/// URL, or `*` for the whole server).
pub fn probe_rtsp_request(b: &[u8]) -> bool {
    RTSP_METHODS.iter().any(|m| {
        b.strip_prefix(*m).is_some_and(|r| {
            r.starts_with(b"rtsp://") || r.starts_with(b"rtsps://") || r.starts_with(b"* RTSP/")
        })
    })
}

/// Whether a server stream starts with an RTSP status line.
pub fn probe_rtsp_response(b: &[u8]) -> bool {
    b.starts_with(b"RTSP/1.0 ") || b.starts_with(b"RTSP/2.0 ")
}

/// The lines of a head: split at CRLF and at bare LF.
fn lines(head: &str) -> impl Iterator<Item = &str> {
    head.split("\r\n").flat_map(|l| l.split('\n'))
}

/// The header fields the dissector reads, found in one pass over a head's
/// lines; the first line of each name counts.
#[derive(Default)]
struct Fields<'a> {
    host: Option<&'a str>,
    user_agent: Option<&'a str>,
    authorization: Option<&'a str>,
    server: Option<&'a str>,
    transfer_encoding: Option<&'a str>,
    content_length: Option<&'a str>,
    content_type: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn read(head: &'a str) -> Self {
        let mut f = Fields::default();
        for l in lines(head) {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let k = k.trim();
            // The names differ in length: one comparison per line.
            let (slot, name) = match k.len() {
                4 => (&mut f.host, "host"),
                6 => (&mut f.server, "server"),
                10 => (&mut f.user_agent, "user-agent"),
                12 => (&mut f.content_type, "content-type"),
                13 => (&mut f.authorization, "authorization"),
                14 => (&mut f.content_length, "content-length"),
                17 => (&mut f.transfer_encoding, "transfer-encoding"),
                _ => continue,
            };
            if slot.is_none() && k.eq_ignore_ascii_case(name) {
                *slot = Some(v.trim());
            }
        }
        f
    }

    /// The body length to skip: `Some(n)` with Content-Length, `Some(0)`
    /// without a body, `None` when it cannot be known (chunked).
    fn body_len(&self) -> Option<usize> {
        if self
            .transfer_encoding
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            return None;
        }
        Some(
            self.content_length
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        )
    }
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(256).collect()
}

/// Decodes standard base64 (padding optional); `None` on bad input.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The user of a `Basic` Authorization value; the password is dropped here.
pub fn basic_user(value: &str) -> Option<String> {
    basic_credentials(value).map(|(u, _)| u)
}

/// The user of a `Basic` Authorization value and its password judged; the
/// password itself is dropped here.
pub fn basic_credentials(value: &str) -> Option<(String, creds::Judged)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64_decode(rest.trim())?;
    let (user, pass) = match raw.iter().position(|b| *b == b':') {
        Some(i) => (&raw[..i], raw.get(i + 1..).unwrap_or(&[])),
        None => (&raw[..], &[][..]),
    };
    let user = clean(&String::from_utf8_lossy(user));
    let check = creds::judge(&user, pass);
    Some((user, check))
}

/// Field names that carry a password in an HTML login form.
fn is_password_field(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k.contains("password") || k.contains("passwd") || matches!(k.as_str(), "pass" | "pwd" | "pw")
}

/// Field names that carry the user in an HTML login form.
fn is_user_field(k: &str) -> bool {
    matches!(
        k.to_ascii_lowercase().as_str(),
        "username" | "user" | "login" | "userid" | "user_id" | "uname" | "email" | "j_username"
    )
}

/// Decodes `application/x-www-form-urlencoded` text.
fn form_decode(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(x) => {
                        out.push(x);
                        i += 2;
                    }
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// A login in an urlencoded form body: the user and the verdict on the
/// password; nothing else of the body is kept.
pub fn form_login(body: &[u8]) -> Option<(String, creds::Judged)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut user = None;
    let mut check = None;
    for pair in text.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if is_password_field(k) && check.is_none() {
            check = Some(form_decode(v));
        } else if is_user_field(k) && user.is_none() {
            user = Some(clean(&String::from_utf8_lossy(&form_decode(v))));
        }
    }
    let pass = check?;
    let user = user.unwrap_or_default();
    let verdict = creds::judge(&user, &pass);
    Some((user, verdict))
}

/// FHIR R4 resource types most seen from clinical systems.
const FHIR_RESOURCES: [&str; 28] = [
    "Patient",
    "Observation",
    "Device",
    "DeviceMetric",
    "DeviceRequest",
    "DiagnosticReport",
    "Encounter",
    "Condition",
    "Procedure",
    "MedicationRequest",
    "MedicationAdministration",
    "MedicationStatement",
    "Medication",
    "AllergyIntolerance",
    "Immunization",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "ServiceRequest",
    "Specimen",
    "ImagingStudy",
    "DocumentReference",
    "Bundle",
    "CapabilityStatement",
    "Communication",
    "Appointment",
    "Subscription",
];

/// A path segment that may identify a person or record: long digit runs,
/// UUIDs, long hex strings.
fn looks_like_id(seg: &str) -> bool {
    let digits = seg.chars().filter(|c| c.is_ascii_digit()).count();
    let hexish = seg.len() >= 8 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    digits >= 4 || hexish
}

/// The path with identifier-like segments replaced by `{id}`, and the FHIR
/// resource type and interaction when the path is a FHIR one.
pub fn redact_path(method: &str, path: &str) -> (String, Option<(String, String)>) {
    let segs: Vec<&str> = path.split('/').collect();
    let mut fhir = None;
    for (i, seg) in segs.iter().enumerate() {
        if FHIR_RESOURCES.contains(seg) {
            let has_id = segs
                .get(i + 1)
                .is_some_and(|s| !s.is_empty() && !s.starts_with('_') && !s.starts_with('$'));
            let interaction = match (method, has_id) {
                ("GET", true) => "read",
                ("GET", false) | ("POST", false) if segs.get(i + 1) == Some(&"_search") => "search",
                ("GET", false) => "search",
                ("POST", false) => "create",
                ("PUT", _) => "update",
                ("PATCH", _) => "patch",
                ("DELETE", _) => "delete",
                _ => "other",
            };
            fhir = Some((seg.to_string(), interaction.to_string()));
            break;
        }
    }
    let red: Vec<String> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // In FHIR, the segment after a resource type is its id.
            let after_resource = i > 0
                && FHIR_RESOURCES.contains(&segs[i - 1])
                && !s.is_empty()
                && !s.starts_with('_')
                && !s.starts_with('$');
            if after_resource || looks_like_id(s) {
                "{id}".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    (red.join("/"), fhir)
}

/// Parses a request head (through the blank line).
pub fn parse_request(head: &str) -> Option<(ObsKind, Option<usize>)> {
    request(head, &Fields::read(head), false)
}

fn request(head: &str, fields: &Fields<'_>, rtsp: bool) -> Option<(ObsKind, Option<usize>)> {
    let mut first = lines(head).next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let raw = target.split(['?', '#']).next().unwrap_or("");
    // Absolute-form targets (proxies; every RTSP request): keep only the
    // path, never the host or the credentials a URL may carry.
    let schemes: &[&str] = if rtsp {
        &["rtsp://", "rtsps://"]
    } else {
        &["http://", "https://"]
    };
    let raw = schemes
        .iter()
        .find_map(|p| raw.strip_prefix(p))
        .map(|r| r.find('/').map_or("/", |i| &r[i..]))
        .unwrap_or(raw);
    let (path, fhir) = redact_path(&method, raw);
    let obs = ObsKind::HttpRequest(Box::new(crate::obs::HttpRequestFact {
        method: clean(&method),
        path: clean(&path),
        fhir_resource: fhir.as_ref().map(|f| f.0.clone()),
        fhir_interaction: fhir.map(|f| f.1),
        host: fields.host.map(clean),
        user_agent: fields.user_agent.map(clean),
        basic_user: fields.authorization.and_then(basic_user),
        rtsp,
    }));
    Some((obs, fields.body_len()))
}

/// Parses a response head.
pub fn parse_response(head: &str) -> Option<(ObsKind, Option<usize>)> {
    response(head, &Fields::read(head), false)
}

fn response(head: &str, fields: &Fields<'_>, rtsp: bool) -> Option<(ObsKind, Option<usize>)> {
    let mut first = lines(head).next()?.split(' ');
    // A message of the other protocol (an RTSP answer on an HTTP
    // connection, or the reverse) is not this connection's.
    let version = first.next()?;
    if version.starts_with("RTSP/") != rtsp {
        return None;
    }
    let status = first.next()?.parse().ok()?;
    let obs = ObsKind::HttpResponse {
        status,
        server: fields.server.map(clean),
        rtsp,
    };
    Some((obs, fields.body_len()))
}

#[derive(Default)]
struct DirState {
    buf: Vec<u8>,
    skip: usize,
    done: bool,
    /// A body being read: a form POST's (for a login) or one that may
    /// hold FHIR Device resources.
    body: Option<(Body, Vec<u8>)>,
    /// A chunked body being gathered (raw, with its chunk framing).
    chunked: Option<(Body, Vec<u8>)>,
}

/// Largest XML answer read as a possible UPnP description (they are a few
/// kilobytes).
const MAX_UPNP: usize = 16 * 1024;

/// Largest chunked body gathered, framing included.
const MAX_CHUNKED: usize = crate::fhir::MAX_BODY + 4096;

/// The data of a complete chunked body (RFC 9112 7.1), `None` while its
/// last chunk has not arrived or when the framing is broken.
fn dechunk(raw: &[u8], partial: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        // `partial`: the data of the chunks so far (the last one cut
        // short), once there is any.
        let Some(line_end) = raw
            .get(at..)
            .and_then(|r| r.windows(2).position(|w| w == b"\r\n"))
            .map(|p| p + at)
        else {
            return (partial && !out.is_empty()).then_some(out);
        };
        let size_text = std::str::from_utf8(raw.get(at..line_end)?).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            return Some(out);
        }
        let end = at.checked_add(size)?;
        if partial && end > raw.len() {
            out.extend_from_slice(raw.get(at..)?);
            return Some(out);
        }
        out.extend_from_slice(raw.get(at..end)?);
        at += size + 2;
        if out.len() > crate::fhir::MAX_BODY {
            return None;
        }
    }
}

/// What a body is read for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    Form,
    Fhir,
    /// An XML response that may be a UPnP device description.
    Upnp,
    /// An IPP message (`application/ipp`): its head only.
    Ipp,
}

impl Body {
    /// Bytes of the body kept: an IPP request's attributes come before
    /// its document, which is never read; a printer's answer fits.
    fn cap(self) -> usize {
        match self {
            Body::Ipp => MAX_IPP,
            _ => usize::MAX,
        }
    }
}

/// Bytes of an IPP message read (a printer's full attribute answer is a
/// few tens of kB).
const MAX_IPP: usize = 64 * 1024;

/// Largest form body read for a login.
const MAX_FORM: usize = 8192;

/// HTTP state of one connection.
#[derive(Default)]
pub struct HttpState {
    dirs: [DirState; 2],
    /// A login sent with the last request, waiting for its answer.
    pending: Option<(String, String, creds::Judged)>,
    /// The connection is RTSP.
    rtsp: bool,
    /// The last request went to a print server's queue (`/printers/…`,
    /// `/classes/…`: CUPS, Windows): an IPP answer describes the queue's
    /// printer, not the server that answers.
    print_queue: bool,
}

/// Whether a request line asks a print server's queue.
fn print_queue_path(head: &str) -> bool {
    head.split_whitespace().nth(1).is_some_and(|p| {
        // An absolute URI's path, or the path itself (no copy: this runs
        // on every request).
        let path = p
            .split_once("://")
            .map_or(p, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
        let starts = |prefix: &str| {
            path.get(..prefix.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
        };
        starts("/printers/") || starts("/classes/")
    })
}

impl HttpState {
    /// The state of an RTSP connection.
    pub fn rtsp() -> Self {
        HttpState {
            rtsp: true,
            ..Default::default()
        }
    }

    /// Whether the connection is RTSP.
    pub fn is_rtsp(&self) -> bool {
        self.rtsp
    }

    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        let mut n = 0;
        for d in &mut self.dirs {
            n += crate::bytes::held(&mut d.buf);
            n += d.body.as_ref().map_or(0, |(_, b)| b.capacity());
            n += d.chunked.as_ref().map_or(0, |(_, b)| b.capacity());
        }
        n
    }
}

impl HttpState {
    fn login(&mut self, success: Option<bool>, out: &mut Vec<ObsKind>) {
        if let Some((protocol, user, (check, tag))) = self.pending.take() {
            out.push(ObsKind::Login {
                protocol,
                user,
                password_present: check != PasswordCheck::Empty,
                success,
                encrypted: false,
                password: check,
                password_tag: tag,
            });
        }
    }

    /// A login still waiting for an answer when the connection ends.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        self.login(None, out);
    }
}

impl HttpState {
    /// Feeds stream bytes of direction `dir` (0 requests, 1 responses).
    pub fn feed(&mut self, dir: usize, mut data: &[u8], out: &mut Vec<ObsKind>) {
        if dir > 1 {
            return;
        }
        while !data.is_empty() && !self.dirs[dir].done {
            let d = &mut self.dirs[dir];
            if let Some((k, raw)) = d.chunked.as_mut() {
                raw.extend_from_slice(
                    &data[..data.len().min(MAX_CHUNKED + 1 - raw.len().min(MAX_CHUNKED))],
                );
                // An IPP request's head is read from its first chunks: its
                // document is not waited for.
                let partial = *k == Body::Ipp && (dir == 0 || raw.len() > MAX_CHUNKED);
                match dechunk(raw, partial) {
                    // Not yet the request's first eight bytes (version,
                    // operation, request id).
                    Some(body) if partial && body.len() < 8 && raw.len() <= MAX_CHUNKED => {}
                    Some(body) => {
                        match k {
                            Body::Fhir => out.extend(crate::fhir::devices(&body, dir == 0)),
                            Body::Upnp => out.extend(crate::ssdp::description(&body)),
                            Body::Ipp => {
                                out.extend(crate::ipp::parse(&body, dir == 0, self.print_queue))
                            }
                            Body::Form => {}
                        }
                        d.done = true;
                    }
                    None if raw.len() > MAX_CHUNKED => d.done = true,
                    None => {}
                }
                if d.done {
                    d.chunked = None;
                }
                return;
            }
            if d.skip > 0 {
                let n = d.skip.min(data.len());
                d.skip -= n;
                if let Some((k, b)) = d.body.as_mut() {
                    let room = k.cap().saturating_sub(b.len()).min(n);
                    b.extend_from_slice(&data[..room]);
                }
                data = &data[n..];
                if d.skip == 0 {
                    match d.body.take() {
                        Some((Body::Form, b)) => {
                            if let Some((user, check)) = form_login(&b) {
                                self.pending = Some(("http-form".into(), user, check));
                            }
                        }
                        Some((Body::Fhir, b)) => out.extend(crate::fhir::devices(&b, dir == 0)),
                        Some((Body::Upnp, b)) => out.extend(crate::ssdp::description(&b)),
                        Some((Body::Ipp, b)) => {
                            out.extend(crate::ipp::parse(&b, dir == 0, self.print_queue))
                        }
                        None => {}
                    }
                }
                continue;
            }
            let before = d.buf.len();
            if self.rtsp && before == 0 && data.first() == Some(&b'$') {
                // Interleaved RTP/RTCP: media from here on.
                d.done = true;
                return;
            }
            let take = data.len().min(MAX_HEAD + 4 - before.min(MAX_HEAD));
            d.buf.extend_from_slice(&data[..take]);
            // Only where the blank line can end: the new bytes and the
            // three before them (the head so far was searched already).
            let from = before.saturating_sub(3);
            let Some(end) = d.buf[from..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|i| i + from)
            else {
                if d.buf.len() >= MAX_HEAD {
                    d.done = true;
                }
                return;
            };
            let head = String::from_utf8_lossy(&d.buf[..end]).into_owned();
            // Bytes of `data` past the head belong to the body.
            let used = end + 4 - before;
            data = &data[used.min(data.len())..];
            d.buf.clear();
            let fields = Fields::read(&head);
            if dir == 0 {
                self.print_queue = print_queue_path(&head);
            }
            let parsed = if dir == 0 {
                request(&head, &fields, self.rtsp)
            } else {
                response(&head, &fields, self.rtsp)
            };
            self.track_login(dir, &fields, parsed.as_ref().map(|p| &p.0), out);
            let d = &mut self.dirs[dir];
            // Bodies read: a form's (a login), one that may hold FHIR Device
            // resources, an XML answer that may be a UPnP description.
            let kind = |body: usize| {
                // Most messages have no body or no content type: nothing
                // to lower-case then.
                let ctype = match fields.content_type {
                    Some(t) if body > 0 => t.to_ascii_lowercase(),
                    _ => return None,
                };
                if dir == 0
                    && body <= MAX_FORM
                    && ctype.contains("application/x-www-form-urlencoded")
                {
                    Some(Body::Form)
                } else if ctype.starts_with("application/ipp") {
                    Some(Body::Ipp)
                } else if body > crate::fhir::MAX_BODY {
                    None
                } else if crate::fhir::wanted(&ctype, lines(&head).next().unwrap_or("")) {
                    Some(Body::Fhir)
                } else if dir == 1 && body <= MAX_UPNP && ctype.contains("xml") {
                    Some(Body::Upnp)
                } else {
                    None
                }
            };
            match parsed {
                Some((o, Some(body))) => {
                    // Grown as the body arrives: a flow holds what it sent.
                    d.body = kind(body).map(|k| (k, Vec::new()));
                    out.push(o);
                    d.skip = body;
                }
                Some((o, None)) => {
                    // A chunked body: one worth reading is gathered whole
                    // (up to the cap) and read once it ends; the direction
                    // is not followed past it.
                    out.push(o);
                    match kind(MAX_UPNP).filter(|k| *k != Body::Form) {
                        Some(k) => d.chunked = Some((k, Vec::new())),
                        None => d.done = true,
                    }
                }
                None => d.done = true,
            }
        }
    }

    /// Basic credentials on a request wait for the response to learn the
    /// outcome (401/403/407 refuse, anything else final accepts).
    fn track_login(
        &mut self,
        dir: usize,
        fields: &Fields<'_>,
        parsed: Option<&ObsKind>,
        out: &mut Vec<ObsKind>,
    ) {
        if dir == 0 {
            // A new request: an earlier login got no answer we could see.
            self.login(None, out);
            if let Some((user, check)) = fields.authorization.and_then(basic_credentials) {
                let protocol = if self.rtsp {
                    "rtsp-basic"
                } else {
                    "http-basic"
                };
                self.pending = Some((protocol.into(), user, check));
            }
        } else if let Some(ObsKind::HttpResponse { status, .. }) = parsed {
            if *status >= 200 {
                self.login(Some(!matches!(status, 401 | 403 | 407)), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipp_answer_for_a_print_servers_queue_is_the_queues() {
        // A Get-Printer-Attributes answer naming a printer.
        let mut answer = vec![2, 0, 0, 0, 0, 0, 0, 1, 0x04, 0x41, 0, 22];
        answer.extend(b"printer-make-and-model");
        answer.extend([0, 11]);
        answer.extend(b"HP M404n 2X");
        answer.push(0x03);
        let ask = [2u8, 0, 0, 0x0B, 0, 0, 0, 1, 0x03];
        for (path, queue) in [
            ("/ipp/print", false),
            ("/printers/Ward3-Laser", true),
            ("http://ps01.hospital.local:631/printers/Ward3", true),
            ("/Printers/Ward3", true),
            ("/printersettings", false),
        ] {
            let mut st = HttpState::default();
            let mut out = Vec::new();
            let mut req = format!(
                "POST {path} HTTP/1.1\r\nContent-Type: application/ipp\r\nContent-Length: {}\r\n\r\n",
                ask.len()
            )
            .into_bytes();
            req.extend(ask);
            st.feed(0, &req, &mut out);
            let mut resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: {}\r\n\r\n",
                answer.len()
            )
            .into_bytes();
            resp.extend(&answer);
            st.feed(1, &resp, &mut out);
            let answers: Vec<&crate::obs::IppFact> = out
                .iter()
                .filter_map(|o| match o {
                    ObsKind::Ipp(f) if !f.request => Some(&**f),
                    _ => None,
                })
                .collect();
            assert_eq!(answers.len(), 1, "{path}: {out:?}");
            assert_eq!(answers[0].make_and_model.as_deref(), Some("HP M404n 2X"));
            assert_eq!(answers[0].queue, queue, "{path}");
        }
    }

    #[test]
    fn chunked_bodies_worth_reading_are_gathered() {
        let device = br#"{"resourceType":"Device","manufacturer":"Acme","modelNumber":"AI-900"}"#;
        let (a, b) = device.split_at(30);
        let mut msg = b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for part in [a, b] {
            msg.extend_from_slice(format!("{:x};ext=1\r\n", part.len()).as_bytes());
            msg.extend_from_slice(part);
            msg.extend_from_slice(b"\r\n");
        }
        msg.extend_from_slice(b"0\r\n\r\n");
        let mut st = HttpState::default();
        let mut out = Vec::new();
        for piece in msg.chunks(9) {
            st.feed(1, piece, &mut out);
        }
        let devices: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                ObsKind::FhirDevice(f) => Some(f.model.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(devices, [Some("AI-900".to_string())]);
        // Incomplete, or broken framing: nothing, never a panic.
        assert_eq!(dechunk(b"5\r\nhel", false), None);
        assert_eq!(dechunk(b"5\r\nhel", true).as_deref(), Some(&b"hel"[..]));
        assert_eq!(dechunk(b"zz\r\nhello\r\n0\r\n\r\n", false), None);
        assert_eq!(
            dechunk(b"5\r\nhello\r\n0\r\n\r\n", false).as_deref(),
            Some(&b"hello"[..])
        );
        for n in 0..msg.len() {
            let mut st = HttpState::default();
            st.feed(1, &msg[..n], &mut Vec::new());
        }
    }

    #[test]
    fn basic_auth_user_without_password() {
        assert_eq!(
            basic_user("Basic dGVzdDpmYWlsMg==").as_deref(),
            Some("test")
        );
        assert_eq!(basic_user("Basic  dGVzdDoxMjM0").as_deref(), Some("test"));
        assert_eq!(basic_user("Bearer abc"), None);
    }

    #[test]
    fn pipelined_requests_with_bodies() {
        let mut st = HttpState::default();
        let mut out = Vec::new();
        let s = b"POST /fhir/Observation HTTP/1.1\r\nHost: ehr\r\nContent-Length: 5\r\n\r\nhelloGET /x?id=1 HTTP/1.1\r\nHost: ehr\r\nUser-Agent: pump/2\r\n\r\n";
        for c in s.chunks(7) {
            st.feed(0, c, &mut out);
        }
        assert_eq!(out.len(), 2);
        let ObsKind::HttpRequest(r) = &out[1] else {
            panic!()
        };
        let crate::obs::HttpRequestFact {
            path, user_agent, ..
        } = &**r;
        assert_eq!(path, "/x");
        assert_eq!(user_agent.as_deref(), Some("pump/2"));
        let ObsKind::HttpRequest(r) = &out[0] else {
            panic!()
        };
        let crate::obs::HttpRequestFact {
            fhir_resource,
            fhir_interaction,
            ..
        } = &**r;
        assert_eq!(fhir_resource.as_deref(), Some("Observation"));
        assert_eq!(fhir_interaction.as_deref(), Some("create"));
    }

    #[test]
    fn rtsp_is_told_from_http_and_read_until_media_interleaves() {
        assert!(probe_rtsp_request(
            b"OPTIONS rtsp://10.0.0.5:554/ RTSP/1.0\r\n"
        ));
        assert!(probe_rtsp_request(b"GET_PARAMETER * RTSP/1.0\r\n"));
        assert!(!probe_rtsp_request(b"OPTIONS / HTTP/1.1\r\n"));
        assert!(!probe_rtsp_request(b"OPTIONS sip:100@pbx SIP/2.0\r\n"));
        assert!(probe_rtsp_response(b"RTSP/1.0 401 Unauthorized\r\n"));
        assert!(!probe_rtsp_response(b"HTTP/1.1 200 OK\r\n"));
        let mut h = HttpState::rtsp();
        let mut out = Vec::new();
        h.feed(
            0,
            b"PLAY rtsp://cam:554/live/ RTSP/1.0\r\nCSeq: 5\r\nAuthorization: Basic YWRtaW46MTIzNDU=\r\n\r\n",
            &mut out,
        );
        h.feed(
            1,
            b"RTSP/1.0 200 OK\r\nCSeq: 5\r\nServer: Cam\r\n\r\n",
            &mut out,
        );
        // An RTCP report interleaved by the client, then bytes that would
        // read as another request were the direction still followed.
        h.feed(
            0,
            b"$\x01\x00\x08\x81\xc9\x00\x01\x00\x00\x00\x00GET_PARAMETER rtsp://cam/ RTSP/1.0\r\n\r\n",
            &mut out,
        );
        h.finish(&mut out);
        let requests: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                ObsKind::HttpRequest(r) => Some((r.method.as_str(), r.path.as_str(), r.rtsp)),
                _ => None,
            })
            .collect();
        assert_eq!(requests, [("PLAY", "/live/", true)]);
        assert!(out.iter().any(|o| matches!(
            o,
            ObsKind::Login { protocol, success: Some(true), .. } if protocol == "rtsp-basic"
        )));
        assert!(out.iter().any(|o| matches!(
            o,
            ObsKind::HttpResponse { status: 200, rtsp: true, server: Some(s) } if s == "Cam"
        )));
    }

    #[test]
    fn heads_in_any_cut_give_the_same_messages() {
        let s: &[u8] = b"POST /fhir/Observation HTTP/1.1\r\nHost: ehr\r\nContent-Length: 5\r\n\r\nhelloGET /x?id=1 HTTP/1.1\r\nHost: ehr\r\nUser-Agent: pump/2\r\n\r\nGET /y HTTP/1.0\r\n\r\n";
        let mut whole = Vec::new();
        HttpState::default().feed(0, s, &mut whole);
        assert_eq!(whole.len(), 3);
        for size in 1..=9 {
            let mut out = Vec::new();
            let mut st = HttpState::default();
            for c in s.chunks(size) {
                st.feed(0, c, &mut out);
            }
            assert_eq!(out, whole, "chunks of {size}");
        }
    }

    #[test]
    fn header_fields_are_read_whatever_the_case_and_line_ends() {
        // Bare LF between lines (some embedded servers), names in any case,
        // the first of a repeated field, chunked bodies unknown.
        let head = "GET /ui HTTP/1.1\nhOsT: pump-17\r\nUSER-AGENT:  agent/1 \nHost: other\nAuthorization: Basic YWRtaW46YWRtaW4=\nContent-Length: 12";
        let Some((ObsKind::HttpRequest(r), body)) = parse_request(head) else {
            panic!()
        };
        let crate::obs::HttpRequestFact {
            host,
            user_agent,
            basic_user,
            ..
        } = *r;
        assert_eq!(host.as_deref(), Some("pump-17"));
        assert_eq!(user_agent.as_deref(), Some("agent/1"));
        assert_eq!(basic_user.as_deref(), Some("admin"));
        assert_eq!(body, Some(12));
        let chunked = "HTTP/1.1 200 OK\r\nServer: thttpd\r\nTransfer-Encoding: gzip, Chunked";
        let Some((ObsKind::HttpResponse { status, server, .. }, body)) = parse_response(chunked)
        else {
            panic!()
        };
        assert_eq!(
            (status, server.as_deref(), body),
            (200, Some("thttpd"), None)
        );
        // A login on a head with bare LFs is followed to its answer.
        let mut st = HttpState::default();
        let mut out = Vec::new();
        st.feed(
            0,
            format!("{head}\r\n\r\n0123456789ab").as_bytes(),
            &mut out,
        );
        st.feed(
            1,
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
            &mut out,
        );
        assert!(
            out.iter().any(|o| matches!(o, ObsKind::Login { user, success: Some(false), .. } if user == "admin")),
            "{out:?}"
        );
    }

    #[test]
    fn identifiers_never_leave_the_path() {
        let (p, f) = redact_path("GET", "/fhir/Patient/pat-77a");
        assert_eq!(p, "/fhir/Patient/{id}");
        assert_eq!(f, Some(("Patient".into(), "read".into())));
        let (p, _) = redact_path("GET", "/api/records/1234567/view");
        assert_eq!(p, "/api/records/{id}/view");
        let (p, f) = redact_path("GET", "/fhir/Observation");
        assert_eq!(
            (p.as_str(), f.map(|x| x.1)),
            ("/fhir/Observation", Some("search".into()))
        );
    }
}
