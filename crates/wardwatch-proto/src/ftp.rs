//! FTP control connections: the server banner, the user that logged in and
//! whether it succeeded (the password is only noted as present, never kept),
//! AUTH TLS, and counts of uploads and downloads (no file names).

use crate::creds::{self, PasswordCheck};
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
    password: PasswordCheck,
    awaiting_login: bool,
    stor: u32,
    retr: u32,
    auth_tls: bool,
    /// Bytes announced in `150 … (N bytes)` replies.
    announced_bytes: u64,
}

impl FtpState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.lines.iter_mut().map(LineBuf::held).sum()
    }

    /// Feeds stream bytes of direction `dir` (0 commands, 1 replies).
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        let Some(lb) = self.lines.get_mut(dir) else {
            return;
        };
        for line in lb.push(data) {
            if dir == 0 {
                self.command(&line);
            } else {
                self.reply(&line, out);
            }
        }
    }

    fn command(&mut self, line: &str) {
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "USER" => {
                self.user = Some(arg.trim().chars().take(128).collect());
                self.password_present = false;
                self.password = PasswordCheck::Unknown;
                self.awaiting_login = true;
            }
            // The password is never copied: only that one was sent.
            "PASS" => {
                self.password_present = !arg.is_empty();
                let user = self.user.as_deref().unwrap_or("");
                // Judged here and dropped: only the verdict is kept.
                self.password = creds::classify(user, arg.as_bytes());
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
            out.push(ObsKind::Banner {
                protocol: "ftp".into(),
                text: line
                    .get(4..)
                    .unwrap_or("")
                    .trim()
                    .chars()
                    .take(256)
                    .collect(),
            });
            return;
        }
        if self.awaiting_login && matches!(code, Some(230) | Some(530) | Some(430)) {
            self.awaiting_login = false;
            out.push(ObsKind::Login {
                protocol: "ftp".into(),
                user: self.user.clone().unwrap_or_default(),
                password_present: self.password_present,
                success: Some(code == Some(230)),
                encrypted: self.auth_tls,
                password: std::mem::take(&mut self.password),
            });
        }
    }

    /// Transfer counts at the end of the connection.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
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
        st.feed(1, b"220 FileZilla Server 1.9.1\r\n", &mut out);
        st.feed(0, b"USER Admin\r\nPASS qwe", &mut out);
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
            matches!(&out[1], ObsKind::Login { user, success: Some(true), password_present: true, .. } if user == "Admin")
        );
        assert!(matches!(
            &out[2],
            ObsKind::FileTransfers {
                uploads: 1,
                downloads: 1,
                ..
            }
        ));
    }
}
