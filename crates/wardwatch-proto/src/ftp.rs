//! FTP control connections: the server banner, the user that logged in and
//! whether it succeeded (the password is only noted as present, never kept),
//! AUTH TLS, and counts of uploads and downloads (no file names).
//!
//! SMTP greets with 220 too. A greeting that names neither FTP (nor
//! FileZilla) nor SMTP (the latter goes to `mail` at once) is held until
//! the client's first command, or the server's next reply when only the
//! server is seen: EHLO, HELO or a 250 hand the connection to the SMTP
//! dissector; anything else makes it FTP.

use crate::creds;
use crate::lines::LineBuf;
use crate::obs::ObsKind;

/// Whether a server stream starts like an FTP greeting.
pub fn probe_server(b: &[u8]) -> bool {
    b.starts_with(b"220 ") || b.starts_with(b"220-")
}

/// Whether a client stream starts with an FTP command.
pub fn probe_client(b: &[u8]) -> bool {
    let Some(head) = b.first_chunk::<5>() else {
        return false;
    };
    matches!(
        &head.map(|x| x.to_ascii_uppercase()),
        b"USER " | b"AUTH " | b"FEAT\r" | b"OPTS "
    )
}

/// FTP state of one control connection.
#[derive(Default)]
pub struct FtpState {
    lines: [LineBuf; 2],
    banner_sent: bool,
    user: Option<String>,
    password_present: bool,
    password: creds::Judged,
    awaiting_login: bool,
    stor: u32,
    retr: u32,
    auth_tls: bool,
    /// Bytes announced in `150 … (N bytes)` replies.
    announced_bytes: u64,
    /// A greeting that named neither FTP nor SMTP, until the connection
    /// shows which it is.
    held_greeting: Option<String>,
    /// The held greeting, found to be FTP's: to be passed on as the
    /// server's (see [`FtpState::due_greeting`]).
    due: Option<String>,
    client_spoke: bool,
    handover: Option<Handover>,
}

/// An SMTP connection first taken for FTP, for the mail dissector: the
/// greeting held, the lines read since (direction, text) and the partial
/// lines of both directions.
#[derive(Default)]
pub(crate) struct Handover {
    pub greeting: Option<String>,
    pub lines: Vec<(usize, String)>,
    pub partial: [LineBuf; 2],
}

impl FtpState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.lines.iter_mut().map(LineBuf::held).sum()
    }

    /// Feeds stream bytes of direction `dir` (0 commands, 1 replies).
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        if self.handover.is_some() {
            return;
        }
        let Some(lb) = self.lines.get_mut(dir) else {
            return;
        };
        let mut lines = lb.push(data).into_iter();
        while let Some(line) = lines.next() {
            if !self.client_spoke && self.held_greeting.is_some() {
                let smtp = if dir == 0 {
                    let verb = line.split(' ').next().unwrap_or("");
                    verb.eq_ignore_ascii_case("EHLO") || verb.eq_ignore_ascii_case("HELO")
                } else {
                    line.starts_with("250")
                };
                if smtp {
                    let mut rest = vec![(dir, line)];
                    rest.extend(lines.map(|l| (dir, l)));
                    self.handover = Some(Handover {
                        greeting: self.held_greeting.take(),
                        lines: rest,
                        partial: std::mem::take(&mut self.lines),
                    });
                    return;
                }
                // Not the greeting's own continuation: FTP.
                if dir == 0 || !line.starts_with("220") {
                    self.due = self.held_greeting.take();
                }
            }
            if dir == 0 {
                self.client_spoke = true;
                self.command(&line);
            } else {
                self.reply(&line, out);
            }
        }
    }

    /// The connection turned out to be SMTP: what the mail dissector
    /// needs to go on.
    pub(crate) fn smtp_handover(&mut self) -> Option<Handover> {
        self.handover.take()
    }

    /// A held greeting found to be FTP's, once: the server's fact, to be
    /// passed on in the server's direction whatever direction showed it.
    pub fn due_greeting(&mut self) -> Option<ObsKind> {
        self.due.take().map(|text| ObsKind::Banner {
            protocol: "ftp".into(),
            text,
        })
    }

    fn command(&mut self, line: &str) {
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "USER" => {
                self.user = Some(arg.trim().chars().take(128).collect());
                self.password_present = false;
                self.password = Default::default();
                self.awaiting_login = true;
            }
            // The password is never copied: only that one was sent.
            "PASS" => {
                self.password_present = !arg.is_empty();
                let user = self.user.as_deref().unwrap_or("");
                // Judged here and dropped: only the verdict is kept.
                self.password = creds::judge(user, arg.as_bytes());
            }
            "AUTH" => {
                self.auth_tls =
                    arg.trim().eq_ignore_ascii_case("tls") || arg.trim().eq_ignore_ascii_case("ssl")
            }
            "STOR" | "STOU" | "APPE" => self.stor += 1,
            "RETR" => self.retr += 1,
            _ => {}
        }
    }

    fn reply(&mut self, line: &str, out: &mut Vec<ObsKind>) {
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        if code == Some(150) {
            // "Opening BINARY mode data connection for 'x' (77 bytes)": the
            // size only; the file name is never kept.
            if let Some(n) = line
                .rsplit_once('(')
                .and_then(|(_, r)| r.split_once(" bytes"))
                .and_then(|(n, _)| n.trim().parse::<u64>().ok())
            {
                self.announced_bytes = self.announced_bytes.saturating_add(n);
            }
        }
        if !self.banner_sent && code == Some(220) {
            self.banner_sent = true;
            let text: String = line
                .get(4..)
                .unwrap_or("")
                .trim()
                .chars()
                .take(256)
                .collect();
            // FileZilla Server, common on Windows, does not say FTP.
            let upper = text.to_ascii_uppercase();
            if self.client_spoke || upper.contains("FTP") || upper.contains("FILEZILLA") {
                out.push(ObsKind::Banner {
                    protocol: "ftp".into(),
                    text,
                });
            } else {
                self.held_greeting = Some(text);
            }
            return;
        }
        if self.awaiting_login && matches!(code, Some(230) | Some(530) | Some(430)) {
            self.awaiting_login = false;
            let (password, password_tag) = std::mem::take(&mut self.password);
            out.push(ObsKind::Login {
                protocol: "ftp".into(),
                user: self.user.clone().unwrap_or_default(),
                password_present: self.password_present,
                success: Some(code == Some(230)),
                encrypted: self.auth_tls,
                password,
                password_tag,
            });
        }
    }

    /// Transfer counts at the end of the connection (a greeting still
    /// held is then FTP's: see [`FtpState::due_greeting`]).
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        // (A hand-over took the greeting with it.)
        if let Some(g) = self.held_greeting.take() {
            self.due = Some(g);
        }
        if self.stor + self.retr > 0 {
            out.push(ObsKind::FileTransfers {
                protocol: "ftp".into(),
                uploads: self.stor,
                downloads: self.retr,
                announced_bytes: self.announced_bytes,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_commands_are_recognised_in_any_case() {
        for yes in [
            &b"USER anonymous\r\n"[..],
            b"user x",
            b"Auth TLS\r\n",
            b"FEAT\r\n",
            b"opts UTF8 ON",
        ] {
            assert!(probe_client(yes), "{yes:?}");
        }
        for no in [
            &b"USER"[..],
            b"",
            b"USERS",
            b"FEAT \r\n",
            b"GET / HTTP/1.1",
            b"\xffUSER ",
        ] {
            assert!(!probe_client(no), "{no:?}");
        }
    }

    #[test]
    fn login_is_reported_without_the_password() {
        let mut st = FtpState::default();
        let mut out = Vec::new();
        st.feed(1, b"220 Operation successful\r\n", &mut out);
        // A greeting naming neither FTP nor SMTP (BusyBox ftpd's) waits
        // for the client.
        assert!(out.is_empty() && st.due_greeting().is_none());
        st.feed(0, b"USER Admin\r\nPASS qwe", &mut out);
        assert!(
            matches!(st.due_greeting(), Some(ObsKind::Banner { protocol, text })
            if protocol == "ftp" && text == "Operation successful")
        );
        st.feed(0, b"rty\r\n", &mut out);
        st.feed(
            1,
            b"331 Password required\r\n230 Login successful.\r\n",
            &mut out,
        );
        st.feed(0, b"STOR a.txt\r\nRETR b.txt\r\n", &mut out);
        st.finish(&mut out);
        let dump = format!("{out:?}");
        assert!(
            !dump.contains("qwerty") && !dump.contains("a.txt"),
            "{dump}"
        );
        assert!(
            matches!(&out[0], ObsKind::Login { user, success: Some(true), password_present: true, .. } if user == "Admin")
        );
        assert!(matches!(
            &out[1],
            ObsKind::FileTransfers {
                uploads: 1,
                downloads: 1,
                ..
            }
        ));
    }

    #[test]
    fn an_smtp_greeting_without_its_name_is_handed_over() {
        // The client's EHLO tells (a greeting line split across segments).
        let mut st = FtpState::default();
        let mut out = Vec::new();
        st.feed(1, b"220 mail.hospital.example Service ready\r\n", &mut out);
        st.feed(0, b"EHLO scanner-2\r\nAUTH LO", &mut out);
        let h = st.smtp_handover().expect("handed over");
        assert_eq!(
            h.greeting.as_deref(),
            Some("mail.hospital.example Service ready")
        );
        assert_eq!(h.lines, vec![(0, "EHLO scanner-2".to_string())]);
        assert!(out.is_empty() && st.due_greeting().is_none());
        // Only the server seen: its 250 after the greeting tells.
        let mut st = FtpState::default();
        st.feed(
            1,
            b"220-mail ready\r\n220 go on\r\n250-mail\r\n250 8BITMIME\r\n",
            &mut out,
        );
        let h = st.smtp_handover().expect("handed over");
        assert_eq!(h.lines.len(), 2);
        // An FTP server seen alone: its next reply makes it FTP.
        let mut st = FtpState::default();
        st.feed(1, b"220 ready\r\n331 Password required\r\n", &mut out);
        assert!(st.smtp_handover().is_none());
        assert!(st.due_greeting().is_some());
        // A greeting and nothing else: FTP's at the end.
        let mut st = FtpState::default();
        st.feed(1, b"220 ready\r\n", &mut out);
        st.finish(&mut out);
        assert!(st.due_greeting().is_some());
        assert!(out.is_empty());
    }
}
