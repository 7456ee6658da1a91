//! Syslog (UDP 514) and NTP (UDP 123) headers. From syslog only the
//! header's host name and application are kept — never the message, which
//! may carry patient data.

use crate::obs::ObsKind;

/// Parses an RFC 5424 or RFC 3164 header.
pub fn parse_syslog(b: &[u8]) -> Option<ObsKind> {
    let text = String::from_utf8_lossy(b.get(..b.len().min(512))?);
    let rest = text.strip_prefix('<')?;
    let (pri, rest) = rest.split_once('>')?;
    let pri: u16 = pri.parse().ok()?;
    let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(64).collect() };
    let (host, app) = if let Some(r) = rest.strip_prefix("1 ") {
        // RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME ...
        let mut f = r.split(' ');
        let _ts = f.next();
        (f.next().map(clean), f.next().map(clean))
    } else {
        // RFC 3164: "Mmm dd hh:mm:ss HOST TAG: msg"
        let f: Vec<&str> = rest.splitn(6, ' ').filter(|s| !s.is_empty()).collect();
        let host = f.get(3).map(|s| clean(s));
        let app = f
            .get(4)
            .map(|s| clean(s.split(['[', ':']).next().unwrap_or("")));
        (host, app)
    };
    Some(ObsKind::Syslog {
        facility: (pri >> 3) as u8,
        severity: (pri & 7) as u8,
        hostname: host.filter(|h| !h.is_empty() && h != "-"),
        app: app.filter(|a| !a.is_empty() && a != "-"),
    })
}

/// Parses an NTP header.
pub fn parse_ntp(b: &[u8]) -> Option<ObsKind> {
    if b.len() < 48 {
        return None;
    }
    let version = (b[0] >> 3) & 7;
    let mode = b[0] & 7;
    if !(1..=4).contains(&version) || mode == 0 {
        return None;
    }
    Some(ObsKind::Ntp {
        version,
        mode,
        stratum: b[1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_only() {
        let Some(ObsKind::Syslog {
            hostname,
            app,
            severity,
            ..
        }) = parse_syslog(b"<134>Nov 25 10:00:00 pump-3-9 infusiond[42]: patient DOE JANE bolus")
        else {
            panic!()
        };
        assert_eq!(
            (hostname.as_deref(), app.as_deref(), severity),
            (Some("pump-3-9"), Some("infusiond"), 6)
        );
        let Some(ObsKind::Syslog { hostname, app, .. }) =
            parse_syslog(b"<34>1 2026-11-25T10:00:00Z monitor-7 vitals - - - msg")
        else {
            panic!()
        };
        assert_eq!(
            (hostname.as_deref(), app.as_deref()),
            (Some("monitor-7"), Some("vitals"))
        );
        assert!(parse_syslog(b"no").is_none());
    }
}
