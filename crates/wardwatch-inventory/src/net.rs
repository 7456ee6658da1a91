//! Which addresses belong to the site.

use std::net::IpAddr;
use std::str::FromStr;

/// An address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.bits as u32)
                };
                n.to_bits() & mask == a.to_bits() & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.bits as u32)
                };
                n.to_bits() & mask == a.to_bits() & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("bad address in {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = if b.is_empty() {
            max
        } else {
            b.trim()
                .parse::<u8>()
                .map_err(|_| format!("bad prefix length in {s:?}"))?
        };
        if bits > max {
            return Err(format!("prefix length {bits} too long in {s:?}"));
        }
        Ok(Cidr { addr, bits })
    }
}

/// The site's own address space: private, shared, link-local and loopback
/// ranges by default, plus whatever the site configures, plus the
/// addresses outside them that a run found on the captured link (see
/// [`unrouted_ttl`]).
#[derive(Debug, Clone)]
pub struct LocalNets {
    blocks: Vec<Cidr>,
    /// Learned addresses, sorted.
    hosts: Vec<IpAddr>,
    /// Blocks were configured besides the default ranges.
    configured: bool,
}

impl Default for LocalNets {
    fn default() -> Self {
        let v = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "127.0.0.0/8",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
        ];
        LocalNets {
            blocks: v.iter().filter_map(|s| s.parse().ok()).collect(),
            hosts: Vec::new(),
            configured: false,
        }
    }
}

impl LocalNets {
    /// Adds a block of the site's own.
    pub fn add(&mut self, c: Cidr) {
        self.blocks.push(c);
        self.configured = true;
    }
    /// Whether the site named blocks of its own (then it, not the run,
    /// decides what is the site's).
    pub fn configured(&self) -> bool {
        self.configured
    }
    /// The same space with `hosts`, addresses outside its blocks that a run
    /// found to be the site's, added one by one.
    pub fn with_learned(mut self, hosts: impl IntoIterator<Item = IpAddr>) -> Self {
        self.hosts.extend(hosts);
        self.hosts.sort_unstable();
        self.hosts.dedup();
        self
    }
    /// Whether `ip` belongs to the site.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.blocks.iter().any(|c| c.contains(ip)) || self.learned(ip)
    }
    /// Whether `ip` is the site's because a run learned it, not by a block.
    pub fn learned(&self, ip: &IpAddr) -> bool {
        !self.hosts.is_empty() && self.hosts.binary_search(ip).is_ok()
    }
    /// Addresses learned.
    pub fn learned_count(&self) -> usize {
        self.hosts.len()
    }
}

/// What the TTL (IPv6: hop limit) of a packet says of its sender's place:
/// `Some(true)` for a value stacks start from (64, 128, 255): no router
/// took one off, and the sender is on the captured link (or is the
/// capturing host); `Some(false)` for a value routers lowered; `None` below
/// 32, values senders pick on purpose (traceroute probes, multicast scopes)
/// and a host 32 hops or more away.
pub fn unrouted_ttl(ttl: u8) -> Option<bool> {
    match ttl {
        64 | 128 | 255 => Some(true),
        32.. => Some(false),
        _ => None,
    }
}

/// An address that can be one host's: not unspecified, multicast or the
/// limited broadcast.
pub fn is_unicast_host(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    }
}

/// 169.254.0.0/16 and fe80::/10: valid on one link only.
pub fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_defaults() {
        let c: Cidr = "10.30.0.0/16".parse().unwrap();
        assert!(c.contains(&"10.30.1.15".parse().unwrap()));
        assert!(!c.contains(&"10.31.1.15".parse().unwrap()));
        let l = LocalNets::default();
        assert!(l.contains(&"192.168.1.1".parse().unwrap()));
        assert!(l.contains(&"fe80::1".parse().unwrap()));
        assert!(!l.contains(&"8.8.8.8".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        let ip: IpAddr = "141.142.228.5".parse().unwrap();
        let l = l.with_learned([ip, ip]);
        assert!(l.contains(&ip) && l.learned(&ip) && l.learned_count() == 1);
        assert!(!l.learned(&"192.168.1.1".parse().unwrap()));
        assert!(!l.contains(&"141.142.228.6".parse().unwrap()));
        assert_eq!(unrouted_ttl(64), Some(true));
        assert_eq!(unrouted_ttl(255), Some(true));
        assert_eq!(unrouted_ttl(63), Some(false));
        assert_eq!(unrouted_ttl(4), None);
    }
}
