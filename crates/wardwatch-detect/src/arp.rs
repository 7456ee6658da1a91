//! ARP cache poisoning (ARP spoofing): a host telling others that an
//! address another host holds is at its own MAC, so that their traffic to
//! that address passes through it, a man in the middle reading cleartext
//! HL7 and DICOM (arpspoof, ettercap, bettercap, Cain). The tools send ARP
//! replies nobody asked for, again and again, to keep the victims' caches
//! poisoned. An address's owner answers when asked; a machine taking an
//! address over (a DHCP lease handed on, a cluster failing over) announces
//! it with gratuitous ARP (its own address as the target); a router's
//! virtual address (VRRP, HSRP, GLBP) is claimed by a virtual MAC.
//!
//! [`ArpClaims`] keeps, per address and VLAN, which MACs claimed it in ARP's
//! sender fields, and how many of their replies nobody asked for;
//! [`spoofing`] raises `arp-spoofing` on a MAC that sent such replies for an
//! address another MAC claims too.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use wardwatch_inventory::fmt_mac;

use crate::behaviour::remedy;
use crate::{Context, Findings, Raise, Severity};

/// A reply this soon after a request for its address answers it.
const ANSWER_NS: i64 = 1_000_000_000;
/// Most addresses followed (about 150 bytes each with two claimants): a
/// link has far fewer; past it, claims of further addresses are dropped
/// and counted.
const MAX_ADDRS: usize = 65_536;
/// Most MACs followed per address.
const MAX_CLAIMANTS: usize = 4;
/// Most addresses kept per claimant as told its claim.
const MAX_TOLD: usize = 16;
/// Slots of the table of recent requests (16 bytes each): a request is
/// forgotten early only when another of its slot follows within
/// [`ANSWER_NS`].
const ASKED_SLOTS: usize = 1 << 10;

/// An address on a VLAN (none: untagged): IPv4 from ARP, IPv6 from
/// neighbour discovery.
pub type ArpKey = (Option<u16>, IpAddr);

/// What the ARP senders of a run claimed, per address.
#[derive(Debug, Clone)]
pub struct ArpClaims {
    by_addr: HashMap<ArpKey, Vec<Claimant>, foldhash::fast::RandomState>,
    /// Recent requests: (a digest of the address asked for, time).
    asked: Box<[(u64, i64)]>,
    /// Claims not followed (the tables full).
    pub dropped: u64,
}

impl Default for ArpClaims {
    fn default() -> Self {
        ArpClaims {
            by_addr: HashMap::default(),
            asked: vec![(0, i64::MIN); ASKED_SLOTS].into_boxed_slice(),
            dropped: 0,
        }
    }
}

/// One MAC's claims of one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    /// The MAC (the ARP sender hardware address).
    pub mac: [u8; 6],
    /// ARP requests and replies naming it the address's.
    pub claims: u64,
    /// First claim.
    pub first_ts: i64,
    /// Last claim.
    pub last_ts: i64,
    /// Replies it sent itself (the frame's source its MAC) that no request
    /// for the address preceded and that are not gratuitous (the address
    /// as their target too).
    pub unsolicited: u64,
    /// The first of them: (input, frame) and time.
    pub first_unsolicited: Option<((u16, u64), i64)>,
    /// Their target addresses (the hosts told), at most [`MAX_TOLD`].
    pub told: Vec<IpAddr>,
}

/// One ARP message's sender claim, as [`ArpClaims::claimed`] takes it; or
/// a neighbour discovery message's (IPv6): a Neighbor Solicitation's
/// source address at its source link-layer address (a request), a Neighbor
/// Advertisement's target address at its target link-layer address (a
/// reply, told to the packet's destination).
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// VLAN.
    pub vlan: Option<u16>,
    /// Sender protocol address.
    pub addr: IpAddr,
    /// Sender hardware address.
    pub mac: [u8; 6],
    /// The frame's source MAC (none on links without one).
    pub sent_by: Option<[u8; 6]>,
    /// A reply (else a request).
    pub reply: bool,
    /// Target protocol address (the host told).
    pub target: IpAddr,
    /// Time.
    pub ts: i64,
    /// (input, frame).
    pub frame: (u16, u64),
}

impl ArpClaims {
    /// Notes a request asking for `target` (a reply soon after answers it).
    pub fn asked(&mut self, vlan: Option<u16>, target: IpAddr, ts: i64) {
        let d = digest(vlan, target);
        if let Some(slot) = self.asked.get_mut(d as usize % ASKED_SLOTS) {
            *slot = (d, ts);
        }
    }

    fn recently_asked(&self, vlan: Option<u16>, addr: IpAddr, ts: i64) -> bool {
        let d = digest(vlan, addr);
        self.asked
            .get(d as usize % ASKED_SLOTS)
            .is_some_and(|&(k, at)| k == d && ts.saturating_sub(at) <= ANSWER_NS)
    }

    /// Notes an ARP message's sender claiming its address. A frame whose
    /// source is not the claimed MAC (a tool restoring the caches it
    /// poisoned, on the owner's behalf) counts as a claim, never as the
    /// owner's unsolicited reply.
    pub fn claimed(&mut self, c: Claim) {
        if c.addr.is_unspecified() || c.addr.is_multicast() || c.mac[0] & 1 == 1 || c.mac == [0; 6]
        {
            return;
        }
        // Announcements are no lies: gratuitous ARP (the address its own
        // target), an advertisement to all nodes (a multicast target).
        let unsolicited = c.reply
            && c.target != c.addr
            && !c.target.is_multicast()
            && c.sent_by.is_none_or(|s| s == c.mac)
            && !self.recently_asked(c.vlan, c.addr, c.ts);
        let n = self.by_addr.len();
        let claimants = match self.by_addr.entry((c.vlan, c.addr)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) if n < MAX_ADDRS => e.insert(Vec::new()),
            Entry::Vacant(_) => {
                self.dropped += 1;
                return;
            }
        };
        let i = match claimants.iter().position(|x| x.mac == c.mac) {
            Some(i) => i,
            None if claimants.len() < MAX_CLAIMANTS => {
                claimants.push(Claimant {
                    mac: c.mac,
                    claims: 0,
                    first_ts: c.ts,
                    last_ts: c.ts,
                    unsolicited: 0,
                    first_unsolicited: None,
                    told: Vec::new(),
                });
                claimants.len() - 1
            }
            None => {
                self.dropped += 1;
                return;
            }
        };
        let Some(x) = claimants.get_mut(i) else {
            return;
        };
        x.claims += 1;
        x.first_ts = x.first_ts.min(c.ts);
        x.last_ts = x.last_ts.max(c.ts);
        if unsolicited {
            x.unsolicited += 1;
            if x.first_unsolicited.is_none_or(|(_, t)| c.ts < t) {
                x.first_unsolicited = Some((c.frame, c.ts));
            }
            if !c.target.is_unspecified() && !x.told.contains(&c.target) && x.told.len() < MAX_TOLD
            {
                x.told.push(c.target);
            }
        }
    }

    /// The claimants of each address.
    pub fn iter(&self) -> impl Iterator<Item = (&ArpKey, &Vec<Claimant>)> {
        self.by_addr.iter()
    }

    /// Adds another worker's (whose addresses are its own where the
    /// workers split the addresses between them). Past the cap, the
    /// addresses kept are taken in order: a map's own order is seeded per
    /// run.
    pub fn merge(&mut self, other: ArpClaims) {
        self.dropped += other.dropped;
        let room = MAX_ADDRS.saturating_sub(self.by_addr.len());
        for (k, cs) in crate::digest::in_order(other.by_addr, room) {
            let n = self.by_addr.len();
            let mine = match self.by_addr.entry(k) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) if n < MAX_ADDRS => e.insert(Vec::new()),
                Entry::Vacant(_) => {
                    self.dropped += cs.iter().map(|c| c.claims).sum::<u64>();
                    continue;
                }
            };
            for c in cs {
                let Some(x) = mine.iter_mut().find(|x| x.mac == c.mac) else {
                    if mine.len() < MAX_CLAIMANTS {
                        mine.push(c);
                    } else {
                        self.dropped += c.claims;
                    }
                    continue;
                };
                x.claims += c.claims;
                x.first_ts = x.first_ts.min(c.first_ts);
                x.last_ts = x.last_ts.max(c.last_ts);
                x.unsolicited += c.unsolicited;
                if let Some((f, t)) = c.first_unsolicited {
                    if x.first_unsolicited.is_none_or(|(_, u)| t < u) {
                        x.first_unsolicited = Some((f, t));
                    }
                }
                for t in c.told {
                    if !x.told.contains(&t) && x.told.len() < MAX_TOLD {
                        x.told.push(t);
                    }
                }
            }
        }
    }
}

fn digest(vlan: Option<u16>, addr: IpAddr) -> u64 {
    let bits = match addr {
        IpAddr::V4(a) => u64::from(a.to_bits()),
        IpAddr::V6(a) => {
            let b = a.to_bits();
            // Folded: an interface identifier's bits and its prefix's.
            ((b >> 64) as u64).rotate_left(17) ^ (b as u64)
        }
    };
    let k = (u64::from(vlan.map_or(0x1_0000, u32::from)) << 32) ^ bits;
    // A multiplicative hash: the slot from the high bits, and never 0 for
    // a key, so an empty slot matches nothing.
    k.wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(32)
        | 1
}

/// A router redundancy protocol's virtual MAC (VRRP, HSRP v1 and v2, GLBP):
/// the routers hand it between them with the address.
fn virtual_router(m: &[u8; 6]) -> bool {
    matches!(m, [0x00, 0x00, 0x5e, 0x00, 0x01 | 0x02, _])
        || matches!(m, [0x00, 0x00, 0x0c, 0x07, 0xac, _])
        || (matches!(m, [0x00, 0x00, 0x0c, 0x9f, _, _]) && m[4] >= 0xf0)
        || matches!(m, [0x00, 0x07, 0xb4, 0x00, _, _])
}

/// Two ports of one network card (one vendor, serial numbers a few apart):
/// a Linux bond in adaptive load balancing tells clients its address is at
/// either port, by the unsolicited replies spoofing tools send too.
fn same_card(a: &[u8; 6], b: &[u8; 6]) -> bool {
    let low = |m: &[u8; 6]| u32::from_be_bytes([0, m[3], m[4], m[5]]);
    a[..3] == b[..3] && low(a).abs_diff(low(b)) < 8
}

/// One address a MAC claimed against its holder.
struct Lie<'a> {
    key: ArpKey,
    claimant: &'a Claimant,
    holders: Vec<[u8; 6]>,
}

/// Raises `arp-spoofing` (kind `man-in-the-middle`) on each MAC that sent
/// at least `[detect] arp_spoof_replies` unsolicited replies claiming an
/// address another MAC claims too: one finding per spoofer, its evidence
/// the first such reply per address, its peers the addresses it took
/// over. High; critical where a medical device is impersonated or told.
/// `ndp-spoofing` likewise on IPv6 addresses, from Neighbor Advertisements
/// (bettercap's ndp.spoof, THC-IPv6's fake_advertise6 aimed at a host).
pub(crate) fn spoofing(ctx: &Context<'_>, claims: &ArpClaims, out: &mut Findings<'_>) {
    let least = ctx.config().arp_spoof_replies;
    if least == 0 {
        return;
    }
    // Per spoofer and address family (IPv6 last).
    let mut by_mac: BTreeMap<([u8; 6], bool), Vec<Lie<'_>>> = BTreeMap::new();
    for (key, claimants) in claims.iter() {
        for c in claimants {
            if c.unsolicited < least || virtual_router(&c.mac) {
                continue;
            }
            let others: Vec<&Claimant> = claimants
                .iter()
                .filter(|o| o.mac != c.mac && !virtual_router(&o.mac) && !same_card(&o.mac, &c.mac))
                .collect();
            // The holders: those not spoofing it themselves (a second tool
            // on the same address), if any are.
            let honest = others.iter().filter(|o| o.unsolicited < least);
            let holders: Vec<[u8; 6]> = match honest.clone().count() {
                0 => others.iter().map(|o| o.mac).collect(),
                _ => honest.map(|o| o.mac).collect(),
            };
            if !holders.is_empty() {
                by_mac
                    .entry((c.mac, key.1.is_ipv6()))
                    .or_default()
                    .push(Lie {
                        key: *key,
                        claimant: c,
                        holders,
                    });
            }
        }
    }
    for ((mac, v6), mut lies) in by_mac {
        lies.sort_by_key(|l| l.key);
        // Its own address: one it claims and takes from nobody, alone
        // there if it can be, of the family it lied in if it can be.
        let own = claims
            .iter()
            .filter(|(k, cs)| cs.iter().any(|c| c.mac == mac) && !lies.iter().any(|l| l.key == **k))
            .map(|(k, cs)| (k.1.is_ipv6() != v6, cs.len(), k.1))
            .min()
            .map(|(_, _, a)| a);
        let medical = lies
            .iter()
            .any(|l| ctx.is_medical(&l.key.1) || l.claimant.told.iter().any(|t| ctx.is_medical(t)));
        let shown: Vec<String> = lies
            .iter()
            .take(4)
            .map(|l| {
                let holders: Vec<String> = l.holders.iter().map(fmt_mac).collect();
                let told: Vec<String> = l.claimant.told.iter().map(|t| t.to_string()).collect();
                format!(
                    "{}{} (held by {}){}",
                    l.key.1,
                    l.key.0.map(|v| format!(" on VLAN {v}")).unwrap_or_default(),
                    holders.join(", "),
                    if told.is_empty() {
                        String::new()
                    } else {
                        format!(" to {}", told.join(", "))
                    }
                )
            })
            .collect();
        let more = match lies.len() {
            n if n > 4 => format!(" and {} more", n - 4),
            _ => String::new(),
        };
        let replies: u64 = lies.iter().map(|l| l.claimant.unsolicited).sum();
        let text = fmt_mac(&mac);
        let (rule, what, messages, message) = if v6 {
            (
                "ndp-spoofing",
                "IPv6 neighbour spoofing",
                "Neighbor Advertisements",
                "Neighbor Advertisement",
            )
        } else {
            ("arp-spoofing", "ARP spoofing", "ARP replies", "ARP reply")
        };
        let summary = format!(
            "{what}: {text}{} claims {}{more} in {replies} {messages} nobody asked for; traffic for {} can pass through it (man in the middle)",
            own.map(|a| format!(" ({a})")).unwrap_or_default(),
            shown.join("; "),
            if lies.len() == 1 { "that address" } else { "those addresses" },
        );
        // Known by no address of its own: its device by MAC, if any.
        let device = ctx
            .devices()
            .iter()
            .position(|d| d.mac.as_deref() == Some(text.as_str()));
        for l in &lies {
            let addr = l.key.1;
            let r = Raise {
                kind: "man-in-the-middle",
                rule: rule.into(),
                severity: Severity::high_or_critical(medical),
                subject: own.unwrap_or(addr),
                peer: None,
                peers: vec![addr],
                peer_count: None,
                summary: summary.clone(),
                detail: format!(
                    "first unsolicited {message} claiming {} is at {text}",
                    l.key.1
                ),
                origin: l
                    .claimant
                    .first_unsolicited
                    .map(|((input, frame), ts)| (input, frame, ts)),
                span: (l.claimant.first_ts, l.claimant.last_ts),
                count: l.claimant.unsolicited,
                remediation: if v6 {
                    remedy::NDP_SPOOF
                } else {
                    remedy::ARP_SPOOF
                },
            };
            match (own, device) {
                (Some(_), _) => out.raise(r),
                (None, Some(i)) => out.raise_on(i, r),
                // Known by its MAC alone: the finding names the address
                // taken over, not the victim's device.
                _ => out.raise_unattributed(r),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const TOOL: [u8; 6] = [2, 0, 0, 0, 0, 0x42];

    fn claim(addr: [u8; 4], mac: [u8; 6], reply: bool, target: [u8; 4], ts: i64) -> Claim {
        Claim {
            vlan: None,
            addr: addr.into(),
            mac,
            sent_by: Some(mac),
            reply,
            target: target.into(),
            ts,
            frame: (0, ts as u64),
        }
    }

    fn at(c: &ArpClaims, addr: [u8; 4], mac: [u8; 6]) -> Claimant {
        c.by_addr[&(None, addr.into())]
            .iter()
            .find(|x| x.mac == mac)
            .cloned()
            .unwrap()
    }

    #[test]
    fn answers_and_announcements_are_not_unsolicited_replies() {
        let s = 1_000_000_000;
        let mut c = ArpClaims::default();
        // Asked, then answered within the second.
        c.asked(None, [10, 0, 0, 1].into(), 0);
        c.claimed(claim([10, 0, 0, 1], OWNER, true, [10, 0, 0, 20], s / 2));
        // A gratuitous reply (its own address as the target), and a
        // request (the sender's own claim).
        c.claimed(claim([10, 0, 0, 1], OWNER, true, [10, 0, 0, 1], 2 * s));
        c.claimed(claim([10, 0, 0, 1], OWNER, false, [10, 0, 0, 9], 3 * s));
        // A reply two seconds after the request: nobody asked for it.
        c.claimed(claim([10, 0, 0, 1], TOOL, true, [10, 0, 0, 20], 2 * s));
        // A tool restoring the cache on the owner's behalf: the owner's
        // claim, not its unsolicited reply.
        let mut restore = claim([10, 0, 0, 1], OWNER, true, [10, 0, 0, 20], 5 * s);
        restore.sent_by = Some(TOOL);
        c.claimed(restore);
        let owner = at(&c, [10, 0, 0, 1], OWNER);
        assert_eq!((owner.claims, owner.unsolicited), (4, 0));
        let tool = at(&c, [10, 0, 0, 1], TOOL);
        assert_eq!((tool.claims, tool.unsolicited), (1, 1));
        assert_eq!(tool.told, vec![IpAddr::from([10, 0, 0, 20])]);
        assert_eq!(tool.first_unsolicited, Some(((0, 2 * s as u64), 2 * s)));
        // Another VLAN's address is another address.
        let mut other = claim([10, 0, 0, 1], TOOL, true, [10, 0, 0, 20], 6 * s);
        other.vlan = Some(7);
        c.claimed(other);
        assert_eq!(c.by_addr.len(), 2);
    }

    #[test]
    fn merged_halves_are_the_whole() {
        let mut whole = ArpClaims::default();
        let (mut a, mut b) = (ArpClaims::default(), ArpClaims::default());
        for i in 0..40i64 {
            let mac = if i % 3 == 0 { TOOL } else { OWNER };
            let k = claim([10, 0, 0, (i % 5) as u8], mac, true, [10, 0, 0, 99], i);
            whole.claimed(k);
            if i % 2 == 0 { &mut a } else { &mut b }.claimed(k);
        }
        a.merge(b);
        for ip in 0..5u8 {
            let mut w = whole.by_addr[&(None, [10, 0, 0, ip].into())].clone();
            let mut m = a.by_addr[&(None, [10, 0, 0, ip].into())].clone();
            w.sort_by_key(|x| x.mac);
            m.sort_by_key(|x| x.mac);
            assert_eq!(w, m);
        }
    }

    #[test]
    fn redundancy_and_bonding_macs_are_known() {
        assert!(virtual_router(&[0, 0, 0x5e, 0, 1, 7]));
        assert!(virtual_router(&[0, 0, 0x0c, 7, 0xac, 1]));
        assert!(virtual_router(&[0, 0, 0x0c, 0x9f, 0xf0, 1]));
        assert!(virtual_router(&[0, 7, 0xb4, 0, 1, 2]));
        assert!(!virtual_router(&[0, 0, 0x0c, 0x9f, 0x00, 1]));
        assert!(!virtual_router(&TOOL));
        assert!(same_card(
            &[0, 0x1b, 0x21, 1, 2, 0xa0],
            &[0, 0x1b, 0x21, 1, 2, 0xa1]
        ));
        assert!(!same_card(
            &[0, 0x1b, 0x21, 1, 2, 0xa0],
            &[0, 0x1c, 0x21, 1, 2, 0xa1]
        ));
        assert!(!same_card(&OWNER, &TOOL));
    }
}
