//! Rogue DHCP servers, DHCPv6 servers and IPv6 routers beside the site's
//! own, each recorded from real programs. A rogue DHCP server (dnsmasq as
//! a consumer router) answering a client beside the site's two servers,
//! which answer alike (a failover pair): tests/captures/make_dhcp_rogue.py.
//! The rogue is found, on its own address, naming both servers it competed
//! with, its evidence its first answer by tshark; the pair raises nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[test]
fn a_rogue_dhcp_server_is_found_and_a_failover_pair_is_not() {
    let p = common::repo("tests/captures/dhcp_rogue.pcap");
    for threads in [1, 2] {
        let r = common::report_with_threads(&p, threads);
        let (f, mac) = common::the_one(&r, "man-in-the-middle");
        assert_eq!(mac, Some("02:00:c0:a8:32:01"));
        assert_eq!(
            (f.rule.as_str(), f.ip.as_deref(), f.severity.as_str()),
            ("rogue-dhcp-server", Some("192.168.50.1"), "high")
        );
        assert_eq!(f.peers, ["10.8.0.2", "10.8.0.3"]);
        assert!(
            f.summary
                .contains("gives 192.168.50.0/24, router 192.168.50.1, DNS 192.168.50.1"),
            "{}",
            f.summary
        );
        // The evidence: by tshark, an OFFER from the rogue, its first answer.
        let row = rows(
            &p,
            &format!("frame.number=={}", f.evidence[0].frame),
            &["ip.src", "dhcp.option.dhcp"],
        );
        assert_eq!(row, [["192.168.50.1", "2"]]);
        let first = rows(&p, "ip.src==192.168.50.1", &["frame.number"]);
        assert_eq!(first[0][0], f.evidence[0].frame.to_string());
        // It answered one client twice (OFFER, ACK).
        assert_eq!(f.count, 2);
    }
}

use common::tshark_rows as rows;

/// mitm6 (tests/captures/make_mitm6.py) answering three dhclient -6
/// clients, one while the site's dnsmasq answers too, one once it is gone:
/// found on its own address and device, its first answer the evidence, all
/// its answers counted; the site's server raises nothing.
#[test]
fn mitm6_is_found_and_the_sites_dhcpv6_server_is_not() {
    let p = common::repo("tests/captures/mitm6.pcap");
    let mitm6 = "fe80::aff:fe09:66";
    // By tshark: mitm6's answers, each giving a link-local address.
    let answers = rows(
        &p,
        &format!("ipv6.src=={mitm6} and (dhcpv6.msgtype==2 or dhcpv6.msgtype==7)"),
        &["frame.number", "dhcpv6.iaaddr.ip", "dhcpv6.dns_server"],
    );
    assert_eq!(answers.len(), 4, "{answers:?}");
    assert!(answers
        .iter()
        .all(|a| a[1].starts_with("fe80::") && a[2] == mitm6));
    for threads in [1, 2] {
        let r = common::report_with_threads(&p, threads);
        let (f, mac) = common::the_one(&r, "man-in-the-middle");
        assert_eq!(
            (f.rule.as_str(), f.ip.as_deref(), f.severity.as_str()),
            ("rogue-dhcpv6-server", Some(mitm6), "high")
        );
        // The site's server answered one of its clients too.
        assert_eq!(f.peers, ["fe80::aff:fe09:2"]);
        assert_eq!(mac, Some("02:00:0a:09:00:66"));
        assert_eq!(f.evidence[0].frame.to_string(), answers[0][0]);
        assert!(
            f.summary
                .contains(&format!("link-local addresses ({}, first)", answers[0][1]))
                && f.summary.contains("names itself their DNS server"),
            "{}",
            f.summary
        );
        assert_eq!(f.count, answers.len() as u64);
    }
}

/// THC-IPv6's fake_router6 announcing itself the router for another
/// prefix beside the site's two radvd routers, which agree
/// (tests/captures/make_rogue_ra.py): found on its own address and device,
/// its first advertisement the evidence; the pair raises nothing.
#[test]
fn a_rogue_router_is_found_and_the_sites_pair_is_not() {
    let p = common::repo("tests/captures/rogue_ra.pcap");
    let tool = rows(
        &p,
        "icmpv6.type==134 and eth.src==02:00:0a:0b:00:77",
        &["frame.number", "ipv6.src", "icmpv6.opt.prefix"],
    );
    assert!(tool.len() >= 2, "{tool:?}");
    assert!(tool[0][2].starts_with("2001:db8:bad::"), "{tool:?}");
    for threads in [1, 2] {
        let r = common::report_with_threads(&p, threads);
        let (f, mac) = common::the_one(&r, "man-in-the-middle");
        assert_eq!(
            (f.rule.as_str(), f.ip.as_deref(), f.severity.as_str()),
            (
                "rogue-router-advertisement",
                Some(tool[0][1].as_str()),
                "high"
            )
        );
        assert_eq!(f.peers, ["fe80::aff:fe0b:1", "fe80::aff:fe0b:2"]);
        assert_eq!(f.evidence[0].frame.to_string(), tool[0][0]);
        assert!(
            f.summary
                .contains("advertises 2001:db8:bad::/64 and itself as default router")
                && f.summary.contains("advertise fd00:a::/64"),
            "{}",
            f.summary
        );
        assert_eq!(mac, Some("02:00:0a:0b:00:77"));
    }
}
