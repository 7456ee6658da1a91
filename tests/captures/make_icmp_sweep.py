#!/usr/bin/env python3
"""Regenerates icmp_sweep.pcap: Debian's ping (iputils) through a router in
a network namespace, captured with dumpcap (root; iproute2, tshark).

    python3 tests/captures/make_icmp_sweep.py [OUT_DIR]

The namespace wwping (10.77.0.1) routes nothing: it holds 10.78.0.1-10
and 10.78.1.1-70 itself and drops the rest silently (no forwarding, no
unreachable). From the capture side, 10.77.0.2 pings 10.78.0.1-100 once
each (a sweep: ten answer), and 10.77.0.3 pings the seventy hosts of
10.78.1.0/24 twice (a monitoring server: all answer).
"""
import subprocess

from netns import capture, out_path, sh, veth_namespace

NS = "wwping"


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
    out = out_path("icmp_sweep.pcap")
    with veth_namespace(NS, ["10.77.0.2/24", "10.77.0.3/24"], ["10.77.0.1/24"]) as iface:
        sh("ip", "route", "add", "10.78.0.0/16", "via", "10.77.0.1")
        live = [f"10.78.0.{i}" for i in range(1, 11)] + [f"10.78.1.{i}" for i in range(1, 71)]
        for a in live:
            sh("ip", "-n", NS, "addr", "add", f"{a}/32", "dev", "lo")
        with capture(iface, "icmp or arp", out):
            pings("10.77.0.3", [f"10.78.1.{i}" for i in range(1, 71)], 2)
            pings("10.77.0.2", [f"10.78.0.{i}" for i in range(1, 101)], 1)


if __name__ == "__main__":
    main()
