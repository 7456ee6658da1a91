//! Password classification inside the parser: a password seen on the wire is
//! compared here with the shipped default-credentials list and the
//! common-password list, and only the verdict leaves the parser. The
//! password itself is never stored, printed or exported.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// What a password seen on the wire turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(tag = "class", rename_all = "kebab-case")]
pub enum PasswordCheck {
    /// No password was seen (or it could not be read).
    #[default]
    Unknown,
    /// A documented default of some product for this user name. `entry` names
    /// the list entry as `vendor (user)`, never the password.
    VendorDefault {
        /// The first matching entry of the list.
        entry: String,
        /// How many list entries share this user and password.
        matches: u32,
    },
    /// On the common-password list.
    Common,
    /// Empty.
    Empty,
    /// Anything else.
    Other,
}

impl PasswordCheck {
    /// True for a vendor default.
    pub fn is_default(&self) -> bool {
        matches!(self, PasswordCheck::VendorDefault { .. })
    }
}

const DEFAULTS_CSV: &str = include_str!("../data/default-credentials.csv");
const COMMON_TXT: &str = include_str!("../data/common-passwords.txt");

struct Lists {
    /// password → (vendor, user) entries, in file order.
    defaults: HashMap<String, Vec<(String, String)>>,
    common: std::collections::HashSet<String>,
}

static LISTS: OnceLock<Lists> = OnceLock::new();
static EXTRA: OnceLock<Vec<(String, String, String)>> = OnceLock::new();

/// Adds a site's own default-credential entries (vendor, user, password)
/// before the first classification. Returns false when the lists were
/// already built (the call came too late) or entries were already added.
pub fn add_site_defaults(entries: Vec<(String, String, String)>) -> bool {
    LISTS.get().is_none() && EXTRA.set(entries).is_ok()
}

/// Parses `vendor,user,password` lines (`#` comments, a header line and
/// `<blank>` for empty fields) into entries.
pub fn parse_defaults_csv(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') || line == "productvendor,username,password" {
            continue;
        }
        // Vendors may contain commas; user and password are the last two fields.
        let mut it = line.rsplitn(3, ',');
        let (Some(pass), Some(user), Some(vendor)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let unblank = |s: &str| {
            if s == "<blank>" {
                String::new()
            } else {
                s.trim_matches('"').to_string()
            }
        };
        out.push((
            vendor.trim_matches('"').to_string(),
            unblank(user),
            unblank(pass),
        ));
    }
    out
}

fn lists() -> &'static Lists {
    LISTS.get_or_init(|| {
        let mut defaults: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let extra = EXTRA.get().cloned().unwrap_or_default();
        for (vendor, user, pass) in parse_defaults_csv(DEFAULTS_CSV).into_iter().chain(extra) {
            defaults.entry(pass).or_default().push((vendor, user));
        }
        let common = COMMON_TXT
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        Lists { defaults, common }
    })
}

/// Whether a user name is an anonymous login (FTP), whose "password" is an
/// e-mail address by convention and no secret.
pub fn is_anonymous(user: &str) -> bool {
    user.eq_ignore_ascii_case("anonymous") || user.eq_ignore_ascii_case("ftp")
}

/// A 16-bit tag of a password, to tell repeats of one password from
/// different ones (a client retrying a stale password, not guessing). Kept
/// in memory with the login only, never written: 16 bits name no password
/// (every one shares its tag with a sixty-five-thousandth of all others).
pub fn tag(password: &[u8]) -> u16 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x7a9).hash_one(password) as u16
}

/// A password judged: its verdict and its tag (none where it was not read).
pub type Judged = (PasswordCheck, Option<u16>);

/// Judges `password` sent for `user`: [`classify`] and [`tag`].
pub fn judge(user: &str, password: &[u8]) -> Judged {
    (classify(user, password), Some(tag(password)))
}

/// The passwords worth trying against a VNC Authentication response, each
/// with its verdict: the list's VNC entries (any vendor or user naming
/// VNC), then the common passwords, then the empty one. VNC keys on a
/// password's first eight bytes, so passwords alike in those are one
/// candidate (the first listed).
pub(crate) fn vnc_candidates() -> Vec<(Vec<u8>, PasswordCheck)> {
    let l = lists();
    let key = |p: &str| p.as_bytes()[..p.len().min(8)].to_vec();
    let mut vnc: Vec<(&str, &str, &str)> = Vec::new();
    for (pass, entries) in &l.defaults {
        for (vendor, user) in entries {
            if vendor.to_ascii_lowercase().contains("vnc") || user.eq_ignore_ascii_case("vnc") {
                vnc.push((pass, vendor, user));
            }
        }
    }
    // The map's order is arbitrary: sort for the same verdicts every run.
    vnc.sort_unstable();
    let mut out: Vec<(Vec<u8>, PasswordCheck)> = Vec::new();
    for &(pass, vendor, user) in &vnc {
        let k = key(pass);
        if out.iter().any(|(o, _)| *o == k) {
            continue;
        }
        let matches = vnc.iter().filter(|(p, _, _)| key(p) == k).count() as u32;
        let who = if user.is_empty() { "no user" } else { user };
        out.push((
            k,
            PasswordCheck::VendorDefault {
                entry: format!("{vendor} ({who})"),
                matches,
            },
        ));
    }
    let mut common: Vec<&String> = l.common.iter().collect();
    common.sort_unstable();
    for p in common {
        let k = key(p);
        if !out.iter().any(|(o, _)| *o == k) {
            out.push((k, PasswordCheck::Common));
        }
    }
    if !out.iter().any(|(o, _)| o.is_empty()) {
        out.push((Vec::new(), PasswordCheck::Empty));
    }
    out
}

/// Classifies `password` sent for `user`. Call it where the password is in
/// hand and drop the password right after.
pub fn classify(user: &str, password: &[u8]) -> PasswordCheck {
    let Ok(password) = std::str::from_utf8(password) else {
        return PasswordCheck::Other;
    };
    if is_anonymous(user) {
        return PasswordCheck::Other;
    }
    let l = lists();
    if let Some(entries) = l.defaults.get(password) {
        // A blank user in the list means the product asks only for a
        // password; it matches only a login without a user name.
        let mut hits = entries
            .iter()
            .filter(|(_, u)| u.eq_ignore_ascii_case(user) || (u.is_empty() && user.is_empty()));
        if let Some((vendor, u)) = hits.next() {
            let matches = 1 + hits.count() as u32;
            let who = if u.is_empty() { "no user" } else { u.as_str() };
            return PasswordCheck::VendorDefault {
                entry: format!("{vendor} ({who})"),
                matches,
            };
        }
    }
    if password.is_empty() {
        return PasswordCheck::Empty;
    }
    if l.common.contains(password) || password.eq_ignore_ascii_case(user) {
        return PasswordCheck::Common;
    }
    PasswordCheck::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_common_and_other() {
        assert!(classify("admin", b"password").is_default());
        assert!(classify("Admin", b"admin").is_default());
        match classify("sa", b"Cardio.Perfect") {
            PasswordCheck::VendorDefault { entry, .. } => assert!(entry.contains("WelchAllyn")),
            other => panic!("{other:?}"),
        }
        assert_eq!(classify("Admin", b"qwerty"), PasswordCheck::Common);
        assert_eq!(classify("test", b"1234"), PasswordCheck::Common);
        assert_eq!(classify("bob", b"bob"), PasswordCheck::Common);
        assert_eq!(classify("test", b"fail2"), PasswordCheck::Other);
        assert_eq!(classify("anonymous", b"guest@x"), PasswordCheck::Other);
        assert_eq!(classify("nurse7", b""), PasswordCheck::Empty);
    }

    #[test]
    fn csv_parsing_keeps_commas_in_vendor() {
        let e =
            parse_defaults_csv("# c\nproductvendor,username,password\nAcme, Inc,root,<blank>\n");
        assert_eq!(e, vec![("Acme, Inc".into(), "root".into(), String::new())]);
    }
}
