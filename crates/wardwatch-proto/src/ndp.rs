//! IPv6 Router Advertisements (ICMPv6 134, RFC 4861 4.2): the router's
//! lifetime and preference, the managed and other-configuration flags, and
//! the prefixes it gives hosts for address autoconfiguration (option 3,
//! RFC 4861 4.6.2). A host that takes a rogue router's prefix and route
//! sends its IPv6 traffic through that router.

use std::net::{IpAddr, Ipv6Addr};

use crate::obs::{ObsKind, RouterAdvertFact};

/// Most prefixes kept per advertisement.
const MAX_PREFIXES: usize = 8;

/// Parses a Router Advertisement (the ICMPv6 message) sent from `source`.
/// Hosts drop one a router forwarded (hop limit below 255, RFC 4861 6.1.2):
/// `hop_limit` must be 255.
pub fn router_advert(
    icmp: &[u8],
    hop_limit: u8,
    source: IpAddr,
    vlan: Option<u16>,
) -> Option<ObsKind> {
    if icmp.first() != Some(&134) || icmp.get(1) != Some(&0) || hop_limit != 255 {
        return None;
    }
    let flags = *icmp.get(5)?;
    let lifetime = u16::from_be_bytes([*icmp.get(6)?, *icmp.get(7)?]);
    let mut prefixes = Vec::new();
    let mut opts = icmp.get(16..)?;
    // Options: type, length in units of 8 bytes (0 is invalid), data.
    while let [t, len, ..] = *opts {
        let n = usize::from(len) * 8;
        let Some(opt) = opts.get(..n).filter(|_| n > 0) else {
            break;
        };
        // Prefix information: length, flags (on-link, autonomous), valid
        // and preferred lifetimes, reserved, the prefix.
        if t == 3 && n == 32 && prefixes.len() < MAX_PREFIXES {
            let valid = u32::from_be_bytes([opt[4], opt[5], opt[6], opt[7]]);
            let autonomous = opt[3] & 0x40 != 0;
            let mut p = [0u8; 16];
            p.copy_from_slice(&opt[16..32]);
            let len = opt[2].min(128);
            // Only the prefix's own bits.
            let bits =
                u128::from_be_bytes(p) & !(u128::MAX.checked_shr(u32::from(len)).unwrap_or(0));
            let text = format!("{}/{len}", Ipv6Addr::from(bits));
            if autonomous && valid > 0 && !prefixes.contains(&text) {
                prefixes.push(text);
            }
        }
        opts = &opts[n..];
    }
    Some(ObsKind::RouterAdvert(Box::new(RouterAdvertFact {
        source,
        vlan,
        lifetime,
        preference: match (flags >> 3) & 3 {
            1 => "high",
            3 => "low",
            _ => "medium",
        }
        .into(),
        managed: flags & 0x80 != 0,
        other: flags & 0x40 != 0,
        prefixes,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An advertisement: lifetime 1800 s, high preference, then a source
    /// link-layer option and the given prefix options (prefix, length,
    /// flags, valid lifetime).
    fn advert(prefixes: &[([u8; 16], u8, u8, u32)]) -> Vec<u8> {
        let mut b = vec![134, 0, 0, 0, 64, 0x08, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 0x77]);
        for (p, len, flags, valid) in prefixes {
            b.extend_from_slice(&[3, 4, *len, *flags]);
            b.extend_from_slice(&valid.to_be_bytes());
            b.extend_from_slice(&valid.to_be_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(p);
        }
        b
    }

    #[test]
    fn an_advertisement_gives_its_router_lifetime_and_prefixes() {
        let bad = [0x20, 1, 0xd, 0xb8, 0xb, 0xad, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9];
        let ula = [0xfd, 0, 0, 0xa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let b = advert(&[
            // Autonomous (0xc0: on-link and autonomous), host bits set.
            (bad, 64, 0xc0, 86400),
            // On-link only: no address from it.
            (ula, 64, 0x80, 86400),
            // Deprecated: valid lifetime 0.
            (ula, 48, 0x40, 0),
        ]);
        let src: IpAddr = "fe80::77".parse().unwrap();
        let Some(ObsKind::RouterAdvert(f)) = router_advert(&b, 255, src, Some(7)) else {
            panic!("not parsed");
        };
        assert_eq!((f.lifetime, f.preference.as_str()), (1800, "high"));
        assert_eq!((f.managed, f.other, f.vlan), (false, false, Some(7)));
        assert_eq!(f.prefixes, ["2001:db8:bad::/64"]);
        // Forwarded by a router: hosts drop it.
        assert!(router_advert(&b, 254, src, None).is_none());
        // Truncated anywhere: fewer prefixes or none, never a panic.
        for n in 0..b.len() {
            let r = router_advert(&b[..n], 255, src, None);
            assert_eq!(r.is_some(), n >= 16, "{n}");
        }
        // A solicitation is no advertisement.
        let mut rs = b.clone();
        rs[0] = 133;
        assert!(router_advert(&rs, 255, src, None).is_none());
    }
}
