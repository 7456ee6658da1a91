//! `wardwatch`: the command line. Wiring only; the work is in the crates.

mod bench;
mod json;
mod pretty;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use wardwatch_engine::{analyze_files, analyze_live, EngineConfig, EngineError, Outcome};
use wardwatch_inventory::Cidr;

/// Many small, short-lived allocations (dissector fields, evidence, the
/// report): mimalloc serves them with fewer instructions and less memory
/// held than the system allocator (see the commit that chose it).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README.
mod exit {
    /// A capture could not be read at all (missing, a directory, not a capture).
    pub const INPUT: u8 = 3;
    /// The report could not be written.
    pub const OUTPUT: u8 = 4;
    /// Live capture failed (no such interface, no permission, bad filter).
    pub const LIVE: u8 = 5;
}

/// The demo capture, shipped inside the binary (see samples/README.md).
const DEMO_PCAP: &[u8] = include_bytes!("../../../samples/demo-hospital.pcapng");
/// Intelligence the demo uses when the data directory has none (see
/// samples/intel/README.md).
const DEMO_CSAF: &[u8] = include_bytes!("../../../samples/intel/icsma-18-156-01.json");
const DEMO_KEV: &[u8] = include_bytes!("../../../samples/intel/kev-subset.json");

/// The bundled demo feeds.
fn demo_intel() -> Option<wardwatch_intel::Intel> {
    let mut i = wardwatch_intel::Intel::default();
    let (kev, date) = wardwatch_intel::feeds::read_kev(DEMO_KEV, "kev-subset.json").ok()?;
    i.kev = kev;
    i.kev_date = Some(date);
    i.advisories
        .push(wardwatch_intel::feeds::read_csaf(DEMO_CSAF, "icsma-18-156-01.json").ok()?);
    i.reindex(wardwatch_inventory::kb::kb());
    Some(i)
}

#[derive(Parser)]
#[command(
    name = "wardwatch",
    version,
    about = "Passive security monitor for hospital networks"
)]
struct Cli {
    /// Directory for all state (database, feeds, config).
    #[arg(
        long,
        global = true,
        env = "WARDWATCH_DATA_DIR",
        default_value = "./wardwatch-data"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
struct AnalyzeOpts {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write the report here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Flow worker threads (0 = one per core for large inputs, else 1).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Site name; scopes device and finding ids (default: `site` in
    /// wardwatch.toml, else "default").
    #[arg(long)]
    site: Option<String>,
    /// An address block of the site besides the private ranges (repeatable).
    #[arg(long = "local-net", value_name = "CIDR")]
    local_net: Vec<String>,
    /// Keep frames that arrive twice (mirror duplicates) instead of dropping them.
    #[arg(long)]
    no_dedup: bool,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Skip the protocol dissectors: flows, reassembly (bytes dropped) and
    /// inventory from L2–L4 only. The engine-alone benchmark baseline.
    #[arg(long)]
    no_dissect: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Analyse captures (one site, merged by time) or a live interface; print one report.
    Analyze {
        /// pcap, pcapng, or gzip-compressed captures.
        #[arg(required_unless_present = "iface")]
        captures: Vec<PathBuf>,
        /// Capture live from this interface instead.
        #[arg(short = 'i', long = "iface", conflicts_with = "captures")]
        iface: Option<String>,
        /// BPF filter for live capture.
        #[arg(long, requires = "iface")]
        filter: Option<String>,
        /// How long to capture live (e.g. 30s, 5m).
        #[arg(long, default_value = "30s", requires = "iface")]
        duration: String,
        #[command(flatten)]
        opts: AnalyzeOpts,
    },
    /// Watch a live interface: each new finding is written at once as one
    /// JSON line (with the seconds since its last evidence packet).
    Watch {
        #[command(flatten)]
        args: WatchArgs,
    },
    /// Analyse the bundled sample capture of a small hospital network.
    Demo {
        #[command(flatten)]
        opts: AnalyzeOpts,
    },
    /// The device inventory of captures, for a CMMS (CSV or JSON), and
    /// reconciliation with the hospital's asset list.
    Inventory {
        #[command(subcommand)]
        cmd: InventoryCmd,
    },
    /// Indicators of compromise (STIX 2.1 bundles, lists of IPs, domains,
    /// URLs, JA4) kept in the data directory and matched by analyze.
    Indicators {
        #[command(subcommand)]
        cmd: IndicatorsCmd,
    },
    /// Segmentation: derive a least-privilege policy from traffic, replay
    /// traffic against a policy, export it for enforcement.
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// Per-device baselines (internet peers, services, bytes per hour)
    /// kept in <data-dir>/baselines.json and compared by analyze.
    Baseline {
        #[command(subcommand)]
        cmd: BaselineCmd,
    },
    /// Vulnerability intelligence feeds in the data directory.
    Intel {
        #[command(subcommand)]
        cmd: IntelCmd,
    },
    /// Benchmarks of the stages without a peer (not part of the tests).
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
    /// List the flows of captures (one line each; JSON with --format json).
    Flows {
        /// Captures.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ListFormat {
    Table,
    Json,
    Csv,
}

#[derive(Subcommand)]
enum InventoryCmd {
    /// Every device of the captures with vendor, model, firmware, category,
    /// criticality and risk.
    List {
        /// Captures (one site).
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Reconciles a CMMS / asset-management CSV export with the devices of
    /// the captures: matched, seen but not listed (shadow), listed but never
    /// seen. The list is kept in the data directory (assets.csv).
    Import {
        /// The asset list (CSV with a header row).
        file: PathBuf,
        /// Column mapping, e.g. --map mac="MAC Address" (fields: tag, serial,
        /// mac, ip, vendor, model, location, department).
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        /// Captures to reconcile with.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
}

/// Analysis options for commands that only need the inventory.
fn quiet_opts() -> AnalyzeOpts {
    AnalyzeOpts {
        format: Format::Table,
        out: None,
        threads: 0,
        site: None,
        local_net: Vec::new(),
        no_dedup: false,
        no_progress: true,
        no_dissect: false,
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn inventory_csv(r: &wardwatch_model::Report) -> String {
    let mut o = String::from(
        "id,mac,ips,vlan,hostname,vendor,model,firmware,serial,category,medical,criticality,os,risk_score,risk_rank,vulnerabilities,first_seen,last_seen\n",
    );
    for d in &r.devices {
        let cols = [
            d.id.clone(),
            d.mac.clone().unwrap_or_default(),
            d.ips.join(" "),
            d.vlan.map(|v| v.to_string()).unwrap_or_default(),
            d.hostname.clone().unwrap_or_default(),
            d.vendor.clone().unwrap_or_default(),
            d.model.clone().unwrap_or_default(),
            d.firmware.clone().unwrap_or_default(),
            d.serial.clone().unwrap_or_default(),
            d.category.clone(),
            d.medical.map(|m| m.to_string()).unwrap_or_default(),
            d.criticality.clone().unwrap_or_default(),
            d.os.clone().unwrap_or_default(),
            format!("{:.1}", d.risk.score),
            d.risk.rank.to_string(),
            d.vulnerabilities.len().to_string(),
            d.first_seen.clone(),
            d.last_seen.clone(),
        ];
        o.push_str(
            &cols
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        o.push('\n');
    }
    o
}

fn inventory_cmd(cmd: InventoryCmd, data_dir: &std::path::Path) -> Result<(), ExitCode> {
    let usage = |e: String| {
        eprintln!("wardwatch: error: {e}");
        ExitCode::from(2)
    };
    match cmd {
        InventoryCmd::List {
            captures,
            format,
            out,
        } => {
            let opts = AnalyzeOpts {
                out,
                ..quiet_opts()
            };
            let cfg = engine_config(&opts, 0, data_dir).map_err(usage)?;
            let outcome = analyze_files(&captures, &cfg).map_err(input_error)?;
            warn_issues(&outcome);
            match format {
                ListFormat::Csv => write_out(&inventory_csv(&outcome.report), opts.out.as_ref()),
                ListFormat::Json => {
                    let json = serde_json::to_string_pretty(&outcome.report.devices)
                        .map_err(|e| usage(e.to_string()))?;
                    write_out(&(json + "\n"), opts.out.as_ref())
                }
                ListFormat::Table => write_out(&table::render(&outcome.report), opts.out.as_ref()),
            }
        }
        InventoryCmd::Import {
            file,
            map,
            captures,
            format,
        } => {
            let mapping: Vec<(String, String)> = map
                .iter()
                .map(|m| {
                    m.split_once('=')
                        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                        .ok_or_else(|| format!("--map {m}: expected FIELD=COLUMN"))
                })
                .collect::<Result<_, _>>()
                .map_err(usage)?;
            let text = std::fs::read_to_string(&file).map_err(|e| {
                eprintln!("wardwatch: error: {}: {e}", file.display());
                ExitCode::from(exit::INPUT)
            })?;
            let assets =
                wardwatch_inventory::assets::read_assets(&text, &mapping).map_err(|e| {
                    eprintln!("wardwatch: error: {}: {e}", file.display());
                    ExitCode::from(exit::INPUT)
                })?;
            let opts = quiet_opts();
            let cfg = engine_config(&opts, 0, data_dir).map_err(usage)?;
            let outcome = analyze_files(&captures, &cfg).map_err(input_error)?;
            let devices = &outcome.report.devices;
            let rec = wardwatch_inventory::assets::reconcile(&assets, devices);
            // Keep the list for later runs and the dashboard.
            if std::fs::create_dir_all(data_dir)
                .and_then(|_| std::fs::write(data_dir.join("assets.csv"), &text))
                .is_err()
            {
                eprintln!(
                    "wardwatch: warning: cannot keep the list in {}",
                    data_dir.display()
                );
            }
            match format {
                ListFormat::Json | ListFormat::Csv => {
                    let json =
                        serde_json::to_string_pretty(&rec).map_err(|e| usage(e.to_string()))?;
                    write_out(&(json + "\n"), None)
                }
                ListFormat::Table => {
                    let by_id: std::collections::HashMap<&str, &wardwatch_model::Device> =
                        devices.iter().map(|d| (d.id.as_str(), d)).collect();
                    let mut o = format!(
                        "ASSET LIST {}: {} assets · {} matched · {} seen but not listed · {} listed but never seen\n",
                        file.display(),
                        assets.len(),
                        rec.matched.len(),
                        rec.shadow.len(),
                        rec.unseen.len()
                    );
                    o.push_str("\nMATCHED\n");
                    for (a, id, how) in &rec.matched {
                        let d = by_id.get(id.as_str());
                        o.push_str(&format!(
                            "  {:<12} by {:<6} {:<16} listed {} {} / seen {} {}\n",
                            a.tag.as_deref().unwrap_or("-"),
                            how,
                            d.and_then(|d| d.ips.first())
                                .map(String::as_str)
                                .unwrap_or("-"),
                            a.vendor.as_deref().unwrap_or("?"),
                            a.model.as_deref().unwrap_or("?"),
                            d.and_then(|d| d.vendor.as_deref()).unwrap_or("?"),
                            d.and_then(|d| d.model.as_deref()).unwrap_or("?"),
                        ));
                    }
                    o.push_str("\nSEEN BUT NOT LISTED (shadow devices)\n");
                    for id in &rec.shadow {
                        if let Some(d) = by_id.get(id.as_str()) {
                            o.push_str(&format!(
                                "  {:<16} {:<17} {} {} ({})\n",
                                d.ips.first().map(String::as_str).unwrap_or("-"),
                                d.mac.as_deref().unwrap_or("-"),
                                d.vendor.as_deref().unwrap_or("?"),
                                d.model.as_deref().unwrap_or(""),
                                d.category
                            ));
                        }
                    }
                    o.push_str("\nLISTED BUT NEVER SEEN\n");
                    for a in &rec.unseen {
                        o.push_str(&format!(
                            "  {:<12} {} {} {} {}\n",
                            a.tag.as_deref().unwrap_or("-"),
                            a.vendor.as_deref().unwrap_or("?"),
                            a.model.as_deref().unwrap_or("?"),
                            a.ip.as_deref().or(a.mac.as_deref()).unwrap_or("-"),
                            a.location.as_deref().unwrap_or("")
                        ));
                    }
                    write_out(&o, None)
                }
            }
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum PolicyFormat {
    Toml,
    Json,
    Nftables,
    Cisco,
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// A least-privilege allow-list per zone pair from observed traffic
    /// (zones from --zones, else one zone per device category).
    Synthesize {
        /// Captures (one site).
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Zones to use (a policy file; its allows are ignored).
        #[arg(long)]
        zones: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "toml")]
        format: PolicyFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replays captures against a policy: what it would have blocked.
    Simulate {
        /// The policy (TOML).
        #[arg(long)]
        policy: PathBuf,
        /// Captures.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Exports a policy as nftables, Cisco IOS ACLs or JSON (captures give
    /// the members of zones defined by VLAN or category).
    Export {
        /// The policy (TOML).
        #[arg(long)]
        policy: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "nftables")]
        format: PolicyFormat,
        /// Captures whose devices fill VLAN/category zones.
        captures: Vec<PathBuf>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn read_policy(p: &std::path::Path) -> Result<wardwatch_detect::segment::Policy, ExitCode> {
    let t = std::fs::read_to_string(p).map_err(|e| {
        eprintln!("wardwatch: error: {}: {e}", p.display());
        ExitCode::from(exit::INPUT)
    })?;
    wardwatch_detect::segment::Policy::parse(&t).map_err(|e| {
        eprintln!("wardwatch: error: {}: {e}", p.display());
        ExitCode::from(exit::INPUT)
    })
}

fn policy_cmd(cmd: PolicyCmd, data_dir: &std::path::Path) -> Result<(), ExitCode> {
    use wardwatch_detect::segment;
    let usage = |e: String| {
        eprintln!("wardwatch: error: {e}");
        ExitCode::from(2)
    };
    let run = |captures: &[PathBuf]| -> Result<(EngineConfig, Outcome), ExitCode> {
        let cfg = engine_config(&quiet_opts(), 0, data_dir).map_err(usage)?;
        if captures.is_empty() {
            let empty = Outcome {
                report: wardwatch_model::Report {
                    schema: wardwatch_model::REPORT_SCHEMA.into(),
                    generated_at: String::new(),
                    inputs: vec![],
                    stats: Default::default(),
                    site: cfg.site.clone(),
                    feeds: vec![],
                    devices: vec![],
                    findings: vec![],
                    top_talkers: vec![],
                    warnings: vec![],
                },
                flows: vec![],
                observations: vec![],
                digest: Default::default(),
                local: cfg.local.clone(),
                spent: Default::default(),
            };
            return Ok((cfg, empty));
        }
        let out = analyze_files(captures, &cfg).map_err(input_error)?;
        warn_issues(&out);
        Ok((cfg, out))
    };
    let render =
        |p: &segment::Policy,
         format: PolicyFormat,
         members: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>|
         -> Result<String, ExitCode> {
            Ok(match format {
                PolicyFormat::Toml => toml::to_string(p).map_err(|e| usage(e.to_string()))?,
                PolicyFormat::Json => {
                    serde_json::to_string_pretty(p).map_err(|e| usage(e.to_string()))? + "\n"
                }
                PolicyFormat::Nftables => segment::to_nftables(p, members),
                PolicyFormat::Cisco => segment::to_cisco(p, members),
            })
        };
    match cmd {
        PolicyCmd::Synthesize {
            captures,
            zones,
            format,
            out,
        } => {
            let zones = zones.as_deref().map(read_policy).transpose()?;
            let (cfg, o) = run(&captures)?;
            let input = detect_input(&cfg, &o);
            let ctx = wardwatch_detect::Context::new(&input);
            let pairs = o.digest.sorted_pairs();
            let p = segment::synthesize(&ctx, zones.as_ref(), &o.report.devices, &pairs);
            let members = segment::members(&ctx, &p, &o.report.devices);
            write_out(&render(&p, format, &members)?, out.as_ref())
        }
        PolicyCmd::Simulate {
            policy,
            captures,
            json,
        } => {
            let p = read_policy(&policy)?;
            let (cfg, o) = run(&captures)?;
            let input = detect_input(&cfg, &o);
            let ctx = wardwatch_detect::Context::new(&input);
            let pairs = o.digest.sorted_pairs();
            let blocked = segment::simulate(&ctx, &p, &o.report.devices, &pairs);
            if json {
                let j = serde_json::to_string_pretty(&blocked).map_err(|e| usage(e.to_string()))?;
                return write_out(&(j + "\n"), None);
            }
            let total: u64 = pairs.iter().map(|(_, s)| s.established).sum();
            let blocked_n: u64 = blocked.iter().map(|b| b.connections).sum();
            let mut t = format!(
                "POLICY {}: {} of {} established connections would have been blocked ({} conversations)\n",
                policy.display(),
                blocked_n,
                total,
                blocked.len()
            );
            for b in &blocked {
                t.push_str(&format!(
                    "  {:<16} {:<16} -> {:<16} {:<16} {}/{} x{}\n",
                    b.from, b.client, b.to, b.server, b.proto, b.port, b.connections
                ));
            }
            write_out(&t, None)
        }
        PolicyCmd::Export {
            policy,
            format,
            captures,
            out,
        } => {
            let p = read_policy(&policy)?;
            let (cfg, o) = run(&captures)?;
            let input = detect_input(&cfg, &o);
            let ctx = wardwatch_detect::Context::new(&input);
            let members = segment::members(&ctx, &p, &o.report.devices);
            write_out(&render(&p, format, &members)?, out.as_ref())
        }
    }
}

fn detect_input<'a>(cfg: &'a EngineConfig, o: &'a Outcome) -> wardwatch_detect::DetectInput<'a> {
    cfg.detect_input(&[], &o.report.devices, &o.observations, &o.digest, &o.local)
}

#[derive(clap::Args)]
struct WatchArgs {
    /// Interface to capture from.
    #[arg(short = 'i', long = "iface")]
    iface: String,
    /// BPF filter.
    #[arg(long)]
    filter: Option<String>,
    /// How long to watch (e.g. 10m; 0 = until stopped).
    #[arg(long, default_value = "0")]
    duration: String,
    /// How often what arrived since the last tick is checked: new
    /// observations (credentials, insecure protocols, indicators) and the
    /// flows that saw packets (scans, failed logins, watched addresses,
    /// internet exposure, zone crossings).
    #[arg(long, default_value = "100ms")]
    tick: String,
    /// How often all the behaviour rules (exfiltration, beaconing,
    /// baselines, new peers, tunnels, besides those of each tick) run on
    /// the flows so far (later if the last run took longer).
    #[arg(long, default_value = "500ms")]
    behaviour: String,
    /// How often the whole pipeline (inventory, behaviour, risk) runs on
    /// what was captured so far (later if the last run took longer).
    #[arg(long, default_value = "2s")]
    full: String,
    /// Bytes kept of each frame: the kernel's capture ring holds frames
    /// in slots of this size, so it decides how many packets a busy
    /// moment can queue (2048: any Ethernet frame with VLAN tags, 65,000
    /// in the 128 MB ring). Use 9216 on a jumbo-frame SPAN port.
    #[arg(long, default_value_t = 2048)]
    snaplen: i32,
    /// Append the finding lines to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the final report (JSON) here when the watch ends.
    #[arg(long)]
    report: Option<PathBuf>,
    /// At the end, learn the traffic watched into <data-dir>/baselines.json.
    #[arg(long)]
    learn: bool,
    /// Site name (default: `site` in wardwatch.toml, else "default").
    #[arg(long)]
    site: Option<String>,
    /// An address block of the site besides the private ranges (repeatable).
    #[arg(long = "local-net", value_name = "CIDR")]
    local_net: Vec<String>,
}

/// `watch`: findings as JSON lines, the moment a snapshot analysis first
/// shows them (by kind, rule, address and peer).
fn watch_cmd(a: WatchArgs, data_dir: &std::path::Path) -> Result<(), ExitCode> {
    let fail = |e: String| {
        eprintln!("wardwatch: error: {e}");
        ExitCode::from(2)
    };
    let dur = |s: &str, what: &str| {
        wardwatch_capture::live::parse_duration(s)
            .ok_or_else(|| fail(format!("bad --{what} {s:?} (try 250ms, 30s, 5m)")))
    };
    let pace = wardwatch_engine::WatchPace {
        duration: dur(&a.duration, "duration")?,
        tick: dur(&a.tick, "tick")?,
        behaviour: dur(&a.behaviour, "behaviour")?,
        full: dur(&a.full, "full")?,
        snaplen: a.snaplen.clamp(64, 262_144),
    };
    let opts = AnalyzeOpts {
        site: a.site,
        local_net: a.local_net,
        threads: 1,
        ..quiet_opts()
    };
    let cfg = engine_config(&opts, 0, data_dir).map_err(fail)?;
    let mut sink: Box<dyn Write + Send> = match &a.out {
        Some(p) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| fail(format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut emitted: std::collections::HashSet<(String, String, Option<String>, Option<String>)> =
        Default::default();
    let mut write_err = None;
    let mut outcome =
        wardwatch_engine::watch_live(&a.iface, a.filter.as_deref(), pace, &cfg, |findings| {
            let now = wardwatch_model::time::now_ns();
            for f in findings {
                let key = (f.kind.clone(), f.rule.clone(), f.ip.clone(), f.peer.clone());
                if emitted.contains(&key) {
                    continue;
                }
                emitted.insert(key);
                let latency = wardwatch_model::time::parse_rfc3339_ns(&f.last_seen)
                    .map(|t| (now - t) as f64 / 1e9);
                let line = serde_json::json!({
                    "event": "finding",
                    "emitted_at": wardwatch_model::time::rfc3339(now),
                    "since_last_evidence_s": latency,
                    "finding": f,
                });
                if let Err(e) = writeln!(sink, "{line}").and_then(|_| sink.flush()) {
                    write_err.get_or_insert(e);
                }
            }
        })
        .map_err(input_error)?;
    if let Some(e) = write_err {
        return Err(fail(format!("cannot write findings: {e}")));
    }
    warn_issues(&outcome);
    if let Some(p) = &a.report {
        write_json(&mut outcome.report, Some(p), cfg.threads)?;
    }
    if a.learn {
        let path = data_dir.join(BASELINES);
        let mut base = wardwatch_detect::baseline::Baselines::load(&path).map_err(fail)?;
        base.learn(&detect_input(&cfg, &outcome));
        std::fs::create_dir_all(data_dir)
            .map_err(|e| fail(format!("{}: {e}", data_dir.display())))?;
        base.save(&path).map_err(fail)?;
    }
    eprintln!(
        "wardwatch: watched {} packets; {} findings",
        outcome.report.stats.packets,
        outcome.report.findings.len()
    );
    Ok(())
}

/// The baselines file in the data directory.
const BASELINES: &str = "baselines.json";

#[derive(Subcommand)]
enum BaselineCmd {
    /// Learns the devices' traffic in captures of normal operation into
    /// <data-dir>/baselines.json (added to what was learned before).
    Learn {
        /// Captures of normal traffic (one site).
        #[arg(required = true)]
        captures: Vec<PathBuf>,
    },
    /// Lists the learned baselines: span, hourly peak, peers, services.
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn baseline_cmd(cmd: BaselineCmd, data_dir: &std::path::Path) -> Result<(), ExitCode> {
    use wardwatch_detect::baseline::Baselines;
    let fail = |e: String| {
        eprintln!("wardwatch: error: {e}");
        ExitCode::from(2)
    };
    let path = data_dir.join(BASELINES);
    match cmd {
        BaselineCmd::Learn { captures } => {
            let mut base = Baselines::load(&path).map_err(fail)?;
            let mut cfg = engine_config(&quiet_opts(), 0, data_dir).map_err(fail)?;
            // Learning compares nothing: findings are not computed.
            cfg.detect = false;
            cfg.baselines = None;
            let o = analyze_files(&captures, &cfg).map_err(input_error)?;
            warn_issues(&o);
            let before = base.devices.len();
            base.learn(&detect_input(&cfg, &o));
            std::fs::create_dir_all(data_dir)
                .map_err(|e| fail(format!("{}: {e}", data_dir.display())))?;
            base.save(&path).map_err(fail)?;
            let window = cfg.detect_config.baseline_window_s;
            let ready = base
                .devices
                .values()
                .filter(|d| d.span_s() >= window)
                .count();
            eprintln!(
                "wardwatch: {}: {} devices ({} new), {ready} with at least {:.1} h learned (baseline_window_s)",
                path.display(),
                base.devices.len(),
                base.devices.len() - before,
                window / 3600.0
            );
            Ok(())
        }
        BaselineCmd::Show { format } => {
            let base = Baselines::load(&path).map_err(fail)?;
            let text = match format {
                Format::Json => {
                    serde_json::to_string_pretty(&base).map_err(|e| fail(e.to_string()))? + "\n"
                }
                Format::Table => {
                    let mut t = format!(
                        "{:<18} {:<16} {:>8} {:>12} {:>6} {:>6}  {}\n",
                        "DEVICE", "IP", "HOURS", "PEAK/H OUT", "PEERS", "PORTS", "SERVICES"
                    );
                    for (id, d) in &base.devices {
                        t.push_str(&format!(
                            "{:<18} {:<16} {:>8.1} {:>10.1}MB {:>6} {:>6}  {}\n",
                            id.chars().take(18).collect::<String>(),
                            d.ip,
                            d.span_s() / 3600.0,
                            d.peak_hour() as f64 / 1_048_576.0,
                            format!(
                                "{}{}",
                                d.peers.len(),
                                if d.peers_overflow { "+" } else { "" }
                            ),
                            format!(
                                "{}{}",
                                d.ports.len(),
                                if d.ports_overflow { "+" } else { "" }
                            ),
                            d.ports
                                .iter()
                                .take(8)
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(",")
                        ));
                    }
                    t
                }
            };
            write_out(&text, None)
        }
    }
}

#[derive(Subcommand)]
enum IndicatorsCmd {
    /// Validates files and copies them into <data-dir>/indicators.
    Import {
        /// STIX 2.1 bundles (.json) or plain lists (one indicator per line).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// How many indicators each file in the data directory holds.
    List,
}

fn indicators_cmd(cmd: IndicatorsCmd, data_dir: &std::path::Path) -> Result<(), ExitCode> {
    let dir = data_dir.join("indicators");
    let fail = |e: String| {
        eprintln!("wardwatch: error: {e}");
        ExitCode::from(exit::INPUT)
    };
    match cmd {
        IndicatorsCmd::Import { files } => {
            // Validate everything before copying anything.
            for f in &files {
                let mut i = wardwatch_detect::ioc::Indicators::default();
                let n = wardwatch_engine::config::read_indicator_file(f, &mut i).map_err(fail)?;
                println!("{}: {n} indicators", f.display());
            }
            std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            for f in &files {
                let name = f.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                std::fs::copy(f, dir.join(name))
                    .map_err(|e| fail(format!("{}: {e}", f.display())))?;
            }
            Ok(())
        }
        IndicatorsCmd::List => {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                println!("no indicators in {}", dir.display());
                return Ok(());
            };
            let mut files: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files {
                let mut i = wardwatch_detect::ioc::Indicators::default();
                match wardwatch_engine::config::read_indicator_file(&f, &mut i) {
                    Ok(n) => println!("{}: {n} indicators", f.display()),
                    Err(e) => println!("{}: unreadable: {e}", f.display()),
                }
            }
            Ok(())
        }
    }
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Fold synthetic observations into devices and classify them.
    Inventory {
        /// Devices.
        #[arg(long, default_value_t = 100_000)]
        devices: u32,
        /// Observations.
        #[arg(long, default_value_t = 10_000_000)]
        observations: u64,
    },
    /// Load KEV, CSAF advisories (real ones, then copies) and a full-size
    /// EPSS list, then match devices drawn from the advisories.
    Intel {
        /// Directory laid out like ../shared/data/intel.
        #[arg(long)]
        from: PathBuf,
        /// CSAF advisories to load.
        #[arg(long, default_value_t = 1000)]
        advisories: usize,
        /// Devices to match.
        #[arg(long, default_value_t = 10_000)]
        devices: usize,
    },
}

#[derive(Subcommand)]
enum IntelCmd {
    /// Import feed files (KEV JSON, CSAF and CVE JSON 5 directories, EPSS
    /// CSV) after validating every one; the previous copy is kept.
    Update {
        /// Import from a directory holding the feed files (air-gapped
        /// sites) instead of downloading.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Download the KEV catalog from this URL (with any --*-url, only
        /// the sources given are used; without, the official ones).
        #[arg(long)]
        kev_url: Option<String>,
        /// Base URL of a CSAF directory distribution (with index.txt).
        #[arg(long)]
        csaf_url: Option<String>,
        /// The EPSS CSV (gzip) URL.
        #[arg(long)]
        epss_url: Option<String>,
        /// CVE JSON 5 record URLs (repeatable).
        #[arg(long)]
        cve_url: Vec<String>,
    },
    /// Attaches a CycloneDX or SPDX JSON SBOM to a device model: its
    /// components' vulnerabilities apply to every device of that model.
    ImportSbom {
        /// "VENDOR MODEL" (the vendor as wardwatch names it, e.g. "Philips IntelliVue MX800").
        #[arg(long)]
        model: String,
        /// The vendor, when it cannot be read off --model.
        #[arg(long)]
        vendor: Option<String>,
        /// The SBOM.
        file: PathBuf,
    },
    /// Imports OpenVEX or CycloneDX VEX statements.
    ImportVex {
        /// The VEX document.
        file: PathBuf,
    },
    /// Pre-purchase check of a candidate device's SBOM: known and
    /// known-exploited vulnerabilities of its components, missing fields.
    CheckSbom {
        /// The SBOM.
        file: PathBuf,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Each feed's date and age; warns when a feed is stale.
    Status {
        /// Days after which a feed is stale.
        #[arg(long, default_value_t = 14)]
        max_age_days: i64,
    },
}

/// Days from a `YYYY-MM-DD` date to today.
fn age_days(date: &str) -> Option<i64> {
    let y: i64 = date.get(0..4)?.parse().ok()?;
    let m: i64 = date.get(5..7)?.parse().ok()?;
    let d: i64 = date.get(8..10)?.parse().ok()?;
    Some(
        wardwatch_model::time::now_secs() / 86_400
            - wardwatch_model::time::days_from_civil(y, m, d),
    )
}

/// Reads an SBOM file, or says why not (exit 3).
fn read_sbom_file(
    file: &std::path::Path,
) -> Result<(Vec<u8>, wardwatch_intel::sbom::Sbom), ExitCode> {
    let bytes = std::fs::read(file).map_err(|e| {
        eprintln!("wardwatch: error: {}: {e}", file.display());
        ExitCode::from(exit::INPUT)
    })?;
    let sb =
        wardwatch_intel::sbom::read_sbom(&bytes, &file.display().to_string()).map_err(|e| {
            eprintln!("wardwatch: error: {e}");
            ExitCode::from(exit::INPUT)
        })?;
    Ok((bytes, sb))
}

fn intel_cmd(cmd: IntelCmd, data_dir: &std::path::Path) -> Result<(), ExitCode> {
    let dir = data_dir.join("intel");
    match cmd {
        IntelCmd::Update {
            from,
            kev_url,
            csaf_url,
            epss_url,
            cve_url,
        } => {
            let fail = |e: String| {
                eprintln!("wardwatch: error: {e}");
                ExitCode::from(exit::INPUT)
            };
            let n = match from {
                Some(from) => wardwatch_intel::update::import(&from, &dir).map_err(fail)?,
                None => {
                    let custom = kev_url.is_some()
                        || csaf_url.is_some()
                        || epss_url.is_some()
                        || !cve_url.is_empty();
                    let sources = if custom {
                        wardwatch_intel::update::Sources {
                            kev: kev_url,
                            csaf: csaf_url,
                            epss: epss_url,
                            cve: cve_url,
                        }
                    } else {
                        wardwatch_intel::update::Sources::default()
                    };
                    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
                        let b = indicatif::ProgressBar::new(0);
                        b.set_style(
                            indicatif::ProgressStyle::with_template(
                                "{bar:30} {pos}/{len} {wide_msg}",
                            )
                            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                        );
                        b
                    });
                    let d = wardwatch_intel::update::download(
                        &sources,
                        &dir,
                        &mut |done, total, what| {
                            if let Some(b) = &bar {
                                b.set_length(total as u64);
                                b.set_position(done as u64);
                                b.set_message(what.to_string());
                            }
                        },
                    )
                    .map_err(fail)?;
                    if let Some(b) = bar {
                        b.finish_and_clear();
                    }
                    println!(
                        "downloaded {} files, {} not modified since the last update",
                        d.fetched, d.not_modified
                    );
                    d.imported
                }
            };
            println!(
                "imported into {}: {} KEV entries, {} CSAF documents, {} CVE records, {} NVD CVEs, {} EPSS scores",
                dir.display(),
                n.kev,
                n.csaf,
                n.cve,
                n.nvd,
                n.epss
            );
            Ok(())
        }
        IntelCmd::ImportSbom {
            model,
            vendor,
            file,
        } => {
            let kb = wardwatch_inventory::kb::kb();
            let (bytes, sb) = read_sbom_file(&file)?;
            // The vendor is the longest leading words wardwatch knows as one.
            let words: Vec<&str> = model.split_whitespace().collect();
            let (v, m) = match vendor {
                Some(v) => (v, model.clone()),
                None => (1..words.len())
                    .map(|i| (words[..i].join(" "), words[i..].join(" ")))
                    .find(|(v, _)| {
                        kb.canonical_vendor(v) != *v || kb.vendors.iter().any(|a| a.canonical == *v)
                    })
                    .unwrap_or_else(|| {
                        (
                            words.first().map(|w| w.to_string()).unwrap_or_default(),
                            words.get(1..).map(|w| w.join(" ")).unwrap_or_default(),
                        )
                    }),
            };
            let v = kb.canonical_vendor(&v);
            let dir = data_dir.join("sbom");
            let io = |e: std::io::Error| {
                eprintln!("wardwatch: error: {}: {e}", dir.display());
                ExitCode::from(exit::OUTPUT)
            };
            std::fs::create_dir_all(&dir).map_err(io)?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sbom.json".into());
            std::fs::write(dir.join(&name), &bytes).map_err(io)?;
            let mut index = wardwatch_intel::sbom_index(&dir).map_err(|e| {
                eprintln!("wardwatch: error: {e}");
                ExitCode::from(exit::INPUT)
            })?;
            index.retain(|e| !(e.vendor == v && e.model == m));
            index.push(wardwatch_intel::SbomEntry {
                vendor: v.clone(),
                model: m.clone(),
                file: name,
            });
            let json =
                serde_json::to_string_pretty(&index).map_err(|e| io(std::io::Error::other(e)))?;
            std::fs::write(dir.join("index.json"), json).map_err(io)?;
            println!(
                "{}: {} with {} components attached to {v} / {m}",
                file.display(),
                sb.format,
                sb.components.len()
            );
            Ok(())
        }
        IntelCmd::ImportVex { file } => {
            let bytes = std::fs::read(&file).map_err(|e| {
                eprintln!("wardwatch: error: {}: {e}", file.display());
                ExitCode::from(exit::INPUT)
            })?;
            let st = wardwatch_intel::sbom::read_vex(&bytes, &file.display().to_string()).map_err(
                |e| {
                    eprintln!("wardwatch: error: {e}");
                    ExitCode::from(exit::INPUT)
                },
            )?;
            let dir = data_dir.join("vex");
            let name = file
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_default();
            std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::write(dir.join(name), &bytes))
                .map_err(|e| {
                    eprintln!("wardwatch: error: {}: {e}", dir.display());
                    ExitCode::from(exit::OUTPUT)
                })?;
            println!("{}: {} VEX statements imported", file.display(), st.len());
            Ok(())
        }
        IntelCmd::CheckSbom { file, json } => {
            let kb = wardwatch_inventory::kb::kb();
            let (_, sb) = read_sbom_file(&file)?;
            let mut intel = wardwatch_intel::Intel::load_dir(&dir, kb);
            intel.load_sboms_and_vex(std::path::Path::new("/nonexistent"), &data_dir.join("vex"));
            intel
                .sboms
                .push(("candidate".into(), "candidate unit".into(), sb.clone()));
            let probe = wardwatch_model::Device {
                vendor: Some("candidate".into()),
                model: Some("candidate unit".into()),
                category: "unknown".into(),
                ..Default::default()
            };
            let vulns = wardwatch_intel::matcher::match_device(&intel, kb, &probe);
            let missing: Vec<(String, Vec<&str>)> = sb
                .components
                .iter()
                .map(|c| {
                    (
                        format!("{}@{}", c.name, c.version.as_deref().unwrap_or("?")),
                        wardwatch_intel::sbom::missing_fields(c),
                    )
                })
                .filter(|(_, m)| !m.is_empty())
                .collect();
            let unsupported: Vec<(String, String, String)> = sb
                .components
                .iter()
                .filter_map(|c| {
                    wardwatch_intel::sbom::end_of_life(c).map(|(ended, src)| {
                        (
                            format!("{}@{}", c.name, c.version.as_deref().unwrap_or("?")),
                            ended,
                            src,
                        )
                    })
                })
                .collect();
            if json {
                let v = serde_json::json!({
                    "unsupported": unsupported.iter().map(|(c, e, s)| serde_json::json!({"component": c, "support_ended": e, "source": s})).collect::<Vec<_>>(),
                    "file": file.display().to_string(),
                    "format": sb.format,
                    "components": sb.components.len(),
                    "vulnerabilities": vulns,
                    "missing_fields": missing.iter().map(|(c, m)| serde_json::json!({"component": c, "missing": m})).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                return Ok(());
            }
            let kev = vulns.iter().filter(|v| v.kev && v.applies()).count();
            println!(
                "SBOM {} ({}): {} components · {} known vulnerabilities ({} known exploited) · {} unsupported · {} components missing NTIA fields",
                file.display(),
                sb.format,
                sb.components.len(),
                vulns.iter().filter(|v| v.applies()).count(),
                kev,
                unsupported.len(),
                missing.len()
            );
            for v in &vulns {
                println!(
                    "  {}{} {} {}",
                    v.id,
                    if v.kev { " [KEV]" } else { "" },
                    v.cvss.map(|c| format!("CVSS {c:.1}")).unwrap_or_default(),
                    v.match_reason
                );
            }
            for (c, ended, src) in &unsupported {
                println!("  unsupported since {ended}: {c} ({src})");
            }
            for (c, m) in missing.iter().take(50) {
                println!("  missing {}: {}", m.join(", "), c);
            }
            Ok(())
        }
        IntelCmd::Status { max_age_days } => {
            let intel = wardwatch_intel::Intel::load_dir(&dir, wardwatch_inventory::kb::kb());
            for p in &intel.problems {
                eprintln!("wardwatch: warning: {p}");
            }
            let feeds = intel.feeds();
            if feeds.is_empty() {
                println!(
                    "no feeds in {} (run: wardwatch intel update --from DIR)",
                    dir.display()
                );
                return Ok(());
            }
            println!("{:<6} {:<12} {:>8}  entries", "feed", "date", "age");
            for f in &feeds {
                let n = match f.name.as_str() {
                    "kev" => intel.kev.len(),
                    "csaf" => intel.advisories.len(),
                    "cve" => intel.cves.len(),
                    _ => intel.epss.len(),
                };
                let age = age_days(&f.date);
                let stale = age.is_some_and(|a| a > max_age_days);
                println!(
                    "{:<6} {:<12} {:>7}d  {n}{}",
                    f.name,
                    f.date,
                    age.map(|a| a.to_string()).unwrap_or("?".into()),
                    if stale { "  STALE" } else { "" }
                );
                if stale {
                    eprintln!(
                        "wardwatch: warning: feed {} is {} days old (more than {max_age_days})",
                        f.name,
                        age.unwrap_or(0)
                    );
                }
            }
            Ok(())
        }
    }
}

fn engine_config(
    o: &AnalyzeOpts,
    input_bytes: u64,
    data_dir: &std::path::Path,
) -> Result<EngineConfig, String> {
    let site_cfg = wardwatch_engine::config::load(data_dir)?;
    if !site_cfg.indicators.is_empty() {
        wardwatch_proto::watch::set_watched_domains(site_cfg.indicators.domains());
    }
    if !site_cfg.default_credentials.is_empty() {
        wardwatch_proto::creds::add_site_defaults(site_cfg.default_credentials);
    }
    let mut cfg = EngineConfig {
        site: match (&o.site, &site_cfg.site.site) {
            (Some(s), _) | (None, Some(s)) => s.clone(),
            (None, None) => "default".into(),
        },
        progress: !o.no_progress,
        detect_config: site_cfg.site.detect,
        risk: site_cfg.site.risk,
        corrections: site_cfg.corrections,
        indicators: std::sync::Arc::new(site_cfg.indicators),
        zones: std::sync::Arc::new(site_cfg.zones),
        suppressions: site_cfg.suppressions,
        ..Default::default()
    };
    let geo = wardwatch_detect::geo::Geo::open_dir(&data_dir.join("geo"))?;
    if !geo.is_empty() {
        cfg.geo = Some(std::sync::Arc::new(geo));
    }
    let baselines = wardwatch_detect::baseline::Baselines::load(&data_dir.join(BASELINES))?;
    if !baselines.devices.is_empty() {
        cfg.baselines = Some(std::sync::Arc::new(baselines));
    }
    let intel_dir = data_dir.join("intel");
    if intel_dir.is_dir() || data_dir.join("sbom").is_dir() {
        let mut intel = wardwatch_intel::Intel::load_dir(&intel_dir, wardwatch_inventory::kb::kb());
        intel.load_sboms_and_vex(&data_dir.join("sbom"), &data_dir.join("vex"));
        for p in &intel.problems {
            eprintln!("wardwatch: warning: intel: {p}");
        }
        if !intel.is_empty() {
            cfg.intel = Some(std::sync::Arc::new(intel));
        }
    }
    for n in &site_cfg.site.local_nets {
        cfg.local.add(
            n.parse::<Cidr>()
                .map_err(|e| format!("wardwatch.toml: local_nets: {e}"))?,
        );
    }
    cfg.threads = if o.threads > 0 {
        o.threads
    } else if input_bytes >= (64 << 20) {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        1
    };
    if o.no_dedup {
        cfg.dedup_window_ns = 0;
    }
    cfg.dissect = !o.no_dissect;
    for n in &o.local_net {
        cfg.local.add(n.parse::<Cidr>()?);
    }
    Ok(cfg)
}

/// Writes the report; `threads` (the analysis's) may render it.
fn emit(outcome: &mut Outcome, o: &AnalyzeOpts, threads: usize) -> Result<(), ExitCode> {
    match o.format {
        // Streamed: a large site's devices are never held twice in memory
        // (with threads, the rest of the report is rendered first, in memory).
        Format::Json => write_json(&mut outcome.report, o.out.as_ref(), threads),
        Format::Table => write_out(&table::render(&outcome.report), o.out.as_ref()),
    }
}

fn write_json(
    report: &mut wardwatch_model::Report,
    out: Option<&PathBuf>,
    threads: usize,
) -> Result<(), ExitCode> {
    let sink: Box<dyn Write> = match out {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("wardwatch: cannot write report: {}: {e}", p.display());
                return Err(ExitCode::from(exit::OUTPUT));
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 16, sink);
    let r = pretty::report_to_writer(&mut w, report, threads);
    let r = r.and_then(|_| w.write_all(b"\n")).and_then(|_| w.flush());
    r.map_err(|e| {
        eprintln!("wardwatch: cannot write report: {e}");
        ExitCode::from(exit::OUTPUT)
    })
}

fn write_out(text: &str, out: Option<&PathBuf>) -> Result<(), ExitCode> {
    let r = match out {
        Some(p) => std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display())),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| format!("standard output: {e}")),
    };
    r.map_err(|e| {
        eprintln!("wardwatch: cannot write report: {e}");
        ExitCode::from(exit::OUTPUT)
    })
}

fn warn_issues(outcome: &Outcome) {
    for w in &outcome.report.warnings {
        eprintln!(
            "wardwatch: warning: {}: byte {}: {}",
            w.input, w.offset, w.message
        );
    }
    if let Some(hint) = no_site_hint(&outcome.report) {
        eprintln!("wardwatch: note: {hint}");
    }
    let learned = outcome.local.learned_count();
    if learned > 0 {
        eprintln!(
            "wardwatch: note: {learned} address(es) outside the site's address space taken as the \
             site's: their own packets came from a host's MAC with a TTL no router lowered (each \
             such device says so in its evidence); name the site's blocks with --local-net CIDR \
             or in wardwatch.toml to decide it yourself (named blocks are then the site's only)"
        );
    }
}

/// A site on public address space given no blocks of its own has no device
/// (only the site's addresses become devices) and its hosts are "the
/// internet" to every rule: said plainly rather than left as an empty list.
fn no_site_hint(r: &wardwatch_model::Report) -> Option<String> {
    if !r.devices.is_empty() {
        return None;
    }
    let busiest = r.top_talkers.first()?;
    Some(format!(
        "no device: none of the {} busiest addresses (the first {}) is in the site's address space \
         (private ranges and the blocks configured); if the site uses public addresses, name them with \
         --local-net CIDR or in wardwatch.toml",
        r.top_talkers.len(),
        busiest.ip
    ))
}

fn input_error(e: EngineError) -> ExitCode {
    eprintln!("wardwatch: error: {e}");
    let live = matches!(&e, EngineError::Capture(c) if matches!(c.kind, wardwatch_capture::CaptureErrorKind::Live(_)));
    ExitCode::from(if live { exit::LIVE } else { exit::INPUT })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    match cli.cmd {
        Cmd::Analyze {
            captures,
            iface,
            filter,
            duration,
            opts,
        } => {
            let size: u64 = captures
                .iter()
                .filter_map(|p| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum();
            let cfg = engine_config(&opts, size, &cli.data_dir).map_err(|e| {
                eprintln!("wardwatch: error: {e}");
                ExitCode::from(2)
            })?;
            let mut outcome = if let Some(iface) = iface {
                let Some(d) = wardwatch_capture::live::parse_duration(&duration) else {
                    eprintln!("wardwatch: error: bad --duration {duration:?} (try 30s, 5m)");
                    return Err(ExitCode::from(2));
                };
                analyze_live(&iface, filter.as_deref(), d, &cfg).map_err(input_error)?
            } else {
                analyze_files(&captures, &cfg).map_err(input_error)?
            };
            warn_issues(&outcome);
            let t = std::time::Instant::now();
            let written = emit(&mut outcome, &opts, cfg.threads);
            if std::env::var_os("WARDWATCH_TIMING").is_some() {
                eprintln!("timing: report written {:.3}s", t.elapsed().as_secs_f64());
            }
            // The process ends here and its memory goes back whole: the
            // report's millions of small allocations are not freed one by
            // one (4 % of the instructions of a run on the hospital mix).
            std::mem::forget(outcome);
            written
        }
        Cmd::Watch { args } => watch_cmd(args, &cli.data_dir),
        Cmd::Demo { opts } => {
            let mut cfg = engine_config(&opts, 0, &cli.data_dir).map_err(|e| {
                eprintln!("wardwatch: error: {e}");
                ExitCode::from(2)
            })?;
            if cfg.intel.is_none() {
                cfg.intel = demo_intel().map(std::sync::Arc::new);
            }
            let mut outcome =
                wardwatch_engine::analyze_bytes("demo-hospital.pcapng", DEMO_PCAP, &cfg)
                    .map_err(input_error)?;
            emit(&mut outcome, &opts, cfg.threads)?;
            // The demo also leaves its report in the data directory.
            let path = cli.data_dir.join("demo-report.json");
            let saved = std::fs::create_dir_all(&cli.data_dir).and_then(|_| {
                let json =
                    serde_json::to_string_pretty(&outcome.report).map_err(std::io::Error::other)?;
                std::fs::write(&path, json)
            });
            match saved {
                Ok(()) => eprintln!("wardwatch: demo report saved to {}", path.display()),
                Err(e) => eprintln!("wardwatch: warning: cannot save {}: {e}", path.display()),
            }
            Ok(())
        }
        Cmd::Intel { cmd } => intel_cmd(cmd, &cli.data_dir),
        Cmd::Inventory { cmd } => inventory_cmd(cmd, &cli.data_dir),
        Cmd::Indicators { cmd } => indicators_cmd(cmd, &cli.data_dir),
        Cmd::Policy { cmd } => policy_cmd(cmd, &cli.data_dir),
        Cmd::Baseline { cmd } => baseline_cmd(cmd, &cli.data_dir),
        Cmd::Bench { cmd } => {
            let line = match cmd {
                BenchCmd::Inventory {
                    devices,
                    observations,
                } => bench::inventory(devices.max(1), observations),
                BenchCmd::Intel {
                    from,
                    advisories,
                    devices,
                } => bench::intel(&from, advisories, devices).map_err(|e| {
                    eprintln!("wardwatch: error: {e}");
                    ExitCode::from(exit::INPUT)
                })?,
            };
            println!("{line}");
            Ok(())
        }
        Cmd::Flows { captures, format } => {
            let cfg = EngineConfig {
                collect_flows: true,
                ..Default::default()
            };
            let outcome = analyze_files(&captures, &cfg).map_err(input_error)?;
            warn_issues(&outcome);
            let text = match format {
                Format::Table => table::render_flows(&outcome.flows),
                Format::Json => table::flows_json(&outcome.flows),
            };
            write_out(&text, None)
        }
    }
}
