#!/usr/bin/env python3
"""Regenerates tftp.pcap: a real TFTP client and server (tftpy, PyPI,
MIT) across a veth pair into a network namespace, captured with dumpcap
(root; Debian's iproute2 and tshark packages).

    pip install tftpy==0.8.5 && python3 tests/captures/make_tftp.py [OUT_DIR]

The server (10.69.0.1, in namespace wwtftp) serves and takes files; the
client (10.69.0.2) reads a firmware image with the blksize and tsize
options, uploads a configuration file, and asks for a file that is not
there (an error answers). 10.69.0.4, an address of the namespace with no
TFTP server, is asked too: only the kernel's port unreachable answers.
"""
import os
import subprocess
import sys
import tempfile
import time

from netns import capture, out_path, veth_namespace

NS = "wwtftp"


SERVER = """
import logging, sys, tftpy
logging.disable(logging.CRITICAL)
tftpy.TftpServer(sys.argv[1]).listen("10.69.0.1", 69)
"""

CLIENT = """
import logging, sys, tftpy
logging.disable(logging.CRITICAL)
tmp = sys.argv[1]
c = tftpy.TftpClient("10.69.0.1", 69, options={"blksize": 1024, "tsize": 0})
c.download("firmware/pump_v2.3.bin", tmp + "/got.bin")
tftpy.TftpClient("10.69.0.1", 69).upload("monitor-7.cfg", tmp + "/monitor-7.cfg")
for host, name in [("10.69.0.1", "missing.img"), ("10.69.0.4", "boot.efi")]:
    try:
        tftpy.TftpClient(host, 69).download(name, tmp + "/x", timeout=1, retries=0)
    except Exception:
        pass
"""


def main():
    out = out_path("tftp.pcap")
    with veth_namespace(NS, ["10.69.0.2/24"], ["10.69.0.1/24", "10.69.0.4/24"]) as iface:
        with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(root, "firmware"))
            with open(os.path.join(root, "firmware", "pump_v2.3.bin"), "wb") as f:
                f.write(bytes(range(256)) * 12)  # 3 KiB: three 1024-byte blocks
            with open(os.path.join(tmp, "monitor-7.cfg"), "w") as f:
                f.write("alarm_volume=7\nhl7_host=10.69.0.9\n" * 20)
            server = subprocess.Popen(
                ["ip", "netns", "exec", NS, sys.executable, "-c", SERVER, root]
            )
            time.sleep(1.5)
            with capture(iface, "udp or icmp", out):
                subprocess.run([sys.executable, "-c", CLIENT, tmp], check=True)
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
