#!/usr/bin/env python3
"""Regenerates mitm6.pcap: mitm6 (Dirk-jan Mollema's DHCPv6 man-in-the-middle
tool, PyPI `mitm6`, GPL-2) answering real DHCPv6 clients (ISC dhclient -6,
Debian package isc-dhcp-client, MPL-2.0) beside the site's own DHCPv6 server
(dnsmasq, Debian package dnsmasq-base, GPL-2), on a LAN of network
namespaces joined by a bridge, captured on the bridge with dumpcap (root;
Debian's iproute2 and tshark packages).

    apt-get install dnsmasq-base isc-dhcp-client python3-scapy python3-twisted python3-netifaces
    pip download --no-deps -d /tmp/mitm6 mitm6 && unzip /tmp/mitm6/mitm6-*.whl -d /tmp/mitm6
    PYTHONPATH=/tmp/mitm6 /usr/bin/python3 tests/captures/make_mitm6.py [OUT_DIR]

(`/usr/bin/python3`: the interpreter Debian's scapy, twisted and netifaces
belong to.)

The LAN:
  fd00:8::2   the site's DHCPv6 server: addresses fd00:8::100-1ff, DNS
              fd00:8::2;
  mitm6       on 02:00:0a:09:00:66 (IPv4 10.9.0.66, which mitm6 needs),
              from its link-local address: it advertises itself with Router
              Advertisements (M and O set, router lifetime 0), hands every
              client a link-local address and names itself the DNS server;
  three clients (02:00:0a:09:01:01 .. :03) asking for an address one after
              the other (dhclient -6 -1, its script /bin/true: nothing
              configured): the first while the site's server alone answers,
              the second while both do, the third once only mitm6 does.
"""
import os
import subprocess
import sys
import tempfile
import time

from netns import capture, out_path, sh, stop, switched_lan

SW = "wwv6-sw"
HOSTS = {
    "wwv6-srv": (None, "02:00:0a:09:00:02"),
    "wwv6-mitm6": ("10.9.0.66/24", "02:00:0a:09:00:66"),
    "wwv6-c1": (None, "02:00:0a:09:01:01"),
    "wwv6-c2": (None, "02:00:0a:09:01:02"),
    "wwv6-c3": (None, "02:00:0a:09:01:03"),
}


def main():
    out = out_path("mitm6.pcap")
    with switched_lan(SW, HOSTS) as br, tempfile.TemporaryDirectory() as tmp:
        sh("ip", "-n", "wwv6-srv", "addr", "add", "fd00:8::2/64", "dev", "eth0")
        # An attacker's laptop has a default route: scapy (which mitm6 sends
        # with) takes its interface for link-local destinations from it.
        sh("ip", "-n", "wwv6-mitm6", "route", "add", "default", "via", "10.9.0.1")
        # Link-local addresses leave duplicate address detection first.
        time.sleep(3)
        with capture(br, "udp port 546 or udp port 547 or icmp6", out, ns=SW):
            site = subprocess.Popen(
                ["ip", "netns", "exec", "wwv6-srv", "dnsmasq", "-k", "--port=0",
                 "--interface=eth0", "--bind-interfaces",
                 "--dhcp-range=fd00:8::100,fd00:8::1ff,64,1h",
                 "--dhcp-option=option6:dns-server,[fd00:8::2]",
                 f"--dhcp-leasefile={os.path.join(tmp, 'site')}.leases",
                 f"--pid-file={os.path.join(tmp, 'site')}.pid"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            attacker = None

            def lease(ns):
                subprocess.run(["ip", "netns", "exec", ns, "dhclient", "-6", "-1", "-v",
                                "-lf", os.path.join(tmp, ns + ".lease"),
                                "-pf", os.path.join(tmp, ns + ".pid"),
                                "-sf", "/bin/true", "eth0"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

            try:
                time.sleep(1)
                lease("wwv6-c1")
                attacker = subprocess.Popen(
                    ["ip", "netns", "exec", "wwv6-mitm6", sys.executable, "-m", "mitm6.mitm6",
                     "-i", "eth0"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
                time.sleep(4)
                lease("wwv6-c2")
                site.terminate()
                site.wait()
                time.sleep(1)
                lease("wwv6-c3")
                time.sleep(2)
            finally:
                stop([site, attacker])
                # dhclient -1 goes on in the background once bound.
                for ns in ("wwv6-c1", "wwv6-c2", "wwv6-c3"):
                    pid = os.path.join(tmp, ns + ".pid")
                    if os.path.exists(pid):
                        subprocess.run(["kill", open(pid).read().strip()], check=False)


if __name__ == "__main__":
    main()
