//! Detection between a live watch's analyses, as the packets arrive.
//!
//! Every tick (100 ms) the watch hands [`LiveRules::tick`] the observations
//! made since the last one and the current state of every flow that saw a
//! packet since (open ones included: a refused probe lingers in the flow
//! table for seconds). The single-event rules run on the observations; the
//! rules one connection completes (indicator addresses, internet exposure,
//! medical devices' external peers, zone crossings) on the pairs new or
//! newly established in the tick; the scan rules on every pair of the
//! clients those flows touched; the exfiltration rule on the pairs between
//! a site host and an internet host whose bytes grew (summed over flows as
//! they go on); the failed-login rule on the failed logins kept so far. A
//! finding is reported within a tick of the packet that completes it,
//! without re-reading every pair held (the periodic behaviour pass still
//! does, for the rules that need all of them: beaconing, baselines,
//! tunnels, new peers).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;

use wardwatch_model::Finding;
use wardwatch_proto::obs::Observation;

use crate::digest::{FlowFact, PairKey, PairStats};
use crate::{behaviour, ioc, posture, segment, Context, DetectInput, Findings};

/// What a pair's flows showed: whether any was established, whether the
/// client sent data, and when and where the pair was first seen.
#[derive(Debug, Clone, Copy)]
struct Probe {
    established: bool,
    client_data: bool,
    first_ts: i64,
    last_ts: i64,
    first_frame: (u16, u64),
}

/// A flow's state at a tick.
#[derive(Debug, Clone, Copy)]
pub struct LiveFlow {
    /// What it contributes as of now.
    pub fact: FlowFact,
    /// It ended: `fact` is final and will not come again.
    pub ended: bool,
}

/// Bytes of one flow between a site host and the internet, as last seen.
#[derive(Debug, Clone, Copy)]
struct ExtFlow {
    payload: [u64; 2],
    last_ts: i64,
}

/// How long a connection attempt may wait for its answer before it counts
/// as a failed probe (round trips are well under a second; a SYN is first
/// retransmitted after one).
pub const PROBE_GRACE_NS: i64 = 1_000_000_000;

/// Most failed logins kept (the oldest half goes past it).
const MAX_FAILED_LOGINS: usize = 1 << 16;

/// The state the live rules keep between ticks. Bounded: past `cap` pairs
/// the least recently seen half is forgotten (counted in `forgotten`).
#[derive(Debug)]
pub struct LiveRules {
    probes: BTreeMap<PairKey, Probe>,
    /// Connection attempts not answered yet, younger than the grace.
    pending: BTreeMap<PairKey, Probe>,
    cap: usize,
    failed_logins: Vec<Observation>,
    /// (server, port) already reported exposed: later clients of it are
    /// for the periodic pass, not a new line per tick.
    exposed: BTreeSet<(IpAddr, u16)>,
    /// Open flows between the site and the internet, by first frame (which
    /// names one flow), with the bytes already counted.
    ext_flows: BTreeMap<(u16, u64), ExtFlow>,
    /// Pairs between the site and the internet with their bytes summed
    /// over flows as they grow: what the exfiltration rule reads.
    ext_pairs: BTreeMap<PairKey, PairStats>,
    /// Pairs and failed logins forgotten to stay under the caps.
    pub forgotten: u64,
}

impl LiveRules {
    /// Live rules holding at most `cap` pairs.
    pub fn new(cap: usize) -> Self {
        LiveRules {
            probes: BTreeMap::new(),
            pending: BTreeMap::new(),
            cap: cap.max(1),
            failed_logins: Vec::new(),
            exposed: BTreeSet::new(),
            ext_flows: BTreeMap::new(),
            ext_pairs: BTreeMap::new(),
            forgotten: 0,
        }
    }

    /// Pairs held.
    pub fn pairs(&self) -> usize {
        self.probes.len()
    }

    /// One tick at capture time `now`: `input.observations` are the
    /// observations new since the last tick, `flows` the state of each flow
    /// that saw a packet since (a flow may come again at each tick while it
    /// lasts: folding is idempotent). Returns the findings these complete
    /// or extend.
    pub fn tick(&mut self, input: &DetectInput<'_>, flows: &[LiveFlow], now: i64) -> Vec<Finding> {
        let sending = self.fold_external(flows, input);
        let external = self.external_pairs(&sending, input.config);
        let external: Vec<(&PairKey, &PairStats)> = external.iter().map(|(k, p)| (k, p)).collect();
        let (clients, fresh) = self.fold(flows, now);
        let touched = self.pairs_of(&clients);
        let pairs: Vec<(&PairKey, &PairStats)> = touched.iter().map(|(k, p)| (k, p)).collect();
        let fresh: Vec<(PairKey, PairStats)> = fresh
            .into_iter()
            .filter_map(|k| self.probes.get(&k).map(|p| (k, p.stats())))
            .collect();
        let fresh: Vec<(&PairKey, &PairStats)> = fresh.iter().map(|(k, p)| (k, p)).collect();
        let mut new_failures = false;
        // The refusals the failed-login rule counts (logins, SIP
        // registrations, VNC authentications).
        for o in input.observations {
            if behaviour::failed_login(o).is_some() {
                self.failed_logins.push(o.clone());
                new_failures = true;
            }
        }
        if self.failed_logins.len() > MAX_FAILED_LOGINS {
            let half = self.failed_logins.len() / 2;
            self.failed_logins.drain(..half);
            self.forgotten += half as u64;
        }
        let ctx = Context::new(input);
        let mut f = Findings::new(&ctx);
        posture::run(&ctx, input.observations, &mut f);
        ioc::run(&ctx, input.indicators, &fresh, input.observations, &mut f);
        segment::violations(&ctx, input.zones, input.devices, &fresh, &mut f);
        let unexposed: Vec<(&PairKey, &PairStats)> = fresh
            .iter()
            .filter(|(k, _)| !self.exposed.contains(&(k.server, k.port)))
            .copied()
            .collect();
        behaviour::exposure(&ctx, &unexposed, &mut f);
        for (k, p) in &unexposed {
            if p.established > 0 && ctx.is_local(&k.server) && ctx.is_public(&k.client) {
                self.exposed.insert((k.server, k.port));
            }
        }
        if self.exposed.len() > self.cap {
            self.exposed.clear();
        }
        behaviour::scans(&ctx, &pairs, &Default::default(), &mut f);
        behaviour::exfiltration(&ctx, &external, &mut f);
        if new_failures {
            behaviour::brute_force(&ctx, &[], &self.failed_logins, &mut f);
        }
        f.finish()
    }

    /// Folds flow states in; returns the clients they touched and the pairs
    /// new or newly established.
    fn fold(&mut self, flows: &[LiveFlow], now: i64) -> (BTreeSet<IpAddr>, BTreeSet<PairKey>) {
        let (mut clients, mut fresh) = (BTreeSet::new(), BTreeSet::new());
        let mut settle = |probes: &mut BTreeMap<PairKey, Probe>, key: PairKey, p: Probe| {
            if merge(probes, key, p) {
                fresh.insert(key);
            }
            clients.insert(key.client);
        };
        for LiveFlow { fact: f, .. } in flows {
            let key = f.pair();
            let p = Probe {
                established: f.established,
                client_data: f.payload[0] > 0,
                first_ts: f.first_ts,
                last_ts: f.last_ts,
                first_frame: f.first_frame,
            };
            // A connection not answered yet may still be: it counts once it
            // has waited PROBE_GRACE_NS.
            if p.ok() || !f.awaiting_answer(now) {
                settle(&mut self.probes, key, p);
            } else {
                merge(&mut self.pending, key, p);
            }
        }
        let due: Vec<PairKey> = self
            .pending
            .iter()
            .filter(|(_, p)| now - p.last_ts >= PROBE_GRACE_NS)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            if let Some(p) = self.pending.remove(&k) {
                settle(&mut self.probes, k, p);
            }
        }
        for map in [&mut self.probes, &mut self.pending] {
            self.forgotten += forget_oldest_half(map, self.cap, |p| p.last_ts);
        }
        (clients, fresh)
    }

    /// Counts the bytes the flows between the site and the internet moved
    /// since the last tick; returns the (site host, internet host) pairs
    /// that moved some.
    fn fold_external(
        &mut self,
        flows: &[LiveFlow],
        input: &DetectInput<'_>,
    ) -> BTreeSet<(IpAddr, IpAddr)> {
        let mut moved = BTreeSet::new();
        let public = |ip: &IpAddr| crate::is_public_in(input.local, ip);
        for LiveFlow { fact: f, ended } in flows {
            let pair = if input.local.contains(&f.client) && public(&f.server) {
                (f.client, f.server)
            } else if input.local.contains(&f.server) && public(&f.client) {
                (f.server, f.client)
            } else {
                continue;
            };
            let key = f.pair();
            let (seen, fresh) = match self.ext_flows.get(&f.first_frame) {
                Some(e) => (e.payload, false),
                None => ([0, 0], true),
            };
            let p = self.ext_pairs.entry(key).or_insert_with(|| {
                let mut p = PairStats::probe(false, false, f.first_ts, f.last_ts, f.first_frame);
                p.conns = 0;
                p
            });
            p.conns += u64::from(fresh);
            for ((sum, now), before) in p.payload.iter_mut().zip(f.payload).zip(seen) {
                *sum += now.saturating_sub(before);
            }
            p.widen(f);
            if *ended {
                self.ext_flows.remove(&f.first_frame);
            } else {
                self.ext_flows.insert(
                    f.first_frame,
                    ExtFlow {
                        payload: f.payload,
                        last_ts: f.last_ts,
                    },
                );
            }
            if f.payload != seen {
                moved.insert(pair);
            }
        }
        self.forgotten += forget_oldest_half(&mut self.ext_flows, self.cap, |e| e.last_ts);
        self.forgotten += forget_oldest_half(&mut self.ext_pairs, self.cap, |p| p.last_ts);
        moved
    }

    /// Every pair between the hosts of `moved` that sent enough to matter
    /// (the smaller of the exfiltration thresholds).
    fn external_pairs(
        &self,
        moved: &BTreeSet<(IpAddr, IpAddr)>,
        cfg: &crate::DetectConfig,
    ) -> Vec<(PairKey, PairStats)> {
        let least = cfg.exfil_bytes_medical.min(cfg.exfil_bytes_other);
        let mut out = Vec::new();
        for &(local, ext) in moved {
            let group: Vec<(PairKey, PairStats)> = [(local, ext), (ext, local)]
                .into_iter()
                .flat_map(|(c, s)| self.ext_pairs.range(pairs_between(c, Some(s))))
                .map(|(k, p)| (*k, p.clone()))
                .collect();
            let sent: u64 = group
                .iter()
                .map(|(k, p)| {
                    if k.client == local {
                        p.payload[0]
                    } else {
                        p.payload[1]
                    }
                })
                .sum();
            if sent >= least {
                out.extend(group);
            }
        }
        out
    }

    /// Every pair of `clients`, in key order, as the scan rules read them.
    fn pairs_of(&self, clients: &BTreeSet<IpAddr>) -> Vec<(PairKey, PairStats)> {
        let mut out = Vec::new();
        for &client in clients {
            let pairs = self.probes.range(pairs_between(client, None));
            out.extend(pairs.map(|(k, p)| (*k, p.stats())));
        }
        out
    }
}

impl Probe {
    /// The pair got somewhere: as the digest's rules see it, a pair failed
    /// when no flow of it was established or carried client data.
    fn ok(&self) -> bool {
        self.established || self.client_data
    }

    fn stats(&self) -> PairStats {
        PairStats::probe(
            self.established,
            self.client_data,
            self.first_ts,
            self.last_ts,
            self.first_frame,
        )
    }
}

/// Folds `p` into the pair's probe (idempotent: a flow may come again).
/// Whether the pair is new or newly established.
fn merge(map: &mut BTreeMap<PairKey, Probe>, key: PairKey, p: Probe) -> bool {
    let mut fresh = false;
    let e = map.entry(key).or_insert_with(|| {
        fresh = true;
        p
    });
    fresh |= p.established && !e.established;
    e.established |= p.established;
    e.client_data |= p.client_data;
    if p.first_ts < e.first_ts {
        e.first_ts = p.first_ts;
        e.first_frame = p.first_frame;
    }
    e.last_ts = e.last_ts.max(p.last_ts);
    fresh
}

/// The keys of every pair from `client` (to `server` if given), for a
/// range of a map ordered by [`PairKey`].
fn pairs_between(client: IpAddr, server: Option<IpAddr>) -> RangeInclusive<PairKey> {
    let (lo, hi) = match server {
        Some(s) => (s, s),
        None => (
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::from(u128::MAX)),
        ),
    };
    let key = |server, proto, port| PairKey {
        client,
        server,
        proto,
        port,
    };
    key(lo, 0, 0)..=key(hi, u8::MAX, u16::MAX)
}

/// Past `cap` entries, forgets the least recently seen half of `map`
/// (`last_ts` of each); returns how many.
fn forget_oldest_half<K: Ord, V>(
    map: &mut BTreeMap<K, V>,
    cap: usize,
    last_ts: impl Fn(&V) -> i64,
) -> u64 {
    if map.len() <= cap {
        return 0;
    }
    let mut last: Vec<i64> = map.values().map(&last_ts).collect();
    let mid = last.len() / 2;
    let cut = *last.select_nth_unstable(mid).1;
    let before = map.len();
    map.retain(|_, v| last_ts(v) > cut);
    (before - map.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DetectConfig, FlowDigest};

    fn fact(client: [u8; 4], server: [u8; 4], port: u16, ok: bool, ts: i64) -> FlowFact {
        FlowFact {
            proto: 6,
            client: IpAddr::from(client),
            server: IpAddr::from(server),
            server_port: port,
            payload: [0, 0],
            packets: [1, 1],
            first_ts: ts,
            last_ts: ts + 1000,
            first_frame: (0, ts as u64),
            answered: true,
            established: ok,
            refused: !ok,
            half_open: false,
        }
    }

    fn run(live: &mut LiveRules, flows: &[FlowFact]) -> Vec<Finding> {
        let now = flows.iter().map(|f| f.last_ts).max().unwrap_or(0);
        run_at(live, flows, now)
    }

    fn run_at(live: &mut LiveRules, flows: &[FlowFact], now: i64) -> Vec<Finding> {
        let mut indicators = ioc::Indicators::default();
        assert_eq!(indicators.add_list("185.220.101.7\n", "test"), 0);
        run_with(live, flows, now, &indicators)
    }

    fn run_with(
        live: &mut LiveRules,
        flows: &[FlowFact],
        now: i64,
        indicators: &ioc::Indicators,
    ) -> Vec<Finding> {
        let (digest, local, config) = (
            FlowDigest::new(0),
            Default::default(),
            DetectConfig::default(),
        );
        let zones = Default::default();
        let input = DetectInput {
            site: "t",
            inputs: &[],
            devices: &[],
            observations: &[],
            digest: &digest,
            local: &local,
            config: &config,
            indicators,
            zones: &zones,
            geo: None,
            baselines: None,
            threads: 1,
        };
        let flows: Vec<LiveFlow> = flows
            .iter()
            .map(|f| LiveFlow {
                fact: *f,
                ended: false,
            })
            .collect();
        live.tick(&input, &flows, now)
    }

    #[test]
    fn refused_vnc_logins_count_as_they_arrive() {
        use wardwatch_proto::obs::ObsKind;
        let refusal = |i: u64, kind: ObsKind| Observation {
            origin: wardwatch_proto::Origin {
                input: 0,
                frame: i,
                ts_ns: i as i64,
            },
            client: (IpAddr::from([10, 0, 0, 9]), 40000),
            server: (IpAddr::from([10, 0, 0, 1]), 5900),
            subject: wardwatch_proto::Side::Server,
            mac: None,
            kind,
        };
        let vnc = || {
            ObsKind::Vnc(Box::new(wardwatch_proto::obs::VncFact {
                version: "RFB 003.008".into(),
                client_version: Some("RFB 003.008".into()),
                offered: vec![2],
                chosen: Some(2),
                password: Default::default(),
                accepted: Some(false),
                desktop: None,
                screen: None,
            }))
        };
        let (digest, local, config, indicators, zones) = (
            FlowDigest::new(0),
            Default::default(),
            DetectConfig::default(),
            ioc::Indicators::default(),
            Default::default(),
        );
        let mut live = LiveRules::new(1000);
        let mut tick = |observations: &[Observation]| {
            let input = DetectInput {
                site: "t",
                inputs: &[],
                devices: &[],
                observations,
                digest: &digest,
                local: &local,
                config: &config,
                indicators: &indicators,
                zones: &zones,
                geo: None,
                baselines: None,
                threads: 1,
            };
            live.tick(&input, &[], 0)
                .into_iter()
                .filter(|f| f.rule == "failed-logins")
                .count()
        };
        // Four refusals over two ticks: not yet; the fifth completes it.
        assert_eq!(tick(&[refusal(1, vnc()), refusal(2, vnc())]), 0);
        assert_eq!(tick(&[refusal(3, vnc()), refusal(4, vnc())]), 0);
        assert_eq!(tick(&[refusal(5, vnc())]), 1);
    }

    #[test]
    fn a_scan_is_found_at_the_tick_that_completes_it() {
        let mut live = LiveRules::new(1000);
        let probe = |port: u16| fact([10, 0, 0, 9], [10, 0, 0, 1], port, false, port as i64);
        // 24 refused ports over two ticks: not yet a scan.
        let first: Vec<_> = (1..=12).map(probe).collect();
        assert!(run(&mut live, &first).is_empty());
        let second: Vec<_> = (13..=24).map(probe).collect();
        assert!(run(&mut live, &second).is_empty());
        // The same flows again (still open) change nothing.
        assert!(run(&mut live, &second).is_empty());
        // The 25th completes it; the finding spans every probe.
        let f = run(&mut live, &[probe(25)]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].kind.as_str(), f[0].rule.as_str()),
            ("port-scan", "vertical-scan")
        );
        assert_eq!(f[0].ip.as_deref(), Some("10.0.0.9"));
        assert_eq!(f[0].count, 25);
    }

    #[test]
    fn a_client_whose_connections_succeed_is_no_scanner() {
        let mut live = LiveRules::new(1000);
        // The SYN alone, then the same flow established at the next tick.
        let syns: Vec<_> = (1..=40)
            .map(|p| fact([10, 0, 0, 9], [10, 0, 0, 1], p, false, p as i64))
            .collect();
        let done: Vec<_> = syns
            .iter()
            .map(|f| FlowFact {
                established: true,
                ..*f
            })
            .collect();
        let mut all = run(&mut live, &syns[..20]);
        all.extend(run(&mut live, &done[..20]));
        all.extend(run(&mut live, &done[20..]));
        assert!(all.is_empty(), "{all:?}");
    }

    #[test]
    fn memory_stays_under_the_cap() {
        let mut live = LiveRules::new(100);
        for t in 0..1000u16 {
            let [a, b] = t.to_be_bytes();
            run(
                &mut live,
                &[fact([10, 1, a, b], [10, 0, 0, 1], 80, true, t as i64)],
            );
            assert!(live.pairs() <= 100);
        }
        assert!(live.forgotten >= 900);
    }

    #[test]
    fn unanswered_attempts_wait_for_their_answer() {
        let mut live = LiveRules::new(1000);
        // 30 SYNs to 30 servers, no answer yet: a page loading from many
        // hosts looks like this for a round trip.
        let syns: Vec<_> = (1..=30u8)
            .map(|h| FlowFact {
                answered: false,
                refused: false,
                half_open: false,
                ..fact([10, 0, 0, 9], [192, 0, 2, h], 443, false, 0)
            })
            .collect();
        assert!(run(&mut live, &syns).is_empty());
        // Answered within the grace: nothing.
        let done: Vec<_> = syns
            .iter()
            .map(|f| FlowFact {
                established: true,
                answered: true,
                ..*f
            })
            .collect();
        assert!(run_at(&mut live, &done, PROBE_GRACE_NS / 2).is_empty());
        assert!(run_at(&mut live, &[], 2 * PROBE_GRACE_NS).is_empty());
        // Never answered: a sweep, once the grace has passed.
        let mut live = LiveRules::new(1000);
        assert!(run(&mut live, &syns).is_empty());
        assert!(run_at(&mut live, &[], PROBE_GRACE_NS / 2).is_empty());
        let f = run_at(&mut live, &[], PROBE_GRACE_NS + 1000);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "horizontal-scan");
    }

    #[test]
    fn one_connection_completes_exposure_and_indicator_findings() {
        let mut live = LiveRules::new(1000);
        // A web server on the site answers an internet client: exposed.
        let inbound = |c: u8, ts| FlowFact {
            payload: [100, 100],
            ..fact([8, 8, 4, c], [10, 0, 0, 5], 443, true, ts)
        };
        let f = run(&mut live, &[inbound(1, 10)]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].kind, "internet-exposed");
        assert_eq!(f[0].ip.as_deref(), Some("10.0.0.5"));
        // More clients of the same port: no new line per tick.
        assert!(run(&mut live, &[inbound(2, 20), inbound(3, 30)]).is_empty());
        // The same flow again: nothing new.
        assert!(run(&mut live, &[inbound(1, 10)]).is_empty());
        // A local host connects to a listed address: ioc-match, once.
        let out = fact([10, 0, 0, 7], [185, 220, 101, 7], 443, true, 40);
        let f = run(&mut live, &[out]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].kind.as_str(), f[0].peer.as_deref()),
            ("ioc-match", Some("185.220.101.7"))
        );
        assert!(run(&mut live, &[out]).is_empty());
    }

    #[test]
    fn an_upload_is_reported_when_its_bytes_cross_the_threshold() {
        let mut live = LiveRules::new(1000);
        let mb = 1u64 << 20;
        // One long upload from a site host, seen at each tick with the
        // bytes so far (the same flow again: counted once).
        let upload = |sent: u64, ts: i64| FlowFact {
            payload: [sent, sent / 100],
            last_ts: ts,
            ..fact([10, 0, 0, 7], [45, 155, 205, 10], 443, true, 0)
        };
        for (i, sent) in [50, 100, 150, 199].iter().enumerate() {
            let f = run(&mut live, &[upload(sent * mb, i as i64 + 1)]);
            assert!(f.is_empty(), "{f:?}");
        }
        // A second connection adds 2 MB: 201 MB in all crosses 200 MB.
        let second = FlowFact {
            first_frame: (0, 999),
            ..upload(2 * mb, 10)
        };
        let f = run(&mut live, &[upload(199 * mb, 10), second]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            (f[0].kind.as_str(), f[0].ip.as_deref()),
            ("exfiltration", Some("10.0.0.7"))
        );
        assert_eq!(f[0].count, 2, "{f:?}");
        assert!(f[0].summary.contains("201.0 MB"), "{}", f[0].summary);
    }
}
