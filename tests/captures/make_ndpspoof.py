#!/usr/bin/env python3
"""Regenerates ndpspoof.pcap: IPv6 neighbour spoofing, the IPv6 form of ARP
spoofing, by bettercap's ndp.spoof (Debian package bettercap, GPL-3), on a
LAN of network
namespaces joined by a bridge, captured on the bridge with dumpcap (root;
Debian's iproute2, iputils-ping and tshark packages).

    apt-get install bettercap thc-ipv6
    python3 tests/captures/make_ndpspoof.py [OUT_DIR]

The LAN (fd00:9::/64):
  fd00:9::1    the router (02:00:0a:0a:00:01), pinged by both workstations
               throughout: the neighbour discovery of an ordinary link;
  fd00:9::11, fd00:9::12  two workstations;
  fd00:9::50   a service address handed over: first on the spare server
               (02:00:0a:0a:00:50), then moved to the workstation
               fd00:9::12, which announces it (five unsolicited Neighbor
               Advertisements to all nodes, sent with THC-IPv6's
               fake_advertise6, Debian package thc-ipv6, AGPL-3): no
               spoofing;
  bettercap    on 02:00:0a:0a:00:66, for 12 s telling both workstations,
               with unsolicited Neighbor Advertisements, that the router's
               address is at its MAC (ndp.spoof; its Router Advertisements
               off). It sets the Solicited flag, but no one asked.
"""
import subprocess
import time

from netns import capture, out_path, sh, stop, switched_lan

SW = "wwndp-sw"
HOSTS = {
    "wwndp-router": (None, "02:00:0a:0a:00:01"),
    "wwndp-ws1": (None, "02:00:0a:0a:00:11"),
    "wwndp-ws2": (None, "02:00:0a:0a:00:12"),
    "wwndp-spare": (None, "02:00:0a:0a:00:50"),
    "wwndp-better": ("10.10.0.66/24", "02:00:0a:0a:00:66"),
}
ADDRS = {
    "wwndp-router": "fd00:9::1",
    "wwndp-ws1": "fd00:9::11",
    "wwndp-ws2": "fd00:9::12",
    "wwndp-spare": "fd00:9::50",
    "wwndp-better": "fd00:9::66",
}


def ns_sh(ns, *args, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *args], **kw)


def main():
    out = out_path("ndpspoof.pcap")
    with switched_lan(SW, HOSTS) as br:
        for ns, a in ADDRS.items():
            sh("ip", "-n", ns, "addr", "add", f"{a}/64", "dev", "eth0", "nodad")
        sh("ip", "-n", "wwndp-better", "route", "add", "default", "via", "10.10.0.1")
        time.sleep(2)
        procs = []
        with capture(br, "icmp6", out, ns=SW):
            try:
                # The workstations ping the router, once a second, all along.
                for ws in ("wwndp-ws1", "wwndp-ws2"):
                    procs.append(subprocess.Popen(
                        ["ip", "netns", "exec", ws, "ping", "-6", "-q", "-i", "1", "-c", "40",
                         "fd00:9::1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                # ws1 talks to the service on the spare server.
                ns_sh("wwndp-ws1", "ping", "-6", "-q", "-c", "2", "fd00:9::50",
                      stdout=subprocess.DEVNULL)
                time.sleep(2)
                # The handover: the address moves to ws2, which announces it.
                sh("ip", "-n", "wwndp-spare", "addr", "del", "fd00:9::50/64", "dev", "eth0")
                sh("ip", "-n", "wwndp-ws2", "addr", "add", "fd00:9::50/64", "dev", "eth0",
                   "nodad")
                # Its announcements (five, two seconds apart), as a host
                # taking an address over sends them.
                ns_sh("wwndp-ws2", "atk6-fake_advertise6", "-n", "5", "-w", "2", "eth0",
                      "fd00:9::50", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                ns_sh("wwndp-ws1", "ping", "-6", "-q", "-c", "2", "fd00:9::50",
                      stdout=subprocess.DEVNULL)
                # bettercap finds its targets' MACs in its neighbour table.
                for a in ("fd00:9::11", "fd00:9::12"):
                    ns_sh("wwndp-better", "ping", "-6", "-q", "-c", "1", a,
                          stdout=subprocess.DEVNULL)
                better = subprocess.Popen(
                    ["ip", "netns", "exec", "wwndp-better", "bettercap", "-no-colors",
                     "-iface", "eth0", "-eval",
                     "set ndp.spoof.neighbour fd00:9::1; "
                     "set ndp.spoof.targets fd00:9::11,fd00:9::12; "
                     "set ndp.spoof.prefix ''; ndp.spoof on"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs.append(better)
                time.sleep(12)
                better.terminate()
                better.wait()
                time.sleep(3)
            finally:
                stop(procs)


if __name__ == "__main__":
    main()
