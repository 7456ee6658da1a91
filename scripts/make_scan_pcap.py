#!/usr/bin/env python3
"""Writes a classic pcap of TCP SYNs for scripts/bench-memory.sh, from
START_UNIX_S on:

  scan   N flows opened and never closed (10.1.x.y to 10.2.x.y, five service
         ports): what fills the flow table;
  sweep  one scanner's SYN to port 445 of N hosts (10.2.0.0 on), each
         answering with a RST from its own MAC: N hosts of the site that
         spoke, what fills the site's half of the host table;
  visits N site hosts (10.3.0.0 on) each visiting its own internet server
         (45.60.0.0 on, port 443) twice, 100 bytes each way and a RST, the
         second visit coming after the next host's first: what a full flow
         digest's callback watch takes and gives up;
  hold   N connections (10.4.0.0 on, to 10.5.0.0 on) each starting a message
         that never ends, in turn an HL7 message (MLLP, no end block), a
         FHIR body (HTTP, Content-Length 60000), a TLS handshake record and a
         DICOM A-ASSOCIATE-RQ (both 60,000 bytes long), then sending 40
         segments of 1,400 bytes each, round-robin over all connections:
         what the dissectors' buffers take while all are open.

    python3 scripts/make_scan_pcap.py OUT [scan|sweep|visits] [N] [START_UNIX_S]
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from latency_pcap import csum  # noqa: E402  (the IPv4 header checksum)


def frame(src, dst, sport, dport, flags, seq, ack, smac, dmac, data=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 1024, 0, 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq & 0xFFFF, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dmac + smac + b"\x08\x00" + ip + tcp


def main() -> None:
    out = sys.argv[1]
    kind = sys.argv[2] if len(sys.argv) > 2 else "scan"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 600_000
    start = int(sys.argv[4]) if len(sys.argv) > 4 else 1_800_000_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def write(ts, us, pkt):
            f.write(struct.pack("<IIII", ts, us, len(pkt), len(pkt)))
            f.write(pkt)

        if kind == "hold":
            heads = [
                b"\x0bMSH|^~\\&|PUMP|ICU|EMR|H|20260101||ORU^R01|1|P|2.6\r",
                b"POST /fhir/Device HTTP/1.1\r\nHost: fhir\r\n"
                b"Content-Type: application/fhir+json\r\nContent-Length: 60000\r\n\r\n",
                b"\x16\x03\x01\xea\x60\x01\x00\xea\x5c\x03\x03",
                b"\x01\x00\x00\x00\xea\x60\x00\x01\x00\x00",
            ]
            ports = (2575, 8080, 443, 104)
            cmac, smac = bytes([0, 0x1B, 0x21, 4, 0, 1]), bytes([0, 1, 2, 3, 4, 5])
            fill = b"OBX|1|NM|X||1|\r" * 100
            seqs = [1] * n
            for r in range(41):
                for i in range(n):
                    host = bytes([10, 4 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                    server = bytes([10, 5 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                    data = heads[i % 4] if r == 0 else fill[:1400]
                    k = r * n + i
                    ts, us = start + k // 100_000, (k % 100_000) * 10
                    write(ts, us, frame(host, server, 30000 + i % 30000, ports[i % 4], 0x18,
                                        seqs[i], 1, cmac, smac, data))
                    seqs[i] += len(data)
            return
        if kind == "visits":
            cmac, smac = bytes([0, 0x1B, 0x21, 3, 0, 1]), bytes([0, 1, 2, 3, 4, 5])
            # (host, visit): host i's first, then host i-1's second.
            visits = [hv for i in range(n) for hv in ((i, 0), (i - 1, 1)) if hv[0] >= 0]
            for k, (i, v) in enumerate(visits):
                host = bytes([10, 3 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                server = bytes([45, 60 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                ts, us, sport = start + k // 10_000, (k % 10_000) * 100, 20000 + 2 * (i % 20000) + v
                write(ts, us, frame(host, server, sport, 443, 0x18, 1, 1, cmac, smac, b"q" * 100))
                write(ts, us, frame(server, host, 443, sport, 0x18, 1, 101, smac, cmac, b"r" * 100))
                write(ts, us, frame(host, server, sport, 443, 0x04, 101, 0, cmac, smac))
            return
        for i in range(n):
            if kind == "sweep":
                scanner, smac = bytes([10, 1, 1, 1]), bytes([0, 0x1B, 0x21, 1, 1, 1])
                host = bytes([10, 2 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF])
                hmac = bytes([0, 0x1C, 0x42, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
                ts, us, sport = start + i // 50_000, (i % 50_000) * 20, 40000 + i % 20000
                write(ts, us, frame(scanner, host, sport, 445, 0x02, i, 0, smac, hmac))
                write(ts, us, frame(host, scanner, 445, sport, 0x14, 0, i + 1, hmac, smac))
            else:
                src = bytes([10, 1, (i >> 16) & 0xFF, 1 + (i >> 8) % 250])
                dst = bytes([10, 2, (i >> 8) & 0xFF, i & 0xFF])
                sport, dport = 1024 + i % 60000, (22, 80, 443, 104, 2575)[i % 5]
                mac = bytes([0, 0x1B, 0x21, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
                pkt = frame(src, dst, sport, dport, 0x02, i, 0, mac, bytes([0, 1, 2, 3, 4, 5]))
                write(start + i // 100_000, (i % 100_000) * 10, pkt)


if __name__ == "__main__":
    main()
