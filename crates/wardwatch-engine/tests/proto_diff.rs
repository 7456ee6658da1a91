//! Differential tests of the dissectors against tshark's `-T fields` on the
//! same frames: DICOM association fields, HL7 message type and trigger,
//! HTTP host/user-agent/server/method, DHCP host name, vendor class and
//! parameter list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{repo, shared};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wardwatch_engine::{analyze_files, EngineConfig, Observation};
use wardwatch_proto::{dicom, ObsKind};

/// tshark rows: frame number -> fields.
fn tshark(
    path: &Path,
    extra: &[&str],
    filter: &str,
    fields: &[&str],
) -> BTreeMap<u64, Vec<String>> {
    let mut args: Vec<String> = vec!["-r".into(), path.to_str().unwrap().into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "-Y".into(),
        filter.into(),
        "-T".into(),
        "fields".into(),
        "-e".into(),
        "frame.number".into(),
    ]);
    for f in fields {
        args.extend(["-e".into(), f.to_string()]);
    }
    let out = Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark is required: apt-get install tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let n = f.next()?.parse().ok()?;
            Some((n, f.map(|s| s.trim().to_string()).collect()))
        })
        .collect()
}

fn observations(path: &Path) -> Vec<Observation> {
    let cfg = EngineConfig {
        collect_observations: true,
        keep_repeats: true,
        ..Default::default()
    };
    analyze_files(&[path.to_path_buf()], &cfg)
        .expect("analyze")
        .observations
}

/// The report of a default run on `path`.
fn report(path: PathBuf) -> wardwatch_model::report::Report {
    analyze_files(&[path], &EngineConfig::default())
        .expect("analyze")
        .report
}

/// The device holding address `ip`.
fn device<'r>(
    r: &'r wardwatch_model::report::Report,
    ip: &str,
) -> &'r wardwatch_model::report::Device {
    r.devices
        .iter()
        .find(|d| d.ips.iter().any(|a| a == ip))
        .unwrap_or_else(|| panic!("no device {ip}"))
}

/// A device's (vendor, model, firmware, category).
fn identity<'r>(
    r: &'r wardwatch_model::report::Report,
    ip: &str,
) -> (Option<&'r str>, Option<&'r str>, Option<&'r str>, &'r str) {
    let d = device(r, ip);
    (
        d.vendor.as_deref(),
        d.model.as_deref(),
        d.firmware.as_deref(),
        d.category.as_str(),
    )
}

/// The facts of `path` that `row` reads (it gives `None` for the others),
/// by the frame they came from.
fn facts_by_frame(
    path: &Path,
    row: impl Fn(&ObsKind) -> Option<Vec<String>>,
) -> BTreeMap<u64, Vec<String>> {
    observations(path)
        .iter()
        .filter_map(|o| Some((o.origin.frame, row(&o.kind)?)))
        .collect()
}

/// None of these strings (staff and patient names, passwords, locations,
/// event fields) is anywhere in the report.
fn assert_private(r: &wardwatch_model::report::Report, private: &[&str]) {
    let json = serde_json::to_string(r).unwrap();
    for p in private {
        assert!(!json.contains(p), "{p} in the report");
    }
}

/// After STARTTLS the connection is the TLS dissector's: the one
/// ClientHello's SNI equals tshark's. Returns the hellos compared.
fn starttls_hello_matches_tshark(path: &Path) -> usize {
    let sni = facts_by_frame(path, |k| match k {
        ObsKind::TlsClientHello(h) => Some(vec![h.sni.clone().unwrap_or_default()]),
        _ => None,
    });
    assert_eq!(
        sni,
        tshark(
            path,
            &[],
            "tls.handshake.type==1",
            &["tls.handshake.extensions_server_name"]
        )
    );
    assert_eq!(sni.len(), 1);
    sni.len()
}

/// tshark writes "Name (uid)"; keep the uid.
fn uid_of(s: &str) -> String {
    let s = s.trim().trim_end_matches(')');
    match s.rfind('(') {
        Some(a) => s[a + 1..].to_string(),
        None => s.to_string(),
    }
}

#[test]
fn dicom_association_fields_match_tshark() {
    let mut files: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    if let Some(p) =
        shared("pcap/medical/generated/dicom_echo_store_find_reject_port104__generated.pcapng")
    {
        files.push((p, vec![]));
    }
    if let Some(p) = shared("pcap/medical/generated/dicom_echo_port11112__generated.pcapng") {
        files.push((p, vec!["-d", "tcp.port==11112,dicom"]));
    }
    files.push((repo("samples/demo-hospital.pcapng"), vec![]));
    let mut compared = 0;
    for (path, extra) in files {
        let theirs = tshark(
            &path,
            &extra,
            "dicom.pdu.type==1",
            &[
                "dicom.assoc.ae.called",
                "dicom.assoc.ae.calling",
                "dicom.userinfo.uid",
                "dicom.userinfo.version",
                "dicom.pctx.abss.syntax",
            ],
        );
        let obs = observations(&path);
        let ours: BTreeMap<u64, &ObsKind> = obs
            .iter()
            .filter(|o| matches!(&o.kind, ObsKind::DicomAssociate(a) if a.request))
            .map(|o| (o.origin.frame, &o.kind))
            .collect();
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{}: association requests",
            path.display()
        );
        for (frame, t) in &theirs {
            let Some(ObsKind::DicomAssociate(a)) = ours.get(frame) else {
                panic!("{}: no A-ASSOCIATE-RQ at frame {frame}", path.display());
            };
            let wardwatch_proto::DicomAssociateFact {
                called_ae,
                calling_ae,
                implementation_class_uid,
                implementation_version,
                contexts,
                ..
            } = &**a;
            assert_eq!(called_ae, &t[0], "frame {frame}");
            assert_eq!(calling_ae, &t[1], "frame {frame}");
            assert_eq!(implementation_class_uid.as_deref(), Some(t[2].as_str()));
            assert_eq!(implementation_version.as_deref(), Some(t[3].as_str()));
            let theirs_sops: Vec<String> = t[4].split("),").map(uid_of).collect();
            let ours_sops: Vec<String> = contexts
                .iter()
                .filter_map(|c| c.abstract_syntax.as_deref().map(str::to_string))
                .collect();
            assert_eq!(ours_sops, theirs_sops, "frame {frame}");
            // Names we give SOP classes are known to tshark too.
            for s in &ours_sops {
                assert!(dicom::uid_name(s).is_some(), "{s} unnamed");
            }
            compared += 1;
        }
    }
    eprintln!("DICOM: {compared} A-ASSOCIATE-RQ compared on 5 fields");
    assert!(compared >= 5);
}

#[test]
fn hl7_message_types_match_tshark() {
    let mut files: Vec<(PathBuf, Vec<&str>)> = Vec::new();
    if let Some(p) = shared("pcap/medical/hl7_mllp_adt_a01__ndpi.pcap") {
        files.push((p, vec!["-d", "tcp.port==6661,hl7"]));
    }
    if let Some(p) = shared("pcap/medical/generated/hl7_mllp_adt_oru_port2575__generated.pcapng") {
        files.push((p, vec![]));
    }
    files.push((
        repo("samples/demo-hospital.pcapng"),
        vec!["-d", "tcp.port==2575,hl7"],
    ));
    let mut compared = 0;
    for (path, extra) in files {
        let theirs = tshark(
            &path,
            &extra,
            "hl7",
            &["hl7.message.type", "hl7.event.type"],
        );
        let obs = observations(&path);
        let ours: BTreeMap<u64, (String, String, String)> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::Hl7Message(m) => Some((
                    o.origin.frame,
                    (
                        m.message_type.clone(),
                        m.trigger.clone(),
                        m.control_id.clone(),
                    ),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{}: messages", path.display());
        for (frame, t) in &theirs {
            let (ty, trig, _) = ours
                .get(frame)
                .unwrap_or_else(|| panic!("{}: frame {frame}", path.display()));
            assert_eq!(ty, &t[0], "frame {frame}");
            assert_eq!(trig, t.get(1).unwrap_or(&String::new()), "frame {frame}");
            compared += 1;
        }
    }
    eprintln!("HL7: {compared} messages compared on type and trigger");
    assert!(compared >= 7);
}

#[test]
fn http_fields_match_tshark() {
    let mut files = vec![repo("samples/demo-hospital.pcapng")];
    for rel in [
        "pcap/it/http_basic_auth__ndpi.pcap",
        "pcap/it/http_form_login_dvwa__chrissanders.pcapng",
        "pcap/formats/vlan_8021q_http__zeek.pcap",
        "pcap/formats/linux_sll2_http__suricata.pcap",
        "pcap/formats/nflog_http__zeek.pcap",
    ] {
        files.extend(shared(rel));
    }
    let mut compared = 0;
    for path in files {
        let req = tshark(
            &path,
            &[],
            "http.request",
            &["http.request.method", "http.host", "http.user_agent"],
        );
        let resp = tshark(
            &path,
            &[],
            "http.response",
            &["http.response.code", "http.server"],
        );
        // tshark reports a message at the frame that completes its body;
        // wardwatch at the frame that completes its head. Pair them in order,
        // ours never later than theirs.
        let obs = observations(&path);
        let our_req: Vec<_> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::HttpRequest(r) => Some((
                    o.origin.frame,
                    vec![
                        r.method.clone(),
                        r.host.clone().unwrap_or_default(),
                        r.user_agent.clone().unwrap_or_default(),
                    ],
                )),
                _ => None,
            })
            .collect();
        let our_resp: Vec<_> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::HttpResponse { status, server, .. } => Some((
                    o.origin.frame,
                    vec![status.to_string(), server.clone().unwrap_or_default()],
                )),
                _ => None,
            })
            .collect();
        for (ours, theirs) in [(&our_req, &req), (&our_resp, &resp)] {
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{}: message count",
                path.display()
            );
            for ((of, ov), (tf, tv)) in ours.iter().zip(theirs.iter()) {
                assert!(of <= tf, "{}: ours at {of}, tshark at {tf}", path.display());
                assert_eq!(ov, tv, "{}: frame {tf}", path.display());
                compared += 1;
            }
        }
    }
    eprintln!("HTTP: {compared} requests/responses compared");
    assert!(compared >= 10);
}

#[test]
fn dhcp_options_match_tshark() {
    let (mut compared, mut answers) = (0, 0);
    let paths = [
        "pcap/it/dhcp_option60_msft__suricata.pcap",
        "pcap/it/dhcp_hostname__zeek.pcap",
        "pcap/formats/pcapng_dhcp_dora__chrissanders.pcapng",
        "pcap/it/mixed_iphone_dhcp_mdns_ssdp_tls__ndpi.pcap",
    ]
    .into_iter()
    .filter_map(|rel| Some((rel.to_string(), shared(rel)?)))
    .chain([(
        "dhcp_rogue.pcap".to_string(),
        repo("tests/captures/dhcp_rogue.pcap"),
    )]);
    for (rel, path) in paths {
        let theirs = tshark(
            &path,
            &[],
            "dhcp",
            &[
                "dhcp.option.hostname",
                "dhcp.option.vendor_class_id",
                "dhcp.option.request_list_item",
                "dhcp.type",
                "dhcp.option.dhcp_server_id",
                "dhcp.option.subnet_mask",
                "dhcp.option.router",
                "dhcp.option.domain_name_server",
            ],
        );
        let obs = observations(&path);
        let ours: BTreeMap<u64, &ObsKind> = obs
            .iter()
            .filter(|o| matches!(o.kind, ObsKind::Dhcp(_)))
            .map(|o| (o.origin.frame, &o.kind))
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{rel}: DHCP messages");
        for (frame, t) in &theirs {
            let Some(ObsKind::Dhcp(d)) = ours.get(frame) else {
                panic!("{rel}: frame {frame}");
            };
            let wardwatch_proto::DhcpFact {
                hostname,
                vendor_class,
                parameter_list,
                server,
                ..
            } = &**d;
            // A server's answer (BOOTREPLY): the network it gives, the
            // first address of each list.
            let first = |x: &str| x.split(',').next().unwrap_or_default().to_string();
            let text = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
            match server {
                Some(v) => {
                    assert_eq!(t[3], "2", "{rel} frame {frame}");
                    assert_eq!(
                        [
                            text(v.server_id),
                            text(v.subnet_mask),
                            text(v.router),
                            text(v.dns)
                        ],
                        [first(&t[4]), first(&t[5]), first(&t[6]), first(&t[7])],
                        "{rel} frame {frame}"
                    );
                    answers += 1;
                }
                None => assert_eq!(t[3], "1", "{rel} frame {frame}"),
            }
            assert_eq!(
                hostname.clone().unwrap_or_default(),
                t[0],
                "{rel} frame {frame}"
            );
            assert_eq!(
                vendor_class.clone().unwrap_or_default(),
                t[1],
                "{rel} frame {frame}"
            );
            assert_eq!(
                parameter_list.clone().unwrap_or_default(),
                t[2],
                "{rel} frame {frame}"
            );
            compared += 1;
        }
    }
    eprintln!(
        "DHCP: {compared} messages compared on options 12, 60, 55; {answers} server answers on 54, 1, 3, 6"
    );
    assert!(compared >= 10);
    assert!(answers >= 8, "{answers}");
}

#[test]
fn tls_hello_fields_match_tshark() {
    let mut compared = 0;
    for rel in [
        "pcap/it/tls12_full_handshake__ndpi-443-curl.pcap",
        "pcap/it/tls13_firefox__ndpi.pcap",
        "pcap/it/tls13_clienthello_only__ndpi.pcapng",
        "pcap/it/mixed_iphone_dhcp_mdns_ssdp_tls__ndpi.pcap",
    ] {
        let Some(path) = shared(rel) else { continue };
        let hello = tshark(
            &path,
            &[],
            "tls.handshake.type==1",
            &[
                "tls.handshake.extensions_server_name",
                "tls.handshake.ja3",
                "tls.handshake.extensions_alpn_str",
            ],
        );
        let server = tshark(
            &path,
            &[],
            "tls.handshake.type==2",
            &[
                "tls.handshake.ciphersuite",
                "tls.handshake.extensions.supported_version",
                "tls.handshake.version",
            ],
        );
        let obs = observations(&path);
        let mut ours_hello = 0;
        let mut ours_server = 0;
        for o in &obs {
            match &o.kind {
                ObsKind::TlsClientHello(fact) => {
                    let wardwatch_proto::TlsClientHelloFact { sni, ja3, alpn, .. } = &**fact;
                    let t = hello.get(&o.origin.frame).unwrap_or_else(|| {
                        panic!("{rel}: ClientHello at frame {}", o.origin.frame)
                    });
                    assert_eq!(sni.clone().unwrap_or_default(), t[0], "{rel}");
                    assert_eq!(ja3, &t[1], "{rel} frame {}", o.origin.frame);
                    assert_eq!(alpn.join(","), t[2], "{rel}");
                    ours_hello += 1;
                    compared += 1;
                }
                ObsKind::TlsServerHello { version, cipher } => {
                    let t = server.get(&o.origin.frame).unwrap_or_else(|| {
                        panic!("{rel}: ServerHello at frame {}", o.origin.frame)
                    });
                    assert_eq!(cipher, &t[0], "{rel}");
                    let v = if t[1].is_empty() { &t[2] } else { &t[1] };
                    let want = match v.as_str() {
                        "0x0304" => "TLS 1.3",
                        "0x0303" => "TLS 1.2",
                        "0x0302" => "TLS 1.1",
                        "0x0301" => "TLS 1.0",
                        other => other,
                    };
                    assert_eq!(version, want, "{rel}");
                    ours_server += 1;
                    compared += 1;
                }
                _ => {}
            }
        }
        assert_eq!(ours_hello, hello.len(), "{rel}: ClientHellos");
        assert_eq!(ours_server, server.len(), "{rel}: ServerHellos");
    }
    eprintln!("TLS: {compared} hellos compared (SNI, JA3, ALPN; cipher, version)");
    assert!(compared >= 20);
}

#[test]
fn ftp_ssdp_snmp_fields_match_tshark() {
    let mut compared = 0;
    // FTP: the banner and the user (never the password).
    for rel in [
        "pcap/it/ftp_login_admin_qwerty__zeek.pcap",
        "pcap/it/ftp_anonymous_retr__zeek.pcap",
        "pcap/it/ftp_login_failed__ndpi.pcap",
    ] {
        let Some(path) = shared(rel) else { continue };
        let users = tshark(
            &path,
            &[],
            "ftp.request.command==USER",
            &["ftp.request.arg"],
        );
        let banners = tshark(&path, &[], "ftp.response.code==220", &["ftp.response.arg"]);
        let obs = observations(&path);
        let our_users: Vec<&str> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::Login { user, .. } => Some(user.as_str()),
                _ => None,
            })
            .collect();
        let their_users: Vec<&str> = users.values().map(|v| v[0].as_str()).collect();
        assert_eq!(our_users, their_users, "{rel}: FTP users");
        let our_banner = obs.iter().find_map(|o| match &o.kind {
            ObsKind::Banner { text, .. } => Some(text.clone()),
            _ => None,
        });
        assert_eq!(
            our_banner.as_deref(),
            banners.values().next().map(|v| v[0].as_str()),
            "{rel}"
        );
        // Transfers: RETR/STOR counts and the sizes announced in 150 replies.
        let retr = tshark(
            &path,
            &[],
            "ftp.request.command==RETR",
            &["ftp.request.command"],
        )
        .len();
        let stor = tshark(
            &path,
            &[],
            "ftp.request.command==STOR",
            &["ftp.request.command"],
        )
        .len();
        let announced: u64 = tshark(&path, &[], "ftp.response.code==150", &["ftp.response.arg"])
            .values()
            .filter_map(|v| {
                v[0].rsplit_once('(')?
                    .1
                    .split_once(" bytes")?
                    .0
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        let ours = obs.iter().find_map(|o| match &o.kind {
            ObsKind::FileTransfers {
                uploads,
                downloads,
                announced_bytes,
                ..
            } => Some((*uploads as usize, *downloads as usize, *announced_bytes)),
            _ => None,
        });
        if retr + stor > 0 {
            assert_eq!(ours, Some((stor, retr, announced)), "{rel}: transfers");
            compared += 1;
        }
        let dump = format!("{obs:?}");
        assert!(!dump.contains("robots.txt"), "{rel}: file name kept");
        for secret in ["qwerty", "PASS test"] {
            assert!(!dump.contains(secret), "{rel}: password kept");
        }
        compared += our_users.len() + 1;
    }
    // SSDP: SERVER header (tshark decodes SSDP as HTTP).
    if let Some(path) = shared("pcap/it/ssdp_notify__suricata.pcap") {
        let theirs = tshark(&path, &[], "ssdp", &["http.server"]);
        for o in observations(&path) {
            if let ObsKind::Ssdp(m) = &o.kind {
                assert_eq!(
                    m.server.clone().unwrap_or_default(),
                    theirs[&o.origin.frame][0]
                );
                compared += 1;
            }
        }
    }
    // SNMP: the community's class (the string itself is never kept).
    if let Some(path) = shared("pcap/it/snmp_v1_v2c_communities__ndpi.pcap") {
        let theirs = tshark(&path, &[], "snmp.community", &["snmp.community"]);
        let obs = observations(&path);
        let mut n = 0;
        for o in &obs {
            if let Some(c) = match &o.kind {
                ObsKind::Snmp(m) => m.community.as_ref(),
                _ => None,
            } {
                let t = &theirs[&o.origin.frame][0];
                let want = match t.as_str() {
                    "public" => "public (default)",
                    "private" => "private (default)",
                    _ => "other (masked)",
                };
                assert_eq!(c, want, "frame {}", o.origin.frame);
                n += 1;
            }
        }
        assert_eq!(n, theirs.len(), "SNMP messages with a community");
        assert!(!format!("{obs:?}").contains("public2c"), "community kept");
        compared += n;
    }
    eprintln!("FTP/SSDP/SNMP: {compared} fields compared");
    assert!(compared >= 20);
}

#[test]
fn telnet_and_mqtt_logins() {
    // Telnet: the MANIFEST (and `tshark -qz follow,tcp,ascii,0`) shows the
    // login `fake` typed character by character and the password `user`.
    if let Some(path) = shared("pcap/it/telnet_login__ndpi.pcap") {
        let obs = observations(&path);
        let logins: Vec<_> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::Login {
                    protocol,
                    user,
                    success,
                    password_present,
                    ..
                } if protocol == "telnet" => Some((user.clone(), *success, *password_present)),
                _ => None,
            })
            .collect();
        assert_eq!(logins, vec![("fake".to_string(), Some(true), true)]);
        assert!(obs.iter().any(|o| matches!(&o.kind, ObsKind::Banner { text, .. } if text == "OpenBSD/i386 (oof) (ttyp2)")));
    }
    // MQTT: client ids and user against tshark.
    let mut compared = 0;
    for rel in [
        "pcap/it/mqtt311_userpass__suricata.pcap",
        "pcap/it/mqtt_paho__zeek.pcap",
    ] {
        let Some(path) = shared(rel) else { continue };
        let theirs = tshark(
            &path,
            &[],
            "mqtt.msgtype==1",
            &["mqtt.clientid", "mqtt.username"],
        );
        let obs = observations(&path);
        let ids: Vec<String> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::MqttConnect { client_id, .. } => Some(client_id.clone()),
                _ => None,
            })
            .collect();
        let their_ids: Vec<String> = theirs.values().map(|v| v[0].clone()).collect();
        assert_eq!(ids, their_ids, "{rel}");
        let users: Vec<String> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::Login { user, .. } => Some(user.clone()),
                _ => None,
            })
            .collect();
        let their_users: Vec<String> = theirs
            .values()
            .map(|v| v[1].clone())
            .filter(|u| !u.is_empty())
            .collect();
        assert_eq!(users, their_users, "{rel}");
        assert!(
            !format!("{obs:?}").contains("\"pass\""),
            "{rel}: password kept"
        );
        compared += ids.len() + users.len();
    }
    eprintln!("MQTT: {compared} fields compared");
    assert!(compared >= 4);
}

#[test]
fn smb_fields_match_tshark() {
    let mut compared = 0;
    if let Some(path) = shared("pcap/it/smb1__ndpi.pcap") {
        let theirs = tshark(&path, &[], "smb.native_os", &["smb.native_os"]);
        let obs = observations(&path);
        let ours: Vec<(u64, String)> = obs
            .iter()
            .filter_map(|o| match &o.kind {
                ObsKind::SmbNativeOs { os } => Some((o.origin.frame, os.clone())),
                _ => None,
            })
            .collect();
        let want: Vec<(u64, String)> = theirs.iter().map(|(f, v)| (*f, v[0].clone())).collect();
        assert_eq!(ours, want);
        assert!(obs
            .iter()
            .any(|o| matches!(o.kind, ObsKind::SmbDialect { smb1: true, .. })));
        compared += ours.len() + 1;
    }
    if let Some(path) = shared("pcap/it/smb3__suricata.pcap") {
        let theirs = tshark(
            &path,
            &[],
            "smb2.cmd==0 && smb2.flags.response==1",
            &["smb2.dialect"],
        );
        let ntlm = tshark(
            &path,
            &[],
            "ntlmssp.version.major",
            &[
                "ntlmssp.version.major",
                "ntlmssp.version.minor",
                "ntlmssp.version.build_number",
            ],
        );
        let obs = observations(&path);
        for o in &obs {
            match &o.kind {
                ObsKind::SmbDialect { dialect, .. } => {
                    let d = u16::from_str_radix(
                        theirs[&o.origin.frame][0].trim_start_matches("0x"),
                        16,
                    )
                    .unwrap();
                    assert_eq!(dialect, &wardwatch_proto::smb::dialect_name(d));
                    compared += 1;
                }
                ObsKind::Ntlm(fact) if fact.os.is_some() => {
                    let os = fact.os.as_deref().unwrap_or_default();
                    let t = &ntlm[&o.origin.frame];
                    assert!(
                        os.ends_with(&format!("({}.{}.{})", t[0], t[1], t[2])),
                        "{os}"
                    );
                    compared += 1;
                }
                _ => {}
            }
        }
    }
    eprintln!("SMB: {compared} fields compared");
    assert!(compared >= 4);
}

#[test]
fn tls_certificate_matches_tshark() {
    let Some(path) = shared("pcap/it/tls12_full_handshake__ndpi-443-curl.pcap") else {
        return;
    };
    let theirs = tshark(
        &path,
        &[],
        "tls.handshake.type==11",
        &["x509sat.printableString", "x509af.utcTime", "pkcs1.modulus"],
    );
    let obs = observations(&path);
    let certs: Vec<_> = obs
        .iter()
        .filter_map(|o| match &o.kind {
            ObsKind::TlsCertificate(c) => Some((
                o.origin.frame,
                c.subject.clone(),
                c.issuer.clone(),
                c.not_after.clone(),
                c.self_signed,
                c.rsa_bits,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(certs.len(), 1, "{certs:?}");
    let (frame, subject, issuer, not_after, self_signed, rsa_bits) = &certs[0];
    let t = &theirs[frame];
    // tshark lists the chain's strings: issuer O, issuer CN, subject CN, …
    let strings: Vec<&str> = t[0].split(',').collect();
    assert_eq!(issuer, strings[1]);
    assert_eq!(subject, strings[2]);
    // notAfter of the first certificate: "2020-03-16 01:17:28 (UTC)" → 200316011728Z
    let na: String = t[1]
        .split(',')
        .nth(1)
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(not_after, &format!("{}Z", &na[2..]));
    assert!(!self_signed);
    // The first modulus, as hex without its sign byte: bits = 4 per digit.
    let modulus: String = t[2].split(',').next().unwrap().replace(':', "");
    let modulus = modulus.trim_start_matches("00");
    assert_eq!(rsa_bits.unwrap() as usize, modulus.len() * 4);
}

#[test]
fn snmpv3_engine_and_user_match_tshark() {
    let Some(path) = shared("pcap/it/snmp_v1_v2c_communities__ndpi.pcap") else {
        return;
    };
    let theirs = tshark(
        &path,
        &[],
        "snmp.msgVersion==3",
        &["snmp.msgAuthoritativeEngineID", "snmp.msgUserName"],
    );
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        if let ObsKind::Snmp(m) = &o.kind {
            let wardwatch_proto::SnmpFact {
                version,
                engine_id,
                user,
                ..
            } = &**m;
            if version != "v3" {
                continue;
            }
            let t = &theirs[&o.origin.frame];
            let want_engine = if t[0] == "<MISSING>" {
                ""
            } else {
                t[0].as_str()
            };
            assert_eq!(
                engine_id.clone().unwrap_or_default(),
                want_engine,
                "frame {}",
                o.origin.frame
            );
            assert_eq!(
                user.clone().unwrap_or_default(),
                t[1],
                "frame {}",
                o.origin.frame
            );
            compared += 1;
        }
    }
    assert_eq!(compared, theirs.len());
    eprintln!("SNMPv3: {compared} messages compared on engine id and user");
    assert!(compared >= 40);
}

#[test]
fn lldp_and_cdp_match_tshark() {
    let path = repo("tests/captures/lldp_cdp.pcap");
    let theirs = tshark(
        &path,
        &[],
        "lldp or cdp",
        &[
            "lldp.tlv.system.name",
            "cdp.deviceid",
            "cdp.platform",
            "lldp.media.hardware",
            "lldp.media.firmware",
            "lldp.media.software",
            "lldp.media.sn",
            "lldp.media.manufacturer",
            "lldp.media.model",
        ],
    );
    let mut inventories = 0;
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        if let ObsKind::LinkNeighbor(n) = &o.kind {
            let wardwatch_proto::LinkNeighborFact {
                protocol,
                system_name,
                platform,
                inventory,
                ..
            } = &**n;
            let t = &theirs[&o.origin.frame];
            // LLDP-MED inventory, field by field (the asset id is not kept).
            for (i, f) in wardwatch_proto::l2::MED_INVENTORY.iter().enumerate() {
                let ours = inventory
                    .iter()
                    .find(|(k, _)| k == f)
                    .map(|(_, v)| v.as_str());
                assert_eq!(ours.unwrap_or_default(), t[3 + i], "{f}");
            }
            inventories += usize::from(!inventory.is_empty());
            let want = if protocol == "lldp" { &t[0] } else { &t[1] };
            assert_eq!(system_name.as_deref(), Some(want.as_str()));
            if protocol == "cdp" {
                assert_eq!(platform.as_deref(), Some(t[2].as_str()));
            }
            assert!(o.mac.is_some());
            compared += 1;
        }
    }
    assert_eq!(compared, theirs.len());
    assert_eq!(inventories, 1);
    eprintln!("LLDP/CDP: {compared} announcements compared, {inventories} with LLDP-MED inventory");
    // The phone is named by its inventory: maker, model, software, serial.
    let r = report(path);
    let phone = device(&r, "10.40.7.7");
    assert_eq!(
        (
            phone.vendor.as_deref(),
            phone.model.as_deref(),
            phone.firmware.as_deref(),
            phone.serial.as_deref()
        ),
        (
            Some("Polycom"),
            Some("VVX 411"),
            Some("UC 6.4.6.2"),
            Some("64167F123456")
        )
    );
    assert!(!serde_json::to_string(&r)
        .unwrap()
        .contains("WARD3-PHONE-07"));
}

#[test]
fn browser_announcements_match_tshark() {
    let path = repo("tests/captures/browser.pcap");
    let theirs = tshark(
        &path,
        &[],
        "browser",
        &[
            "browser.command",
            "browser.server",
            "browser.os_major",
            "browser.os_minor",
            "browser.server_type",
            "browser.comment",
        ],
    );
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        if let ObsKind::BrowserAnnouncement(f) = &o.kind {
            let t = &theirs[&o.origin.frame];
            assert_eq!(f.domain, t[0] == "0x0c", "frame {}", o.origin.frame);
            assert_eq!(f.name, t[1]);
            assert_eq!(f.os_major.to_string(), t[2]);
            assert_eq!(f.os_minor.to_string(), t[3]);
            assert_eq!(format!("0x{:08x}", f.server_type), t[4]);
            // tshark reads the comment of host announcements only.
            if !f.domain {
                assert_eq!(f.comment, t[5]);
            }
            compared += 1;
        }
    }
    assert_eq!(compared, theirs.len());
    assert_eq!(compared, 4);
    eprintln!("browser: {compared} announcements compared");
}

/// What browser announcements make of their senders: name, Windows
/// version and role, and the unsupported Windows found.
#[test]
fn browser_announcements_name_windows_and_its_role() {
    let path = repo("tests/captures/browser.pcap");
    let r = report(path);
    let got: Vec<_> = r
        .devices
        .iter()
        .map(|d| {
            (
                d.ips[0].as_str(),
                d.hostname.as_deref().unwrap_or(""),
                d.os.as_deref().unwrap_or(""),
                d.category.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "10.40.0.10",
                "RAD-DC01",
                "Windows Server 2008 R2 (6.1)",
                "server"
            ),
            ("10.40.5.30", "WS-RAD-07", "Windows XP (5.1)", "workstation"),
            ("10.40.0.20", "RAD-NAS", "Unix (Samba)", "server"),
        ]
    );
    let mut legacy: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "unsupported-os")
        .filter_map(|f| f.ip.as_deref())
        .collect();
    legacy.sort();
    assert_eq!(legacy, vec!["10.40.0.10", "10.40.5.30"]);
}

#[test]
fn dhcpv6_client_messages_match_tshark() {
    let path = repo("tests/captures/dhcp6.pcap");
    let theirs = tshark(
        &path,
        &[],
        "dhcpv6",
        &[
            "dhcpv6.msgtype",
            "dhcpv6.client_domain",
            "dhcpv6.vendorclass.enterprise",
            "dhcpv6.vendorclass.data",
            "dhcpv6.requested_option_code",
            "dhcpv6.duidllt.link_layer_addr",
            "dhcpv6.duidll.link_layer_addr",
        ],
    );
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        if let ObsKind::Dhcp6(f) = &o.kind {
            if f.server.is_some() {
                continue;
            }
            let t = &theirs[&o.origin.frame];
            assert_eq!(f.message_type.to_string(), t[0]);
            assert_eq!(
                f.fqdn.clone().unwrap_or_default(),
                t[1].trim_end_matches('.')
            );
            let vendor = match (t[2].as_str(), t[3].as_str()) {
                ("", _) => String::new(),
                (e, d) => format!("{d} (enterprise {e})"),
            };
            assert_eq!(f.vendor_class.clone().unwrap_or_default(), vendor);
            assert_eq!(f.option_request.clone().unwrap_or_default(), t[4]);
            let mac = if t[5].is_empty() { &t[6] } else { &t[5] };
            assert_eq!(f.duid_mac.as_deref(), Some(mac.as_str()));
            compared += 1;
        }
    }
    assert_eq!(compared, theirs.len());
    assert_eq!(compared, 2);
    eprintln!("DHCPv6: {compared} client messages compared");
    // The Windows host is named by its Solicit, on the device its IPv4
    // address shares with its link-local one.
    let r = report(path);
    let win = device(&r, "10.40.5.30");
    assert_eq!(win.ips, vec!["10.40.5.30", "fe80::214:22ff:fe01:203"]);
    assert_eq!(win.hostname.as_deref(), Some("WS-RAD-07"));
    assert_eq!(win.os.as_deref(), Some("Windows"));
}

#[test]
fn dhcpv6_server_answers_match_tshark() {
    // mitm6 and the site's dnsmasq answering dhclient -6
    // (tests/captures/make_mitm6.py).
    let path = repo("tests/captures/mitm6.pcap");
    let theirs = tshark(
        &path,
        &[],
        "dhcpv6.msgtype == 2 or dhcpv6.msgtype == 7",
        &[
            "dhcpv6.msgtype",
            "dhcpv6.duid.bytes",
            "dhcpv6.iaaddr.ip",
            "dhcpv6.dns_server",
        ],
    );
    let mut compared = 0;
    for o in &observations(&path) {
        let ObsKind::Dhcp6(f) = &o.kind else { continue };
        let Some(view) = &f.server else { continue };
        let t = &theirs[&o.origin.frame];
        assert_eq!(f.message_type.to_string(), t[0]);
        // Client identifier first, then the server's.
        let duids: Vec<&str> = t[1].split(',').collect();
        assert_eq!(
            (f.duid.as_deref(), view.duid.as_deref()),
            (duids.first().copied(), duids.get(1).copied())
        );
        let first = |s: &str| s.split(',').next().map(str::to_string);
        assert_eq!(view.address.map(|a| a.to_string()), first(&t[2]));
        assert_eq!(view.dns.map(|a| a.to_string()), first(&t[3]));
        compared += 1;
    }
    assert_eq!(compared, theirs.len());
    assert_eq!(compared, 7);
    eprintln!("DHCPv6: {compared} server answers compared");
}

#[test]
fn router_advertisements_match_tshark() {
    // radvd (two routers) and THC-IPv6's fake_router6
    // (tests/captures/make_rogue_ra.py).
    let path = repo("tests/captures/rogue_ra.pcap");
    let theirs = tshark(
        &path,
        &[],
        "icmpv6.type == 134",
        &[
            "eth.src",
            "icmpv6.nd.ra.router_lifetime",
            "icmpv6.nd.ra.flag.prf",
            "icmpv6.nd.ra.flag.m",
            "icmpv6.nd.ra.flag.o",
            "icmpv6.opt.prefix",
            "icmpv6.opt.prefix.length",
            "icmpv6.opt.prefix.flag.a",
            "icmpv6.opt.prefix.valid_lifetime",
        ],
    );
    let mut compared = 0;
    for o in &observations(&path) {
        let ObsKind::RouterAdvert(f) = &o.kind else {
            continue;
        };
        let t = &theirs[&o.origin.frame];
        assert_eq!(o.mac.as_deref(), Some(t[0].as_str()));
        assert_eq!(f.lifetime.to_string(), t[1]);
        let prf = match f.preference.as_str() {
            "high" => "1",
            "low" => "3",
            _ => "0",
        };
        assert_eq!(prf, t[2]);
        assert_eq!((f.managed, f.other), (t[3] == "1", t[4] == "1"));
        // tshark lists every prefix option; ours are the autonomous ones
        // still valid.
        let list = |i: usize| t[i].split(',').collect::<Vec<_>>();
        let (prefixes, lens, auto, valid) = (list(5), list(6), list(7), list(8));
        let expected: Vec<String> = (0..prefixes.len())
            .filter(|&i| auto.get(i) == Some(&"1") && valid.get(i).is_some_and(|v| *v != "0"))
            .map(|i| format!("{}/{}", prefixes[i], lens[i]))
            .collect();
        assert_eq!(f.prefixes, expected, "frame {}", o.origin.frame);
        compared += 1;
    }
    // Each router's distinct advertisements: radvd's periodic and final
    // ones (lifetime 0) twice, fake_router6's.
    assert_eq!(compared, 5);
    eprintln!(
        "Router Advertisements: {compared} compared ({} in the capture)",
        theirs.len()
    );
}

#[test]
fn kerberos_requests_match_tshark() {
    let path = repo("tests/captures/kerberos.pcap");
    let theirs = tshark(
        &path,
        &[],
        "kerberos.as_req_element",
        &["kerberos.CNameString", "kerberos.realm", "kerberos.addr_nb"],
    );
    assert_eq!(theirs.len(), 5, "four AS-REQs over UDP, one over TCP");
    let obs = observations(&path);
    let mut ours = BTreeMap::new();
    for o in &obs {
        if let ObsKind::DomainMember(f) = &o.kind {
            ours.insert(o.origin.frame, f.clone());
        }
    }
    let mut compared = 0;
    for (frame, t) in &theirs {
        let machine = t[0].strip_suffix('$');
        let Some(f) = ours.get(frame) else {
            // Only a person's logon without addresses names no host.
            assert!(machine.is_none() && t[2].is_empty(), "frame {frame}: {t:?}");
            continue;
        };
        assert_eq!(f.machine.as_deref(), machine, "frame {frame}");
        assert_eq!(f.domain.as_deref(), Some(t[1].as_str()), "frame {frame}");
        assert_eq!(
            f.netbios.as_deref().unwrap_or_default(),
            t[2].trim_end(),
            "frame {frame}"
        );
        assert_eq!(f.protocol, "kerberos");
        compared += 1;
    }
    // CLDAP pings: DnsDomain, Host, User in the filter, as tshark reads
    // the assertion values (NtVer is binary and shown empty).
    let pings = tshark(&path, &[], "cldap", &["ldap.assertionValue"]);
    assert_eq!(pings.len(), 2);
    for (frame, t) in &pings {
        let f = ours.remove(frame).expect("a ping named its host");
        let v: Vec<&str> = t[0].split(',').collect();
        assert_eq!(f.protocol, "cldap");
        assert_eq!(f.domain.as_deref(), Some(v[0]), "frame {frame}");
        assert_eq!(f.netbios.as_deref(), Some(v[1]), "frame {frame}");
        assert_eq!(
            f.machine.as_deref(),
            v[2].strip_suffix('$'),
            "frame {frame}"
        );
    }
    assert_eq!(compared, ours.len());
    assert_eq!(compared, 4);
    eprintln!(
        "Kerberos: {compared} requests compared; CLDAP: {} pings",
        pings.len()
    );
    // A machine logon names its host (over UDP and over TCP); a person's
    // names nobody, nor do two machine accounts from one host; the
    // controller is a server.
    let r = report(path);
    let dev = |ip: &str| device(&r, ip);
    assert_eq!(dev("10.40.5.30").hostname.as_deref(), Some("WS-RAD-07"));
    assert_eq!(dev("10.40.5.31").hostname.as_deref(), Some("WS-RAD-08"));
    // A CLDAP ping names a host too, and one naming it as its Kerberos
    // logon did (in another case) leaves it named.
    assert_eq!(dev("10.40.5.33").hostname.as_deref(), Some("WS-RAD-09"));
    assert_eq!(dev("10.40.5.32").hostname, None);
    assert_eq!(dev("10.40.5.99").hostname, None);
    let dc = dev("10.40.0.10");
    assert_eq!(dc.category, "server");
    assert!(dc.evidence.iter().any(|e| e.value == "domain controller"));
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("jdoe"), "a person's principal is never kept");
}

#[test]
fn mdns_make_and_model_match_tshark() {
    let path = repo("tests/captures/mdns_identity.pcap");
    // TXT strings hold commas ("MacBookPro16,1"): another aggregator.
    let theirs = tshark(
        &path,
        &["-E", "aggregator=|"],
        "dns.txt && dns.flags.response == 1",
        &["dns.txt"],
    );
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        let ObsKind::Dns {
            identity: Some(id), ..
        } = &o.kind
        else {
            continue;
        };
        // Each pair is one of tshark's TXT strings (`product` without
        // the parentheses Bonjour Printing puts around it).
        let strings: Vec<&str> = theirs[&o.origin.frame][0].split('|').collect();
        for (k, v) in &id.pairs {
            let want = if k == "product" {
                format!("{k}=({v})")
            } else {
                format!("{k}={v}")
            };
            assert!(
                strings.contains(&want.as_str()),
                "{want} not in {strings:?}"
            );
        }
        // And every identity key tshark shows is among the pairs.
        for s in &strings {
            let key = s.split('=').next().unwrap_or("");
            if [
                "model", "osxvers", "ty", "product", "usb_MFG", "usb_MDL", "md",
            ]
            .contains(&key)
            {
                assert!(id.pairs.iter().any(|(k, _)| k == key), "{s} missing");
            }
        }
        compared += 1;
    }
    assert_eq!(compared, theirs.len());
    assert_eq!(compared, 3);
    eprintln!("mDNS: {compared} TXT answers compared");
    let r = report(path);
    let dev = |ip: &str| device(&r, ip);
    let p = dev("10.40.6.20");
    assert_eq!(
        (p.vendor.as_deref(), p.model.as_deref(), p.category.as_str()),
        (Some("HP"), Some("HP LaserJet Pro M404n"), "printer")
    );
    assert_eq!(p.hostname.as_deref(), Some("NPI112233"));
    let mac = dev("10.40.5.40");
    assert_eq!(
        (
            mac.model.as_deref(),
            mac.os.as_deref(),
            mac.category.as_str()
        ),
        (Some("MacBookPro16,1"), Some("macOS 12"), "workstation")
    );
    assert_eq!(mac.hostname.as_deref(), Some("Reading-Room-Mac"));
    // The sleep proxy's answer names the sleeping Mac, not the proxy; the
    // querier holding the printer's record as a known answer is no printer.
    assert_eq!(dev("10.40.5.50").model.as_deref(), Some("Macmini8,1"));
    // No osxvers in its record: macOS, release unknown.
    assert_eq!(dev("10.40.5.50").os.as_deref(), Some("macOS"));
    assert_eq!(dev("10.40.5.50").hostname.as_deref(), Some("Sleepy-Mac"));
    for ip in ["10.40.0.5", "10.40.5.60"] {
        assert_eq!(
            (dev(ip).model.as_deref(), dev(ip).category.as_str()),
            (None, "unknown"),
            "{ip}"
        );
        assert_eq!(dev(ip).hostname, None, "{ip}");
    }
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        !text.contains("Ward 3"),
        "a printer's location note is not kept"
    );
}

#[test]
fn fhir_device_resources_match_tshark_bodies() {
    let path = repo("tests/captures/fhir_device.pcap");
    // tshark's reassembled HTTP bodies; each Device fact's values must be
    // in its frame's body as FHIR JSON or XML writes them.
    let bodies = tshark(&path, &[], "http.file_data", &["http.file_data"]);
    let obs = observations(&path);
    let mut per_frame: BTreeMap<u64, usize> = BTreeMap::new();
    for o in &obs {
        let ObsKind::FhirDevice(f) = &o.kind else {
            continue;
        };
        let body = &bodies[&o.origin.frame][0];
        for (k, v) in [
            ("manufacturer", &f.manufacturer),
            ("serialNumber", &f.serial),
        ] {
            if let Some(v) = v {
                let json = format!("\"{k}\":\"{v}\"");
                let xml = format!("<{k} value=\"{v}\"/>");
                assert!(
                    body.contains(&json) || body.contains(&xml),
                    "{k}={v} not in {body}"
                );
            }
        }
        for v in [&f.model, &f.version].into_iter().flatten() {
            assert!(body.contains(&format!("\"{v}\"")), "{v} not in {body}");
        }
        *per_frame.entry(o.origin.frame).or_default() += 1;
    }
    // As many facts as Device resources in each body.
    for (frame, t) in &bodies {
        let devices =
            t[0].matches("\"resourceType\":\"Device\"").count() + t[0].matches("<Device>").count();
        assert_eq!(
            per_frame.get(frame).copied().unwrap_or(0),
            devices,
            "frame {frame}"
        );
    }
    assert_eq!(per_frame.values().sum::<usize>(), 4);
    eprintln!(
        "FHIR: {} Device resources compared in {} bodies",
        4,
        bodies.len()
    );
    // The pump that posted its own Device is named by it; the gateway that
    // posted two devices, and the server that answered from its records,
    // are not; the patient reference is nowhere.
    let r = report(path);
    let pump = device(&r, "10.40.3.12");
    assert_eq!(
        (
            pump.vendor.as_deref(),
            pump.model.as_deref(),
            pump.firmware.as_deref(),
            pump.serial.as_deref()
        ),
        (
            Some("Acme Infusion Systems"),
            Some("AI-900"),
            Some("3.2.1"),
            Some("AI9-004471")
        )
    );
    for ip in ["10.40.3.50", "10.20.1.40", "10.40.5.21"] {
        assert_eq!(device(&r, ip).model, None, "{ip}");
    }
    assert!(!serde_json::to_string(&r).unwrap().contains("pat-77a"));
}

#[test]
fn upnp_description_matches_tshark() {
    let path = repo("tests/captures/upnp_description.pcap");
    // tshark's XML dissector lists the elements' texts in document order.
    let theirs = tshark(&path, &["-E", "aggregator=|"], "xml", &["xml.cdata"]);
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        let ObsKind::UpnpDevice(f) = &o.kind else {
            continue;
        };
        let texts: Vec<&str> = theirs[&o.origin.frame][0].split('|').collect();
        for v in [
            &f.device_type,
            &f.manufacturer,
            &f.model_name,
            &f.model_number,
            &f.serial,
        ] {
            let v = v.as_deref().expect("every field of the root device");
            assert!(texts.contains(&v), "{v} not in {texts:?}");
        }
        compared += 1;
    }
    assert_eq!(compared, 1);
    eprintln!("UPnP: {compared} device description compared");
    let r = report(path);
    let tv = device(&r, "10.40.8.20");
    assert_eq!(
        (
            tv.model.as_deref(),
            tv.serial.as_deref(),
            tv.category.as_str()
        ),
        (Some("KD-43X80J"), Some("4011234"), "iot")
    );
    assert!(tv.vendor.as_deref().is_some_and(|v| v.starts_with("Sony")));
    // The friendly name tshark shows names a patient: not kept.
    assert!(theirs.values().any(|t| t[0].contains("Mrs Example")));
    assert!(!serde_json::to_string(&r).unwrap().contains("Mrs Example"));
}

#[test]
fn bacnet_identities_match_tshark() {
    let path = repo("tests/captures/bacnet.pcap");
    let ids = tshark(
        &path,
        &[],
        "bacapp",
        &[
            "bacapp.instance_number",
            "bacapp.vendor_identifier",
            "bacapp.object_name",
            "bacnet.snet",
        ],
    );
    // The device properties' texts tshark shows in its detail view
    // ("model-name: UTF-8 'FEC2611-0'"), by frame.
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-V", "-Y", "bacapp"])
        .output()
        .expect("tshark");
    let mut texts: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    let mut frame = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(n) = line.strip_prefix("Frame ") {
            frame = n.split(':').next().unwrap().parse().unwrap();
        }
        let l = line.trim();
        for p in [
            "vendor-name",
            "model-name",
            "firmware-revision",
            "application-software-version",
        ] {
            if let Some(v) = l.strip_prefix(&format!("{p}: UTF-8 '")) {
                let v = v.strip_suffix('\'').unwrap().to_string();
                texts.entry(frame).or_default().insert(p.into(), v);
            }
        }
    }
    let obs = observations(&path);
    let mut compared = 0;
    let mut requests = BTreeMap::new();
    for o in &obs {
        let ObsKind::Bacnet(f) = &o.kind else {
            continue;
        };
        if let Some(r) = &f.request {
            requests.insert(o.origin.frame, r.clone());
            continue;
        }
        let t = &ids[&o.origin.frame];
        assert_eq!(f.instance.map(|i| i.to_string()).as_deref(), Some(&*t[0]));
        assert_eq!(f.vendor_id.map(|i| i.to_string()).unwrap_or_default(), t[1]);
        assert_eq!(f.object_name.clone().unwrap_or_default(), t[2]);
        let theirs = texts.get(&o.origin.frame).cloned().unwrap_or_default();
        let ours: BTreeMap<String, String> = [
            ("vendor-name", &f.vendor_name),
            ("model-name", &f.model_name),
            ("firmware-revision", &f.firmware_revision),
            ("application-software-version", &f.application_software),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.clone()?)))
        .collect();
        assert_eq!(ours, theirs, "frame {}", o.origin.frame);
        compared += 1;
    }
    // Two I-Am, one ReadPropertyMultiple answer, two ReadProperty answers;
    // not the routed I-Am (a source network: another device's) nor the
    // point value.
    assert_eq!(compared, 5);
    let routed: Vec<_> = ids.iter().filter(|(_, t)| !t[3].is_empty()).collect();
    assert_eq!(routed.len(), 1);
    assert!(obs.iter().all(|o| o.origin.frame != *routed[0].0));
    // The requests: tshark's APDU type and service numbers, by name.
    let services = tshark(
        &path,
        &[],
        "bacapp.type == 0 || bacapp.unconfirmed_service == 7 || bacapp.unconfirmed_service == 8",
        &["bacapp.confirmed_service", "bacapp.unconfirmed_service"],
    );
    let theirs: BTreeMap<u64, String> = services
        .iter()
        .map(|(frame, t)| {
            let name = match (t[0].as_str(), t[1].as_str()) {
                ("12", _) => "ReadProperty",
                ("14", _) => "ReadPropertyMultiple",
                ("15", _) => "WriteProperty",
                (_, "7") => "Who-Has",
                (_, "8") => "Who-Is",
                other => panic!("service {other:?}"),
            };
            (*frame, name.to_string())
        })
        .collect();
    assert_eq!(requests, theirs);
    assert_eq!(requests.len(), 2);
    eprintln!(
        "BACnet: {compared} identities and {} requests compared",
        requests.len()
    );
    let r = report(path);
    let fec = device(&r, "10.50.1.10");
    assert_eq!(
        (
            fec.vendor.as_deref(),
            fec.model.as_deref(),
            fec.firmware.as_deref(),
            fec.category.as_str(),
            fec.medical
        ),
        (
            Some("Johnson Controls"),
            Some("FEC2611-0"),
            Some("10.1.0"),
            "building-automation",
            Some(false)
        )
    );
    let jace = device(&r, "10.50.1.20");
    assert_eq!(
        (
            jace.vendor.as_deref(),
            jace.model.as_deref(),
            jace.firmware.as_deref()
        ),
        (Some("Tridium"), Some("JACE-8000"), Some("4.10.0.154"))
    );
    // The front-end that asked is a BACnet client (its category stays the
    // server its VMware MAC makes it); the controllers that only answered
    // are not.
    let client = |ip: &str| {
        device(&r, ip)
            .evidence
            .iter()
            .any(|e| e.rule.as_deref() == Some("role:bacnet-client"))
    };
    assert!(client("10.50.1.5") && !client("10.50.1.10") && !client("10.50.1.20"));
    // The MS/TP controller behind the JACE gave the JACE no Delta name.
    assert!(!serde_json::to_string(&r).unwrap().contains("50007"));
}

#[test]
fn wifi_networks_and_stations_match_tshark() {
    let path = repo("tests/captures/wifi_networks.pcap");
    let theirs = tshark(
        &path,
        &[],
        "wlan",
        &[
            "wlan.fc.type_subtype",
            "wlan.ta",
            "wlan.bssid",
            "wlan.ssid",
            "wlan.fixed.capabilities.privacy",
            "wlan.rsn.akms.type",
            "wlan.fc.ds",
            "wlan.fc.protected",
        ],
    );
    let obs = observations(&path);
    let mut compared = 0;
    for o in &obs {
        let ObsKind::Wifi(f) = &o.kind else {
            continue;
        };
        let t = &theirs[&o.origin.frame];
        // The sender (transmitter) and the network.
        assert_eq!(o.mac.as_deref(), Some(&*t[1]));
        assert_eq!(f.bssid, t[2]);
        let subtype = u16::from_str_radix(t[0].trim_start_matches("0x"), 16).unwrap();
        if subtype == 0x28 {
            // A protected QoS data frame to the distribution system.
            assert_eq!((t[6].as_str(), t[7].as_str()), ("0x01", "1"));
            assert!(f.station);
        } else {
            // tshark gives the SSID in hex.
            let ssid: Vec<u8> = (0..t[3].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&t[3][i..i + 2], 16).unwrap())
                .collect();
            assert_eq!(f.station, subtype == 0x00);
            let security = match (t[4].as_str(), t[5].as_str()) {
                (_, "2") => "WPA2-Personal",
                ("1", "") => "WEP",
                _ => "open",
            };
            // A station's network is completed from its beacon: compare
            // its own frame's element with the one it names.
            assert_eq!(f.ssid.as_deref().map(str::as_bytes), Some(&*ssid));
            assert_eq!(f.security.as_deref(), Some(security));
        }
        compared += 1;
    }
    // Two beacons, one association request, two protected frames sent to
    // the network; not the frame relayed from it, nor the probe request.
    assert_eq!(compared, 5);
    eprintln!("802.11: {compared} frames compared");
    let r = report(path);
    let by_mac = |m: &str| r.devices.iter().find(|d| d.mac.as_deref() == Some(m));
    let on = |m: &str| {
        by_mac(m)
            .unwrap()
            .evidence
            .iter()
            .find(|e| e.source == "wifi")
            .map(|e| e.value.clone())
    };
    assert_eq!(
        on("00:12:21:0a:0b:0c").as_deref(),
        Some("ICU-PUMPS (WPA2-Personal) BSSID 00:0b:86:a1:00:01")
    );
    assert_eq!(
        on("58:42:e4:00:00:07").as_deref(),
        Some("LEGACY-WEP (WEP) BSSID 00:0b:86:a1:00:02")
    );
    let pump = by_mac("58:42:e4:00:00:07").unwrap();
    assert_eq!(
        (pump.vendor.as_deref(), pump.category.as_str()),
        (Some("Baxter"), "infusion-pump")
    );
    assert_eq!(
        by_mac("00:0b:86:a1:00:01").unwrap().category,
        "network-device"
    );
    // The wired host behind the access point and the probing phone are
    // nobody's station.
    assert!(by_mac("00:50:56:00:00:10").is_none() && by_mac("da:a1:19:00:00:01").is_none());
    assert_eq!(r.devices.len(), 4);
    // WEP: the Baxter pump on it (high, by its device: it has no address)
    // and the access point offering it; the B. Braun pump on WPA2 is fine.
    let wep: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.as_str(),
                f.severity.as_str(),
                f.device.as_deref(),
                f.ip.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        wep,
        vec![
            ("wifi-wep", "high", Some(&*pump.id), None),
            (
                "wifi-wep",
                "medium",
                Some(&*by_mac("00:0b:86:a1:00:02").unwrap().id),
                None
            ),
        ]
    );
}

/// SIP over UDP (5060, and 5062 found by content) and over TCP (a REGISTER
/// cut across two segments, an INVITE with a body): the method, status,
/// User-Agent and Server of every message equal tshark's, on the frame
/// tshark shows them (port 5062 decoded as SIP for it); phones get their
/// make, model and firmware, the call server its role, the scanners a
/// finding, the password guesser's refused registrations a failed-logins
/// finding; the staff names and extensions in From and To reach nothing.
#[test]
fn sip_messages_match_tshark() {
    let path = repo("tests/captures/sip.pcap");
    let theirs = tshark(
        &path,
        &["-d", "udp.port==5062,sip"],
        "sip",
        &[
            "sip.Method",
            "sip.Status-Code",
            "sip.User-Agent",
            "sip.Server",
        ],
    );
    let ours = facts_by_frame(&path, |k| {
        let ObsKind::Sip(f) = k else {
            return None;
        };
        Some(vec![
            f.method.clone().unwrap_or_default(),
            f.status.map(|s| s.to_string()).unwrap_or_default(),
            f.user_agent.clone().unwrap_or_default(),
            f.server.clone().unwrap_or_default(),
        ])
    });
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 25);
    eprintln!("SIP: {} messages compared", ours.len());
    let r = report(path);
    let ident = |ip: &str| identity(&r, ip);
    assert_eq!(
        ident("10.20.0.31"),
        (
            Some("Yealink"),
            Some("SIP-T46S"),
            Some("66.86.0.15"),
            "voip"
        )
    );
    assert_eq!(
        ident("10.20.0.32"),
        (Some("Polycom"), Some("VVX 411"), Some("5.9.0.9373"), "voip")
    );
    assert_eq!(
        ident("10.20.0.33"),
        (Some("Cisco"), Some("CP8845"), Some("11.7.1"), "voip")
    );
    assert_eq!(
        ident("10.20.0.34"),
        (Some("Ascom"), Some("i62"), Some("6.3.1"), "voip")
    );
    assert_eq!(device(&r, "10.20.0.5").category, "server");
    let rules: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity.as_str(), f.ip.as_deref()))
        .collect();
    // The probing scanner (two targets), the guesser as a scanner too, and
    // its six refused registrations as failed logins on the call server.
    assert_eq!(
        rules,
        [
            ("failed-logins", "high", Some("10.20.0.5")),
            ("sip-scanner", "medium", Some("203.0.113.50")),
            ("sip-scanner", "medium", Some("203.0.113.77")),
        ]
    );
    assert_eq!(r.findings[1].peers.len(), 2);
    assert_eq!(r.findings[0].peer.as_deref(), Some("203.0.113.77"));
    assert_private(
        &r,
        &[
            "Whitfield",
            "Ward 3 Nurse",
            "Ward 5 Desk",
            "4711",
            "sipvicious\"",
        ],
    );
}

/// Modbus/TCP answers: on every frame where tshark shows a server's answer
/// (the shared capture's 51 register reads, the bundled meter's read,
/// identification cut across two segments, and refused write), the unit,
/// function, exception code and identification objects equal tshark's
/// (the vendor URL, object 3, is not kept); the meter is named by them.
#[test]
fn modbus_answers_match_tshark() {
    let shared_capture = shared("pcap/it/modbus_tcp__ndpi.pcap");
    let mut paths = vec![repo("tests/captures/modbus.pcap")];
    paths.extend(shared_capture.clone());
    let mut compared = 0;
    for path in &paths {
        let theirs = tshark(
            path,
            &[],
            "modbus && tcp.srcport == 502",
            &[
                "mbtcp.unit_id",
                "modbus.func_code",
                "modbus.exception_code",
                "modbus.object_id",
                "modbus.object_str_value",
            ],
        );
        let theirs: BTreeMap<u64, Vec<String>> = theirs
            .into_iter()
            .map(|(frame, t)| {
                // Objects as "id=value" pairs, the vendor URL left out.
                let ids = t[3].split(',').filter(|s| !s.is_empty());
                let objects: Vec<String> = ids
                    .zip(t[4].split(','))
                    .filter(|(id, _)| *id != "3")
                    .map(|(id, v)| format!("{id}={v}"))
                    .collect();
                (
                    frame,
                    vec![t[0].clone(), t[1].clone(), t[2].clone(), objects.join(",")],
                )
            })
            .collect();
        let ours = facts_by_frame(path, |k| {
            let ObsKind::Modbus(f) = k else {
                return None;
            };
            let objects: Vec<String> = [
                (0, &f.vendor),
                (1, &f.product_code),
                (2, &f.revision),
                (4, &f.product_name),
                (5, &f.model_name),
            ]
            .into_iter()
            .filter_map(|(id, v)| Some(format!("{id}={}", v.as_ref()?)))
            .collect();
            Some(vec![
                f.unit.to_string(),
                f.function.to_string(),
                f.exception.map(|e| e.to_string()).unwrap_or_default(),
                objects.join(","),
            ])
        });
        assert_eq!(ours, theirs, "{}", path.display());
        compared += ours.len();
    }
    eprintln!("Modbus: {compared} answers compared");
    assert!(compared >= 3);
    let r = report(repo("tests/captures/modbus.pcap"));
    let meter = device(&r, "10.50.2.10");
    assert_eq!(
        (
            meter.vendor.as_deref(),
            meter.model.as_deref(),
            meter.firmware.as_deref(),
            meter.category.as_str(),
            meter.medical
        ),
        (
            Some("Schneider Electric"),
            Some("PM5560"),
            Some("v2.7.4"),
            "building-automation",
            Some(false)
        )
    );
    assert!(meter
        .evidence
        .iter()
        .any(|e| e.rule.as_deref() == Some("role:modbus-server")));
    // A server known by its answers alone is a facility field device.
    if let Some(p) = shared_capture {
        let r = report(p);
        assert_eq!(
            device(&r, "192.168.110.138").category,
            "building-automation"
        );
        assert_eq!(device(&r, "192.168.110.131").category, "unknown");
    }
    // The polling server (a VMware guest) is no field device.
    let bms = device(&r, "10.50.1.6");
    assert_eq!(bms.category, "server");
    assert!(bms
        .evidence
        .iter()
        .all(|e| e.source != "modbus" && e.rule.as_deref() != Some("role:modbus-server")));
}

/// WS-Discovery: tshark's XML dissector (its UDP heuristic on) gives the
/// Action, Types and Scopes elements of every message; the facts hold the
/// same message name, type names and ONVIF hardware and name scopes on the
/// same frames, for the devices describing themselves (not the probe).
/// Cameras are named by maker and model, the printer and the PC by type;
/// the location scopes the site set reach nothing.
#[test]
fn ws_discovery_matches_tshark() {
    let path = repo("tests/captures/ws_discovery.pcap");
    let out = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "--enable-heuristic",
            "xml_udp",
            "-V",
        ])
        .output()
        .expect("tshark");
    // frame -> element local name -> text.
    let mut theirs: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    let (mut frame, mut open) = (0, None::<String>);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(n) = line.strip_prefix("Frame ") {
            frame = n.split(':').next().unwrap().parse().unwrap();
        }
        let l = line.trim();
        if let Some(name) = open.take() {
            theirs.entry(frame).or_default().insert(name, l.to_string());
        }
        for name in ["Action", "Types", "Scopes"] {
            if l.starts_with('<') && l.ends_with(&format!(":{name}>")) && !l.starts_with("</") {
                open = Some(name.to_string());
            }
        }
    }
    let decode = |s: &str| {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    let expected: BTreeMap<u64, Vec<String>> = theirs
        .iter()
        .filter_map(|(frame, e)| {
            let message = e["Action"].rsplit('/').next().unwrap().to_string();
            if message == "Probe" {
                return None;
            }
            let types: Vec<&str> = e["Types"]
                .split_whitespace()
                .map(|t| t.split(':').next_back().unwrap())
                .collect();
            let scope = |key: &str| {
                e.get("Scopes")
                    .and_then(|s| {
                        s.split_whitespace().find_map(|u| {
                            u.strip_prefix(&format!("onvif://www.onvif.org/{key}/"))
                                .map(decode)
                        })
                    })
                    .unwrap_or_default()
            };
            Some((
                *frame,
                vec![message, types.join(" "), scope("hardware"), scope("name")],
            ))
        })
        .collect();
    let ours = facts_by_frame(&path, |k| {
        let ObsKind::WsDiscovery(f) = k else {
            return None;
        };
        Some(vec![
            f.message.clone(),
            f.types.join(" "),
            f.hardware.clone().unwrap_or_default(),
            f.name.clone().unwrap_or_default(),
        ])
    });
    assert_eq!(ours, expected);
    assert_eq!(ours.len(), 5);
    eprintln!("WS-Discovery: {} messages compared", ours.len());
    let r = report(path);
    let ident = |ip: &str| {
        let (vendor, model, _, category) = identity(&r, ip);
        (vendor, model, category)
    };
    assert_eq!(
        ident("10.60.0.21"),
        (Some("Hikvision"), Some("DS-2CD2143G0-I"), "iot")
    );
    assert_eq!(
        ident("10.60.0.22"),
        (Some("Axis Communications"), Some("P3225-LV"), "iot")
    );
    // (Its vendor is the NIC maker's, as the OUI says.)
    assert_eq!(
        (ident("10.60.0.23").1, ident("10.60.0.23").2),
        (Some("IPC-B12"), "iot")
    );
    assert_eq!(ident("10.60.0.40").2, "printer");
    assert_eq!(ident("10.60.0.50").2, "workstation");
    assert_private(&r, &["ICU", "Bed 12", "Ward 5", "Ward%205"]);
}

/// EtherNet/IP List Identity: on every answer tshark decodes, the vendor
/// id, product code, revision, serial and product name equal tshark's (the
/// device type by its CIP number); the broadcast request names nobody; the
/// adapter and the switch are named by them.
#[test]
fn enip_identities_match_tshark() {
    let path = repo("tests/captures/enip_identity.pcap");
    let theirs = tshark(
        &path,
        &[],
        "enip.lir.vendor",
        &[
            "enip.lir.vendor",
            "enip.lir.devtype",
            "enip.lir.prodcode",
            "enip.lir.revision",
            "enip.lir.serial",
            "enip.lir.name",
        ],
    );
    let theirs: BTreeMap<u64, Vec<String>> = theirs
        .into_iter()
        .map(|(frame, t)| {
            let vendor = u16::from_str_radix(t[0].trim_start_matches("0x"), 16).unwrap();
            let rev: u16 = t[3].parse().unwrap();
            let devtype = match t[1].as_str() {
                "12" => "Communications Adapter".to_string(),
                "44" => "Managed Ethernet Switch".to_string(),
                other => other.to_string(),
            };
            (
                frame,
                vec![
                    vendor.to_string(),
                    devtype,
                    t[2].clone(),
                    format!("{}.{:03}", rev >> 8, rev & 0xff),
                    t[4].clone(),
                    t[5].clone(),
                ],
            )
        })
        .collect();
    let ours = facts_by_frame(&path, |k| {
        let ObsKind::EnipIdentity(f) = k else {
            return None;
        };
        Some(vec![
            f.vendor_id.to_string(),
            f.device_type.clone(),
            f.product_code.to_string(),
            f.revision.clone(),
            f.serial.clone(),
            f.product_name.clone().unwrap_or_default(),
        ])
    });
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 2);
    eprintln!("EtherNet/IP: {} identities compared", ours.len());
    let r = report(path);
    let ident = |ip: &str| identity(&r, ip);
    assert_eq!(
        ident("10.70.0.10"),
        (
            Some("Rockwell Automation"),
            Some("1756-EN2T/D"),
            Some("10.007"),
            "building-automation"
        )
    );
    assert_eq!(
        ident("10.70.0.2"),
        (
            Some("Rockwell Automation"),
            Some("Stratix 5700"),
            Some("15.002"),
            "network-device"
        )
    );
    assert_ne!(ident("10.70.0.5").3, "building-automation");
}

/// CEF and LEEF syslog: the vendor, product and version each message's
/// header names equal the bar-separated fields of tshark's syslog.msg; they
/// are the sender's evidence (not its identity: a log relay forwards other
/// products' messages), and no event field reaches the report.
#[test]
fn cef_and_leef_products_match_tshark() {
    let path = repo("tests/captures/syslog_cef.pcap");
    let theirs: BTreeMap<u64, Vec<String>> = tshark(&path, &[], "syslog", &["syslog.msg"])
        .into_iter()
        .map(|(frame, t)| {
            let (format, at) = ["CEF:", "LEEF:"]
                .iter()
                .find_map(|f| t[0].find(f).map(|i| (f.trim_end_matches(':'), i)))
                .expect("CEF or LEEF");
            let fields: Vec<&str> = t[0][at..].split('|').collect();
            let row = [format, fields[1], fields[2], fields[3]];
            (frame, row.iter().map(|s| s.to_string()).collect())
        })
        .collect();
    let ours = facts_by_frame(&path, |k| {
        let ObsKind::Syslog {
            product: Some(p), ..
        } = k
        else {
            return None;
        };
        Some(vec![
            p.format.clone(),
            p.vendor.clone(),
            p.product.clone(),
            p.version.clone().unwrap_or_default(),
        ])
    });
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 2);
    eprintln!("CEF/LEEF: {} headers compared", ours.len());
    let r = report(path);
    let fw = device(&r, "10.80.0.1");
    let said = |field: &str| {
        fw.evidence
            .iter()
            .find(|e| e.source == "syslog" && e.field == field)
            .map(|e| e.value.as_str())
    };
    assert_eq!(said("CEF vendor"), Some("Palo Alto Networks"));
    assert_eq!(said("CEF version"), Some("10.1.6"));
    assert_private(&r, &["jdoe", "DOE^JANE", "rad1", "study for"]);
}

/// The mail logins of `path` (SMTP, POP3, IMAP; `extra` tshark's
/// decode-as options): the users equal tshark's in order (SMTP AUTH's
/// base64 as tshark shows it, decoded: LOGIN's user line, PLAIN's
/// authentication identity; POP3 USER; IMAP LOGIN, quotes off), and each
/// login's outcome is the answer tshark reads on the frame it came from
/// (SMTP 2xx or not, POP3 +OK/-ERR, IMAP tagged OK). Returns the logins
/// compared.
fn mail_logins_match(path: &Path, extra: &[&str]) -> usize {
    let text = |b64: &str| {
        String::from_utf8(wardwatch_proto::http::base64_decode(b64).expect("base64")).unwrap()
    };
    let mut theirs: BTreeMap<u64, String> = BTreeMap::new();
    for (frame, v) in tshark(
        path,
        extra,
        "smtp.auth.username or smtp.auth.username_password",
        &["smtp.auth.username", "smtp.auth.username_password"],
    ) {
        let user = match v[0].as_str() {
            "" => text(&v[1]).split('\0').nth(1).unwrap().to_string(),
            login => text(login),
        };
        theirs.insert(frame, user);
    }
    for (frame, v) in tshark(
        path,
        extra,
        "pop.request.command==\"USER\"",
        &["pop.request.parameter"],
    ) {
        theirs.insert(frame, v[0].clone());
    }
    for (frame, v) in tshark(
        path,
        extra,
        "imap.request.username",
        &["imap.request.username"],
    ) {
        theirs.insert(frame, v[0].trim_matches('"').to_string());
    }
    let answers = tshark(
        path,
        extra,
        "smtp.response.code or pop.response.indicator or imap.response.status",
        &[
            "smtp.response.code",
            "pop.response.indicator",
            "imap.response.status",
        ],
    );
    let logins = facts_by_frame(path, |k| match k {
        ObsKind::Login {
            protocol,
            user,
            success,
            password_present: true,
            ..
        } => Some(vec![protocol.clone(), user.clone(), format!("{success:?}")]),
        _ => None,
    });
    let our_users: Vec<&str> = logins.values().map(|v| v[1].as_str()).collect();
    let their_users: Vec<&str> = theirs.values().map(String::as_str).collect();
    assert_eq!(our_users, their_users);
    for (frame, login) in &logins {
        let answer = answers
            .get(frame)
            .expect("a server answer on the login's frame");
        let accepted = match (login[0].as_str(), answer.as_slice()) {
            ("smtp", [code, ..]) => code.starts_with('2'),
            ("pop3", [_, indicator, _]) => indicator == "+OK",
            ("imap", [_, _, status]) => status == "OK",
            other => panic!("{other:?}"),
        };
        assert_eq!(login[2], format!("{:?}", Some(accepted)), "frame {frame}");
    }
    logins.len()
}

/// Mail in the clear (bundled `mail.pcap`): the users of SMTP AUTH (LOGIN's
/// user line and PLAIN's authentication identity, which tshark shows in
/// base64), POP3 USER and IMAP LOGIN equal tshark's, in order; each login's
/// outcome is the server's answer tshark reads on the frame it came from
/// (SMTP 235 or 5xx, POP3 +OK/-ERR, IMAP tagged OK/NO); the greetings equal
/// tshark's; after STARTTLS the TLS dissector reads the ClientHello's SNI as
/// tshark does. A relay whose greeting does not say SMTP is not taken for
/// FTP, and no password, address, subject or mailbox reaches the report.
#[test]
fn mail_logins_match_tshark() {
    let path = repo("tests/captures/mail.pcap");
    assert_eq!(mail_logins_match(&path, &[]), 5);
    // Greetings: SMTP's text after the code, POP3's description (the same
    // bar the APOP stamp), IMAP's line ending with ours.
    let greetings = facts_by_frame(&path, |k| match k {
        ObsKind::Banner { protocol, text } => Some(vec![protocol.clone(), text.clone()]),
        _ => None,
    });
    let smtp_220: Vec<String> = tshark(
        &path,
        &[],
        "smtp.response.code==220",
        &["smtp.rsp.parameter"],
    )
    .into_values()
    .map(|v| v[0].clone())
    .collect();
    let mut compared = 0;
    for (frame, g) in &greetings {
        match g[0].as_str() {
            "smtp" => assert!(smtp_220.contains(&g[1]), "{g:?}"),
            "pop3" => assert_eq!(
                tshark(
                    &path,
                    &[],
                    &format!("frame.number=={frame}"),
                    &["pop.response.description"]
                )[frame][0],
                g[1]
            ),
            "imap" => assert!(tshark(
                &path,
                &[],
                &format!("frame.number=={frame}"),
                &["imap.line"]
            )[frame][0]
                .trim_end_matches("\\r\\n")
                .ends_with(&g[1])),
            other => panic!("{other} greeting {g:?}"),
        }
        compared += 1;
    }
    // Both Exchange greetings, the relay's, Dovecot's twice.
    assert_eq!(compared, 5);
    let sni = starttls_hello_matches_tshark(&path);
    // The clients' EHLO names.
    let ehlo = facts_by_frame(&path, |k| match k {
        ObsKind::SmtpClientName { name } => Some(vec![name.clone()]),
        _ => None,
    });
    assert_eq!(
        ehlo,
        tshark(
            &path,
            &[],
            "smtp.req.command==\"EHLO\"",
            &["smtp.req.parameter"]
        )
    );
    assert_eq!(ehlo.len(), 3);
    eprintln!(
        "mail: 5 logins, {compared} greetings, {} EHLO names, {} STARTTLS hello compared",
        ehlo.len(),
        sni
    );
    let r = report(path);
    // The scanner's EHLO name is an HP Jetdirect's default host name.
    assert_eq!(
        identity(&r, "10.40.6.30"),
        (Some("HP"), None, None, "printer")
    );
    assert_eq!(
        identity(&r, "10.20.1.25"),
        (Some("Microsoft"), None, None, "server")
    );
    assert_eq!(device(&r, "10.20.1.25").os.as_deref(), Some("Windows"));
    assert_eq!(device(&r, "10.20.1.27").category, "server");
    let mut rules: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.ip.as_deref()))
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            ("imap-cleartext-login", Some("10.20.1.27")),
            ("pop3-cleartext-login", Some("10.20.1.27")),
            ("smtp-cleartext-login", Some("10.20.1.25")),
            ("smtp-cleartext-login", Some("10.20.1.26")),
        ]
    );
    assert_private(
        &r,
        &[
            "Winter-2023",
            "Infus3!on",
            "Lab-Results-9",
            "Rad-2023",
            "jane.roe",
            "scanner@",
            "John Q",
            "448812",
            "Patients/Roe",
        ],
    );
}

/// LDAP simple binds (bundled `ldap.pcap`): the bind names with a password
/// equal tshark's `ldap.name` of the bindRequests carrying `ldap.simple`
/// (anonymous and unauthenticated binds, with none, are no logins), in
/// order; each login's outcome is the `ldap.resultCode` tshark reads on the
/// frame it came from; SASL binds give none; after StartTLS the ClientHello's
/// SNI equals tshark's. The report has one cleartext-login finding on the
/// directory with three binds as evidence (the service account's second
/// accepted bind repeats its first) and the LDAP remedy, and no password
/// or looked-up entry.
#[test]
fn ldap_binds_match_tshark() {
    let path = repo("tests/captures/ldap.pcap");
    let binds: Vec<String> = tshark(
        &path,
        &[],
        "ldap.protocolOp==0 && ldap.simple",
        &["ldap.name"],
    )
    .into_values()
    .map(|v| v[0].clone())
    .filter(|name| !name.is_empty())
    .collect();
    let results = tshark(&path, &[], "ldap.protocolOp==1", &["ldap.resultCode"]);
    let logins = facts_by_frame(&path, |k| match k {
        ObsKind::Login {
            protocol,
            user,
            success,
            password_present,
            ..
        } => Some(vec![
            protocol.clone(),
            user.clone(),
            format!("{success:?}"),
            password_present.to_string(),
        ]),
        _ => None,
    });
    let users: Vec<&str> = logins.values().map(|v| v[1].as_str()).collect();
    assert_eq!(users, binds);
    assert_eq!(users.len(), 4);
    for (frame, login) in &logins {
        assert_eq!((login[0].as_str(), login[3].as_str()), ("ldap", "true"));
        let code = &results
            .get(frame)
            .expect("a bindResponse on the login's frame")[0];
        assert_eq!(
            login[2],
            format!("{:?}", Some(code == "0")),
            "frame {frame}"
        );
    }
    let sni = starttls_hello_matches_tshark(&path);
    eprintln!(
        "LDAP: {} binds, {sni} StartTLS hello compared",
        logins.len()
    );
    let r = report(path);
    let found: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.ip.as_deref(), f.count, f.evidence.len()))
        .collect();
    // The service account's second accepted bind repeats the first.
    assert_eq!(found, [("ldap-cleartext-login", Some("10.20.0.10"), 3, 3)]);
    assert_eq!(r.stats.observations_repeated, 1);
    assert!(r.findings[0].remediation.contains("LDAPS"));
    assert_private(
        &r,
        &[
            "Pacs#2019",
            "Radiology1",
            "Rad!ology",
            "Mary Roe",
            "Radiologists",
        ],
    );
}

/// Passive DNS (bundled `dns_names.pcap`): on every response frame where
/// wardwatch takes a name for a site address, the (name, address) pair is
/// the first of tshark's answers (`dns.resp.type`, `dns.resp.name`, `dns.a`,
/// `dns.ptr.domain_name` walked in order) whose address is private, and
/// every such response gives one. The names become the host names of
/// devices that named themselves nowhere (a DHCP host name wins), are
/// kept once however often asked, and make no device of an address never
/// seen on the wire.
#[test]
fn dns_names_match_tshark() {
    let path = repo("tests/captures/dns_names.pcap");
    let theirs: BTreeMap<u64, Vec<String>> = tshark(
        &path,
        &[],
        "dns.flags.response==1",
        &[
            "dns.resp.type",
            "dns.resp.name",
            "dns.a",
            "dns.ptr.domain_name",
        ],
    )
    .into_iter()
    .filter_map(|(frame, v)| {
        let list = |s: &String| -> Vec<String> { s.split(',').map(str::to_string).collect() };
        let (types, owners) = (list(&v[0]), list(&v[1]));
        let (mut a, mut ptr) = (list(&v[2]).into_iter(), list(&v[3]).into_iter());
        let first = types.iter().zip(&owners).find_map(|(t, owner)| {
            let (name, addr) = match t.as_str() {
                "1" => (owner.clone(), a.next()?),
                "12" => {
                    let target = ptr.next()?;
                    let octets: Vec<&str> = owner
                        .trim_end_matches(".in-addr.arpa")
                        .split('.')
                        .rev()
                        .collect();
                    (target, octets.join("."))
                }
                _ => return None,
            };
            let ip: std::net::Ipv4Addr = addr.parse().ok()?;
            ip.is_private().then(|| vec![name.to_lowercase(), addr])
        })?;
        Some((frame, first))
    })
    .collect();
    let ours = facts_by_frame(&path, |k| match k {
        ObsKind::DnsName { name, addr, .. } => Some(vec![name.clone(), addr.to_string()]),
        _ => None,
    });
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 5);
    eprintln!("DNS names: {} responses compared", ours.len());
    let r = report(path);
    let host = |ip: &str| device(&r, ip).hostname.as_deref();
    assert_eq!(host("10.20.2.10"), Some("pacs01"));
    assert_eq!(host("10.40.5.21"), Some("rad-ws-21"));
    assert_eq!(host("10.30.1.5"), Some("CT-SCANNER-1"));
    let named = device(&r, "10.20.2.10")
        .evidence
        .iter()
        .filter(|e| e.source == "dns")
        .count();
    assert_eq!(named, 1);
    // The second client's answer about the PACS repeats the fact.
    assert_eq!(r.stats.observations_repeated, 1);
    for absent in ["10.20.3.5", "93.184.216.34"] {
        assert!(
            !r.devices.iter().any(|d| d.ips.iter().any(|a| a == absent)),
            "{absent} made a device"
        );
    }
}

/// Real clients (Python's smtplib, poplib and imaplib against small
/// servers, captured on loopback by `tests/captures/make_mail_python.py`):
/// smtplib's AUTH PLAIN and AUTH LOGIN with initial responses, a lower-case
/// ehlo, poplib's USER/PASS and imaplib's LOGIN with a quoted password
/// holding a space; users and outcomes equal tshark's (ports decoded as
/// SMTP, POP and IMAP), and no password reaches the report.
#[test]
fn mail_logins_of_real_clients_match_tshark() {
    let path = repo("tests/captures/mail_python.pcap");
    let decode = [
        "-d",
        "tcp.port==2525,smtp",
        "-d",
        "tcp.port==2110,pop",
        "-d",
        "tcp.port==2143,imap",
    ];
    assert_eq!(mail_logins_match(&path, &decode), 4);
    let r = report(path);
    assert_private(&r, &["Secret-1", "Secret-2", "Secret-3", "Secret 4"]);
}

/// TFTP requests (a real client and server, tftpy, across a veth pair):
/// the opcode, the mode, the file name's extension and the option names
/// equal tshark's on every request frame; and the findings follow what
/// tshark shows answered. A request is answered when the server sends to
/// the request's source port (from port 69 or a port of its own); it is a
/// transfer when the client sends to that port of the server in turn. A
/// write transferred is `tftp-write`, any other request answered
/// `tftp-service`, one nobody answered nothing.
#[test]
fn tftp_requests_match_tshark() {
    let path = repo("tests/captures/tftp.pcap");
    let requests = tshark(
        &path,
        &[],
        // (Not the request quoted in the port unreachable.)
        "(tftp.opcode == 1 || tftp.opcode == 2) && !icmp",
        &[
            "tftp.opcode",
            "tftp.type",
            "tftp.source_file",
            "tftp.destination_file",
            "tftp.option.name",
            "ip.src",
            "udp.srcport",
            "ip.dst",
        ],
    );
    // The extension as the dissector defines it: one to five letters or
    // digits after the last dot of the last path component.
    let extension = |name: &str| -> String {
        let base = name.rsplit(['/', '\\', ':']).next().unwrap_or(name);
        match base.rsplit_once('.') {
            Some((stem, ext))
                if !stem.is_empty()
                    && (1..=5).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                ext.to_ascii_lowercase()
            }
            _ => String::new(),
        }
    };
    let theirs: BTreeMap<u64, Vec<String>> = requests
        .iter()
        .map(|(frame, t)| {
            let name = if t[0] == "1" { &t[2] } else { &t[3] };
            (
                *frame,
                vec![
                    t[0].clone(),
                    t[1].to_ascii_lowercase(),
                    extension(name),
                    t[4].clone(),
                ],
            )
        })
        .collect();
    let ours = facts_by_frame(&path, |k| {
        let ObsKind::Tftp(f) = k else { return None };
        Some(vec![
            if f.write { "2" } else { "1" }.to_string(),
            f.mode.clone(),
            f.extension.clone().unwrap_or_default(),
            f.options.join(","),
        ])
    });
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 4);
    // Every UDP frame's ends, to tell which requests were answered.
    let frames = tshark(
        &path,
        &[],
        "udp && !icmp",
        &["ip.src", "udp.srcport", "ip.dst", "udp.dstport"],
    );
    let mut expected: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (frame, t) in &requests {
        let (client, port, server) = (&t[5], &t[6], &t[7]);
        let answer = frames
            .values()
            .find(|f| f[0] == *server && f[2] == *client && f[3] == *port);
        let Some(answer) = answer else { continue };
        let transfer = frames
            .values()
            .any(|f| f[0] == *client && f[1] == *port && f[2] == *server && f[3] == answer[1]);
        let rule = if t[0] == "2" && transfer {
            "tftp-write"
        } else {
            "tftp-service"
        };
        expected.entry(rule).or_default().push(*frame);
    }
    let r = report(path);
    let got: BTreeMap<&str, Vec<u64>> = r
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("tftp"))
        .map(|f| {
            let mut frames: Vec<u64> = f.evidence.iter().map(|e| e.frame).collect();
            frames.sort_unstable();
            (f.rule.as_str(), frames)
        })
        .collect();
    assert_eq!(got, expected);
    // A read, an error and a write answered; the request to an address
    // with no server (port unreachable) raised nothing.
    assert_eq!(expected.values().map(Vec::len).sum::<usize>(), 3);
    let server = device(&r, "10.69.0.1");
    assert!(server.protocols.iter().any(|p| p == "tftp"));
    assert!(server.evidence.iter().any(|e| e.source == "tftp"
        && e.field == "write request received"
        && e.value == "octet .cfg file"));
    // The files' names are nowhere in the report.
    assert_private(
        &r,
        &["pump_v2.3", "firmware/", "monitor-7", "missing", "boot.efi"],
    );
    eprintln!("TFTP: {} requests compared", ours.len());
}

/// tshark's verbose RTSP: per frame, the header lines named in `names`
/// (the first of each), as tshark shows them (it has no fields for them).
fn rtsp_header_lines(path: &Path, names: &[&str]) -> BTreeMap<u64, Vec<String>> {
    let out = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-Y",
            "rtsp",
            "-O",
            "rtsp",
            "-V",
        ])
        .output()
        .expect("tshark");
    let mut rows: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut frame = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            frame = rest.split(':').next().unwrap().parse().unwrap();
            rows.insert(frame, vec![String::new(); names.len()]);
            continue;
        }
        let line = line.trim().trim_end_matches("\\r\\n");
        for (i, n) in names.iter().enumerate() {
            if let Some(v) = line.strip_prefix(&format!("{n}: ")) {
                let slot = &mut rows.get_mut(&frame).unwrap()[i];
                if slot.is_empty() {
                    *slot = v.to_string();
                }
            }
        }
    }
    rows
}

/// RTSP (GStreamer's rtspsrc asking a camera, across a veth pair): the
/// method, the URL's path, the User-Agent and the Basic user of every
/// request, and the status and Server of every answer, equal tshark's; the
/// camera is a media stream server with its default password found, and
/// no password is in the report.
#[test]
fn rtsp_messages_match_tshark() {
    let path = repo("tests/captures/rtsp.pcap");
    let headers = rtsp_header_lines(&path, &["User-Agent", "Authorization", "Server"]);
    let theirs: BTreeMap<u64, Vec<String>> = tshark(
        &path,
        &[],
        "rtsp.request || rtsp.response",
        &["rtsp.method", "rtsp.url", "rtsp.status"],
    )
    .into_iter()
    .map(|(frame, t)| {
        let h = &headers[&frame];
        let row = if t[0].is_empty() {
            vec![t[2].clone(), h[2].clone()]
        } else {
            let url = t[1].strip_prefix("rtsp://").unwrap();
            let path = &url[url.find('/').unwrap()..];
            let user = h[1]
                .strip_prefix("Basic ")
                .map(|b| {
                    let plain = wardwatch_proto::http::base64_decode(b).unwrap();
                    let plain = String::from_utf8(plain).unwrap();
                    plain.split(':').next().unwrap().to_string()
                })
                .unwrap_or_default();
            vec![t[0].clone(), path.to_string(), h[0].clone(), user]
        };
        (frame, row)
    })
    .collect();
    let ours = facts_by_frame(&path, |k| match k {
        ObsKind::HttpRequest(r) if r.rtsp => Some(vec![
            r.method.clone(),
            r.path.clone(),
            r.user_agent.clone().unwrap_or_default(),
            r.basic_user.clone().unwrap_or_default(),
        ]),
        ObsKind::HttpResponse {
            status,
            server,
            rtsp: true,
        } => Some(vec![status.to_string(), server.clone().unwrap_or_default()]),
        _ => None,
    });
    assert_eq!(ours, theirs);
    eprintln!("RTSP: {} messages compared", ours.len());
    assert!(ours.len() >= 40);
    let r = report(path);
    let camera = device(&r, "10.54.0.1");
    assert_eq!(camera.category, "iot");
    assert!(camera.protocols.iter().any(|p| p == "rtsp"));
    assert!(camera.evidence.iter().any(|e| e.source == "rtsp"
        && e.field == "role"
        && e.rule.as_deref() == Some("kb:rtsp-stream-server")));
    let rules: Vec<(&str, &str)> = r
        .findings
        .iter()
        .filter(|f| f.ip.as_deref() == Some("10.54.0.1"))
        .map(|f| (f.rule.as_str(), f.remediation.as_str()))
        .collect();
    assert!(
        rules.iter().any(|(r, _)| *r == "rtsp-basic-default-login"),
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .any(|(r, m)| *r == "rtsp-basic-cleartext-login" && m.contains("Digest")),
        "{rules:?}"
    );
    // GStreamer retried the one wrong password 8 times: a stale password,
    // not guessing.
    assert!(
        rules.iter().any(|(r, _)| *r == "failed-logins-repeated"),
        "{rules:?}"
    );
    assert!(
        !rules.iter().any(|(r, _)| *r == "failed-logins"),
        "{rules:?}"
    );
    assert_private(&r, &["12345", "letmein", "YWRtaW46"]);
}

#[test]
fn vnc_handshakes_match_tshark() {
    use wardwatch_proto::creds::PasswordCheck;
    let path = repo("tests/captures/vnc.pcap");
    // Every VNC frame: its connection (the client's port) and what tshark
    // read in it.
    let frames = tshark(
        &path,
        &[],
        "vnc",
        &[
            "tcp.srcport",
            "tcp.dstport",
            "vnc.server_proto_ver",
            "vnc.client_proto_ver",
            "vnc.security_type",
            "vnc.client_security_type",
            "vnc.auth_result",
            "vnc.desktop_name",
            "vnc.width",
            "vnc.height",
        ],
    );
    // Per connection, the first value of each field: [server version,
    // client version, offered, chosen, result (0 = accepted), desktop,
    // screen].
    let mut theirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in frames.values() {
        let from_server = t[0] == "5900";
        let client = if from_server { &t[1] } else { &t[0] };
        let row = theirs
            .entry(client.clone())
            .or_insert_with(|| vec![String::new(); 7]);
        let screen = if t[8].is_empty() {
            String::new()
        } else {
            format!("{}x{}", t[8], t[9])
        };
        // (The server's version only from the server: tshark takes a
        // client's answer for it where it missed the server's banner.)
        let server_version = if from_server {
            t[2].clone()
        } else {
            String::new()
        };
        for (i, v) in [
            server_version,
            t[3].clone(),
            t[4].clone(),
            t[5].clone(),
            t[6].clone(),
            t[7].clone(),
            screen,
        ]
        .into_iter()
        .enumerate()
        {
            if row[i].is_empty() {
                row[i] = v;
            }
        }
    }
    let facts: BTreeMap<String, (u64, wardwatch_proto::obs::VncFact)> = observations(&path)
        .into_iter()
        .filter_map(|o| match o.kind {
            ObsKind::Vnc(f) => Some((o.client.1.to_string(), (o.origin.frame, *f))),
            _ => None,
        })
        .collect();
    assert_eq!(facts.len(), theirs.len(), "one fact per connection");
    let mut compared = 0;
    let mut refused_at_once = 0;
    for (port, (_, f)) in &facts {
        let t = &theirs[port];
        if t[0].is_empty() {
            // tshark missed the banner: a server that refused at once
            // (RFB 3.3, security type 0, a reason) in one segment. The
            // bytes themselves say so.
            let first = tshark(
                &path,
                &[],
                &format!("tcp.dstport == {port} && tcp.len > 0"),
                &["tcp.payload"],
            );
            let payload = first.values().next().unwrap()[0].clone();
            assert!(
                payload.starts_with("524642203030332e3030330a00000000"),
                "{payload}"
            );
            assert_eq!(
                (f.version.as_str(), f.chosen, f.accepted),
                ("RFB 003.003", None, Some(false))
            );
            refused_at_once += 1;
            continue;
        }
        let ours = vec![
            f.version.trim_start_matches("RFB ").to_string(),
            f.client_version
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches("RFB ")
                .to_string(),
            f.offered
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(","),
            f.chosen.map(|c| c.to_string()).unwrap_or_default(),
            f.accepted
                .map(|a| if a { "0" } else { "1" }.to_string())
                .unwrap_or_default(),
            f.desktop.clone().unwrap_or_default(),
            f.screen
                .map(|(w, h)| format!("{w}x{h}"))
                .unwrap_or_default(),
        ];
        assert_eq!(&ours, t, "connection from port {port}");
        compared += 1;
    }
    // Two sessions let in, five passwords refused, three connections
    // refused once the server had blacklisted the guesser.
    assert_eq!((compared, refused_at_once), (7, 3));
    // The passwords the capture script used: 1234 (a VNC default) let in;
    // the guesser's refused; the strong one never sent.
    let verdicts: Vec<(&str, bool, &PasswordCheck)> = facts
        .values()
        .filter(|(_, f)| f.chosen == Some(2))
        .map(|(_, f)| {
            (
                f.desktop.as_deref().unwrap_or(""),
                f.accepted == Some(true),
                &f.password,
            )
        })
        .collect();
    assert!(verdicts
        .iter()
        .any(|(d, ok, p)| *d == "lab-analyser" && *ok && p.is_default()));
    assert_eq!(verdicts.iter().filter(|(_, ok, _)| !ok).count(), 5);
    // The findings: the open server, the default password, the guessing.
    let r = report(path);
    let rules = |ip: &str| -> Vec<(String, String)> {
        let id = &device(&r, ip).id;
        let mut v: Vec<(String, String)> = r
            .findings
            .iter()
            .filter(|f| f.device.as_ref() == Some(id))
            .map(|f| (f.rule.clone(), f.severity.to_string()))
            .collect();
        v.sort();
        v
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(rules("10.59.0.1"), vec![pair("vnc-no-auth", "high")]);
    assert_eq!(
        rules("10.59.0.2"),
        vec![
            pair("vnc-default-login", "critical"),
            pair("vnc-service", "low")
        ]
    );
    assert_eq!(
        rules("10.59.0.3"),
        vec![pair("failed-logins", "high"), pair("vnc-service", "low")]
    );
    let open = device(&r, "10.59.0.1");
    for (field, value) in [
        ("security types", "None"),
        ("desktop name", "ultrasound-3"),
        ("screen", "320x240"),
    ] {
        assert!(
            open.evidence
                .iter()
                .any(|e| e.source == "vnc" && e.field == field && e.value == value),
            "{field}"
        );
    }
    assert_private(&r, &["1234", "Xq7!vT9z"]);
    eprintln!(
        "VNC: {compared} handshakes compared, {refused_at_once} refusals read from the bytes"
    );
}

#[test]
fn rdp_negotiations_match_tshark() {
    let path = repo("tests/captures/rdp.pcap");
    // Per connection (the client's port): tshark's cookie and requested
    // protocols from the request, chosen protocol or failure code from the
    // confirm (hex as tshark prints them).
    let frames = tshark(
        &path,
        &[],
        "rdp.neg_type || rdp.rt_cookie",
        &[
            "tcp.srcport",
            "tcp.dstport",
            "rdp.rt_cookie",
            "rdp.negReq.requestedProtocols",
            "rdp.negReq.selectedProtocol",
            "rdp.negFailure.failureCode",
        ],
    );
    let mut theirs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in frames.values() {
        let client = if t[0] == "3389" { &t[1] } else { &t[0] };
        let row = theirs
            .entry(client.clone())
            .or_insert_with(|| vec![String::new(); 4]);
        let cookie = t[2]
            .strip_prefix("Cookie: mstshash=")
            .unwrap_or(&t[2])
            .trim()
            .to_string();
        for (i, v) in [cookie, t[3].clone(), t[4].clone(), t[5].clone()]
            .into_iter()
            .enumerate()
        {
            if row[i].is_empty() {
                row[i] = v;
            }
        }
    }
    let hex = |v: Option<u32>| v.map(|v| format!("0x{v:08x}")).unwrap_or_default();
    let ours: BTreeMap<String, Vec<String>> = observations(&path)
        .into_iter()
        .filter_map(|o| match o.kind {
            ObsKind::Rdp(f) => Some((
                o.client.1.to_string(),
                vec![
                    f.cookie_user.clone().unwrap_or_default(),
                    hex(f.requested),
                    hex(f.selected),
                    hex(f.failure),
                ],
            )),
            _ => None,
        })
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 3);
    // Standard RDP Security (xrdp), TLS without NLA, NLA: the first two
    // are findings, the third is not; the TLS that follows the confirm is
    // read (the client's hello, the server's choice).
    let r = report(path);
    let rules = |ip: &str| -> Vec<String> {
        let id = &device(&r, ip).id;
        r.findings
            .iter()
            .filter(|f| f.device.as_ref() == Some(id))
            .map(|f| format!("{} {}", f.rule, f.severity))
            .collect()
    };
    assert_eq!(rules("10.33.0.1"), vec!["rdp-standard-security medium"]);
    assert_eq!(rules("10.33.0.2"), vec!["rdp-no-nla low"]);
    assert!(rules("10.33.0.3").is_empty());
    let nla = device(&r, "10.33.0.3");
    for (source, field, value) in [
        ("rdp", "security", "NLA (CredSSP)"),
        ("rdp", "remote access", "mstshash user nurse1"),
    ] {
        assert!(
            nla.evidence
                .iter()
                .any(|e| e.source == source && e.field == field && e.value == value),
            "{field}"
        );
    }
    assert!(nla
        .evidence
        .iter()
        .any(|e| e.source == "tls" && e.field == "chosen version and cipher"));
    assert!(device(&r, "10.33.0.8")
        .evidence
        .iter()
        .any(|e| e.source == "tls" && e.field == "JA4"));
    assert_private(&r, &["Ward-Watch-1"]);
    eprintln!("RDP: {} negotiations compared", ours.len());
}

/// IPP (CUPS's ippeveprinter and ipptool across a veth pair): the operation
/// of every request, and the status, make and model, IEEE 1284 maker, model
/// and serial, and firmware of the printer's answers, equal what tshark's
/// IPP dissector shows (`-V`: it has no fields for attribute values); the
/// printer is named from them, and nothing of the printed document or its
/// name is in the report.
#[test]
fn ipp_messages_match_tshark() {
    let path = repo("tests/captures/ipp.pcap");
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-Y", "ipp", "-O", "ipp", "-V"])
        .output()
        .expect("tshark");
    // Per frame: [operation, status, make and model, MFG, MDL, SN, firmware].
    let mut theirs: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut frame = 0;
    let values = |v: &str| -> Vec<String> {
        v.split("','")
            .map(|s| s.trim_matches('\'').to_string())
            .collect()
    };
    let mut names: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            frame = rest.split(':').next().unwrap().parse().unwrap();
            theirs.insert(frame, vec![String::new(); 7]);
            names.clear();
            continue;
        }
        let row = theirs.get_mut(&frame).unwrap();
        let line = line.trim();
        if let Some(op) = line.strip_prefix("operation-id: ") {
            row[0] = op.split(" (").next().unwrap().to_string();
        } else if let Some(st) = line.strip_prefix("status-code: ") {
            // "Successful (successful-ok)": the code is not printed; the
            // class is, and every answer here is successful-ok (0).
            assert!(st.contains("successful-ok"), "{st}");
            row[1] = "0".into();
        } else if let Some((attr, v)) = line.split_once("): '") {
            let name = attr.split(" (").next().unwrap();
            let v = format!("'{v}");
            match name {
                "printer-make-and-model" => row[2] = values(&v)[0].clone(),
                "printer-device-id" => {
                    for pair in values(&v)[0].split(';') {
                        match pair.split_once(':') {
                            Some(("MFG", x)) => row[3] = x.to_string(),
                            Some(("MDL", x)) => row[4] = x.to_string(),
                            Some(("SN", x)) => row[5] = x.to_string(),
                            _ => {}
                        }
                    }
                }
                "printer-firmware-name" => names = values(&v),
                "printer-firmware-string-version" => {
                    row[6] = values(&v)
                        .iter()
                        .enumerate()
                        .map(|(i, ver)| format!("{} {ver}", names[i]))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
                _ => {}
            }
        }
    }
    let ours = facts_by_frame(&path, |k| {
        let ObsKind::Ipp(f) = k else { return None };
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Some(vec![
            s(&f.operation),
            f.status.map(|c| c.to_string()).unwrap_or_default(),
            s(&f.make_and_model),
            s(&f.maker),
            s(&f.model),
            s(&f.serial),
            f.firmware.join(", "),
        ])
    });
    // An answer naming nothing (the Print-Job's) is no fact; a request is
    // read from its first bytes (a chunked Print-Job: its first chunk,
    // before the document; tshark shows it where the body ends).
    theirs.retain(|_, row| !row[0].is_empty() || row[2..].iter().any(|v| !v.is_empty()));
    let rows = |m: &BTreeMap<u64, Vec<String>>| m.values().cloned().collect::<Vec<_>>();
    assert_eq!(rows(&ours), rows(&theirs));
    for (o, t) in ours.keys().zip(theirs.keys()) {
        assert!(o <= t, "frame {o} after tshark's {t}");
    }
    // Get-Printer-Attributes and its answer, Print-Job.
    assert_eq!(ours.len(), 3);
    let r = report(path);
    assert_eq!(
        identity(&r, "10.63.0.1"),
        (
            Some("HP"),
            Some("HP LaserJet Pro M404n"),
            Some("Formatter 002_2310A, Engine 1.4.7"),
            "printer"
        )
    );
    assert_eq!(
        device(&r, "10.63.0.1").serial.as_deref(),
        Some("VNB3K12345")
    );
    assert_private(&r, &["Roe", "4455667", "discharge", "Discharge"]);
    eprintln!("IPP: {} messages compared", ours.len());
}
