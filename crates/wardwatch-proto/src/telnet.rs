//! Telnet: option negotiation is stripped; the server's banner, and a login
//! recovered from what the client typed after the `login:` prompt (echoed
//! character by character or sent as lines), with its outcome. The password
//! typed after `Password:` is only noted as present.

use crate::creds;
use crate::obs::ObsKind;

const IAC: u8 = 255;

/// Whether a stream starts with Telnet option negotiation.
pub fn probe(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == IAC && (251..=254).contains(&b[1])
}

#[derive(Default, PartialEq, Eq, Clone, Copy)]
enum Phase {
    #[default]
    Banner,
    User,
    Password,
    Outcome,
    Done,
}

/// Telnet state of one connection.
#[derive(Default)]
pub struct TelnetState {
    /// Recent server text (cleaned), for prompts.
    server: String,
    banner_sent: bool,
    phase: Phase,
    typed: Vec<u8>,
    user: Option<String>,
    password_present: bool,
    password: creds::Judged,
    iac: [u8; 2],
    iac_state: [u8; 2],
    attempts: u32,
}

/// Removes Telnet commands (IAC sequences, subnegotiations) from `data`.
fn strip(state: &mut u8, sub: &mut u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for &c in data {
        match *state {
            0 if c == IAC => *state = 1,
            0 if *sub == 1 => {}
            0 => out.push(c),
            1 => {
                *state = match c {
                    IAC => {
                        if *sub == 0 {
                            out.push(IAC);
                        }
                        0
                    }
                    250 => {
                        *sub = 1;
                        0
                    }
                    240 => {
                        *sub = 0;
                        0
                    }
                    251..=254 => 2,
                    _ => 0,
                }
            }
            _ => *state = 0, // the option byte after WILL/WONT/DO/DONT
        }
    }
    out
}

impl TelnetState {
    /// Buffer memory held (see [`crate::ProtoFlow::held`]).
    pub(crate) fn held(&mut self) -> usize {
        self.server.capacity() + self.typed.capacity()
    }

    /// Feeds stream bytes of direction `dir` (0 client keystrokes, 1 server).
    pub fn feed(&mut self, dir: usize, data: &[u8], out: &mut Vec<ObsKind>) {
        if dir > 1 || self.phase == Phase::Done {
            return;
        }
        let (st, sub) = (&mut self.iac_state[dir], &mut self.iac[dir]);
        let text = strip(st, sub, data);
        if dir == 0 {
            self.keys(&text, out);
        } else {
            self.screen(&text, out);
        }
    }

    fn keys(&mut self, text: &[u8], out: &mut Vec<ObsKind>) {
        for &c in text {
            match c {
                b'\r' | b'\n' | 0 => {
                    if self.typed.is_empty() {
                        continue;
                    }
                    let typed = std::mem::take(&mut self.typed);
                    match self.phase {
                        Phase::User | Phase::Banner => {
                            self.user = Some(
                                String::from_utf8_lossy(&typed)
                                    .chars()
                                    .filter(|c| !c.is_control())
                                    .take(64)
                                    .collect(),
                            );
                            self.phase = Phase::Password;
                        }
                        Phase::Password => {
                            // Judged here and dropped: only the verdict is kept.
                            self.password_present = true;
                            let user = self.user.as_deref().unwrap_or("");
                            self.password = creds::judge(user, &typed);
                            self.phase = Phase::Outcome;
                        }
                        _ => {}
                    }
                    let _ = out;
                }
                8 | 127 => {
                    self.typed.pop();
                }
                c if self.typed.len() < 128 => self.typed.push(c),
                _ => {}
            }
        }
    }

    fn screen(&mut self, text: &[u8], out: &mut Vec<ObsKind>) {
        let s: String = String::from_utf8_lossy(text)
            .chars()
            .filter(|c| *c == '\n' || !c.is_control())
            .collect();
        self.server.push_str(&s);
        if self.server.len() > 2048 {
            let cut = self.server.len() - 1024;
            let cut = (cut..self.server.len())
                .find(|i| self.server.is_char_boundary(*i))
                .unwrap_or(0);
            self.server.drain(..cut);
        }
        // The banner is what the server says before the first prompt; later
        // lines are echoes and session output.
        if !self.banner_sent && self.phase == Phase::Banner {
            if let Some(line) = self
                .server
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.to_ascii_lowercase().contains("login"))
            {
                if self.server.contains('\n') {
                    self.banner_sent = true;
                    out.push(ObsKind::Banner {
                        protocol: "telnet".into(),
                        text: line.chars().take(256).collect(),
                    });
                }
            }
        }
        let lower = self.server.to_ascii_lowercase();
        let tail = lower.trim_end();
        if tail.ends_with("login:") || tail.ends_with("username:") || tail.ends_with("user:") {
            if self.phase == Phase::Outcome {
                // Prompted again: the previous attempt failed.
                self.emit(Some(false), out);
            }
            self.phase = Phase::User;
            self.typed.clear();
            self.server.clear();
        } else if tail.ends_with("password:") {
            self.phase = Phase::Password;
            self.typed.clear();
            self.server.clear();
        } else if self.phase == Phase::Outcome {
            if lower.contains("incorrect")
                || lower.contains("failed")
                || lower.contains("denied")
                || lower.contains("invalid")
            {
                self.emit(Some(false), out);
                self.phase = Phase::User;
                self.server.clear();
            } else if lower.contains("last login")
                || tail.ends_with('$')
                || tail.ends_with('#')
                || tail.ends_with('>')
                || lower.contains("welcome")
            {
                self.emit(Some(true), out);
                self.phase = Phase::Done;
            }
        }
    }

    fn emit(&mut self, success: Option<bool>, out: &mut Vec<ObsKind>) {
        if self.attempts >= 32 {
            return;
        }
        self.attempts += 1;
        let (password, password_tag) = std::mem::take(&mut self.password);
        out.push(ObsKind::Login {
            protocol: "telnet".into(),
            user: self.user.take().unwrap_or_default(),
            password_present: std::mem::take(&mut self.password_present),
            success,
            encrypted: false,
            password,
            password_tag,
        });
    }

    /// The connection ended with a login whose outcome was not shown.
    pub fn finish(&mut self, out: &mut Vec<ObsKind>) {
        if self.phase == Phase::Outcome {
            self.emit(None, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_login_is_recovered_without_the_password() {
        let mut st = TelnetState::default();
        let mut out = Vec::new();
        st.feed(1, &[IAC, 253, 24, IAC, 251, 1], &mut out);
        st.feed(1, b"OpenBSD/i386 (oof) (ttyp2)\r\n\r\nlogin: ", &mut out);
        for c in b"fake\r" {
            st.feed(0, &[*c], &mut out);
            st.feed(1, &[*c], &mut out);
        }
        st.feed(1, b"\r\nPassword:", &mut out);
        for c in b"user\r" {
            st.feed(0, &[*c], &mut out);
        }
        st.feed(
            1,
            b"\r\nLast login: Sat Nov 27 20:11:43 on ttyp2\r\n$ ",
            &mut out,
        );
        let dump = format!("{out:?}");
        assert!(dump.contains("OpenBSD/i386 (oof) (ttyp2)"), "{dump}");
        assert!(
            matches!(&out[1], ObsKind::Login { user, success: Some(true), password_present: true, .. } if user == "fake"),
            "{dump}"
        );
        assert!(!dump.contains("\"user\""), "{dump}");
    }
}
