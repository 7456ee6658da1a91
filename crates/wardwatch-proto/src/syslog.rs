//! Syslog (UDP 514) and NTP (UDP 123) headers. From syslog only the
//! header's host name and application are kept, and the vendor, product and
//! version a CEF or LEEF message names in its own header — never the
//! message, which may carry patient data.

use crate::obs::{ObsKind, SyslogProduct};

/// The vendor, product and version of a CEF (`CEF:0|Vendor|Product|Version|…`)
/// or LEEF (`LEEF:1.0|Vendor|Product|Version|…`) message within `msg`;
/// `\|` is an escaped bar. Only those three fields are read.
fn cef_or_leef(msg: &str) -> Option<SyslogProduct> {
    let (format, at) = ["CEF:", "LEEF:"]
        .iter()
        .find_map(|f| msg.find(f).map(|i| (f.trim_end_matches(':'), i + f.len())))?;
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = msg.get(at..)?.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            '|' => {
                fields.push(std::mem::take(&mut field));
                if fields.len() == 4 {
                    break;
                }
            }
            _ => field.push(c),
        }
    }
    // A header cut before its version's bar still names vendor and product.
    if fields.len() < 4 && !field.is_empty() {
        fields.push(field);
    }
    let text = |i: usize| {
        fields
            .get(i)
            .and_then(|f| crate::bytes::text_opt(f.as_bytes(), 64))
    };
    Some(SyslogProduct {
        format: format.to_string(),
        vendor: text(1)?,
        product: text(2)?,
        version: text(3),
    })
}

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
        product: cef_or_leef(rest).map(Box::new),
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

    #[test]
    fn cef_and_leef_name_the_product_and_nothing_of_the_event() {
        let product = |b: &[u8]| match parse_syslog(b) {
            Some(ObsKind::Syslog { product, .. }) => product.map(|p| *p),
            _ => panic!("not syslog"),
        };
        let cef = product(
            b"<134>Nov 25 10:00:00 fw-edge CEF:0|Palo Alto Networks|PAN-OS|10.1.6|end|TRAFFIC|1|src=10.40.3.9 suser=jdoe",
        )
        .expect("CEF");
        assert_eq!(
            (
                cef.format.as_str(),
                cef.vendor.as_str(),
                cef.product.as_str(),
                cef.version.as_deref()
            ),
            ("CEF", "Palo Alto Networks", "PAN-OS", Some("10.1.6"))
        );
        assert!(!format!("{cef:?}").contains("jdoe"));
        let leef = product(b"<13>1 2026-11-25T10:00:00Z pacs-1 - - - - LEEF:1.0|Acme|PACS\\|Archive|7.2|login|usrName=x")
            .expect("LEEF");
        assert_eq!(
            (
                leef.vendor.as_str(),
                leef.product.as_str(),
                leef.version.as_deref()
            ),
            ("Acme", "PACS|Archive", Some("7.2"))
        );
        assert!(product(b"<134>Nov 25 10:00:00 host app: CEF:0|only-vendor").is_none());
        assert!(product(b"<134>Nov 25 10:00:00 host app: plain message").is_none());
    }
}
