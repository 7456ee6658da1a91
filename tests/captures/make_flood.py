#!/usr/bin/env python3
"""Regenerates flood.pcap: a SYN flood from forged sources and a ping
flood by a real attack tool (hping3, Debian package hping3, GPL-2) beside
ordinary traffic, across a veth pair into a network namespace, captured
with dumpcap (root; Debian's iproute2 and tshark packages).

    apt-get install hping3
    python3 tests/captures/make_flood.py [OUT_DIR]

In namespace wwflood, 10.7.0.5 (an interface engine) listens on TCP 2575.
From 10.7.0.66 on this side:
  - ordinary traffic: 10.7.0.5 pinged once a second throughout; 150
    connections to port 2575 that complete, in under a second; a SYN probe
    of 300 ports (hping3 --scan), each tried once;
  - hping3 -S --rand-source -p 2575: about 600 SYNs a second for 3 s from
    forged addresses (the namespace has no route back to them: no answer);
  - hping3 --icmp: about 600 echo requests a second for 3 s (answered).
The rates are a tenth of a real flood's, to keep the file small: the test
lowers [detect] flood_per_s to match (and checks the default says nothing).
"""
import socket
import subprocess
import time

from netns import capture, out_path, veth_namespace

NS = "wwflood"


def hping(*args):
    subprocess.run(["hping3", "-q", *args], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def main():
    out = out_path("flood.pcap")
    with veth_namespace(NS, ["10.7.0.66/24"], ["10.7.0.5/24"]) as iface:
        server = subprocess.Popen(
            ["ip", "netns", "exec", NS, "python3", "-c",
             "import socket\n"
             "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "s.bind(('10.7.0.5', 2575)); s.listen(512)\n"
             "while True:\n"
             "    c, _ = s.accept(); c.close()\n"])
        monitor = subprocess.Popen(["ping", "-q", "-i", "1", "-c", "25", "10.7.0.5"],
                                   stdout=subprocess.DEVNULL)
        time.sleep(1)
        try:
            with capture(iface, "host 10.7.0.5 or net 0.0.0.0/0", out):
                for _ in range(150):
                    c = socket.create_connection(("10.7.0.5", 2575), timeout=2)
                    c.close()
                time.sleep(1.5)
                hping("-S", "--scan", "1-300", "-p", "2575", "10.7.0.5")
                time.sleep(1.5)
                hping("-S", "--rand-source", "-p", "2575", "-i", "u1600", "-c", "1800",
                      "10.7.0.5")
                time.sleep(1.5)
                hping("--icmp", "-i", "u1600", "-c", "1800", "10.7.0.5")
                time.sleep(1.5)
                monitor.wait()
        finally:
            monitor.kill()
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
