//! Browser announcements (MS-BRWS) in the NetBIOS datagram service (UDP
//! 138, RFC 1002 4.4): a Windows host, or Samba, broadcasting its name,
//! operating system version and roles every few minutes, in an SMB
//! mailslot write to `\MAILSLOT\BROWSE`. Legacy Windows (XP, 7, Embedded)
//! announces itself here when it says nothing else.

use crate::bytes::{le16, le32};
use crate::obs::{BrowserFact, ObsKind};

/// Server type bits (MS-BRWS 2.2.1.1 / MS-RAP SV_TYPE_*).
pub mod server_type {
    /// A workstation.
    pub const WORKSTATION: u32 = 0x0000_0001;
    /// A server (file/print sharing).
    pub const SERVER: u32 = 0x0000_0002;
    /// A SQL server.
    pub const SQL: u32 = 0x0000_0004;
    /// A domain controller.
    pub const DOMAIN_CTRL: u32 = 0x0000_0008;
    /// A backup domain controller.
    pub const BACKUP_CTRL: u32 = 0x0000_0010;
    /// Shares a print queue.
    pub const PRINT: u32 = 0x0000_0200;
    /// A Xenix/Unix server (Samba sets it).
    pub const UNIX: u32 = 0x0000_0800;
    /// Windows NT or later.
    pub const NT: u32 = 0x0000_1000;
    /// A Windows NT server edition.
    pub const SERVER_NT: u32 = 0x0000_8000;
    /// Windows 95, 98 or ME.
    pub const WINDOWS_9X: u32 = 0x0040_0000;
}

/// The roles a server type names, for evidence.
pub fn roles(t: u32) -> Vec<&'static str> {
    use server_type::*;
    [
        (WORKSTATION, "workstation"),
        (SERVER, "file server"),
        (SQL, "SQL server"),
        (DOMAIN_CTRL, "domain controller"),
        (BACKUP_CTRL, "backup domain controller"),
        (PRINT, "print queue"),
        (UNIX, "Unix (Samba)"),
        (SERVER_NT, "Windows server edition"),
    ]
    .into_iter()
    .filter(|(bit, _)| t & bit != 0)
    .map(|(_, n)| n)
    .collect()
}

/// The operating system an announcement names: Windows by its version and
/// edition bits; `None` for Samba and others (which announce a Windows
/// version of their choosing) and versions without a name.
pub fn os_name(f: &BrowserFact) -> Option<String> {
    use server_type::*;
    let t = f.server_type;
    if t & UNIX != 0 || t & (NT | WINDOWS_9X) == 0 {
        return None;
    }
    let server = t & SERVER_NT != 0;
    let name = match (f.os_major, f.os_minor, server) {
        (4, 0, _) if t & WINDOWS_9X != 0 => "Windows 95",
        (4, 10, _) if t & WINDOWS_9X != 0 => "Windows 98",
        (4, 90, _) if t & WINDOWS_9X != 0 => "Windows ME",
        (4, 0, _) => "Windows NT 4.0",
        (5, 0, _) => "Windows 2000",
        (5, 1, _) => "Windows XP",
        (5, 2, false) => "Windows XP x64",
        (5, 2, true) => "Windows Server 2003",
        (6, 0, false) => "Windows Vista",
        (6, 0, true) => "Windows Server 2008",
        (6, 1, false) => "Windows 7",
        (6, 1, true) => "Windows Server 2008 R2",
        (6, 2, false) => "Windows 8",
        (6, 2, true) => "Windows Server 2012",
        (6, 3, false) => "Windows 8.1",
        (6, 3, true) => "Windows Server 2012 R2",
        (10, 0, false) => "Windows 10/11",
        (10, 0, true) => "Windows Server 2016 or later",
        _ => return None,
    };
    Some(format!("{name} ({}.{})", f.os_major, f.os_minor))
}

/// Text of a fixed or zero-terminated field, up to its first zero.
fn text(b: &[u8], max: usize) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    crate::bytes::text(&b[..end], max)
}

/// Parses a NetBIOS datagram carrying a browser announcement: host and
/// local master announcements (the sender naming itself), and domain
/// announcements (naming its workgroup or domain).
pub fn parse(b: &[u8]) -> Option<ObsKind> {
    // Direct unique, direct group and broadcast datagrams carry names and
    // user data; the others are errors and queries.
    if !matches!(*b.first()?, 0x10..=0x12) {
        return None;
    }
    // The source and destination names: encoded labels, as in DNS.
    let skip_name = |at| crate::dns::walk_labels(b, at, |_| true);
    let at = skip_name(14)?;
    let smb = b.get(skip_name(at)?..)?;
    // An SMB1 Transaction request (a mailslot write), 17 parameter words.
    if smb.get(..5)? != b"\xffSMB\x25" || *smb.get(32)? < 14 {
        return None;
    }
    let words = 33;
    let data_len = le16(smb, words + 2 * 11)? as usize;
    let data_at = le16(smb, words + 2 * 12)? as usize;
    let setup = *smb.get(words + 2 * 13)? as usize;
    let bytes_at = words + 2 * (14 + setup) + 2;
    let name = smb.get(bytes_at..bytes_at + 16)?;
    if !name.eq_ignore_ascii_case(b"\\MAILSLOT\\BROWSE") {
        return None;
    }
    let d = smb.get(data_at..data_at.checked_add(data_len)?)?;
    let opcode = *d.first()?;
    if !matches!(opcode, 0x01 | 0x0c | 0x0f) || d.len() < 32 {
        return None;
    }
    let name = text(&d[6..22], 16);
    if name.is_empty() {
        return None;
    }
    Some(ObsKind::BrowserAnnouncement(Box::new(BrowserFact {
        name,
        domain: opcode == 0x0c,
        os_major: d[22],
        os_minor: d[23],
        server_type: le32(d, 24)?,
        comment: text(&d[32..], 48),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadcast datagram from WS-RAD-07 holding `data` in a mailslot
    /// write to `mailslot`.
    pub(crate) fn datagram(mailslot: &[u8], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0x11, 0x0a, 0x12, 0x34, 10, 0, 0, 7, 0, 138, 0, 0, 0, 0];
        let name = |b: &mut Vec<u8>| {
            b.push(32);
            b.extend_from_slice(&[b'E'; 32]);
            b.push(0);
        };
        name(&mut b);
        name(&mut b);
        let mut smb = b"\xffSMB\x25".to_vec();
        smb.resize(32, 0);
        smb.push(17);
        let bytes_len = mailslot.len() + 1;
        let data_at = 32 + 1 + 2 * 17 + 2 + bytes_len;
        for w in [
            0,
            data.len(),
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            data.len(),
            data_at,
        ] {
            smb.extend_from_slice(&(w as u16).to_le_bytes());
        }
        smb.extend_from_slice(&[3, 0]);
        smb.extend_from_slice(&[1, 0, 1, 0, 2, 0]);
        smb.extend_from_slice(&((bytes_len + data.len()) as u16).to_le_bytes());
        smb.extend_from_slice(mailslot);
        smb.push(0);
        assert_eq!(smb.len(), data_at);
        smb.extend_from_slice(data);
        b.extend_from_slice(&smb);
        b
    }

    fn announcement(opcode: u8, name: &[u8], major: u8, minor: u8, t: u32) -> Vec<u8> {
        let mut d = vec![opcode, 1, 0x60, 0xea, 0, 0];
        let mut n = name.to_vec();
        n.resize(16, 0);
        d.extend_from_slice(&n);
        d.extend_from_slice(&[major, minor]);
        d.extend_from_slice(&t.to_le_bytes());
        d.extend_from_slice(&[15, 1, 0x55, 0xaa]);
        d.extend_from_slice(b"Radiology viewer\0");
        d
    }

    #[test]
    fn host_announcements_name_the_host_and_its_windows() {
        let t = server_type::WORKSTATION | server_type::SERVER | server_type::NT;
        let b = datagram(
            b"\\MAILSLOT\\BROWSE",
            &announcement(1, b"WS-RAD-07", 5, 1, t),
        );
        let Some(ObsKind::BrowserAnnouncement(f)) = parse(&b) else {
            panic!("not parsed");
        };
        assert_eq!(f.name, "WS-RAD-07");
        assert!(!f.domain);
        assert_eq!((f.os_major, f.os_minor, f.server_type), (5, 1, t));
        assert_eq!(f.comment, "Radiology viewer");
        assert_eq!(os_name(&f).as_deref(), Some("Windows XP (5.1)"));
        assert_eq!(roles(t), vec!["workstation", "file server"]);
        // A server edition; Samba (the Unix bit) names no Windows.
        let server = BrowserFact {
            server_type: t | server_type::SERVER_NT,
            os_minor: 1,
            os_major: 6,
            ..(*f).clone()
        };
        assert_eq!(
            os_name(&server).as_deref(),
            Some("Windows Server 2008 R2 (6.1)")
        );
        let samba = BrowserFact {
            server_type: t | server_type::UNIX,
            ..server
        };
        assert_eq!(os_name(&samba), None);
        // A domain announcement names the workgroup.
        let b = datagram(
            b"\\MAILSLOT\\BROWSE",
            &announcement(0x0c, b"RADIOLOGY", 6, 1, 0x8000_1000),
        );
        let Some(ObsKind::BrowserAnnouncement(f)) = parse(&b) else {
            panic!("not parsed");
        };
        assert!(f.domain && f.name == "RADIOLOGY");
    }

    #[test]
    fn other_mailslots_and_broken_datagrams_say_nothing() {
        let a = announcement(1, b"WS-RAD-07", 5, 1, 0x1003);
        assert!(parse(&datagram(b"\\MAILSLOT\\LANMAN", &a)).is_none());
        // Election requests and the like carry no announcement.
        let mut e = a.clone();
        e[0] = 0x08;
        assert!(parse(&datagram(b"\\MAILSLOT\\BROWSE", &e)).is_none());
        let whole = datagram(b"\\MAILSLOT\\BROWSE", &a);
        assert!(parse(&whole).is_some());
        for n in 0..whole.len() {
            assert!(parse(&whole[..n]).is_none(), "cut at {n}");
        }
        let mut bad = whole.clone();
        bad[0] = 0x14;
        assert!(parse(&bad).is_none());
    }
}
