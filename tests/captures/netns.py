"""Helpers of the capture scripts that need network peers: a veth pair
into a network namespace the script creates (root; Debian's iproute2),
and dumpcap (Debian's tshark package) recording one interface."""
import contextlib
import os
import subprocess
import sys
import time


def sh(*args, check=True):
    return subprocess.run(args, check=check)


def out_path(name):
    """Where a script writes its capture: the directory given as its
    argument, else beside the scripts."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(sys.argv[1] if len(sys.argv) > 1 else here, name)


@contextlib.contextmanager
def veth_namespace(ns, host_addrs, ns_addrs):
    """Namespace `ns` joined to this one by veth `<ns>0` (here, holding
    `host_addrs`) and `<ns>1` (there, holding `ns_addrs`); both are
    removed afterwards."""
    here_if, there_if = f"{ns}0", f"{ns}1"
    sh("ip", "netns", "del", ns, check=False)
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", here_if, "type", "veth", "peer", "name", there_if)
        sh("ip", "link", "set", there_if, "netns", ns)
        for a in host_addrs:
            sh("ip", "addr", "add", a, "dev", here_if)
        sh("ip", "link", "set", here_if, "up")
        for a in ns_addrs:
            sh("ip", "-n", ns, "addr", "add", a, "dev", there_if)
        sh("ip", "-n", ns, "link", "set", there_if, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield here_if
    finally:
        sh("ip", "link", "del", here_if, check=False)
        sh("ip", "netns", "del", ns, check=False)


@contextlib.contextmanager
def capture(iface, bpf, out):
    """dumpcap on `iface` with filter `bpf` into `out` (classic pcap, mode
    0644) while the block runs."""
    cap = subprocess.Popen(["dumpcap", "-q", "-P", "-i", iface, "-f", bpf, "-w", out])
    time.sleep(2)
    try:
        yield
        time.sleep(1.5)
    finally:
        cap.terminate()
        cap.wait()
    os.chmod(out, 0o644)
    print(out)


def macvlan_hosts(ns, subnet, count):
    """`count` hosts in namespace `ns` (made by `veth_namespace` with no
    addresses of its own there), `<subnet>.1` to `<subnet>.<count>`, each
    with its own MAC (a macvlan on the namespace's end of the veth) and
    answering from it (a routing table per source address)."""
    net = subnet.split(".")[1]
    for i in range(1, count + 1):
        sh("ip", "-n", ns, "link", "add", "link", f"{ns}1", "name", f"host{i}", "address",
           f"02:00:5e:{net}:00:{i:02x}", "type", "macvlan", "mode", "bridge")
        sh("ip", "-n", ns, "addr", "add", f"{subnet}.{i}/24", "dev", f"host{i}")
        sh("ip", "-n", ns, "link", "set", f"host{i}", "up")
        sh("ip", "-n", ns, "rule", "add", "from", f"{subnet}.{i}", "table", f"{100 + i}")
        sh("ip", "-n", ns, "route", "add", f"{subnet}.0/24", "dev", f"host{i}", "table",
           f"{100 + i}")
