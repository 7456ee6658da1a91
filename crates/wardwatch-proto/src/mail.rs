//! Mail protocols in the clear: SMTP (RFC 5321, with AUTH per RFC 4954),
//! POP3 (RFC 1939, AUTH per RFC 5034) and IMAP (RFC 9051). Devices send
//! alarms and scans by mail and often log in to the relay with a service
//! account, in the clear.
//!
//! Kept: the server's greeting (its software) and each login: the user,
//! whether a password crossed in the clear (judged in the parser against the
//! credential lists, never kept) and whether the server accepted it. After
//! STARTTLS (STLS) the rest of the connection is TLS, handed back to the TLS
//! dissector. Never kept: addresses (MAIL FROM, RCPT TO), mailbox names,
//! message headers or bodies.

use crate::creds::{self, PasswordCheck};
use crate::http::base64_decode;
use crate::lines::LineBuf;
use crate::obs::ObsKind;

/// Which mail protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mail {
    /// SMTP or submission.
    #[default]
    Smtp,
    /// POP3.
    Pop3,
    /// IMAP.
    Imap,
}

impl Mail {
    /// The protocol's name in facts and reports.
    pub fn name(self) -> &'static str {
        match self {
            Mail::Smtp => "smtp",
            Mail::Pop3 => "pop3",
            Mail::Imap => "imap",
        }
    }
}

/// The mail protocol a server stream's first bytes greet with. An SMTP
/// greeting is told from an FTP one (both `220`) by the word SMTP in its
/// first line, which every common server writes ("ESMTP"); one without it
/// is taken for FTP until the client says EHLO (see `ftp`).
pub fn probe_server(b: &[u8]) -> Option<Mail> {
    if b.starts_with(b"220 ") || b.starts_with(b"220-") {
        let line = b.split(|c| *c == b'\n').next().unwrap_or(b);
        return line
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"SMTP"))
            .then_some(Mail::Smtp);
    }
    if b.starts_with(b"+OK ") || b.starts_with(b"+OK\r") {
        return Some(Mail::Pop3);
    }
    if b.starts_with(b"* OK ") || b.starts_with(b"* PREAUTH ") {
        return Some(Mail::Imap);
    }
    None
}

/// The mail protocol a client stream's first command belongs to (a
/// capture that missed the greeting, or holds the client's side only).
pub fn probe_client(b: &[u8]) -> Option<Mail> {
    let word = |w: &[u8]| b.len() > w.len() && b[..w.len()].eq_ignore_ascii_case(w);
    if word(b"EHLO ") || word(b"HELO ") {
        return Some(Mail::Smtp);
    }
    if word(b"CAPA\r") || word(b"STLS\r") || word(b"APOP ") {
        return Some(Mail::Pop3);
    }
    // An IMAP command: a tag, then the command.
    let tag = b
        .iter()
        .take(21)
        .position(|c| *c == b' ')
        .filter(|n| *n > 0)?;
    if !b[..tag]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'.')
    {
        return None;
    }
    let rest = &b[tag + 1..];
    [
        &b"LOGIN "[..],
        b"AUTHENTICATE ",
        b"CAPABILITY\r",
        b"STARTTLS\r",
    ]
    .iter()
    .any(|w| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w))
    .then_some(Mail::Imap)
}

/// Where a login stands.
#[derive(Default)]
enum Step {
    #[default]
    Idle,
    /// POP3 `USER` given, `PASS` to come.
    User(String),
    /// `AUTH PLAIN` (SASL PLAIN) asked without its initial response: the
    /// next client line carries it.
    Plain,
    /// `AUTH LOGIN` asked: the next client line is the user, in base64.
    LoginUser,
    /// `AUTH LOGIN`: the user given, the password's line to come.
    LoginPassword(String),
    /// The credentials sent, the server's verdict awaited.
    Verdict {
        user: String,
        password_present: bool,
        password: creds::Judged,
    },
    /// A challenge-response mechanism (CRAM-MD5, NTLM, GSSAPI, XOAUTH2):
    /// its lines carry no password and are no commands.
    Exchange,
    /// STARTTLS (STLS) asked: the server's yes turns the rest into TLS.
    StartTls,
}

/// One mail connection's state.
#[derive(Default)]
pub struct MailState {
    kind: Mail,
    lines: [LineBuf; 2],
    greeted: bool,
    step: Step,
    /// The IMAP tag of the command whose completion is awaited.
    tag: String,
    /// STARTTLS accepted: what follows is TLS.
    tls: bool,
    /// SMTP and POP3 commands sent whose final answers are still to come
    /// (a client may pipeline them).
    queued: u32,
    /// Answers owed to commands sent before the one `step` follows.
    skip: u32,
    /// The client's EHLO name was passed on.
    named: bool,
    /// A client line was read.
    client_spoke: bool,
}

impl MailState {
    /// A connection found to speak `kind`.
    pub fn new(kind: Mail) -> Self {
        MailState {
            kind,
            ..MailState::default()
        }
    }

    /// An SMTP connection first taken for FTP (both greet with 220): its
    /// greeting, the lines read since and the partial ones held. The facts
    /// come with the direction of the line that gave each.
    pub(crate) fn from_ftp(handover: crate::ftp::Handover) -> (Self, Vec<(usize, ObsKind)>) {
        let mut m = MailState::new(Mail::Smtp);
        let mut facts = Vec::new();
        let greeting = handover.greeting.map(|text| (1, format!("220 {text}")));
        for (dir, line) in greeting.into_iter().chain(handover.lines) {
            let mut out = Vec::new();
            m.line(dir, &line, &mut out);
            facts.extend(out.into_iter().map(|o| (dir, o)));
        }
        m.lines = handover.partial;
        (m, facts)
    }

    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.lines.iter_mut().map(LineBuf::held).sum()
    }

    /// The protocol spoken.
    pub fn kind(&self) -> Mail {
        self.kind
    }

    /// Whether STARTTLS was accepted: the connection's bytes from here on
    /// are TLS.
    pub fn tls_started(&self) -> bool {
        self.tls
    }

    /// Feeds stream bytes of direction `dir` (0 client, 1 server).
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(lb) = self.lines.get_mut(dir) else {
            return;
        };
        for line in lb.push(data) {
            if self.tls {
                return;
            }
            self.line(dir, &line, out);
        }
    }

    fn line(&mut self, dir: usize, line: &str, out: &mut Vec<ObsKind>) {
        if dir == 0 {
            self.client_line(line, out);
        } else {
            self.server_line(line, out);
        }
    }

    fn client_line(&mut self, line: &str, out: &mut Vec<ObsKind>) {
        self.client_spoke = true;
        match std::mem::take(&mut self.step) {
            Step::Plain => {
                self.step = plain(line.trim());
                return;
            }
            Step::LoginUser => {
                self.step = match decoded(line.trim()) {
                    Some(user) => Step::LoginPassword(user),
                    None => Step::Idle,
                };
                return;
            }
            Step::LoginPassword(user) => {
                self.step = judged(user, base64_decode(line.trim()).as_deref());
                return;
            }
            Step::Exchange => {
                self.step = Step::Exchange;
                return;
            }
            step => self.step = step,
        }
        // A command (not a SASL exchange's line): answers owed to those
        // before it come first.
        if self.kind != Mail::Imap {
            self.skip = self.queued;
            self.queued = self.queued.saturating_add(1);
        }
        // IMAP commands carry a tag first: a login's or STARTTLS's is the
        // one its completion answers, whatever the client sends meanwhile.
        let (tag, line) = match self.kind {
            Mail::Imap => match line.split_once(' ') {
                Some(split) => split,
                None => return,
            },
            _ => ("", line),
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        let verb = verb.to_ascii_uppercase();
        let arg = arg.trim();
        if self.kind == Mail::Imap {
            if !matches!(verb.as_str(), "LOGIN" | "AUTHENTICATE" | "STARTTLS") {
                return;
            }
            self.tag = tag.chars().take(32).collect();
        }
        if self.kind == Mail::Smtp && (verb == "EHLO" || verb == "HELO") {
            // The client's own name; an address literal ([10.1.2.3]) says
            // nothing the packet does not.
            let name = cut(arg.split(' ').next().unwrap_or(""));
            if !name.is_empty() && !name.starts_with('[') && !self.named {
                self.named = true;
                out.push(ObsKind::SmtpClientName { name });
            }
        }
        self.step = match (self.kind, verb.as_str()) {
            (Mail::Smtp, "STARTTLS") | (Mail::Pop3, "STLS") | (Mail::Imap, "STARTTLS") => {
                Step::StartTls
            }
            (Mail::Pop3, "USER") => Step::User(cut(arg)),
            (Mail::Pop3, "PASS") => match std::mem::take(&mut self.step) {
                // Judged here and dropped: only the verdict is kept.
                Step::User(user) => judged(user, Some(arg.as_bytes())),
                _ => Step::Idle,
            },
            (Mail::Imap, "LOGIN") => {
                let (user, rest) = astring(arg);
                let (password, _) = astring(rest);
                if user.is_empty() {
                    // Sent as literals: not read.
                    return;
                }
                judged(cut(&user), Some(password.as_bytes()))
            }
            (_, "AUTH") | (Mail::Imap, "AUTHENTICATE") => {
                let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
                match (mechanism.to_ascii_uppercase().as_str(), initial.trim()) {
                    ("PLAIN", "") => Step::Plain,
                    ("PLAIN", response) => plain(response),
                    ("LOGIN", "") => Step::LoginUser,
                    ("LOGIN", user) => decoded(user).map_or(Step::Idle, Step::LoginPassword),
                    // POP3's bare AUTH lists the mechanisms.
                    ("", _) => Step::Idle,
                    _ => Step::Exchange,
                }
            }
            // Any other SMTP or POP3 command leaves a POP3 USER standing
            // (CAPA between USER and PASS is allowed), and nothing else.
            _ => match std::mem::take(&mut self.step) {
                Step::User(u) => Step::User(u),
                _ => Step::Idle,
            },
        };
    }

    fn server_line(&mut self, line: &str, out: &mut Vec<ObsKind>) {
        // Only the server's first line, before the client said anything,
        // is its greeting: a capture begun mid-connection must not take
        // "220 Ready to start TLS" or "+OK Logged in" for one.
        let first = !std::mem::replace(&mut self.greeted, true);
        if first && !self.client_spoke {
            if let Some(text) = greeting(self.kind, line) {
                out.push(ObsKind::Banner {
                    protocol: self.kind.name().into(),
                    text,
                });
                return;
            }
        }
        let Some(verdict) = self.verdict(line) else {
            return;
        };
        self.queued = self.queued.saturating_sub(1);
        // The answer to a command pipelined before the one in progress.
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        match std::mem::take(&mut self.step) {
            Step::StartTls => self.tls = verdict,
            Step::Verdict {
                user,
                password_present,
                password,
            } => out.push(ObsKind::cleartext_login(
                self.kind.name(),
                user,
                password_present,
                password,
                Some(verdict),
            )),
            // USER accepted: PASS to come. A challenge (334, "+ ") is no
            // verdict; any other answer ends a SASL exchange.
            step @ Step::User(_) if verdict => self.step = step,
            _ => {}
        }
    }

    /// Whether a server line finally accepts (true) or refuses (false) the
    /// command in progress; `None` for lines that do neither (a
    /// continuation, untagged data, a multi-line reply's inner lines).
    fn verdict(&self, line: &str) -> Option<bool> {
        match self.kind {
            Mail::Smtp => {
                let code = line.get(..3)?.parse::<u16>().ok()?;
                if line.as_bytes().get(3) == Some(&b'-') {
                    return None;
                }
                match code {
                    334 => None,
                    // 220 answers STARTTLS; 235 a login.
                    200..=299 => Some(true),
                    _ => Some(false),
                }
            }
            Mail::Pop3 => {
                if line.starts_with("+OK") {
                    Some(true)
                } else if line.starts_with("-ERR") {
                    Some(false)
                } else {
                    None
                }
            }
            Mail::Imap => {
                let (tag, rest) = line.split_once(' ')?;
                // Untagged ("*") and continuation ("+") lines are no tag a
                // command was sent with.
                if self.tag.is_empty() || tag != self.tag {
                    return None;
                }
                let status = rest.split(' ').next().unwrap_or("");
                Some(status.eq_ignore_ascii_case("OK"))
            }
        }
    }

    /// At the connection's end: a login whose verdict was not seen.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        if let Step::Verdict {
            user,
            password_present,
            password,
        } = std::mem::take(&mut self.step)
        {
            out.push(ObsKind::cleartext_login(
                self.kind.name(),
                user,
                password_present,
                password,
                None,
            ));
        }
    }
}

/// The software part of a greeting: the code or status and, for IMAP, the
/// bracketed capability list taken off; POP3's APOP timestamp too.
fn greeting(kind: Mail, line: &str) -> Option<String> {
    let text = match kind {
        Mail::Smtp => line
            .strip_prefix("220 ")
            .or_else(|| line.strip_prefix("220-"))?,
        Mail::Pop3 => line.strip_prefix("+OK")?,
        Mail::Imap => {
            let t = line
                .strip_prefix("* OK")
                .or_else(|| line.strip_prefix("* PREAUTH"))?
                .trim_start();
            match t.strip_prefix('[') {
                Some(r) => r.split_once(']').map_or("", |(_, after)| after),
                None => t,
            }
        }
    };
    let text = match (kind, text.find('<'), text.rfind('>')) {
        (Mail::Pop3, Some(a), Some(b)) if a < b => format!("{}{}", &text[..a], &text[b + 1..]),
        _ => text.to_string(),
    };
    Some(text.trim().chars().take(256).collect())
}

/// A SASL PLAIN response (RFC 4616: authzid NUL authcid NUL password): the
/// user and the verdict on the password, which is dropped here. `*`
/// cancels.
fn plain(response: &str) -> Step {
    let Some(raw) = base64_decode(response).filter(|_| response != "*") else {
        return Step::Idle;
    };
    let mut parts = raw.splitn(3, |b| *b == 0);
    let (Some(_authzid), Some(user), Some(password)) = (parts.next(), parts.next(), parts.next())
    else {
        return Step::Idle;
    };
    judged(cut(&String::from_utf8_lossy(user)), Some(password))
}

/// The credentials sent, the verdict on the password (`None`: not
/// readable) made here and the password dropped.
fn judged(user: String, password: Option<&[u8]>) -> Step {
    Step::Verdict {
        password_present: password.is_some_and(|p| !p.is_empty()),
        password: password.map_or((PasswordCheck::Unknown, None), |p| creds::judge(&user, p)),
        user,
    }
}

/// A base64 line decoded to printable text (an AUTH LOGIN user).
fn decoded(b64: &str) -> Option<String> {
    if b64 == "*" {
        return None;
    }
    let raw = base64_decode(b64)?;
    let s = std::str::from_utf8(&raw).ok()?;
    (!s.is_empty() && !s.chars().any(char::is_control)).then(|| cut(s))
}

/// An IMAP astring (RFC 9051): a quoted string with `\` escapes, or an
/// atom; a literal (`{n}`) is not read. Returns it and the rest.
fn astring(s: &str) -> (String, &str) {
    let s = s.trim_start();
    if let Some(q) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => out.extend(chars.next().map(|(_, c)| c)),
                '"' => return (out, &q[i + 1..]),
                c => out.push(c),
            }
        }
        return (out, "");
    }
    if s.starts_with('{') {
        return (String::new(), "");
    }
    let (atom, rest) = s.split_once(' ').unwrap_or((s, ""));
    (atom.to_string(), rest)
}

fn cut(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Mail, talk: &[(usize, &[u8])]) -> Vec<ObsKind> {
        let mut st = MailState::new(kind);
        let mut out = Vec::new();
        for (dir, bytes) in talk {
            st.feed(*dir, bytes, &mut out);
        }
        st.finish(&mut out);
        out
    }

    fn logins(out: &[ObsKind]) -> Vec<(String, bool, Option<bool>)> {
        out.iter()
            .filter_map(|o| match o {
                ObsKind::Login {
                    user,
                    password_present,
                    success,
                    ..
                } => Some((user.clone(), *password_present, *success)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn greetings_and_first_commands_name_the_protocol() {
        assert_eq!(
            probe_server(b"220 mx.example.org ESMTP Postfix\r\n"),
            Some(Mail::Smtp)
        );
        assert_eq!(
            probe_server(b"220-smtp.example.org esmtp ready\r\n"),
            Some(Mail::Smtp)
        );
        // An FTP greeting, or SMTP's word past the first line: not here.
        assert_eq!(probe_server(b"220 ProFTPD Server ready.\r\n"), None);
        assert_eq!(probe_server(b"220 ready\r\n250 SMTP"), None);
        assert_eq!(probe_server(b"+OK Dovecot ready.\r\n"), Some(Mail::Pop3));
        assert_eq!(
            probe_server(b"* OK [CAPABILITY IMAP4rev1] ready\r\n"),
            Some(Mail::Imap)
        );
        assert_eq!(probe_server(b"+OKAY"), None);
        assert_eq!(probe_client(b"EHLO printer-3\r\n"), Some(Mail::Smtp));
        assert_eq!(probe_client(b"helo x\r\n"), Some(Mail::Smtp));
        assert_eq!(probe_client(b"CAPA\r\n"), Some(Mail::Pop3));
        assert_eq!(probe_client(b"a001 LOGIN bob x\r\n"), Some(Mail::Imap));
        assert_eq!(probe_client(b"A1 capability\r\n"), Some(Mail::Imap));
        for no in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"USER anonymous\r\n",
            b"EHLO",
            b" LOGIN x y\r\n",
            b"a-1 LOGIN x y\r\n",
            b"",
        ] {
            assert_eq!(probe_client(no), None, "{no:?}");
        }
    }

    #[test]
    fn smtp_auth_login_keeps_the_user_and_drops_the_password() {
        // "alarms" / "Secret-77" in base64, split across segments.
        let out = run(
            Mail::Smtp,
            &[
                (1, b"220 relay.hospital.example ESMTP Postfix (Debian/GNU)\r\n"),
                (0, b"EHLO infusion-gw\r\n"),
                (1, b"250-relay.hospital.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"),
                (0, b"AUTH LOGIN\r\n"),
                (1, b"334 VXNlcm5hbWU6\r\n"),
                (0, b"YWxhcm1z\r\n"),
                (1, b"334 UGFzc3dvcmQ6\r\n"),
                (0, b"U2VjcmV0"),
                (0, b"LTc3\r\n"),
                (1, b"235 2.7.0 Authentication successful\r\n"),
                (0, b"MAIL FROM:<alarms@hospital.example>\r\nRCPT TO:<dr.jones@hospital.example>\r\n"),
            ],
        );
        assert!(matches!(&out[0], ObsKind::Banner { protocol, text }
            if protocol == "smtp" && text == "relay.hospital.example ESMTP Postfix (Debian/GNU)"));
        assert_eq!(logins(&out), vec![("alarms".into(), true, Some(true))]);
        let dump = format!("{out:?}");
        for secret in ["Secret-77", "dr.jones", "MAIL FROM"] {
            assert!(!dump.contains(secret), "{secret} in {dump}");
        }
        // The client named itself.
        assert!(out
            .iter()
            .any(|o| matches!(o, ObsKind::SmtpClientName { name } if name == "infusion-gw")));
    }

    #[test]
    fn smtp_auth_plain_both_forms_and_a_refusal() {
        // authzid "", user "scanner", password "password" (a common one).
        let b64 = "AHNjYW5uZXIAcGFzc3dvcmQ=";
        let initial = format!("AUTH PLAIN {b64}\r\n");
        let out = run(
            Mail::Smtp,
            &[
                (1, b"220 mail ESMTP\r\n"),
                (0, initial.as_bytes()),
                (1, b"535 5.7.8 Error: authentication failed\r\n"),
                (0, b"AUTH PLAIN\r\n"),
                (1, b"334 \r\n"),
                (0, format!("{b64}\r\n").as_bytes()),
                (1, b"235 ok\r\n"),
            ],
        );
        assert_eq!(
            logins(&out),
            vec![
                ("scanner".into(), true, Some(false)),
                ("scanner".into(), true, Some(true))
            ]
        );
        assert!(out.iter().any(|o| matches!(
            o,
            ObsKind::Login {
                password: PasswordCheck::Common,
                ..
            }
        )));
    }

    #[test]
    fn an_unsupported_mechanism_or_a_cancel_is_no_login() {
        let out = run(
            Mail::Smtp,
            &[
                (1, b"220 mail ESMTP\r\n"),
                (0, b"AUTH LOGIN\r\n"),
                (1, b"504 5.5.4 Unrecognized authentication type\r\n"),
                // "QUIT" is valid base64: not taken for a user.
                (0, b"QUIT\r\n"),
                (0, b"AUTH CRAM-MD5\r\n"),
                (
                    1,
                    b"334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n",
                ),
                (0, b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"),
                (1, b"235 ok\r\n"),
                (0, b"AUTH PLAIN\r\n"),
                (1, b"334 \r\n"),
                (0, b"*\r\n"),
                (1, b"501 cancelled\r\n"),
                // Still in step: the next login's answer is its own.
                (0, b"AUTH LOGIN dXNlcg==\r\n"),
                (1, b"334 UGFzc3dvcmQ6\r\n"),
                (0, b"cHc=\r\n"),
                (1, b"535 no\r\n"),
            ],
        );
        assert_eq!(logins(&out), vec![("user".into(), true, Some(false))]);
    }

    #[test]
    fn a_connection_seen_from_its_middle_has_no_greeting() {
        // Begun at EHLO: the answer to STARTTLS is no greeting.
        let mut st = MailState::new(Mail::Smtp);
        let mut out = Vec::new();
        st.feed(0, b"EHLO a\r\n", &mut out);
        st.feed(1, b"250 mail\r\n", &mut out);
        st.feed(0, b"STARTTLS\r\n", &mut out);
        st.feed(1, b"220 2.0.0 Ready to start TLS\r\n", &mut out);
        assert!(st.tls_started());
        // Begun at PASS: the answer is the login's verdict.
        let out = run(
            Mail::Pop3,
            &[
                (0, b"USER lab\r\nPASS x\r\n"),
                (1, b"+OK\r\n+OK Logged in.\r\n"),
            ],
        );
        assert_eq!(logins(&out), vec![("lab".into(), true, Some(true))]);
        assert!(!out.iter().any(|o| matches!(o, ObsKind::Banner { .. })));
    }

    #[test]
    fn starttls_ends_the_reading() {
        let mut st = MailState::new(Mail::Smtp);
        let mut out = Vec::new();
        st.feed(1, b"220 mail ESMTP\r\n", &mut out);
        st.feed(0, b"EHLO a\r\nSTARTTLS\r\n", &mut out);
        st.feed(1, b"250 mail\r\n", &mut out);
        assert!(!st.tls_started());
        st.feed(1, b"220 2.0.0 Ready to start TLS\r\n", &mut out);
        assert!(st.tls_started());
        // A refused STARTTLS leaves the session in the clear.
        let mut st = MailState::new(Mail::Imap);
        st.feed(0, b"a1 STARTTLS\r\n", &mut out);
        st.feed(1, b"a1 BAD not now\r\n", &mut out);
        assert!(!st.tls_started());
    }

    #[test]
    fn pop3_user_pass_and_apop_greeting() {
        let out = run(
            Mail::Pop3,
            &[
                (
                    1,
                    b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
                ),
                (0, b"USER labsys\r\n"),
                (1, b"+OK\r\n"),
                (0, b"PASS hunter2-x\r\n"),
                (1, b"-ERR [AUTH] Authentication failed.\r\n"),
                (0, b"USER labsys\r\nPASS other\r\n"),
            ],
        );
        assert!(matches!(&out[0], ObsKind::Banner { protocol, text }
            if protocol == "pop3" && text == "POP3 server ready"));
        assert_eq!(
            logins(&out),
            vec![
                ("labsys".into(), true, Some(false)),
                ("labsys".into(), true, None)
            ]
        );
        assert!(!format!("{out:?}").contains("hunter2"));
    }

    #[test]
    fn imap_login_quoted_and_authenticate_plain() {
        let out = run(
            Mail::Imap,
            &[
                (
                    1,
                    b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n",
                ),
                (0, b"a001 LOGIN \"pacs \\\"svc\\\"\" \"pa ss\"\r\n"),
                (1, b"* CAPABILITY IMAP4rev1\r\na001 OK Logged in\r\n"),
                (0, b"a002 AUTHENTICATE PLAIN\r\n"),
                (1, b"+ \r\n"),
                (0, b"AHNjYW5uZXIAcGFzc3dvcmQ=\r\n"),
                (1, b"a002 NO [AUTHENTICATIONFAILED] failed\r\n"),
                (0, b"a003 SELECT \"Patients/Smith\"\r\n"),
                (1, b"a003 OK\r\n"),
                // Pipelined: the login's tag is the one answered.
                (0, b"a004 LOGIN nurse1 x\r\na005 CAPABILITY\r\n"),
                (1, b"* CAPABILITY IMAP4rev1\r\na004 NO bad\r\na005 OK\r\n"),
            ],
        );
        assert!(matches!(&out[0], ObsKind::Banner { protocol, text }
            if protocol == "imap" && text == "Dovecot (Debian) ready."));
        assert_eq!(
            logins(&out),
            vec![
                ("pacs \"svc\"".into(), true, Some(true)),
                ("scanner".into(), true, Some(false)),
                ("nurse1".into(), true, Some(false))
            ]
        );
        assert!(!format!("{out:?}").contains("Smith"));
    }
}
