#!/usr/bin/env python3
"""Builds the replay capture of the live-latency benchmark (scripts/latency.sh).

Takes the first PACKETS frames of a classic pcap (the background traffic;
frames longer than an Ethernet MTU, from captures taken on loopback with
segmentation offload, are left out: they cannot cross a veth of MTU 1500)
and inserts, every EVERY frames, one DNS query for a name under a watched
domain from a client address never used before. Each query is a finding
(ioc-match) whose evidence is complete in that one packet, so the time from
that packet to the finding is the pipeline's latency. Every 20 queries also
one port scan (30 refused ports), one connection from a new local host to a
watched address, one internet client accepted by a new local server, and one
2.1 MB upload from a new local host to an internet address: findings that
the last probe, the server's SYN-ACK, or the segment that takes the upload
over the (benchmark's) 2 MB threshold completes.

  latency_pcap.py BACKGROUND.pcap OUT.pcap PACKETS EVERY DOMAIN
"""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def dns_query(n, domain):
    client = bytes([10, 77, (n >> 8) & 0xFF, n & 0xFF])
    server = bytes([10, 20, 1, 2])
    name = b"".join(bytes([len(p)]) + p for p in (f"beacon{n}.{domain}").encode().split(b".")) + b"\0"
    dns = struct.pack("!HHHHHH", n & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)
    udp = struct.pack("!HHHH", 40000 + n % 20000, 53, 8 + len(dns), 0) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0, client, server)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("00005e0053aa") + bytes([0x02, 0x77, 0, 0, (n >> 8) & 0xFF, n & 0xFF]) + b"\x08\x00"
    return eth + ip + udp


def tcp(src, dst, sport, dport, flags, n, data=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, n, 0 if flags == 0x02 else 1, 5 << 4, flags, 1024, 0, 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(data), n & 0xFFFF, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex("00005e0053aa") + bytes([0x02, 0x88, 0, 0, 0, 1]) + b"\x08\x00" + ip + tcp


def scan(n):
    scanner = bytes([10, 88, (n >> 8) & 0xFF, n & 0xFF])
    target = bytes([10, 20, 1, 10])
    out = []
    for port in range(1, 31):
        out.append(tcp(scanner, target, 50000 + port, 2000 + port, 0x02, n * 100 + port))
        out.append(tcp(target, scanner, 2000 + port, 50000 + port, 0x14, 0))
    return out


def handshake(client, server, sport, dport, n):
    """A connection's SYN and the server's SYN-ACK: one accepted connection."""
    return [tcp(client, server, sport, dport, 0x02, n), tcp(server, client, dport, sport, 0x12, n)]


WATCHED_IP = bytes([185, 220, 101, 7])
UPLOAD_SEGMENTS = 1600  # of 1,400 bytes: 2.1 MB, over the 2 MB the benchmark sets


def upload(n):
    """A new local host uploads 2.1 MB to an internet address in one connection."""
    host, ext = bytes([10, 99, n >> 8, n & 0xFF]), bytes([45, 155, 205, 11])
    out = handshake(host, ext, 41000 + n, 443, n)
    chunk = bytes(1400)
    for i in range(UPLOAD_SEGMENTS):
        out.append(tcp(host, ext, 41000 + n, 443, 0x18, 1 + i * 1400, chunk))
    return out


def main():
    src, out, packets, every, domain = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    with open(src, "rb") as f, open(out, "wb") as o:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        if magic not in (0xA1B2C3D4, 0xA1B23C4D):
            sys.exit(f"{src}: not a little-endian classic pcap")
        if struct.unpack("<I", head[20:24])[0] != 1:
            sys.exit(f"{src}: link type is not Ethernet")
        o.write(head)
        events = skipped = 0
        for i in range(packets):
            rec = f.read(16)
            if len(rec) < 16:
                break
            ts, frac, incl, orig = struct.unpack("<IIII", rec)
            data = f.read(incl)
            if orig > 1514:
                skipped += 1
            else:
                o.write(rec + data)
            if i % every == every - 1:
                q = dns_query(events, domain)
                o.write(struct.pack("<IIII", ts, frac, len(q), len(q)) + q)
                extra = []
                n = events // 20
                if events % 20 == 10:
                    extra = scan(n)
                elif events % 20 == 0:
                    extra = upload(n)
                elif events % 20 == 5:
                    # A local host connects to the watched address.
                    extra = handshake(bytes([10, 66, n >> 8, n & 0xFF]), WATCHED_IP, 40000 + n, 443, n)
                elif events % 20 == 15:
                    # An internet client is accepted by a local server.
                    extra = handshake(bytes([45, 155, 205, 10]), bytes([10, 21, n >> 8, n & 0xFF]), 40000 + n, 8443, n)
                for fr in extra:
                    o.write(struct.pack("<IIII", ts, frac, len(fr), len(fr)) + fr)
                events += 1
        print(f"{out}: {i + 1 - skipped} background frames ({skipped} longer than 1514 bytes left out), "
              f"{events} DNS queries under {domain}, {events // 20} each of port scans, connections to "
              f"{'.'.join(map(str, WATCHED_IP))}, accepted inbound connections and uploads", file=sys.stderr)


if __name__ == "__main__":
    main()
