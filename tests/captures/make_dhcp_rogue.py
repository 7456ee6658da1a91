#!/usr/bin/env python3
"""Regenerates dhcp_rogue.pcap: a rogue DHCP server beside the site's two
(dnsmasq, Debian package dnsmasq-base, GPL-2) answering real clients
(ISC dhclient, Debian package isc-dhcp-client, MPL-2.0) on a LAN of
network namespaces joined by a bridge, captured on the bridge with dumpcap
(root; Debian's iproute2 and tshark packages).

    apt-get install dnsmasq-base isc-dhcp-client
    python3 tests/captures/make_dhcp_rogue.py [OUT_DIR]

The LAN:
  10.8.0.2   the site's DHCP server: 10.8.0.100-150/24, router 10.8.0.1,
             DNS 10.8.0.2;
  10.8.0.3   its failover partner: 10.8.0.160-200/24, the same router and
             DNS (two servers answering alike: no rogue);
  192.168.50.1  a consumer router plugged in by someone, started after the
             first client got its lease: 192.168.50.100-150/24, router and
             DNS 192.168.50.1;
  two clients (MACs 02:00:0a:08:01:01 and :02) asking for a lease one
  after the other (dhclient -1, its script /bin/true: nothing configured).
"""
import os
import subprocess
import tempfile
import time

from netns import capture, out_path, switched_lan

SW = "wwdhcp-sw"
HOSTS = {
    "wwdhcp-s1": ("10.8.0.2/24", "02:00:0a:08:00:02"),
    "wwdhcp-s2": ("10.8.0.3/24", "02:00:0a:08:00:03"),
    "wwdhcp-rogue": ("192.168.50.1/24", "02:00:c0:a8:32:01"),
    "wwdhcp-c1": (None, "02:00:0a:08:01:01"),
    "wwdhcp-c2": (None, "02:00:0a:08:01:02"),
}


def main():
    out = out_path("dhcp_rogue.pcap")
    with switched_lan(SW, HOSTS) as br, tempfile.TemporaryDirectory() as tmp, \
            capture(br, "udp port 67 or udp port 68", out, ns=SW):
        servers = []

        def dnsmasq(ns, name, lo, hi, router, dns):
            servers.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, "dnsmasq", "-k", "--port=0", "--interface=eth0",
                 "--bind-interfaces", f"--dhcp-range={lo},{hi},255.255.255.0,1h",
                 f"--dhcp-option=3,{router}", f"--dhcp-option=6,{dns}",
                 f"--dhcp-leasefile={os.path.join(tmp, name)}.leases",
                 f"--pid-file={os.path.join(tmp, name)}.pid"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def lease(ns):
            subprocess.run(["ip", "netns", "exec", ns, "dhclient", "-1", "-v",
                            "-lf", os.path.join(tmp, ns + ".lease"),
                            "-pf", os.path.join(tmp, ns + ".pid"),
                            "-sf", "/bin/true", "eth0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

        try:
            dnsmasq("wwdhcp-s1", "s1", "10.8.0.100", "10.8.0.150", "10.8.0.1", "10.8.0.2")
            dnsmasq("wwdhcp-s2", "s2", "10.8.0.160", "10.8.0.200", "10.8.0.1", "10.8.0.2")
            time.sleep(1)
            lease("wwdhcp-c1")
            dnsmasq("wwdhcp-rogue", "rogue", "192.168.50.100", "192.168.50.150",
                    "192.168.50.1", "192.168.50.1")
            time.sleep(1)
            lease("wwdhcp-c2")
            time.sleep(1)
        finally:
            for s in servers:
                s.terminate()
                s.wait()
            # dhclient -1 goes on in the background once bound.
            for ns in ("wwdhcp-c1", "wwdhcp-c2"):
                pid = os.path.join(tmp, ns + ".pid")
                if os.path.exists(pid):
                    subprocess.run(["kill", open(pid).read().strip()], check=False)


if __name__ == "__main__":
    main()
