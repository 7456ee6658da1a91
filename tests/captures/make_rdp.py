#!/usr/bin/env python3
"""Regenerates rdp.pcap: real RDP servers (xrdp 0.9, Debian xrdp, Apache-2.0;
FreeRDP's shadow server, Debian freerdp2-shadow-x11, Apache-2.0) and a real
client (FreeRDP's xfreerdp, Debian freerdp2-x11) across a veth pair into a
network namespace, captured with dumpcap (root; Debian's iproute2, tshark
and xvfb packages).

    apt-get install xrdp freerdp2-x11 freerdp2-shadow-x11 winpr-utils xvfb
    python3 tests/captures/make_rdp.py [OUT_DIR]

In namespace wwrdp, three hosts on port 3389, each with its own MAC:
  10.33.0.1  xrdp with security_layer=rdp: Standard RDP Security only;
  10.33.0.2  the FreeRDP shadow server with RDP and NLA security off: TLS
             chosen, though the client offered NLA;
  10.33.0.3  the FreeRDP shadow server with NLA (/sec:nla, CredSSP against
             a SAM file winpr-hash writes): NLA chosen.
The client 10.33.0.8 connects to each as user nurse1 (+auth-only: the
security handshake, no desktop). Every server refuses or drops the client
sooner or later; only the negotiation matters here.
"""
import os
import shutil
import subprocess
import tempfile
import time

from netns import capture, macvlan_hosts, out_path, veth_namespace

NS = "wwrdp"


def in_ns(*args, **kw):
    return subprocess.Popen(["ip", "netns", "exec", NS, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def main():
    out = out_path("rdp.pcap")
    with veth_namespace(NS, ["10.33.0.8/24"], []) as iface, tempfile.TemporaryDirectory() as tmp:
        macvlan_hosts(NS, "10.33.0", 3)
        ini = os.path.join(tmp, "xrdp.ini")
        with open("/etc/xrdp/xrdp.ini") as f:
            text = f.read()
        text = text.replace("\nport=3389\n", "\nport=tcp://10.33.0.1:3389\n", 1)
        text = text.replace("\nsecurity_layer=negotiate\n", "\nsecurity_layer=rdp\n", 1)
        with open(ini, "w") as f:
            f.write(text)
        sam = os.path.join(tmp, "sam")
        with open(sam, "w") as f:
            # FreeRDP's own tool writes the SAM line (the NT hash).
            f.write(subprocess.run(["winpr-hash", "-u", "nurse1", "-p", "Ward-Watch-1", "-f",
                                    "sam"], check=True, capture_output=True, text=True).stdout)
        procs = [subprocess.Popen(["Xvfb", ":63", "-screen", "0", "320x240x24"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        time.sleep(1)
        env = dict(os.environ, DISPLAY=":63")
        procs.append(in_ns("xrdp", "--nodaemon", "--config", ini))
        procs.append(in_ns("freerdp-shadow-cli", "/bind-address:10.33.0.2", "/port:3389",
                           "-sec-rdp", "-sec-nla", env=env))
        procs.append(in_ns("freerdp-shadow-cli", "/bind-address:10.33.0.3", "/port:3389",
                           "/sec:nla", f"/sam-file:{sam}", env=env))
        time.sleep(3)
        try:
            with capture(iface, "tcp port 3389", out):
                for server in ("10.33.0.1", "10.33.0.2", "10.33.0.3"):
                    subprocess.run(["timeout", "15", "xfreerdp", f"/v:{server}", "/u:nurse1",
                                    "/p:Ward-Watch-1", "/cert:ignore", "+auth-only"],
                                   env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        finally:
            for p in procs:
                p.terminate()
                p.wait()
            shutil.rmtree("/var/run/xrdp", ignore_errors=True)


if __name__ == "__main__":
    main()
