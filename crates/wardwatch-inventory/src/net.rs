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
/// ranges by default, plus whatever the site configures.
#[derive(Debug, Clone)]
pub struct LocalNets(Vec<Cidr>);

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
        LocalNets(v.iter().filter_map(|s| s.parse().ok()).collect())
    }
}

impl LocalNets {
    /// Adds a block of the site's own.
    pub fn add(&mut self, c: Cidr) {
        self.0.push(c);
    }
    /// Whether `ip` belongs to the site.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
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
    }
}
