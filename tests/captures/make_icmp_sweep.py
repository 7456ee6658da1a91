#!/usr/bin/env python3
"""Regenerates icmp_sweep.pcap: Debian's ping (iputils) through a router in
a network namespace, captured with dumpcap (root; iproute2, tshark).

    python3 tests/captures/make_icmp_sweep.py

The namespace wwping (10.77.0.1) routes nothing: it holds 10.78.0.1-10
and 10.78.1.1-70 itself and drops the rest silently (no forwarding, no
unreachable). From the capture side, 10.77.0.2 pings 10.78.0.1-100 once
each (a sweep: ten answer), and 10.77.0.3 pings the seventy hosts of
10.78.1.0/24 twice (a monitoring server: all answer).
"""
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "wwping"


def sh(*args, check=True):
    return subprocess.run(args, check=check)


def pings(source, targets, count):
    procs = [
        subprocess.Popen(
            ["ping", "-n", "-q", "-I", source, "-c", str(count), "-i", "0.2", "-W", "1", t],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for t in targets
    ]
    for p in procs:
        p.wait()


def main():
    out = os.path.join(HERE, "icmp_sweep.pcap")
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    try:
        sh("ip", "link", "add", "wwping0", "type", "veth", "peer", "name", "wwping1")
        sh("ip", "link", "set", "wwping1", "netns", NS)
        for a in ["10.77.0.2/24", "10.77.0.3/24"]:
            sh("ip", "addr", "add", a, "dev", "wwping0")
        sh("ip", "link", "set", "wwping0", "up")
        sh("ip", "route", "add", "10.78.0.0/16", "via", "10.77.0.1")
        sh("ip", "-n", NS, "addr", "add", "10.77.0.1/24", "dev", "wwping1")
        sh("ip", "-n", NS, "link", "set", "wwping1", "up")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        live = [f"10.78.0.{i}" for i in range(1, 11)] + [f"10.78.1.{i}" for i in range(1, 71)]
        for a in live:
            sh("ip", "-n", NS, "addr", "add", f"{a}/32", "dev", "lo")
        cap = subprocess.Popen(
            ["dumpcap", "-q", "-P", "-i", "wwping0", "-f", "icmp or arp", "-w", out]
        )
        time.sleep(2)
        pings("10.77.0.3", [f"10.78.1.{i}" for i in range(1, 71)], 2)
        pings("10.77.0.2", [f"10.78.0.{i}" for i in range(1, 101)], 1)
        time.sleep(1.5)
        cap.terminate()
        cap.wait()
    finally:
        sh("ip", "route", "del", "10.78.0.0/16", check=False)
        sh("ip", "link", "del", "wwping0", check=False)
        sh("ip", "netns", "del", NS, check=False)
    os.chmod(out, 0o644)
    print(out)


if __name__ == "__main__":
    main()
