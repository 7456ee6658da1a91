#!/usr/bin/env python3
"""Writes a classic pcap of TCP SYNs that open N distinct flows and never
close them (10.1.x.y to 10.2.x.y, five service ports), starting at a given
Unix time: what fills the flow table. For scripts/bench-memory.sh.

    python3 scripts/make_scan_pcap.py OUT [FLOWS] [START_UNIX_S]
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from latency_pcap import csum  # noqa: E402  (the IPv4 header checksum)


def main() -> None:
    out = sys.argv[1]
    flows = int(sys.argv[2]) if len(sys.argv) > 2 else 600_000
    start = int(sys.argv[3]) if len(sys.argv) > 3 else 1_800_000_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(flows):
            src = bytes([10, 1, (i >> 16) & 0xFF, 1 + (i >> 8) % 250])
            dst = bytes([10, 2, (i >> 8) & 0xFF, i & 0xFF])
            sport, dport = 1024 + i % 60000, (22, 80, 443, 104, 2575)[i % 5]
            tcp = struct.pack("!HHIIBBHHH", sport, dport, i, 0, 5 << 4, 0x02, 1024, 0, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0, 64, 6, 0, src, dst)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            mac = bytes([0, 0x1B, 0x21, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
            pkt = bytes([0, 1, 2, 3, 4, 5]) + mac + b"\x08\x00" + ip + tcp
            ts, us = start + i // 100_000, (i % 100_000) * 10
            f.write(struct.pack("<IIII", ts, us, len(pkt), len(pkt)))
            f.write(pkt)


if __name__ == "__main__":
    main()
