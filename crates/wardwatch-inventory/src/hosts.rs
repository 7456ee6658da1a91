//! Per-address aggregates that the engine fills from finished flows and ARP,
//! bounded in size, mergeable across worker threads.

use std::collections::{hash_map::Entry, BTreeSet, HashMap};
use std::net::IpAddr;

use crate::net::LocalNets;

/// Where and when something was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sighting {
    /// Input index.
    pub input: u16,
    /// Frame number.
    pub frame: u64,
    /// Capture time (ns).
    pub ts_ns: i64,
    /// The MAC claimed the address in ARP (so it is the owner's, even on a
    /// router).
    pub arp_owner: bool,
}

/// What is known about one IP address.
#[derive(Debug, Clone, Default)]
pub struct HostAgg {
    /// Outermost VLAN it was seen on.
    pub vlan: Option<u16>,
    /// MACs it was seen with (at most [`MAX_MACS`]).
    pub macs: Vec<([u8; 6], Sighting)>,
    /// Frames sent.
    pub tx_packets: u64,
    /// Wire bytes sent.
    pub tx_bytes: u64,
    /// Frames received.
    pub rx_packets: u64,
    /// Wire bytes received.
    pub rx_bytes: u64,
    /// Flows.
    pub flows: u64,
    /// First packet time.
    pub first_ts: i64,
    /// Last packet time.
    pub last_ts: i64,
    /// Services offered: (IP protocol, port), at most [`MAX_SERVICES`].
    pub services: BTreeSet<(u8, u16)>,
    /// The earliest sighting.
    pub first_seen: Sighting,
    /// Flows whose first packet from it to a unicast peer came with a TTL
    /// no router lowered, and with one lowered (see
    /// [`crate::net::unrouted_ttl`]).
    pub ttl_flows: TtlFlows,
    /// A peer sent it data on an acknowledged TCP connection: it exists
    /// even where the capture holds none of its packets (one direction of
    /// the conversations only).
    pub took_data: bool,
}

/// A host's flows by what the TTL of its first packet said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TtlFlows {
    /// Unrouted: sent from the captured link.
    pub unrouted: u32,
    /// Routed.
    pub routed: u32,
    /// The highest unrouted TTL counted (for evidence).
    pub ttl: u8,
}

impl TtlFlows {
    fn add(&mut self, ttl: u8) {
        match crate::net::unrouted_ttl(ttl) {
            Some(true) => {
                self.unrouted = self.unrouted.saturating_add(1);
                self.ttl = self.ttl.max(ttl);
            }
            Some(false) => self.routed = self.routed.saturating_add(1),
            None => {}
        }
    }

    fn merge(&mut self, o: TtlFlows) {
        self.unrouted = self.unrouted.saturating_add(o.unrouted);
        self.routed = self.routed.saturating_add(o.routed);
        if o.unrouted > 0 {
            self.ttl = self.ttl.max(o.ttl);
        }
    }

    /// Whether its packets say the host is on the captured link: most of
    /// its flows arrived unrouted.
    pub fn on_link(&self) -> bool {
        self.unrouted > 0 && self.unrouted >= self.routed
    }
}

/// Most global IPv6 addresses one MAC may carry for them to be learned as
/// the site's (see [`HostTable::on_link_outside`]).
pub const ON_LINK_V6_PER_MAC: usize = 64;

/// Most MACs remembered per address.
pub const MAX_MACS: usize = 4;
/// Most services remembered per address.
pub const MAX_SERVICES: usize = 64;

/// One host's side of a finished flow.
#[derive(Debug, Clone, Copy)]
pub struct HostUpdate {
    /// Address.
    pub ip: IpAddr,
    /// The MAC its frames came from.
    pub mac: Option<[u8; 6]>,
    /// VLAN.
    pub vlan: Option<u16>,
    /// Frames it sent.
    pub tx_packets: u64,
    /// Bytes it sent.
    pub tx_bytes: u64,
    /// Frames it received.
    pub rx_packets: u64,
    /// Bytes it received.
    pub rx_bytes: u64,
    /// Flow start.
    pub first_ts: i64,
    /// Flow end.
    pub last_ts: i64,
    /// The flow's first frame.
    pub first: Sighting,
    /// A service it offered in this flow.
    pub service: Option<(u8, u16)>,
    /// The TTL of its first packet, when it sent one to a unicast peer (0
    /// otherwise).
    pub ttl: u8,
    /// Its peer sent it data on an acknowledged TCP connection.
    pub took_data: bool,
}

/// The bounded table of hosts.
///
/// The site's own addresses and the others may each fill half of it at
/// most: addresses outside (internet peers, and every address a scan from
/// outside spoofs) never crowd out the site's devices, and the devices,
/// which the report holds longest (about 1.4 KB each), stay under half the
/// cap.
#[derive(Debug, Clone, Default)]
pub struct HostTable {
    /// Boxed: a full table's buckets are then 32 bytes each, not the
    /// aggregate's 160 (hashbrown keeps up to twice as many buckets as
    /// hosts, and both arrays while it grows).
    hosts: HashMap<IpAddr, Box<HostAgg>, foldhash::fast::RandomState>,
    cap: usize,
    /// The site's address space.
    local: LocalNets,
    /// Addresses held inside it and outside.
    held_by: [usize; 2],
    /// Sightings (flow ends, ARP claims, another table's entries) of
    /// addresses the full table did not take.
    pub evicted: u64,
}

impl HostTable {
    /// A table holding at most `cap` addresses, half of them at most
    /// inside the default private ranges and half outside.
    pub fn new(cap: usize) -> Self {
        HostTable {
            hosts: HashMap::default(),
            cap,
            local: LocalNets::default(),
            held_by: [0, 0],
            evicted: 0,
        }
    }

    /// The same table, with the site's own address space.
    pub fn with_local(mut self, local: LocalNets) -> Self {
        self.local = local;
        self
    }

    /// The same table holding at most `cap` addresses from now on (a
    /// worker's table, sized for its share, becoming the run's).
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Addresses held.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no address is held.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The addresses outside `local` that are on the captured link: a site
    /// on public address space (or IPv6 global addresses) that nobody
    /// configured. An address is when its own packets say so (see
    /// [`TtlFlows::on_link`]) and its MAC is a host's, not a router's or a
    /// proxy's: a proxy or a NAT that answers for internet servers sends
    /// unrouted TTLs too, but from a MAC that also carries other IPv4
    /// addresses (its own, or the other servers'). So the MAC carries no
    /// other IPv4 address (IPv4), or at most [`ON_LINK_V6_PER_MAC`] global
    /// IPv6 addresses (a host's stable and temporary ones, a new one a day
    /// or a network join), none of them routed. Without a MAC (raw IP,
    /// NFLOG and PPP captures) nothing is learned.
    pub fn on_link_outside(&self, local: &LocalNets) -> Vec<IpAddr> {
        #[derive(Default)]
        struct Carried {
            v4: usize,
            v6: usize,
            routed: bool,
        }
        fn own_macs(h: &HostAgg) -> impl Iterator<Item = [u8; 6]> + '_ {
            h.macs
                .iter()
                .map(|(m, _)| *m)
                .filter(|m| *m != [0; 6] && !crate::oui::is_multicast(m))
        }
        let counted = |ip: &IpAddr, h: &HostAgg| {
            h.tx_packets > 0 && crate::net::is_unicast_host(ip) && !crate::net::is_link_local(ip)
        };
        let mut candidates: Vec<(IpAddr, &HostAgg)> = self
            .iter()
            .filter(|(ip, h)| {
                counted(ip, h)
                    && h.ttl_flows.on_link()
                    && !local.contains(ip)
                    && own_macs(h).next().is_some()
            })
            .map(|(ip, h)| (*ip, h))
            .collect();
        // Nearly every site: nothing outside its blocks on the link.
        if candidates.is_empty() {
            return Vec::new();
        }
        let mut by_mac: HashMap<[u8; 6], Carried, foldhash::fast::RandomState> = HashMap::default();
        for (ip, h) in self.iter().filter(|(ip, h)| counted(ip, h)) {
            let t = &h.ttl_flows;
            for m in own_macs(h) {
                let c = by_mac.entry(m).or_default();
                if ip.is_ipv4() {
                    c.v4 += 1;
                } else {
                    c.v6 += 1;
                }
                c.routed |= t.routed > t.unrouted;
            }
        }
        candidates.retain(|(ip, h)| {
            own_macs(h).all(|m| {
                by_mac.get(&m).is_some_and(|c| {
                    !c.routed
                        && if ip.is_ipv4() {
                            c.v4 == 1
                        } else {
                            c.v6 <= ON_LINK_V6_PER_MAC
                        }
                })
            })
        });
        let mut out: Vec<IpAddr> = candidates.into_iter().map(|(ip, _)| ip).collect();
        out.sort_unstable();
        out
    }

    /// The aggregate of one address.
    pub fn get(&self, ip: &IpAddr) -> Option<&HostAgg> {
        self.hosts.get(ip).map(|h| &**h)
    }

    /// All addresses, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&IpAddr, &HostAgg)> {
        self.hosts.iter().map(|(ip, h)| (ip, &**h))
    }

    fn entry(&mut self, ip: IpAddr, first: Sighting, ts: i64) -> Option<&mut HostAgg> {
        // One lookup, whether the address is held or not.
        match self.hosts.entry(ip) {
            Entry::Occupied(e) => Some(e.into_mut()),
            Entry::Vacant(e) if admit(&self.local, &mut self.held_by, self.cap, &ip) => {
                Some(e.insert(Box::new(HostAgg {
                    first_ts: ts,
                    last_ts: ts,
                    first_seen: first,
                    ..Default::default()
                })))
            }
            Entry::Vacant(_) => {
                self.evicted += 1;
                None
            }
        }
    }

    /// Adds one host's side of a flow.
    pub fn add(&mut self, u: HostUpdate) {
        let Some(h) = self.entry(u.ip, u.first, u.first_ts) else {
            return;
        };
        if h.vlan.is_none() {
            h.vlan = u.vlan;
        }
        if let Some(m) = u.mac {
            add_mac(h, m, u.first);
        }
        h.tx_packets += u.tx_packets;
        h.tx_bytes += u.tx_bytes;
        h.rx_packets += u.rx_packets;
        h.rx_bytes += u.rx_bytes;
        h.flows += 1;
        if u.ttl != 0 {
            h.ttl_flows.add(u.ttl);
        }
        h.took_data |= u.took_data;
        if earlier(&u.first, &h.first_seen) {
            h.first_seen = u.first;
        }
        h.first_ts = h.first_ts.min(u.first_ts);
        h.last_ts = h.last_ts.max(u.last_ts);
        if let Some(s) = u.service {
            if h.services.len() < MAX_SERVICES {
                h.services.insert(s);
            }
        }
    }

    /// Records an ARP claim: `mac` says it owns `ip`.
    pub fn arp(&mut self, ip: IpAddr, mac: [u8; 6], vlan: Option<u16>, at: Sighting) {
        let Some(h) = self.entry(ip, at, at.ts_ns) else {
            return;
        };
        if h.vlan.is_none() {
            h.vlan = vlan;
        }
        let at = Sighting {
            arp_owner: true,
            ..at
        };
        add_mac(h, mac, at);
        h.first_ts = h.first_ts.min(at.ts_ns);
        h.last_ts = h.last_ts.max(at.ts_ns);
    }

    /// Folds another table (from another worker) into this one.
    pub fn merge(&mut self, other: HostTable) {
        self.evicted += other.evicted;
        // Where the other's addresses may not all fit (each side fills half
        // the table at most), they are taken in address order: a map's own
        // order is seeded per run, and which are kept must not be.
        let hosts: Box<dyn Iterator<Item = (IpAddr, Box<HostAgg>)>> =
            if self.hosts.len() + other.hosts.len() > self.cap / 2 {
                let mut v: Vec<_> = other.hosts.into_iter().collect();
                v.sort_unstable_by_key(|(ip, _)| *ip);
                Box::new(v.into_iter())
            } else {
                Box::new(other.hosts.into_iter())
            };
        for (ip, o) in hosts {
            // One lookup, as in `entry`.
            let h = match self.hosts.entry(ip) {
                Entry::Occupied(e) => e.into_mut(),
                // A host the other table alone knows moves over whole.
                Entry::Vacant(e) if admit(&self.local, &mut self.held_by, self.cap, &ip) => {
                    e.insert(o);
                    continue;
                }
                Entry::Vacant(_) => {
                    self.evicted += 1;
                    continue;
                }
            };
            if h.vlan.is_none() {
                h.vlan = o.vlan;
            }
            for (m, s) in o.macs {
                add_mac(h, m, s);
            }
            h.tx_packets += o.tx_packets;
            h.tx_bytes += o.tx_bytes;
            h.rx_packets += o.rx_packets;
            h.rx_bytes += o.rx_bytes;
            h.flows += o.flows;
            h.ttl_flows.merge(o.ttl_flows);
            h.took_data |= o.took_data;
            if earlier(&o.first_seen, &h.first_seen) {
                h.first_seen = o.first_seen;
            }
            h.first_ts = h.first_ts.min(o.first_ts);
            h.last_ts = h.last_ts.max(o.last_ts);
            for s in o.services {
                if h.services.len() < MAX_SERVICES {
                    h.services.insert(s);
                }
            }
        }
    }
}

/// Whether a table of `cap` holding `held_by` addresses inside `local` and
/// outside may take in the new address `ip` (and counts it if so): each
/// side fills half of it at most.
fn admit(local: &LocalNets, held_by: &mut [usize; 2], cap: usize, ip: &IpAddr) -> bool {
    let (side, room) = if local.contains(ip) {
        (0, cap - cap / 2)
    } else {
        (1, cap / 2)
    };
    if held_by[side] >= room {
        return false;
    }
    held_by[side] += 1;
    true
}

/// A total order on sightings, so that merges do not depend on the order in
/// which flows ended.
fn earlier(a: &Sighting, b: &Sighting) -> bool {
    (a.ts_ns, a.input, a.frame) < (b.ts_ns, b.input, b.frame)
}

fn add_mac(h: &mut HostAgg, m: [u8; 6], s: Sighting) {
    if let Some(e) = h.macs.iter_mut().find(|(x, _)| *x == m) {
        let owner = e.1.arp_owner || s.arp_owner;
        if earlier(&s, &e.1) {
            e.1 = s;
        }
        e.1.arp_owner = owner;
        return;
    }
    if h.macs.len() < MAX_MACS {
        // Nearly every address has one MAC: room for one, not the four a
        // first push makes (128 bytes per host).
        h.macs.reserve_exact(1);
        h.macs.push((m, s));
    }
}

/// Input paths by index, for evidence.
#[derive(Debug, Clone, Default)]
pub struct InputNames(pub Vec<std::sync::Arc<str>>);

impl InputNames {
    /// The paths, in input order.
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Self {
        InputNames(paths.iter().map(|p| p.as_ref().into()).collect())
    }

    /// The path of input `i` (shared by all the evidence that names it).
    pub fn name(&self, i: u16) -> Option<std::sync::Arc<str>> {
        self.0.get(i as usize).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(ip: IpAddr, mac: u8) -> HostUpdate {
        let at = Sighting {
            input: 0,
            frame: 1,
            ts_ns: 1,
            arp_owner: false,
        };
        HostUpdate {
            ip,
            mac: Some([0, 0x1b, 0x21, 0, 0, mac]),
            vlan: None,
            tx_packets: 1,
            tx_bytes: 60,
            rx_packets: 0,
            rx_bytes: 0,
            first_ts: 1,
            last_ts: 1,
            first: at,
            service: None,
            ttl: 64,
            took_data: false,
        }
    }

    #[test]
    fn internet_addresses_never_crowd_out_the_sites_own() {
        // A scan from spoofed internet addresses arrives first.
        let mut t = HostTable::new(10);
        for i in 0..100u32 {
            t.add(flow(
                IpAddr::from(std::net::Ipv4Addr::from(0x0808_0000 + i)),
                1,
            ));
        }
        assert_eq!((t.len(), t.evicted), (5, 95));
        for i in 0..8u8 {
            t.add(flow(IpAddr::from([10, 0, 0, i]), i));
        }
        // The other half is the site's; the whole table is full.
        assert_eq!((t.len(), t.evicted), (10, 98));
        assert!(t.get(&IpAddr::from([10, 0, 0, 4])).is_some());
        assert!(t.get(&IpAddr::from([10, 0, 0, 5])).is_none());
        // A site's own ranges count as its own, and fill their half only.
        let mut own = HostTable::new(4).with_local({
            let mut l = LocalNets::default();
            l.add("8.8.0.0/16".parse().expect("cidr"));
            l
        });
        for i in 0..4u32 {
            own.add(flow(
                IpAddr::from(std::net::Ipv4Addr::from(0x0808_0000 + i)),
                1,
            ));
        }
        assert_eq!((own.len(), own.evicted), (2, 2));
        // A merge holds to the same halves, and keeps the hosts it moves whole.
        let mut merged = HostTable::new(10);
        merged.merge(t.clone());
        merged.merge(t);
        assert_eq!(merged.len(), 10);
        let h = merged.get(&IpAddr::from([10, 0, 0, 2])).expect("kept");
        assert_eq!((h.tx_packets, h.macs.len(), h.macs.capacity()), (2, 1, 1));
    }

    #[test]
    fn a_merge_past_the_cap_keeps_the_lowest_addresses() {
        let remote = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0808_0000 + i));
        let kept = |order: &[u32]| {
            let mut other = HostTable::new(100);
            for i in order {
                other.add(flow(remote(*i), 1));
            }
            let mut t = HostTable::new(10);
            t.add(flow(remote(1000), 1));
            t.merge(other);
            let mut ips: Vec<IpAddr> = t.iter().map(|(ip, _)| *ip).collect();
            ips.sort_unstable();
            (ips, t.evicted)
        };
        let up: Vec<u32> = (0..40).collect();
        let down: Vec<u32> = (0..40).rev().collect();
        let want: Vec<IpAddr> = [0, 1, 2, 3, 1000].into_iter().map(remote).collect();
        assert_eq!(kept(&up), (want.clone(), 36));
        assert_eq!(kept(&down), (want, 36));
    }
}
