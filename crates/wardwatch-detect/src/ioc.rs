//! Indicators of compromise: STIX 2.1 bundles (indicator objects with STIX
//! patterns) and plain lists (one IP, CIDR, domain, URL or JA4 fingerprint
//! per line), matched against flow peers, DNS names, TLS SNI and JA4, and
//! HTTP Host. An `ioc-match` finding names the indicator and its source.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use serde_json::Value;
use wardwatch_inventory::Cidr;
use wardwatch_proto::obs::{ObsKind, Observation};

use crate::digest::{PairKey, PairStats};
use crate::{Context, Findings, Raise, Severity};

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioc {
    /// The value as given.
    pub value: String,
    /// Kind: ip, cidr, domain, url, ja4.
    pub kind: &'static str,
    /// Where it came from (file, STIX indicator id and name).
    pub source: String,
}

/// The indicators of a site.
#[derive(Debug, Clone, Default)]
pub struct Indicators {
    ips: HashMap<IpAddr, Ioc>,
    cidrs: Vec<(Cidr, Ioc)>,
    domains: HashMap<String, Ioc>,
    urls: HashMap<String, Ioc>,
    ja4: HashMap<String, Ioc>,
}

/// Whether a string looks like a JA4 TLS client fingerprint
/// (`t13d1516h2_8daaf6152771_e5627efa2ab1`).
pub fn is_ja4(s: &str) -> bool {
    let p: Vec<&str> = s.split('_').collect();
    p.len() == 3
        && p[0].len() == 10
        && matches!(p[0].as_bytes().first(), Some(b't' | b'q' | b'd'))
        && p[1].len() == 12
        && p[2].len() == 12
        && p[1..]
            .iter()
            .all(|x| x.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Indicators {
    /// How many indicators are loaded.
    pub fn len(&self) -> usize {
        self.ips.len() + self.cidrs.len() + self.domains.len() + self.urls.len() + self.ja4.len()
    }

    /// Whether none are loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The domains to watch in DNS.
    pub fn domains(&self) -> HashSet<String> {
        self.domains.keys().cloned().collect()
    }

    /// Adds one indicator of a known kind; false when the value is not one.
    pub fn add(&mut self, kind: &str, value: &str, source: &str) -> bool {
        let v = value.trim();
        let ioc = |kind: &'static str| Ioc {
            value: v.to_string(),
            kind,
            source: source.to_string(),
        };
        match kind {
            "ip" | "ipv4-addr" | "ipv6-addr" => {
                if v.contains('/') {
                    match v.parse::<Cidr>() {
                        Ok(c) => self.cidrs.push((c, ioc("cidr"))),
                        Err(_) => return false,
                    }
                } else {
                    match v.parse::<IpAddr>() {
                        Ok(a) => {
                            self.ips.insert(a, ioc("ip"));
                        }
                        Err(_) => return false,
                    }
                }
            }
            "domain" | "domain-name" => {
                let d = v.trim_end_matches('.').to_ascii_lowercase();
                if d.is_empty() || !d.contains('.') {
                    return false;
                }
                self.domains.insert(d, ioc("domain"));
            }
            "url" => {
                self.urls.insert(v.to_string(), ioc("url"));
                // The URL's host is watched as a domain too.
                if let Some(host) = url_host(v) {
                    if host.parse::<IpAddr>().is_err() {
                        self.domains.entry(host).or_insert_with(|| ioc("url"));
                    }
                }
            }
            "ja4" => {
                self.ja4.insert(v.to_string(), ioc("ja4"));
            }
            _ => return false,
        }
        true
    }

    /// Reads a plain list: one indicator per line, its kind inferred; `#`
    /// comments. Returns how many lines were not indicators.
    pub fn add_list(&mut self, text: &str, source: &str) -> usize {
        let mut bad = 0;
        for (i, line) in text.lines().enumerate() {
            let l = line.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            let kind = if l.contains("://") {
                "url"
            } else if is_ja4(l) {
                "ja4"
            } else if l.parse::<IpAddr>().is_ok() || l.parse::<Cidr>().is_ok() {
                "ip"
            } else {
                "domain"
            };
            if !self.add(kind, l, &format!("{source}:{}", i + 1)) {
                bad += 1;
            }
        }
        bad
    }

    /// Reads a STIX 2.1 bundle: `indicator` objects with `pattern_type`
    /// stix whose patterns compare ipv4-addr, ipv6-addr, domain-name or url
    /// values (several comparisons joined by OR are all taken).
    pub fn add_stix(&mut self, bytes: &[u8], source: &str) -> Result<usize, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("{source}: {e}"))?;
        if v.get("type").and_then(Value::as_str) != Some("bundle") {
            return Err(format!(
                "{source}: not a STIX bundle (type is not \"bundle\")"
            ));
        }
        let mut n = 0;
        for o in v
            .get("objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if o.get("type").and_then(Value::as_str) != Some("indicator") {
                continue;
            }
            if o.get("pattern_type")
                .and_then(Value::as_str)
                .unwrap_or("stix")
                != "stix"
            {
                continue;
            }
            let Some(pattern) = o.get("pattern").and_then(Value::as_str) else {
                continue;
            };
            let id = o.get("id").and_then(Value::as_str).unwrap_or("indicator");
            let name = o.get("name").and_then(Value::as_str).unwrap_or("");
            let src = if name.is_empty() {
                format!("{source} {id}")
            } else {
                format!("{source} {id} ({name})")
            };
            for (kind, value) in stix_comparisons(pattern) {
                if self.add(&kind, &value, &src) {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    fn ip(&self, a: &IpAddr) -> Option<&Ioc> {
        self.ips
            .get(a)
            .or_else(|| self.cidrs.iter().find(|(c, _)| c.contains(a)).map(|x| &x.1))
    }

    fn domain(&self, name: &str) -> Option<&Ioc> {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = n.as_str();
        loop {
            if let Some(i) = self.domains.get(rest) {
                return Some(i);
            }
            rest = rest.split_once('.')?.1;
        }
    }
}

fn url_host(u: &str) -> Option<String> {
    let rest = u.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map(|x| x.1).unwrap_or(host);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// `[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'x.example']` →
/// (kind, value) pairs.
pub fn stix_comparisons(pattern: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for kind in ["ipv4-addr", "ipv6-addr", "domain-name", "url"] {
        let mut rest = pattern;
        let key = format!("{kind}:value");
        while let Some(i) = rest.find(&key) {
            rest = &rest[i + key.len()..];
            let after = rest.trim_start();
            let Some(after) = after.strip_prefix('=') else {
                continue;
            };
            let after = after.trim_start();
            let Some(after) = after.strip_prefix('\'') else {
                continue;
            };
            let mut val = String::new();
            let mut chars = after.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '\'' => break,
                    c => val.push(c),
                }
            }
            out.push((kind.to_string(), val));
        }
    }
    out
}

/// Where the evidence is and the time span covered.
type When = (Option<(u16, u64, i64)>, (i64, i64));

fn raise(
    ctx: &Context<'_>,
    ioc: &Ioc,
    subject: IpAddr,
    peer: Option<IpAddr>,
    what: String,
    (origin, span): When,
    out: &mut Findings<'_>,
) {
    let medical = ctx.is_medical(&subject);
    out.raise(Raise {
        kind: "ioc-match",
        rule: format!("ioc:{}", ioc.kind).into(),
        severity: Severity::high_or_critical(medical),
        subject,
        peer,
        peers: Vec::new(),
        peer_count: None,
        summary: format!("{what} matches indicator {} ({})", ioc.value, ioc.source),
        detail: what,
        origin,
        span,
        count: 1,
        remediation: "Treat as a potential compromise: isolate the device, block the indicator at the firewall/DNS, and check what was exchanged.",
    });
}

/// Matches flows and observations against the indicators.
pub fn run(
    ctx: &Context<'_>,
    ind: &Indicators,
    pairs: &[(&PairKey, &PairStats)],
    obs: &[Observation],
    out: &mut Findings<'_>,
) {
    if ind.is_empty() {
        return;
    }
    // Flow peers: the local side is the subject.
    let mut seen: BTreeMap<(IpAddr, IpAddr), ()> = BTreeMap::new();
    for (k, p) in pairs {
        for (local, other) in [(k.client, k.server), (k.server, k.client)] {
            if !ctx.is_local(&local) {
                continue;
            }
            let Some(ioc) = ind.ip(&other) else { continue };
            if seen.insert((local, other), ()).is_some() {
                continue;
            }
            let dir = if local == k.client {
                "connected to"
            } else {
                "was contacted by"
            };
            raise(
                ctx,
                ioc,
                local,
                Some(other),
                format!("{local} {dir} {other}:{}", k.port),
                (
                    Some((p.first_frame.0, p.first_frame.1, p.first_ts)),
                    (p.first_ts, p.last_ts),
                ),
                out,
            );
        }
    }
    for o in obs {
        let at = Some((o.origin.input, o.origin.frame, o.origin.ts_ns));
        let span = (o.origin.ts_ns, o.origin.ts_ns);
        match &o.kind {
            ObsKind::TlsClientHello(fact) => {
                let wardwatch_proto::TlsClientHelloFact { sni, ja4, .. } = &**fact;
                if let Some(i) = sni.as_deref().and_then(|s| ind.domain(s)) {
                    raise(
                        ctx,
                        i,
                        o.client.0,
                        Some(o.server.0),
                        format!("TLS SNI {}", sni.as_deref().unwrap_or("")),
                        (at, span),
                        out,
                    );
                }
                if let Some(i) = ind.ja4.get(ja4) {
                    raise(
                        ctx,
                        i,
                        o.client.0,
                        Some(o.server.0),
                        format!("TLS client fingerprint JA4 {ja4}"),
                        (at, span),
                        out,
                    );
                }
            }
            ObsKind::HttpRequest(r) => {
                let Some(h) = r.host.as_deref() else { continue };
                let path = &r.path;
                let host = h.split(':').next().unwrap_or(h);
                let url_hit = ind.urls.iter().find(|(u, _)| {
                    url_host(u).as_deref() == Some(&host.to_ascii_lowercase())
                        && u.contains(path.as_str())
                });
                if let Some((_, i)) = url_hit {
                    raise(
                        ctx,
                        i,
                        o.client.0,
                        Some(o.server.0),
                        format!("HTTP request to {host}{path}"),
                        (at, span),
                        out,
                    );
                } else if let Some(i) = ind.domain(host) {
                    raise(
                        ctx,
                        i,
                        o.client.0,
                        Some(o.server.0),
                        format!("HTTP Host {host}"),
                        (at, span),
                        out,
                    );
                }
            }
            ObsKind::Dns {
                queries,
                answers,
                flavour,
                response,
                ..
            } if flavour == "dns" => {
                let client = if *response { o.server.0 } else { o.client.0 };
                let client = if o.server.1 == 53 { o.client.0 } else { client };
                for q in queries {
                    let name = q.split(' ').next().unwrap_or("");
                    if let Some(i) = ind.domain(name) {
                        raise(
                            ctx,
                            i,
                            client,
                            None,
                            format!("DNS query for {name}"),
                            (at, span),
                            out,
                        );
                    }
                }
                for a in answers {
                    if let Some(ip) = a.rsplit(' ').next().and_then(|x| x.parse::<IpAddr>().ok()) {
                        if let Some(i) = ind.ip(&ip) {
                            raise(
                                ctx,
                                i,
                                client,
                                Some(ip),
                                format!("DNS answer {a}"),
                                (at, span),
                                out,
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_patterns() {
        let mut i = Indicators::default();
        let bad = i.add_list(
            "# feed\n203.0.113.7\n198.51.100.0/24\nevil.example\nhttp://bad.example/x.exe\nt13d1516h2_8daaf6152771_e5627efa2ab1\nnot a thing\n",
            "list.txt",
        );
        assert_eq!(bad, 1);
        assert!(i
            .ip(&"198.51.100.9".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])))
            .is_some());
        assert!(i.domain("c2.evil.example.").is_some());
        assert!(i.domain("bad.example").is_some());
        assert!(i.domain("example").is_none());
        assert_eq!(
            stix_comparisons(
                "[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'x\\'y.example']"
            ),
            vec![
                ("ipv4-addr".to_string(), "1.2.3.4".to_string()),
                ("domain-name".to_string(), "x'y.example".to_string())
            ]
        );
        assert!(is_ja4("t13d1516h2_8daaf6152771_e5627efa2ab1"));
        assert!(!is_ja4("t13d1516h2_8daaf615277_e5627efa2ab1"));
    }
}
