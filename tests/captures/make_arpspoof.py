#!/usr/bin/env python3
"""Regenerates arpspoof.pcap: ARP cache poisoning by two real attack tools
(dsniff's arpspoof and ettercap, Debian packages dsniff and
ettercap-text-only, both GPL-2) on a LAN of network namespaces joined by a
bridge, beside an ordinary address handover; captured on the bridge with
dumpcap (root; Debian's iproute2, iputils-arping and tshark packages).

    apt-get install dsniff ettercap-text-only iputils-arping
    python3 tests/captures/make_arpspoof.py [OUT_DIR]

The LAN 10.9.0.0/24:
  10.9.0.1   gateway           02:00:0a:09:00:01
  10.9.0.5   interface engine  02:00:0a:09:00:05
  10.9.0.20  infusion pump     02:00:0a:09:00:14
  10.9.0.30  a workstation     02:00:0a:09:00:1e, replaced mid-capture by
             another machine  02:00:0a:09:01:1e taking its address and
             announcing it (gratuitous ARP requests and replies, as a
             DHCP client or a cluster failover does): no attack;
  10.9.0.66  arpspoof -t 10.9.0.20 -r 10.9.0.1 for 12 s (both ways: the
             pump told the gateway is at its MAC, the gateway told the
             pump is), forwarding what it intercepts; restores the caches
             when stopped;
  10.9.0.77  ettercap -M arp:remote between the pump and the interface
             engine for 15 s.
The pump pings the gateway and the interface engine all along.
"""
import subprocess
import time

from netns import capture, out_path, switched_lan

SW = "wwarp-sw"
HOSTS = {
    "wwarp-gw": ("10.9.0.1/24", "02:00:0a:09:00:01"),
    "wwarp-ie": ("10.9.0.5/24", "02:00:0a:09:00:05"),
    "wwarp-pump": ("10.9.0.20/24", "02:00:0a:09:00:14"),
    "wwarp-old": ("10.9.0.30/24", "02:00:0a:09:00:1e"),
    "wwarp-new": (None, "02:00:0a:09:01:1e"),
    "wwarp-atk": ("10.9.0.66/24", "02:00:0a:09:00:42"),
    "wwarp-etc": ("10.9.0.77/24", "02:00:0a:09:00:4d"),
}


def run(ns, *args, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *args], check=True,
                          stdout=subprocess.DEVNULL, **kw)


def start(ns, *args, **kw):
    return subprocess.Popen(["ip", "netns", "exec", ns, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def main():
    out = out_path("arpspoof.pcap")
    with switched_lan(SW, HOSTS) as br, capture(br, "arp or icmp", out, ns=SW):
        # Everyone learns everyone.
        run("wwarp-pump", "ping", "-c", "2", "-i", "0.3", "10.9.0.1")
        run("wwarp-pump", "ping", "-c", "2", "-i", "0.3", "10.9.0.5")
        run("wwarp-gw", "ping", "-c", "2", "-i", "0.3", "10.9.0.30")
        # The handover: the old machine leaves, the new one takes its
        # address and announces it; the gateway reaches it there.
        run("wwarp-old", "ip", "link", "set", "eth0", "down")
        run("wwarp-new", "ip", "addr", "add", "10.9.0.30/24", "dev", "eth0")
        run("wwarp-new", "arping", "-U", "-c", "2", "-I", "eth0", "10.9.0.30")
        run("wwarp-new", "arping", "-A", "-c", "2", "-I", "eth0", "10.9.0.30")
        run("wwarp-gw", "ip", "neigh", "flush", "dev", "eth0")
        run("wwarp-gw", "ping", "-c", "2", "-i", "0.3", "10.9.0.30")
        # The pump's traffic, all along the attacks.
        pings = [start("wwarp-pump", "ping", "-c", "40", "-i", "1", dst)
                 for dst in ("10.9.0.1", "10.9.0.5")]
        # arpspoof, forwarding what it intercepts.
        run("wwarp-atk", "sysctl", "-q", "net.ipv4.ip_forward=1")
        spoof = start("wwarp-atk", "arpspoof", "-i", "eth0", "-t", "10.9.0.20", "-r",
                      "10.9.0.1")
        time.sleep(12)
        spoof.send_signal(subprocess.signal.SIGINT)
        spoof.wait()
        time.sleep(2)
        # ettercap, between the pump and the interface engine.
        run("wwarp-etc", "sysctl", "-q", "net.ipv4.ip_forward=1")
        etc = start("wwarp-etc", "ettercap", "-T", "-q", "-i", "eth0", "-M", "arp:remote",
                    "/10.9.0.20//", "/10.9.0.5//", stdin=subprocess.PIPE)
        time.sleep(15)
        etc.communicate(b"q", timeout=30)
        for p in pings:
            p.wait()


if __name__ == "__main__":
    main()
