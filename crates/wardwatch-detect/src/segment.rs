//! Segmentation: zones (by CIDR, VLAN or device category), an allowed
//! matrix between them, `policy-violation` findings for traffic that
//! crosses it, a least-privilege policy synthesised from observed traffic,
//! a replay of traffic against a policy, and exports to nftables, Cisco IOS
//! ACLs and JSON.
//!
//! Policy file (`zones.toml` in the data directory, or `--policy FILE`):
//!
//! ```text
//! [[zone]]
//! name = "imaging"
//! cidrs = ["10.30.0.0/16"]          # any of cidrs, vlans, categories, hosts
//! categories = ["imaging-modality", "ultrasound"]
//!
//! [[allow]]
//! from = "imaging"
//! to = "pacs"
//! proto = "tcp"                     # tcp, udp or any
//! ports = [104, 11112]              # empty: any port
//! ```
//! Traffic inside one zone is allowed; traffic between zones needs an
//! `allow`; addresses outside the site are in the zone `internet`, local
//! addresses no zone claims in `unzoned` (never reported: a policy says
//! nothing about them).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use wardwatch_inventory::Cidr;
use wardwatch_model::Device;

use crate::digest::{PairKey, PairStats};
use crate::{Context, Findings, Raise, Severity};

/// The zone of addresses outside the site.
pub const INTERNET: &str = "internet";
/// The zone of local addresses no zone claims.
pub const UNZONED: &str = "unzoned";

/// A zone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Name.
    pub name: String,
    /// Address blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    /// VLANs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vlans: Vec<u16>,
    /// Device categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Single hosts (synthesised policies list members).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

/// An allowed flow between zones.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Source zone (the initiator's).
    pub from: String,
    /// Destination zone.
    pub to: String,
    /// `tcp`, `udp` or `any`.
    #[serde(default = "any")]
    pub proto: String,
    /// Destination ports; empty for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
    /// What was seen that justified it (synthesised policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
}

fn any() -> String {
    "any".into()
}

/// Zones and the allowed matrix.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Zones, first match wins in this order of keys: hosts, cidrs, vlans,
    /// categories.
    #[serde(default, rename = "zone")]
    pub zones: Vec<Zone>,
    /// Allowed flows.
    #[serde(default, rename = "allow")]
    pub allows: Vec<Allow>,
}

/// What the policy needs to know of an address.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// VLAN of its device.
    pub vlan: Option<u16>,
    /// Category of its device.
    pub category: Option<String>,
}

impl Policy {
    /// Parses the TOML policy; errors name the problem.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let p: Policy = toml::from_str(text).map_err(|e| e.to_string())?;
        let names: BTreeSet<&str> = p.zones.iter().map(|z| z.name.as_str()).collect();
        for z in &p.zones {
            for c in &z.cidrs {
                c.parse::<Cidr>()
                    .map_err(|e| format!("zone {}: {c}: {e}", z.name))?;
            }
        }
        for a in &p.allows {
            for n in [&a.from, &a.to] {
                if !names.contains(n.as_str()) && n != INTERNET {
                    return Err(format!("allow {} -> {}: no zone named {n}", a.from, a.to));
                }
            }
            if !matches!(a.proto.as_str(), "tcp" | "udp" | "any") {
                return Err(format!(
                    "allow {} -> {}: proto must be tcp, udp or any",
                    a.from, a.to
                ));
            }
        }
        Ok(p)
    }

    /// The zone of an address.
    pub fn zone_of(&self, ctx: &Context<'_>, ip: &IpAddr, ep: &Endpoint) -> String {
        if ctx.is_public(ip) {
            return INTERNET.into();
        }
        let s = ip.to_string();
        if let Some(z) = self.zones.iter().find(|z| z.hosts.contains(&s)) {
            return z.name.clone();
        }
        if let Some(z) = self.zones.iter().find(|z| {
            z.cidrs
                .iter()
                .filter_map(|c| c.parse::<Cidr>().ok())
                .any(|c| c.contains(ip))
        }) {
            return z.name.clone();
        }
        if let Some(v) = ep.vlan {
            if let Some(z) = self.zones.iter().find(|z| z.vlans.contains(&v)) {
                return z.name.clone();
            }
        }
        if let Some(c) = &ep.category {
            if let Some(z) = self.zones.iter().find(|z| z.categories.contains(c)) {
                return z.name.clone();
            }
        }
        UNZONED.into()
    }

    /// Whether traffic from zone `from` to `to` on proto/port is allowed.
    pub fn allows(&self, from: &str, to: &str, proto: u8, port: u16) -> Option<&Allow> {
        self.allows.iter().find(|a| {
            a.from == from
                && a.to == to
                && match a.proto.as_str() {
                    "tcp" => proto == 6,
                    "udp" => proto == 17,
                    _ => true,
                }
                && (a.ports.is_empty() || a.ports.contains(&port))
        })
    }
}

fn endpoints(devices: &[Device]) -> BTreeMap<IpAddr, Endpoint> {
    let mut m = BTreeMap::new();
    for d in devices {
        for ip in d.ips.iter().filter_map(|i| i.parse::<IpAddr>().ok()) {
            m.entry(ip).or_insert_with(|| Endpoint {
                vlan: d.vlan,
                category: (d.category != "unknown").then(|| d.category.clone()),
            });
        }
    }
    m
}

/// The zones an established TCP/UDP conversation goes from and to, when it
/// crosses between two zones the policy knows.
fn crossing(
    ctx: &Context<'_>,
    policy: &Policy,
    eps: &BTreeMap<IpAddr, Endpoint>,
    k: &PairKey,
    p: &PairStats,
) -> Option<(String, String)> {
    if p.established == 0 || !(k.proto == 6 || k.proto == 17) {
        return None;
    }
    let none = Endpoint::default();
    let from = policy.zone_of(ctx, &k.client, eps.get(&k.client).unwrap_or(&none));
    let to = policy.zone_of(ctx, &k.server, eps.get(&k.server).unwrap_or(&none));
    (from != to && from != UNZONED && to != UNZONED).then_some((from, to))
}

/// One flow the policy would block.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Blocked {
    /// Source zone.
    pub from: String,
    /// Destination zone.
    pub to: String,
    /// Initiator.
    pub client: String,
    /// Responder.
    pub server: String,
    /// `tcp` or `udp`.
    pub proto: String,
    /// Destination port.
    pub port: u16,
    /// Connections.
    pub connections: u64,
}

/// Replays the observed conversations against a policy: what it would have
/// blocked (established conversations between zones with no allow).
pub fn simulate(
    ctx: &Context<'_>,
    policy: &Policy,
    devices: &[Device],
    pairs: &[(&PairKey, &PairStats)],
) -> Vec<Blocked> {
    let eps = endpoints(devices);
    let mut out = Vec::new();
    for (k, p) in pairs {
        let Some((from, to)) = crossing(ctx, policy, &eps, k, p) else {
            continue;
        };
        if policy.allows(&from, &to, k.proto, k.port).is_some() {
            continue;
        }
        out.push(Blocked {
            from,
            to,
            client: k.client.to_string(),
            server: k.server.to_string(),
            proto: if k.proto == 6 { "tcp" } else { "udp" }.into(),
            port: k.port,
            connections: p.established,
        });
    }
    out
}

/// `policy-violation` findings for traffic the site's zones forbid.
pub fn violations(
    ctx: &Context<'_>,
    policy: &Policy,
    devices: &[Device],
    pairs: &[(&PairKey, &PairStats)],
    out: &mut Findings<'_>,
) {
    if policy.zones.is_empty() {
        return;
    }
    let by_pair: BTreeMap<(IpAddr, IpAddr, u16), &PairStats> = pairs
        .iter()
        .map(|(k, p)| ((k.client, k.server, k.port), *p))
        .collect();
    for b in simulate(ctx, policy, devices, pairs) {
        let (Ok(c), Ok(s)) = (b.client.parse::<IpAddr>(), b.server.parse::<IpAddr>()) else {
            continue;
        };
        let p = by_pair.get(&(c, s, b.port));
        let medical = ctx.is_medical(&c) || ctx.is_medical(&s);
        let severity = if (b.to == INTERNET || b.from == INTERNET) && medical {
            Severity::High
        } else {
            Severity::Medium
        };
        out.raise(Raise {
            kind: "policy-violation",
            rule: format!("zone:{}->{}", b.from, b.to).into(),
            severity,
            subject: c,
            peer: Some(s),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "{} ({}) → {} ({}) {}/{}: not allowed between these zones ({} connections)",
                b.client, b.from, b.server, b.to, b.proto, b.port, b.connections
            ),
            detail: "first connection".into(),
            origin: p.map(|p| (p.first_frame.0, p.first_frame.1, p.first_ts)),
            span: p.map(|p| (p.first_ts, p.last_ts)).unwrap_or((0, 0)),
            count: b.connections,
            remediation: "Block the flow at the zone boundary, or if it is needed add it to the policy with its reason.",
        });
    }
}

/// Per (from zone, to zone, proto): ports, connections, examples.
type Observed = BTreeMap<(String, String, String), (BTreeSet<u16>, u64, BTreeSet<String>)>;

/// A least-privilege policy from observed traffic: zones from the given
/// policy (or, without one, one zone per device category with its members),
/// and one allow per (zone pair, protocol) with the ports seen.
pub fn synthesize(
    ctx: &Context<'_>,
    zones: Option<&Policy>,
    devices: &[Device],
    pairs: &[(&PairKey, &PairStats)],
) -> Policy {
    let mut policy = match zones {
        Some(p) => Policy {
            zones: p.zones.clone(),
            allows: Vec::new(),
        },
        None => {
            let mut by_cat: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for d in devices {
                for ip in d.ips.iter().filter_map(|i| i.parse::<IpAddr>().ok()) {
                    if ctx.is_public(&ip) {
                        continue;
                    }
                    by_cat
                        .entry(d.category.clone())
                        .or_default()
                        .insert(ip.to_string());
                }
            }
            Policy {
                zones: by_cat
                    .into_iter()
                    .map(|(c, hosts)| Zone {
                        name: c,
                        hosts: hosts.into_iter().collect(),
                        ..Default::default()
                    })
                    .collect(),
                allows: Vec::new(),
            }
        }
    };
    let eps = endpoints(devices);
    let mut seen: Observed = BTreeMap::new();
    for (k, p) in pairs {
        let Some((from, to)) = crossing(ctx, &policy, &eps, k, p) else {
            continue;
        };
        let proto = if k.proto == 6 { "tcp" } else { "udp" };
        let e = seen.entry((from, to, proto.into())).or_default();
        e.0.insert(k.port);
        e.1 += p.established;
        if e.2.len() < 4 {
            e.2.insert(format!("{}→{}", k.client, k.server));
        }
    }
    policy.allows = seen
        .into_iter()
        .map(|((from, to, proto), (ports, n, examples))| Allow {
            from,
            to,
            proto,
            ports: ports.into_iter().collect(),
            observed: Some(format!(
                "{n} connections, e.g. {}",
                examples.into_iter().collect::<Vec<_>>().join(", ")
            )),
        })
        .collect();
    policy
}

/// The member addresses of each zone (hosts, CIDRs, and devices that
/// belong by VLAN or category), for exports.
pub fn members(
    ctx: &Context<'_>,
    policy: &Policy,
    devices: &[Device],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for z in &policy.zones {
        let e = m.entry(z.name.clone()).or_default();
        e.extend(z.hosts.iter().cloned());
        e.extend(z.cidrs.iter().cloned());
    }
    for (ip, ep) in endpoints(devices) {
        let z = policy.zone_of(ctx, &ip, &ep);
        if z != INTERNET && z != UNZONED {
            m.entry(z).or_default().insert(ip.to_string());
        }
    }
    m
}

fn set_name(zone: &str) -> String {
    let s: String = zone
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("z_{s}")
}

/// The policy as an nftables ruleset (`nft -f`): one set per zone, an
/// accept rule per allow, established traffic accepted, other traffic
/// between zones logged and dropped.
pub fn to_nftables(policy: &Policy, members: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut o = String::from("#!/usr/sbin/nft -f\n# Generated by wardwatch policy export: review before enforcing.\ntable inet wardwatch {\n");
    let v4 = |a: &str| !a.contains(':');
    for (zone, addrs) in members {
        let four: Vec<&String> = addrs.iter().filter(|a| v4(a)).collect();
        let six: Vec<&String> = addrs.iter().filter(|a| !v4(a)).collect();
        for (fam, list, suffix) in [("ipv4_addr", four, "4"), ("ipv6_addr", six, "6")] {
            o.push_str(&format!(
                "  set {}{} {{\n    type {fam}\n    flags interval\n",
                set_name(zone),
                suffix
            ));
            if !list.is_empty() {
                o.push_str(&format!(
                    "    elements = {{ {} }}\n",
                    list.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            o.push_str("  }\n");
        }
    }
    o.push_str("  chain forward {\n    type filter hook forward priority 0; policy accept;\n    ct state established,related accept\n");
    for a in &policy.allows {
        let proto = match a.proto.as_str() {
            "tcp" | "udp" => a.proto.as_str(),
            _ => "",
        };
        let ports = if a.ports.is_empty() || proto.is_empty() {
            String::new()
        } else {
            format!(
                " {proto} dport {{ {} }}",
                a.ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let l4 = if proto.is_empty() {
            String::new()
        } else if ports.is_empty() {
            format!(" meta l4proto {proto}")
        } else {
            ports
        };
        for fam in ["4", "6"] {
            let ipk = if fam == "4" { "ip" } else { "ip6" };
            let src = if a.from == INTERNET {
                String::new()
            } else {
                format!(" {ipk} saddr @{}{fam}", set_name(&a.from))
            };
            let dst = if a.to == INTERNET {
                String::new()
            } else {
                format!(" {ipk} daddr @{}{fam}", set_name(&a.to))
            };
            if src.is_empty() && dst.is_empty() {
                continue;
            }
            o.push_str(&format!(
                "    meta nfproto ipv{fam}{src}{dst}{l4} accept comment \"{} -> {}\"\n",
                a.from, a.to
            ));
        }
    }
    // Anything else that leaves or enters a zone is dropped.
    for zone in members.keys() {
        for (fam, ipk) in [("4", "ip"), ("6", "ip6")] {
            let s = set_name(zone);
            o.push_str(&format!(
                "    {ipk} saddr @{s}{fam} {ipk} daddr != @{s}{fam} log prefix \"wardwatch {zone} out \" drop\n"
            ));
        }
    }
    o.push_str("  }\n}\n");
    o
}

/// The policy as Cisco IOS extended ACLs, one per source zone.
pub fn to_cisco(policy: &Policy, members: &BTreeMap<String, BTreeSet<String>>) -> String {
    fn spec(a: &str) -> String {
        match a.split_once('/') {
            Some((net, len)) => {
                let bits: u32 = len.parse().unwrap_or(32);
                let wild = if bits >= 32 { 0 } else { u32::MAX >> bits };
                let w = std::net::Ipv4Addr::from(wild);
                format!("{net} {w}")
            }
            None => format!("host {a}"),
        }
    }
    let mut o = String::from("! Generated by wardwatch policy export: review before enforcing.\n");
    for (zone, addrs) in members {
        let name = format!("WARDWATCH-{}", set_name(zone).to_uppercase());
        o.push_str(&format!("ip access-list extended {name}\n"));
        for a in policy.allows.iter().filter(|a| &a.from == zone) {
            let dsts: Vec<String> = if a.to == INTERNET {
                vec!["any".into()]
            } else {
                members
                    .get(&a.to)
                    .map(|s| {
                        s.iter()
                            .filter(|x| !x.contains(':'))
                            .map(|x| spec(x))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for s in addrs.iter().filter(|x| !x.contains(':')) {
                for d in &dsts {
                    let proto = if a.proto == "any" {
                        "ip"
                    } else {
                        a.proto.as_str()
                    };
                    if a.ports.is_empty() || proto == "ip" {
                        o.push_str(&format!(" permit {proto} {} {d}\n", spec(s)));
                    } else {
                        for p in &a.ports {
                            o.push_str(&format!(" permit {proto} {} {d} eq {p}\n", spec(s)));
                        }
                    }
                }
            }
        }
        o.push_str(" deny ip any any log\n!\n");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_parsing_and_errors() {
        let p = Policy::parse(
            "[[zone]]\nname = \"imaging\"\ncidrs = [\"10.30.0.0/16\"]\n[[zone]]\nname = \"pacs\"\nhosts = [\"10.20.1.10\"]\n[[allow]]\nfrom = \"imaging\"\nto = \"pacs\"\nproto = \"tcp\"\nports = [104]\n",
        );
        let p = p.unwrap_or_default();
        assert!(p.allows("imaging", "pacs", 6, 104).is_some());
        assert!(p.allows("imaging", "pacs", 6, 22).is_none());
        assert!(p.allows("pacs", "imaging", 6, 104).is_none());
        assert!(Policy::parse("[[allow]]\nfrom = \"a\"\nto = \"b\"\n").is_err());
        assert!(Policy::parse("[[zone]]\nname = \"a\"\ncidrs = [\"10.0.0.0/40\"]\n").is_err());
    }
}
