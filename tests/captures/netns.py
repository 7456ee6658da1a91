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
def capture(iface, bpf, out, ns=None):
    """dumpcap on `iface` (in namespace `ns`, if given) with filter `bpf`
    into `out` (classic pcap, mode 0644) while the block runs."""
    inside = ["ip", "netns", "exec", ns] if ns else []
    cap = subprocess.Popen([*inside, "dumpcap", "-q", "-P", "-i", iface, "-f", bpf, "-w", out])
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


@contextlib.contextmanager
def switched_lan(switch, hosts):
    """A LAN: namespace `switch` holding bridge `br0`, and one namespace
    per entry of `hosts` (name -> (address/prefix, MAC)), each joined to
    the bridge by a veth whose end there is named `eth0`. Yields the
    bridge's name; `ip netns exec <switch> dumpcap -i br0` in promiscuous
    mode sees every frame the bridge forwards. All namespaces are removed
    afterwards."""
    names = [switch, *hosts]
    for n in names:
        sh("ip", "netns", "del", n, check=False)
    try:
        sh("ip", "netns", "add", switch)
        sh("ip", "-n", switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", switch, "link", "set", "br0", "up")
        for i, (name, (addr, mac)) in enumerate(hosts.items()):
            sh("ip", "netns", "add", name)
            port = f"p{i}"
            sh("ip", "-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0",
               "netns", name)
            sh("ip", "-n", switch, "link", "set", port, "master", "br0")
            sh("ip", "-n", switch, "link", "set", port, "up")
            sh("ip", "-n", name, "link", "set", "eth0", "address", mac)
            if addr:
                sh("ip", "-n", name, "addr", "add", addr, "dev", "eth0")
            sh("ip", "-n", name, "link", "set", "eth0", "up")
            sh("ip", "-n", name, "link", "set", "lo", "up")
        yield "br0"
    finally:
        for n in names:
            sh("ip", "netns", "del", n, check=False)


def stop(procs):
    """Terminates the programs of `procs` still running and waits for them."""
    for p in procs:
        if p is not None and p.poll() is None:
            p.terminate()
            p.wait()
