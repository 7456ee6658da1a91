//! Per-device baselines: the internet peers a device talks to, the services
//! it offers and the bytes it sends to the internet per hour, learned over a
//! window (`wardwatch baseline learn CAPTURE…`, or continuously by `watch`)
//! and kept in `<data-dir>/baselines.json`. Once a device's baseline spans
//! `baseline_window_s`, its traffic is compared with it: an hour's upload
//! far above its learned peak, a medical device's new internet peer, a
//! medical device offering a service it never offered.
//!
//! Keyed by device id (own MAC where seen), so a device keeps its baseline
//! when DHCP gives it another address.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use wardwatch_model::time::rfc3339;

use crate::behaviour::{mb, pair_origin, remedy};
use crate::digest::{PairKey, PairStats, HOUR_NS};
use crate::{Context, DetectInput, Findings, Raise, Severity};

/// The file's schema name.
pub const SCHEMA: &str = "wardwatch.baselines/1";
/// Most internet peers remembered per device; past it, new peers are not
/// reported for that device (it talks to too many to tell).
const MAX_PEERS: usize = 512;
/// Most served ports remembered per device.
const MAX_PORTS: usize = 64;
/// Most hourly totals kept per device (four weeks).
const MAX_HOURS: usize = 24 * 28;

/// All devices' baselines.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Baselines {
    /// [`SCHEMA`].
    pub schema: String,
    /// By device id (or address, for traffic of no known device).
    pub devices: BTreeMap<String, DeviceBaseline>,
}

/// What one device did while learning.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DeviceBaseline {
    /// Its address when last learned (for people; matching is by id).
    pub ip: String,
    /// First and last traffic learned (RFC 3339).
    pub first_seen: String,
    /// Last traffic learned.
    pub last_seen: String,
    /// Same, nanoseconds since the epoch.
    pub first_ns: i64,
    /// Last traffic learned, ns.
    pub last_ns: i64,
    /// Bytes sent to internet addresses per hour (hour index = time / 1 h);
    /// hours with none are absent.
    pub hourly_out: BTreeMap<i64, u64>,
    /// Internet addresses it exchanged data with.
    pub peers: BTreeSet<IpAddr>,
    /// More peers were seen than the 512 kept.
    pub peers_overflow: bool,
    /// Services it answered, as `tcp/104`.
    pub ports: BTreeSet<String>,
    /// More ports were seen than the 64 kept.
    pub ports_overflow: bool,
}

impl DeviceBaseline {
    /// Seconds of traffic learned.
    pub fn span_s(&self) -> f64 {
        (self.last_ns - self.first_ns) as f64 / 1e9
    }

    /// The largest hourly upload to the internet learned.
    pub fn peak_hour(&self) -> u64 {
        self.hourly_out.values().copied().max().unwrap_or(0)
    }
}

fn service(k: &PairKey) -> String {
    let p = match k.proto {
        6 => "tcp",
        17 => "udp",
        _ => "ip",
    };
    format!("{p}/{}", k.port)
}

impl Baselines {
    /// Reads `path`; a missing file is an empty set, a bad one an error
    /// naming it.
    pub fn load(path: &Path) -> Result<Baselines, String> {
        match std::fs::read(path) {
            Ok(b) => {
                let v: Baselines =
                    serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", path.display()))?;
                if v.schema != SCHEMA {
                    return Err(format!(
                        "{}: schema {:?}, expected {SCHEMA}",
                        path.display(),
                        v.schema
                    ));
                }
                Ok(v)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Baselines {
                schema: SCHEMA.into(),
                ..Default::default()
            }),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes `path` whole or not at all (a temporary file renamed).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, body)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Learns the site-local devices' traffic of one analysis.
    pub fn learn(&mut self, input: &DetectInput<'_>) {
        self.schema = SCHEMA.into();
        let ctx = Context::new(input);
        let key = |ip: &IpAddr| {
            ctx.device(ip)
                .map_or_else(|| ip.to_string(), |d| d.id.clone())
        };
        let touch = |b: &mut Baselines, ip: &IpAddr, first: i64, last: i64| {
            let d = b.devices.entry(key(ip)).or_default();
            if d.first_ns == 0 || first < d.first_ns {
                d.first_ns = first;
                d.first_seen = rfc3339(first);
            }
            if last > d.last_ns {
                d.last_ns = last;
                d.last_seen = rfc3339(last);
                d.ip = ip.to_string();
            }
        };
        for (k, p) in &input.digest.pairs {
            let talked = p.established > 0 || p.payload[1] > 0;
            for (me, other, served) in [(k.client, k.server, false), (k.server, k.client, true)] {
                if !ctx.is_local(&me) || !talked {
                    continue;
                }
                touch(self, &me, p.first_ts, p.last_ts);
                let Some(d) = self.devices.get_mut(&key(&me)) else {
                    continue;
                };
                if ctx.is_public(&other) && !d.peers.contains(&other) {
                    if d.peers.len() < MAX_PEERS {
                        d.peers.insert(other);
                    } else {
                        d.peers_overflow = true;
                    }
                }
                let svc = service(k);
                if served && !d.ports.contains(&svc) {
                    if d.ports.len() < MAX_PORTS {
                        d.ports.insert(svc);
                    } else {
                        d.ports_overflow = true;
                    }
                }
            }
        }
        for ((ip, hour), b) in &input.digest.hourly {
            if !ctx.is_local(ip) {
                continue;
            }
            touch(self, ip, hour * HOUR_NS, hour * HOUR_NS);
            if let Some(d) = self.devices.get_mut(&key(ip)) {
                *d.hourly_out.entry(*hour).or_default() += b.out;
                while d.hourly_out.len() > MAX_HOURS {
                    d.hourly_out.pop_first();
                }
            }
        }
    }

    /// The baseline of the device at `ip`, when learned long enough.
    fn ready<'b>(&'b self, ctx: &Context<'_>, ip: &IpAddr) -> Option<&'b DeviceBaseline> {
        let key = ctx
            .device(ip)
            .map_or_else(|| ip.to_string(), |d| d.id.clone());
        self.devices
            .get(&key)
            .filter(|d| d.span_s() >= ctx.config().baseline_window_s)
    }
}

/// Whether `ip` has a ready baseline (the in-capture learning rules then
/// stand aside for it).
pub(crate) fn has_ready(ctx: &Context<'_>, ip: &IpAddr) -> bool {
    ctx.input
        .baselines
        .is_some_and(|b| b.ready(ctx, ip).is_some())
}

/// Compares the traffic with the learned baselines.
pub(crate) fn deviations(
    ctx: &Context<'_>,
    pairs: &[(&PairKey, &PairStats)],
    out: &mut Findings<'_>,
) {
    let Some(base) = ctx.input.baselines else {
        return;
    };
    let cfg = ctx.config();
    // The main internet peer per local host (most bytes sent), for naming.
    let mut top: BTreeMap<IpAddr, (u64, IpAddr, &PairStats)> = BTreeMap::new();
    for (k, p) in pairs {
        if ctx.is_local(&k.client) && ctx.is_public(&k.server) {
            let e = top.entry(k.client).or_insert((0, k.server, p));
            if p.payload[0] > e.0 {
                *e = (p.payload[0], k.server, p);
            }
        }
    }
    // Hours far above the learned peak.
    let mut hours: Vec<(&(IpAddr, i64), &crate::digest::HourBytes)> =
        ctx.input.digest.hourly.iter().collect();
    hours.sort_unstable_by_key(|(k, _)| **k);
    for ((ip, hour), b) in hours {
        let Some(d) = base.ready(ctx, ip) else {
            continue;
        };
        let peak = d.peak_hour();
        let limit = ((peak as f64 * cfg.baseline_factor) as u64).max(cfg.baseline_min_bytes);
        if b.out <= limit {
            continue;
        }
        let medical = ctx.is_medical(ip) || ctx.speaks_clinical(ip);
        let peer = top.get(ip);
        let start = hour * HOUR_NS;
        out.raise(Raise {
            kind: "exfiltration",
            rule: "outbound-above-baseline".into(),
            severity: if medical { Severity::High } else { Severity::Medium },
            subject: *ip,
            peer: peer.map(|t| t.1),
            peers: Vec::new(),
            peer_count: None,
            summary: format!(
                "Sent {} to the internet in the hour from {}; its learned hourly peak is {} ({} hours with internet uploads in {} learned)",
                mb(b.out),
                rfc3339(start).get(..16).unwrap_or_default(),
                mb(peak),
                d.hourly_out.len(),
                span_text(d.span_s())
            ),
            detail: "largest upload to the internet that hour".into(),
            origin: peer.and_then(|t| pair_origin(t.2)),
            span: (start, start + HOUR_NS - 1),
            count: 1,
            remediation: remedy::EXFIL,
        });
    }
    // New internet peers and new services of medical devices.
    for (k, p) in pairs {
        if p.established == 0 {
            continue;
        }
        if ctx.is_local(&k.client) && ctx.is_public(&k.server) && clinical(ctx, &k.client) {
            if let Some(d) = base.ready(ctx, &k.client) {
                if !d.peers_overflow && !d.peers.contains(&k.server) {
                    out.raise(Raise {
                        kind: "new-peer",
                        rule: "baseline-new-external-peer".into(),
                        severity: Severity::Medium,
                        subject: k.client,
                        peer: Some(k.server),
                        peers: Vec::new(),
                        peer_count: None,
                        summary: format!(
                            "Medical device talked to internet address {}, not among the {} it used in {} learned",
                            k.server,
                            d.peers.len(),
                            span_text(d.span_s())
                        ),
                        detail: "first connection with the new peer".into(),
                        origin: pair_origin(p),
                        span: (p.first_ts, p.last_ts),
                        count: p.conns,
                        remediation: remedy::NEW_PEER,
                    });
                }
            }
        }
        if ctx.is_local(&k.server) && clinical(ctx, &k.server) {
            if let Some(d) = base.ready(ctx, &k.server) {
                let svc = service(k);
                if !d.ports_overflow && !d.ports.contains(&svc) {
                    out.raise(Raise {
                        kind: "new-peer",
                        rule: "baseline-new-service".into(),
                        severity: Severity::Medium,
                        subject: k.server,
                        peer: Some(k.client),
                        peers: Vec::new(),
                        peer_count: None,
                        summary: format!(
                            "Medical device answered on {svc}, a service it never offered while learning ({})",
                            if d.ports.is_empty() {
                                "none".to_string()
                            } else {
                                d.ports.iter().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                        detail: "first connection to the new service".into(),
                        origin: pair_origin(p),
                        span: (p.first_ts, p.last_ts),
                        count: p.conns,
                        remediation: remedy::NEW_PEER,
                    });
                }
            }
        }
    }
}

/// "5.0 h" or "3.2 days".
fn span_text(s: f64) -> String {
    if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

fn clinical(ctx: &Context<'_>, ip: &IpAddr) -> bool {
    ctx.is_medical(ip) || ctx.speaks_clinical(ip)
}
