#!/usr/bin/env python3
"""Regenerates ipp.pcap: CUPS's IPP Everywhere printer (ippeveprinter) and
its test client (ipptool), both Debian cups-ipp-utils (Apache-2.0), across a
veth pair into a network namespace, captured with dumpcap (root; Debian's
iproute2 and tshark packages). ippeveprinter needs DNS-SD: the script starts
Debian's dbus and avahi-daemon when they are not running.

    apt-get install cups-ipp-utils avahi-daemon dbus
    python3 tests/captures/make_ipp.py [OUT_DIR]

The printer (10.63.0.1, port 631, namespace wwipp) describes itself as an
HP LaserJet Pro M404n with a serial number in its IEEE 1284 device id and
two firmware components (an attributes file, below). The client 10.63.0.8
asks its attributes, then prints a document whose name and text are a
made-up discharge summary ("Jane Roe", an MRN): neither may appear in a
report.
"""
import os
import shutil
import subprocess
import tempfile
import time

from netns import capture, out_path, veth_namespace

NS = "wwipp"

ATTRS = """ATTR text printer-make-and-model "HP LaserJet Pro M404n"
ATTR text printer-device-id "MFG:HP;MDL:LaserJet Pro M404n;CMD:PCL,PJL,URF;SN:VNB3K12345;"
ATTR name printer-firmware-name "Formatter","Engine"
ATTR text printer-firmware-string-version "002_2310A","1.4.7"
ATTR mimeMediaType document-format-supported "application/octet-stream","text/plain"
ATTR mimeMediaType document-format-default "application/octet-stream"
"""


def dns_sd():
    """dbus and avahi-daemon, which ippeveprinter needs, if not running."""
    if subprocess.run(["pgrep", "-x", "dbus-daemon"], capture_output=True).returncode:
        os.makedirs("/run/dbus", exist_ok=True)
        subprocess.run(["dbus-daemon", "--system", "--fork"], check=True)
    if subprocess.run(["pgrep", "-x", "avahi-daemon"], capture_output=True).returncode:
        subprocess.run(["avahi-daemon", "-D", "--no-drop-root"], check=True)
    time.sleep(1)


def main():
    out = out_path("ipp.pcap")
    dns_sd()
    with veth_namespace(NS, ["10.63.0.8/24"], ["10.63.0.1/24"]) as iface, \
            tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "printer.conf")
        with open(conf, "w") as f:
            f.write(ATTRS)
        doc = os.path.join(tmp, "discharge-summary-jane-roe.txt")
        with open(doc, "w") as f:
            f.write("Discharge summary. Patient: Jane Roe, MRN 4455667. Ward 3.\n")
        spool = os.path.join(tmp, "spool")
        os.makedirs(spool)
        printer = subprocess.Popen(
            ["ip", "netns", "exec", NS, "ippeveprinter", "-a", conf, "-p",
             "631", "-d", spool, "HP LaserJet Ward3"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        try:
            with capture(iface, "tcp port 631", out):
                uri = "ipp://10.63.0.1:631/ipp/print"
                subprocess.run(["ipptool", "-T", "10", uri, "get-printer-attributes.test"],
                               stdout=subprocess.DEVNULL)
                subprocess.run(["ipptool", "-T", "10", "-f", doc, "-d", "filetype=text/plain",
                                uri, "print-job.test"], check=True, stdout=subprocess.DEVNULL)
        finally:
            printer.terminate()
            printer.wait()
            shutil.rmtree(spool, ignore_errors=True)


if __name__ == "__main__":
    main()
