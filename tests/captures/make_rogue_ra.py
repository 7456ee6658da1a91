#!/usr/bin/env python3
"""Regenerates rogue_ra.pcap: rogue IPv6 Router Advertisements beside the
site's router, on a LAN of network namespaces joined by a bridge, captured
on the bridge with dumpcap (root; Debian's iproute2 and tshark packages).

    apt-get install radvd thc-ipv6
    python3 tests/captures/make_rogue_ra.py [OUT_DIR]

The LAN:
  the site's router  02:00:0a:0b:00:01, radvd (Debian package radvd,
               BSD-style licence) advertising fd00:a::/64, every 4 to 10 s
               and when asked; its backup 02:00:0a:0b:00:02, a second radvd
               advertising the same prefix (two routers agreeing: no rogue);
  two workstations (02:00:0a:0b:00:11, :12), brought up after the routers
               (their Router Solicitations are answered);
  fake_router6 on 02:00:0a:0b:00:77 (THC-IPv6, Debian package thc-ipv6,
               AGPL-3), for 12 s announcing itself the highest-preference
               router for 2001:db8:bad::/64 (and routes to the whole
               internet and fc00::/7);
  then the routers stop (radvd's last advertisements, router lifetime 0).
"""
import os
import subprocess
import tempfile
import time

from netns import capture, out_path, sh, stop, switched_lan

SW = "wwra-sw"
HOSTS = {
    "wwra-r1": (None, "02:00:0a:0b:00:01"),
    "wwra-r2": (None, "02:00:0a:0b:00:02"),
    "wwra-thc": (None, "02:00:0a:0b:00:77"),
}
WORKSTATIONS = {"wwra-ws1": "02:00:0a:0b:00:11", "wwra-ws2": "02:00:0a:0b:00:12"}

RADVD = """interface eth0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 4;
    MaxRtrAdvInterval 10;
    prefix fd00:a::/64 { AdvOnLink on; AdvAutonomous on; };
};
"""


def main():
    out = out_path("rogue_ra.pcap")
    hosts = dict(HOSTS)
    hosts.update({ws: (None, mac) for ws, mac in WORKSTATIONS.items()})
    with switched_lan(SW, hosts) as br, tempfile.TemporaryDirectory() as tmp:
        for r in ("wwra-r1", "wwra-r2"):
            subprocess.run(["ip", "netns", "exec", r, "sysctl", "-q", "-w",
                            "net.ipv6.conf.all.forwarding=1"], check=True)
        for ws in WORKSTATIONS:
            sh("ip", "-n", ws, "link", "set", "eth0", "down")
        conf = os.path.join(tmp, "radvd.conf")
        with open(conf, "w") as f:
            f.write(RADVD)
        time.sleep(2)
        procs = []
        with capture(br, "icmp6", out, ns=SW):
            try:
                for r in ("wwra-r1", "wwra-r2"):
                    procs.append(subprocess.Popen(
                        ["ip", "netns", "exec", r, "radvd", "-n", "-C", conf,
                         "-p", os.path.join(tmp, r + ".pid"), "-m", "stderr"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                time.sleep(2)
                for ws in WORKSTATIONS:
                    sh("ip", "-n", ws, "link", "set", "eth0", "up")
                time.sleep(5)
                thc = subprocess.Popen(
                    ["ip", "netns", "exec", "wwra-thc", "atk6-fake_router6", "eth0",
                     "2001:db8:bad::/64"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs.append(thc)
                time.sleep(12)
                thc.terminate()
                thc.wait()
                time.sleep(3)
            finally:
                stop(procs)


if __name__ == "__main__":
    main()
