#!/usr/bin/env python3
"""Regenerates vnc.pcap: real VNC servers (TigerVNC's Xvnc, Debian
tigervnc-standalone-server, GPL-2) and a real client (vncdotool, PyPI,
MIT) across a veth pair into a network namespace, captured with dumpcap
(root; Debian's iproute2 and tshark packages).

    apt-get install tigervnc-standalone-server tigervnc-tools
    pip install vncdotool==1.4.2 && python3 tests/captures/make_vnc.py [OUT_DIR]

In namespace wwvnc, three Xvnc servers on port 5900:
  10.59.0.1  security type None, desktop "ultrasound-3" (320x240): the
             client moves the pointer without a password;
  10.59.0.2  VNC Authentication with the password 1234 (a VNC default on
             the shipped list): the client logs in with it and moves the
             pointer;
  10.59.0.3  VNC Authentication with a strong password: 10.59.0.9 tries
             eight wrong ones; after five the server blacklists it and
             refuses the rest before any password is asked.
The client 10.59.0.8 makes the first two sessions.
"""
import os
import subprocess
import tempfile
import time

from netns import capture, macvlan_hosts, out_path, veth_namespace

NS = "wwvnc"
STRONG = "Xq7!vT9z"
GUESSES = ["password", "admin", "12345678", "vnc", "secret", "letmein", "qwerty", "monitor"]


def vncdo(server, password, cmd):
    """One vncdotool session to `server`; its exit code (a refused one
    fails)."""
    args = ["vncdo", "-s", f"{server}::5900", "--timeout", "5"]
    if password is not None:
        args += ["-p", password]
    return subprocess.run(args + cmd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def main():
    out = out_path("vnc.pcap")
    with veth_namespace(NS, ["10.59.0.8/24"], []) as iface, tempfile.TemporaryDirectory() as tmp:
        macvlan_hosts(NS, "10.59.0", 3)

        def passwd(name, pw):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(subprocess.run(["vncpasswd", "-f"], input=pw.encode(), check=True,
                                       capture_output=True).stdout)
            return path

        servers = []
        for display, addr, opts in [
            (51, "10.59.0.1", ["-SecurityTypes", "None", "-desktop", "ultrasound-3"]),
            (52, "10.59.0.2", ["-SecurityTypes", "VncAuth", "-PasswordFile", passwd("p2", "1234"),
                               "-desktop", "lab-analyser"]),
            (53, "10.59.0.3", ["-SecurityTypes", "VncAuth", "-PasswordFile", passwd("p3", STRONG),
                               "-desktop", "pacs-viewer"]),
        ]:
            servers.append(subprocess.Popen(
                ["ip", "netns", "exec", NS, "Xvnc", f":{display}", "-rfbport", "5900",
                 "-interface", addr, "-geometry", "320x240", *opts],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(3)
        try:
            with capture(iface, "tcp port 5900", out):
                assert vncdo("10.59.0.1", None, ["move", "10", "10"]) == 0
                assert vncdo("10.59.0.2", "1234", ["move", "10", "10"]) == 0
                # The guesser: another address of this side (vncdotool has
                # no source-address option; a route picks it).
                subprocess.run(["ip", "addr", "add", "10.59.0.9/24", "dev", iface], check=True)
                subprocess.run(["ip", "route", "replace", "10.59.0.3/32", "dev", iface,
                                "src", "10.59.0.9"], check=True)
                refused = sum(vncdo("10.59.0.3", g, ["move", "10", "10"]) != 0
                              for g in GUESSES)
                assert refused == len(GUESSES), refused
        finally:
            for s in servers:
                s.terminate()
                s.wait()


if __name__ == "__main__":
    main()
