//! Plain-text renderings of a report and of flow lists.

use std::fmt::Write as _;

use wardwatch_engine::FlowRecord;
use wardwatch_model::{time::rfc3339, Report};

fn human_bytes(b: u64) -> String {
    const U: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i < U.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Vendor, model and firmware as far as known.
fn identity(d: &wardwatch_model::Device) -> String {
    [
        d.vendor.as_deref(),
        d.model.as_deref(),
        d.firmware.as_deref(),
    ]
    .iter()
    .flatten()
    .copied()
    .collect::<Vec<_>>()
    .join(" ")
}

/// The report as a terminal table.
pub fn render(r: &Report) -> String {
    let mut o = String::new();
    let s = &r.stats;
    let _ = writeln!(
        o,
        "wardwatch report · site {} · {} input(s)",
        r.site,
        r.inputs.len()
    );
    for i in &r.inputs {
        let _ = writeln!(
            o,
            "  {}  {} packets, {}",
            i.path,
            i.packets,
            human_bytes(i.bytes)
        );
    }
    let _ = writeln!(
        o,
        "\nTRAFFIC  {} packets · {} · {} flows · {:.1} s",
        s.packets,
        human_bytes(s.bytes),
        s.flows,
        s.duration_s
    );
    let _ = writeln!(
        o,
        "  decode errors {} · truncated {} · duplicates dropped {} · reassembly gaps {} · evicted flows {}{}",
        s.decode_errors,
        s.truncated,
        s.duplicates_dropped,
        s.reassembly_gaps,
        s.evicted_flows,
        s.kernel_drops
            .map(|k| format!(" · kernel drops {k}"))
            .unwrap_or_default()
    );
    if s.fragments_reassembled > 0 || s.tunneled > 0 {
        let _ = writeln!(
            o,
            "  fragmented datagrams reassembled {} · frames inside tunnels {}",
            s.fragments_reassembled, s.tunneled
        );
    }

    // The riskiest 5 % first, each rank explained.
    let top: Vec<_> = r.devices.iter().filter(|d| d.risk.top5).collect();
    if !top.is_empty() {
        let _ = writeln!(
            o,
            "\nRISK: TOP 5 % ({} of {} devices)",
            top.len(),
            r.devices.len()
        );
        for d in top {
            let identity = identity(d);
            let _ = writeln!(
                o,
                "  #{} {:>5.1}  {} {} ({})",
                d.risk.rank,
                d.risk.score,
                d.ips.first().map(String::as_str).unwrap_or("-"),
                if identity.is_empty() { "?" } else { &identity },
                d.category
            );
            let mut fx: Vec<_> = d.risk.factors.iter().collect();
            fx.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
            for f in fx.iter().take(5) {
                let _ = writeln!(
                    o,
                    "        +{:<5.1} {}: {}",
                    f.contribution, f.name, f.detail
                );
            }
        }
    }

    // Medical devices first, then by category, then by risk.
    let mut devs: Vec<_> = r.devices.iter().collect();
    devs.sort_by_key(|d| (d.medical != Some(true), d.category.clone()));
    let _ = writeln!(o, "\nDEVICES ({})", devs.len());
    if devs.is_empty() {
        let _ = writeln!(o, "  none on local address space");
    } else {
        let _ = writeln!(
            o,
            "  {:>5} {:<26} {:<17} {:>4}  {:<40} {:<24} {:<22} {:>8} {:>9}",
            "RISK",
            "IP",
            "MAC",
            "VLAN",
            "VENDOR MODEL FIRMWARE",
            "CATEGORY",
            "SERVICES",
            "PACKETS",
            "BYTES"
        );
        for d in devs {
            let services: Vec<String> = d
                .services
                .iter()
                .map(|s| match &s.proto {
                    Some(p) => format!("{p}/{}", s.port),
                    None => format!("{}/{}", s.transport, s.port),
                })
                .collect();
            let identity = identity(d);
            let category = match d.medical {
                Some(true) => format!("{} (med)", d.category),
                _ => d.category.clone(),
            };
            let _ = writeln!(
                o,
                "  {:>5.1} {:<26} {:<17} {:>4}  {:<40} {:<24} {:<22} {:>8} {:>9}",
                d.risk.score,
                cut(&d.ips.join(","), 26),
                d.mac.as_deref().unwrap_or("(routed)"),
                d.vlan.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                cut(if identity.is_empty() { "?" } else { &identity }, 40),
                cut(&category, 24),
                cut(&services.join(" "), 22),
                d.traffic.packets_in + d.traffic.packets_out,
                human_bytes(d.traffic.bytes_in + d.traffic.bytes_out)
            );
        }
    }
    if !r.top_talkers.is_empty() {
        let _ = writeln!(o, "\nTOP TALKERS");
        for t in &r.top_talkers {
            let _ = writeln!(
                o,
                "  {:<40} {:>10} {:>9} packets {:>6} flows",
                t.ip,
                human_bytes(t.bytes),
                t.packets,
                t.flows
            );
        }
    }
    let by = |s: &str| r.findings.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        o,
        "\nFINDINGS ({}: {} critical, {} high, {} medium, {} low)",
        r.findings.len(),
        by("critical"),
        by("high"),
        by("medium"),
        by("low")
    );
    // A finding on a device known by its MAC alone (a Wi-Fi station) is
    // shown by the MAC.
    let subject = |f: &wardwatch_model::Finding| -> String {
        f.ip.clone()
            .or_else(|| {
                let id = f.device.as_deref()?;
                r.devices.iter().find(|d| d.id == id)?.mac.clone()
            })
            .unwrap_or_else(|| "-".into())
    };
    for f in &r.findings {
        let peer = match (f.peer.as_deref(), f.peer_count) {
            (Some(p), n) if n > 1 => format!(" <-> {p} (+{} more)", n - 1),
            (Some(p), _) => format!(" <-> {p}"),
            (None, _) => String::new(),
        };
        let times = if f.count > 1 {
            format!(" (x{})", f.count)
        } else {
            String::new()
        };
        let status = if f.status == "suppressed" {
            " [suppressed]"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  [{}] {}/{} {}{}{}{}",
            f.severity,
            f.kind,
            f.rule,
            subject(f),
            peer,
            times,
            status
        );
        let _ = writeln!(o, "      {}", f.summary);
        if let Some(e) = f.evidence.first() {
            let _ = writeln!(
                o,
                "      evidence: {} frame {}: {}",
                e.input, e.frame, e.detail
            );
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(o, "\nINPUT WARNINGS");
        for w in &r.warnings {
            let _ = writeln!(o, "  {}: byte {}: {}", w.input, w.offset, w.message);
        }
    }
    o
}

fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmp6".into(),
        n => n.to_string(),
    }
}

fn ep(e: &wardwatch_flow::Endpoint) -> String {
    match e.addr {
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", e.port),
        std::net::IpAddr::V4(a) => format!("{a}:{}", e.port),
    }
}

/// Flows, one per line.
pub fn render_flows(flows: &[FlowRecord]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<5} {:<45} {:<45} {:>7} {:>10} {:>7} {:>10}  FIRST",
        "PROTO", "CLIENT", "SERVER", "PKTS>", "BYTES>", "PKTS<", "BYTES<"
    );
    for f in flows {
        let _ = writeln!(
            o,
            "{:<5} {:<45} {:<45} {:>7} {:>10} {:>7} {:>10}  {}",
            proto_name(f.key.proto),
            ep(&f.client),
            ep(&f.server),
            f.packets[0],
            f.bytes[0],
            f.packets[1],
            f.bytes[1],
            rfc3339(f.first_ts)
        );
    }
    o
}

/// Flows as a JSON array.
pub fn flows_json(flows: &[FlowRecord]) -> String {
    let v: Vec<serde_json::Value> = flows
        .iter()
        .map(|f| {
            serde_json::json!({
                "proto": proto_name(f.key.proto),
                "vlan": f.key.vlan,
                "client": ep(&f.client),
                "server": ep(&f.server),
                "packets": f.packets,
                "bytes": f.bytes,
                "first_seen": rfc3339(f.first_ts),
                "last_seen": rfc3339(f.last_ts),
                "first_frame": {"input": f.first_frame.0, "frame": f.first_frame.1},
            })
        })
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
}
