//! The device inventory: hosts seen on the wire merged into devices, keyed by
//! their own MAC where it is theirs, by VLAN + IP where only a router's MAC
//! is seen, with the vendor from the IEEE registries and every field backed
//! by evidence.

pub mod assets;
pub mod hosts;
pub mod kb;
pub mod net;
pub mod observe;
pub mod oui;
pub mod ports;

pub use hosts::{HostAgg, HostTable, InputNames, Sighting};
pub use net::{Cidr, LocalNets};
pub use observe::{apply_observations, apply_observations_threads};

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use wardwatch_model::{
    stable_id, time::rfc3339, Confidence, Device, Evidence, Service, Stamp, Traffic,
};

/// Formats a MAC as `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// A MAC that cannot identify one device: zero, broadcast or multicast.
fn usable_mac(m: &[u8; 6]) -> bool {
    *m != [0; 6] && !oui::is_multicast(m)
}

/// How many private addresses one MAC may front before it is taken for a
/// router rather than a host with a few addresses.
const GATEWAY_PRIVATE_IPS: usize = 8;

/// What makes a device one: its own MAC, or VLAN + IP behind a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum DeviceKey {
    Mac([u8; 6]),
    Ip(u16, IpAddr),
}

impl DeviceKey {
    /// The text hashed into the device id (stable across versions).
    fn id_text(&self) -> String {
        match self {
            DeviceKey::Mac(m) => format!("mac|{}", fmt_mac(m)),
            DeviceKey::Ip(v, ip) => format!("ip|{v}|{ip}"),
        }
    }
}

#[derive(Default)]
struct DeviceBuild {
    mac: Option<[u8; 6]>,
    ips: BTreeSet<IpAddr>,
    vlan: Option<u16>,
    traffic: Traffic,
    first_ts: i64,
    last_ts: i64,
    services: BTreeSet<(u8, u16)>,
    evidence: Vec<Evidence>,
    gateway_for: usize,
}

/// Builds the devices of the report from the host table.
pub fn build_devices(
    table: &HostTable,
    site: &str,
    local: &LocalNets,
    inputs: &InputNames,
) -> Vec<Device> {
    build_devices_threads(table, site, local, inputs, 1)
}

/// Hosts to group or builds to finish below this many per share are not
/// worth another thread.
const MIN_FINISH_SHARE: usize = 4096;

/// What one host adds to its device.
struct HostPart<'t> {
    ip: IpAddr,
    host: &'t HostAgg,
    /// Its device: by its own MAC when that is seen, else by address.
    key: DeviceKey,
    evidence: Evidence,
    /// Why an address outside the site's blocks is the site's.
    learned: Option<Evidence>,
}

/// [`build_devices`], the devices finished (identifier, addresses, vendor,
/// services) on up to `threads` threads, each a contiguous share; the same
/// devices whatever the thread count.
pub fn build_devices_threads<'t>(
    table: &'t HostTable,
    site: &str,
    local: &LocalNets,
    inputs: &InputNames,
    threads: usize,
) -> Vec<Device> {
    // 1. Which MACs are routers: they carry non-local addresses, or many.
    let mut mac_ips: HashMap<[u8; 6], (usize, usize), foldhash::fast::RandomState> =
        HashMap::default();
    for (ip, h) in table.iter() {
        if !net::is_unicast_host(ip) || h.tx_packets == 0 {
            continue;
        }
        // A host's own IPv6 addresses (stable and temporary ones, a new
        // one a day or a network join) are many, and arrive unrouted: only
        // routed ones count toward a router.
        let own_v6 = ip.is_ipv6() && h.ttl_flows.on_link();
        for m in h.macs.iter().map(|(m, _)| m) {
            let e = mac_ips.entry(*m).or_default();
            if !local.contains(ip) {
                e.1 += 1;
            } else if !own_v6 {
                e.0 += 1;
            }
        }
    }
    let is_gateway = |m: &[u8; 6]| {
        mac_ips
            .get(m)
            .is_some_and(|(priv_n, pub_n)| *pub_n > 0 || *priv_n > GATEWAY_PRIVATE_IPS)
    };

    // 2. Group local hosts into devices. What each host adds (its device's
    // key and its evidence) is found in shares of the sorted hosts, on
    // several threads when there are many, then gathered in order.
    // Builds in the order their devices were first met, found by key, and
    // sorted by key once at the end.
    let mut index: HashMap<DeviceKey, usize, foldhash::fast::RandomState> = HashMap::default();
    let mut builds: Vec<(DeviceKey, DeviceBuild)> = Vec::new();
    // The local hosts that spoke: a device is something that spoke, and an
    // address that only received (a scan target, a subnet broadcast) is
    // not one, unless a peer sent it data on a connection it acknowledged
    // (a capture of one direction only). Sorted, so that evidence comes out
    // in the same order on every run (addresses are the table's keys: no
    // two are equal).
    let mut sorted: Vec<_> = table
        .iter()
        .filter(|(ip, h)| {
            let spoke = h.tx_packets > 0 || h.took_data || h.macs.iter().any(|(_, s)| s.arp_owner);
            spoke && local.contains(ip) && net::is_unicast_host(ip)
        })
        .collect();
    sorted.sort_unstable_by_key(|(ip, _)| **ip);
    let part_of = |(ip, h): (&'t IpAddr, &'t HostAgg)| -> HostPart<'t> {
        // Link-local addresses are never routed: their MAC is their own.
        let link_local = net::is_link_local(ip);
        let own_mac = h
            .macs
            .iter()
            .filter(|(m, s)| usable_mac(m) && (!is_gateway(m) || s.arp_owner || link_local))
            .min_by_key(|(m, s)| (!s.arp_owner, s.ts_ns, s.input, s.frame, *m))
            .map(|(m, s)| (*m, *s));
        let (key, evidence) = match own_mac {
            Some((m, s)) => (
                DeviceKey::Mac(m),
                Evidence {
                    source: if s.arp_owner { "arp" } else { "ethernet" }.into(),
                    field: "ip".into(),
                    value: format!("{ip} from {}", fmt_mac(&m)),
                    input: inputs.name(s.input),
                    frame: Some(s.frame),
                    ts: Some(Stamp(s.ts_ns)),
                    rule: None,
                },
            ),
            None => (
                DeviceKey::Ip(h.vlan.unwrap_or(0), *ip),
                Evidence {
                    source: "ip".into(),
                    field: "ip".into(),
                    value: if h.tx_packets == 0 {
                        format!(
                            "{ip} was sent data on TCP connections it had accepted; \
                             none of its own packets is in the capture"
                        )
                    } else {
                        format!("{ip} seen behind a router; its own MAC is not visible")
                    },
                    input: inputs.name(h.first_seen.input),
                    frame: Some(h.first_seen.frame),
                    ts: Some(Stamp(h.first_seen.ts_ns)),
                    rule: None,
                },
            ),
        };
        let learned = local.learned(ip).then(|| {
            let t = &h.ttl_flows;
            Evidence {
                source: "ip".into(),
                field: "site".into(),
                value: format!(
                    "{ip} is outside the site's address blocks but on the captured link: \
                     its packets arrived with a TTL no router lowered ({}) in {} of its {} \
                     flows that tell (--local-net names the site's blocks)",
                    t.ttl,
                    t.unrouted,
                    t.unrouted + t.routed
                ),
                input: None,
                frame: None,
                ts: None,
                rule: None,
            }
        });
        HostPart {
            ip: *ip,
            host: h,
            key,
            evidence,
            learned,
        }
    };
    let gather = |part: HostPart<'t>| {
        let h = part.host;
        let i = *index.entry(part.key).or_insert_with(|| {
            builds.push((
                part.key,
                DeviceBuild {
                    first_ts: i64::MAX,
                    last_ts: i64::MIN,
                    ..Default::default()
                },
            ));
            builds.len() - 1
        });
        let Some((_, b)) = builds.get_mut(i) else {
            return;
        };
        b.ips.insert(part.ip);
        if b.vlan.is_none() {
            b.vlan = h.vlan;
        }
        b.traffic.packets_out += h.tx_packets;
        b.traffic.packets_in += h.rx_packets;
        b.traffic.bytes_out += h.tx_bytes;
        b.traffic.bytes_in += h.rx_bytes;
        b.traffic.flows += h.flows;
        b.first_ts = b.first_ts.min(h.first_ts);
        b.last_ts = b.last_ts.max(h.last_ts);
        b.services.extend(h.services.iter().copied());
        if let DeviceKey::Mac(m) = part.key {
            b.mac = Some(m);
        }
        // The first part sized exactly (most devices have one): a first
        // push would take room for four, given back by `finish_device`.
        // Later parts grow it as usual (by one each time would copy it all
        // for every part of an address-rich device).
        if b.evidence.is_empty() {
            b.evidence
                .reserve_exact(1 + usize::from(part.learned.is_some()));
        }
        b.evidence.push(part.evidence);
        b.evidence.extend(part.learned);
    };
    for_each_in_shares(sorted, threads, part_of, gather);
    // Routers get their role as evidence.
    for (m, (priv_n, pub_n)) in &mac_ips {
        if !is_gateway(m) || !usable_mac(m) {
            continue;
        }
        if let Some((_, b)) = index
            .get(&DeviceKey::Mac(*m))
            .and_then(|i| builds.get_mut(*i))
        {
            b.gateway_for = priv_n + pub_n;
        }
    }

    // 3. Finish each device.
    // Keys are distinct.
    builds.sort_unstable_by_key(|(k, _)| *k);
    let mut out = Vec::with_capacity(builds.len());
    for_each_in_shares(
        builds,
        threads,
        |(k, b)| finish_device(k, b, site),
        |d| out.push(d),
    );
    // By first address, then id: the builds were keyed by text.
    // Keys sorted, devices moved once.
    out.sort_by_cached_key(|d| {
        (
            d.ips.first().and_then(|s| s.parse::<IpAddr>().ok()),
            d.id.clone(),
        )
    });
    out
}

/// Hands `sink` what `f` makes of each item, in the items' order. With
/// more than one thread and enough items, `f` runs on up to `threads`
/// contiguous shares of at least [`MIN_FINISH_SHARE`] items side by side.
fn for_each_in_shares<T: Send, U: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> U + Sync,
    mut sink: impl FnMut(U),
) {
    let shares = threads.clamp(1, (items.len() / MIN_FINISH_SHARE).max(1));
    if shares == 1 {
        items.into_iter().map(f).for_each(sink);
        return;
    }
    let size = items.len().div_ceil(shares);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(shares);
    let mut rest = items.into_iter();
    loop {
        let part: Vec<T> = rest.by_ref().take(size).collect();
        if part.is_empty() {
            break;
        }
        parts.push(part);
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || part.into_iter().map(f).collect::<Vec<U>>()))
            .collect();
        for h in handles {
            h.join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
                .into_iter()
                .for_each(&mut sink);
        }
    });
}

/// A device from its build: identifier, addresses, OUI vendor, gateway role,
/// services and evidence.
fn finish_device(key: DeviceKey, mut b: DeviceBuild, site: &str) -> Device {
    let mut d = Device {
        id: stable_id("dev", site, &[&key.id_text()]),
        mac: b.mac.map(|m| fmt_mac(&m)),
        ips: b.ips.iter().map(|i| i.to_string()).collect(),
        vlan: b.vlan,
        category: "unknown".into(),
        first_seen: rfc3339(b.first_ts),
        last_seen: rfc3339(b.last_ts),
        traffic: b.traffic.clone(),
        confidence: Confidence::default(),
        ..Default::default()
    };
    // Room for what follows at once, exactly (see the shrink below).
    b.evidence
        .reserve_exact(usize::from(b.mac.is_some()) + usize::from(b.gateway_for > 0));
    if let Some(m) = b.mac {
        if let Some(e) = oui_vendor(&mut d, &m) {
            b.evidence.push(e);
        } else if oui::is_locally_administered(&m) {
            b.evidence.push(Evidence {
                source: "oui".into(),
                field: "mac".into(),
                value: "locally administered (randomised or virtual) MAC".into(),
                input: None,
                frame: None,
                ts: None,
                rule: Some("ieee-local-bit".into()),
            });
        }
    }
    if b.gateway_for > 0 {
        d.category = "network-device".into();
        d.confidence.category = 0.7;
        d.medical = Some(false);
        b.evidence.push(Evidence {
            source: "behaviour".into(),
            field: "category".into(),
            value: format!("routes traffic for {} addresses", b.gateway_for),
            input: None,
            frame: None,
            ts: None,
            rule: Some("role:gateway".into()),
        });
    }
    d.services = b
        .services
        .iter()
        .map(|(proto, port)| Service {
            transport: if *proto == 6 { "tcp" } else { "udp" }.into(),
            port: *port,
            proto: ports::service_name(*proto, *port).map(str::to_string),
        })
        .collect();
    d.evidence = b.evidence;
    // Most devices have one or two facts, in a vector grown to four (576
    // bytes): 30 MB over 65,000 devices, held to the end of the report.
    d.evidence.shrink_to_fit();
    d
}

/// Devices seen only by their MAC: DHCP clients (a client asking for an
/// address has none yet, so no flow names it) and 802.11 access points and
/// stations seen in monitor mode (their frames encrypted): one per MAC not
/// already a device, with the address a DHCP client asked for or was
/// given, and its OUI vendor. The facts themselves are added by
/// [`apply_observations`].
pub fn add_mac_only_devices(
    devices: &mut Vec<Device>,
    observations: &[wardwatch_proto::Observation],
    site: &str,
) {
    use std::collections::{BTreeMap, HashSet};
    use wardwatch_proto::ObsKind;
    // (Most captures of a run without dissectors, DHCP or Wi-Fi have none.)
    if !observations
        .iter()
        .any(|o| matches!(o.kind, ObsKind::Dhcp(_) | ObsKind::Wifi(_)))
    {
        return;
    }
    let known: HashSet<&str> = devices.iter().filter_map(|d| d.mac.as_deref()).collect();
    // mac -> (first ts, last ts, address)
    let mut new: BTreeMap<String, (i64, i64, Option<IpAddr>)> = BTreeMap::new();
    for o in observations {
        let (mac, address, ack) = match &o.kind {
            ObsKind::Dhcp(fact) => (&fact.client_mac, fact.address, fact.message_type == 5),
            ObsKind::Wifi(_) => match &o.mac {
                Some(m) => (m, None, false),
                None => continue,
            },
            _ => continue,
        };
        let Some(bytes) = parse_mac(mac) else {
            continue;
        };
        if known.contains(mac.as_str()) || bytes == [0; 6] || oui::is_multicast(&bytes) {
            continue;
        }
        let e = new
            .entry(mac.clone())
            .or_insert((o.origin.ts_ns, o.origin.ts_ns, None));
        e.0 = e.0.min(o.origin.ts_ns);
        e.1 = e.1.max(o.origin.ts_ns);
        // The address the server gave (ACK) wins over the one asked for.
        if let Some(a) = address.filter(net::is_unicast_host) {
            if ack || e.2.is_none() {
                e.2 = Some(a);
            }
        }
    }
    for (mac, (first, last, addr)) in new {
        let Some(m) = parse_mac(&mac) else { continue };
        let mut d = Device {
            id: stable_id("dev", site, &[&DeviceKey::Mac(m).id_text()]),
            mac: Some(mac.clone()),
            ips: addr.map(|a| vec![a.to_string()]).unwrap_or_default(),
            category: "unknown".into(),
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
            ..Default::default()
        };
        if let Some(e) = oui_vendor(&mut d, &m) {
            d.evidence.push(e);
        }
        devices.push(d);
    }
}

/// Sets the device's vendor from the IEEE registry and returns the evidence
/// for it, when the MAC's block is assigned.
fn oui_vendor(d: &mut Device, m: &[u8; 6]) -> Option<Evidence> {
    let v = oui::vendor(m)?;
    d.vendor = Some(v.to_string());
    d.confidence.vendor = 0.6;
    Some(Evidence {
        source: "oui".into(),
        field: "vendor".into(),
        value: format!("{:02x}:{:02x}:{:02x} {v}", m[0], m[1], m[2]),
        input: None,
        frame: None,
        ts: None,
        rule: Some("ieee-registry".into()),
    })
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for part in s.split(':') {
        *out.get_mut(n)? = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 6).then_some(out)
}

#[cfg(test)]
mod build_tests {
    use super::*;
    use crate::hosts::HostUpdate;

    #[test]
    fn threads_give_the_same_devices() {
        // Devices with their own MAC (some with two addresses far apart, in
        // different shares), addresses behind a router (one MAC for many),
        // services and traffic: enough for three shares.
        let mut table = HostTable::new(1 << 20);
        let router = [0x00, 0x1b, 0x21, 0, 0, 1];
        for i in 0..(4 * MIN_FINISH_SHARE as u32 + 123) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i * 7));
            let m = i % 9000;
            let own = [0x00, 0x09, 0xfb, (m >> 16) as u8, (m >> 8) as u8, m as u8];
            table.add(HostUpdate {
                ip,
                mac: Some(if i % 5 == 0 { router } else { own }),
                vlan: (i % 3 == 0).then_some(20),
                tx_packets: 1 + u64::from(i % 11),
                tx_bytes: 60 * u64::from(i),
                rx_packets: u64::from(i % 4),
                rx_bytes: 80,
                first_ts: i64::from(i) * 1_000,
                last_ts: i64::from(i) * 2_000,
                first: Sighting {
                    input: 0,
                    frame: u64::from(i),
                    ts_ns: i64::from(i) * 1_000,
                    arp_owner: i % 7 == 0,
                },
                service: (i % 2 == 0).then_some((6, 104)),
                ttl: 64,
                took_data: false,
            });
        }
        let inputs = InputNames(vec!["a.pcap".into()]);
        let local = LocalNets::default();
        let one = build_devices_threads(&table, "site", &local, &inputs, 1);
        assert!(one.len() > 2 * MIN_FINISH_SHARE, "{}", one.len());
        assert!(one.iter().any(|d| d.ips.len() == 2));
        for threads in [2, 3, 8] {
            let many = build_devices_threads(&table, "site", &local, &inputs, threads);
            assert_eq!(many, one, "{threads} threads");
        }
    }
}
