//! TFTP read and write requests (RFC 1350, options RFC 2347–2349, 7440).
//!
//! A request goes to port 69; the server answers from a port of its own
//! choosing, so the answer is another flow: the detection stage pairs them
//! (a flow from the server back to the request's source port). Only the
//! requests are read here, strictly (a printable file name and one of the
//! three modes), so that other traffic on port 69 is not taken for TFTP.
//!
//! Privacy: the file's name is never kept, only its extension (`bin`,
//! `xml`, `cfg` …: firmware, configuration, boot image), the transfer mode
//! and the names of the options asked for (not their values).

use crate::obs::{ObsKind, TftpRequestFact};

/// Longest file name read (RFC 1350 sets none; a request fits a datagram of
/// 512 bytes in practice).
const MAX_NAME: usize = 512;

/// Option names kept at most.
const MAX_OPTIONS: usize = 8;

/// A read (opcode 1) or write (opcode 2) request, or `None` for anything
/// else (data, acknowledgements, errors, and what is not TFTP).
pub fn parse(payload: &[u8]) -> Option<ObsKind> {
    let write = match payload.get(..2)? {
        [0, 1] => false,
        [0, 2] => true,
        _ => return None,
    };
    // name NUL mode NUL [option NUL value NUL]…
    let mut fields = payload.get(2..)?.split(|b| *b == 0);
    let name = fields.next()?;
    let mode = fields.next()?;
    // The mode must be NUL-terminated: the field after it exists.
    let mut rest: Vec<&[u8]> = fields.collect();
    rest.last().filter(|l| l.is_empty())?;
    rest.pop();
    if name.is_empty() || name.len() > MAX_NAME || !name.iter().all(|c| (0x20..0x7f).contains(c)) {
        return None;
    }
    let mode = std::str::from_utf8(mode).ok()?.to_ascii_lowercase();
    if !matches!(mode.as_str(), "netascii" | "octet" | "mail") {
        return None;
    }
    // Options come in name/value pairs; a request with a dangling name is
    // still a request (servers ignore what they do not understand).
    let options = rest
        .chunks(2)
        .filter_map(|pair| {
            let n = pair.first()?;
            (!n.is_empty() && n.len() <= 16 && n.iter().all(u8::is_ascii_alphanumeric))
                .then(|| String::from_utf8_lossy(n).to_ascii_lowercase())
        })
        .take(MAX_OPTIONS)
        .collect();
    Some(ObsKind::Tftp(Box::new(TftpRequestFact {
        write,
        mode,
        extension: extension(name),
        options,
    })))
}

/// The extension of the last component of a path (`/`, `\` or `:`
/// separated): one to five letters or digits after the last dot, lower case.
fn extension(name: &[u8]) -> Option<String> {
    let base = name
        .rsplit(|c| matches!(c, b'/' | b'\\' | b':'))
        .next()
        .unwrap_or(name);
    let dot = base.iter().rposition(|c| *c == b'.')?;
    let ext = base.get(dot + 1..)?;
    // A leading dot is a hidden file's name, not an extension.
    (dot > 0 && (1..=5).contains(&ext.len()) && ext.iter().all(u8::is_ascii_alphanumeric))
        .then(|| String::from_utf8_lossy(ext).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(op: u8, parts: &[&str]) -> Vec<u8> {
        let mut v = vec![0, op];
        for p in parts {
            v.extend_from_slice(p.as_bytes());
            v.push(0);
        }
        v
    }

    fn fact(o: Option<ObsKind>) -> TftpRequestFact {
        match o {
            Some(ObsKind::Tftp(f)) => *f,
            other => panic!("not a TFTP request: {other:?}"),
        }
    }

    #[test]
    fn requests_keep_mode_extension_and_option_names_never_the_name() {
        let f = fact(parse(&request(
            1,
            &[
                "firmware/PUMP-4711_v2.3.BIN",
                "OCTET",
                "blksize",
                "1428",
                "tsize",
                "0",
            ],
        )));
        assert!(!f.write);
        assert_eq!(f.mode, "octet");
        assert_eq!(f.extension.as_deref(), Some("bin"));
        assert_eq!(f.options, ["blksize", "tsize"]);
        let shown = format!("{f:?}");
        assert!(
            !shown.contains("PUMP") && !shown.contains("4711"),
            "{shown}"
        );

        let f = fact(parse(&request(2, &["SEP001122334455.cnf.xml", "netascii"])));
        assert!(f.write);
        assert_eq!(f.extension.as_deref(), Some("xml"));
        assert!(f.options.is_empty());
        for (name, ext) in [
            ("pxelinux.0", Some("0")),
            ("C:\\boot\\bootmgr.efi", Some("efi")),
            ("README", None),
            (".profile", None),
            ("backup.tar-gz", None),
            ("a.toolongext", None),
        ] {
            let f = fact(parse(&request(1, &[name, "octet"])));
            assert_eq!(f.extension.as_deref(), ext, "{name}");
        }
    }

    #[test]
    fn what_is_not_a_request_is_nothing() {
        for bad in [
            request(3, &["data"]),                             // DATA
            request(5, &["File not found"]),                   // ERROR
            request(1, &["", "octet"]),                        // no name
            request(1, &["file", "binary"]),                   // unknown mode
            request(1, &["fi\x01le", "octet"]),                // control byte in the name
            vec![0, 1, b'f', 0, b'o', b'c', b't', b'e', b't'], // mode not terminated
            vec![0, 1],
            vec![0],
            vec![],
        ] {
            assert!(parse(&bad).is_none(), "{bad:?}");
        }
    }
}
