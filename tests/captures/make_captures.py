#!/usr/bin/env python3
"""Regenerates the small test captures in this folder with scapy.

They cover what the shared public captures do not: traffic mirrored inside
GRE, ERSPAN II/III, VXLAN and CAPWAP (802.11 inside), 802.11 captured in
monitor mode (radiotap and PPI headers), IP-in-IP, GTP-U and Teredo
tunnels, frames mirrored twice,
fragmented datagrams, a capture holding one direction only, link-layer
discovery, Windows browser announcements, DHCPv6 client messages,
Kerberos logons and CLDAP pings of domain members, mDNS records naming
make and model, FHIR Device resources, a UPnP device description, BACnet/IP
device objects, SIP phones, call server and scanner, a Modbus/TCP
power meter naming itself, cameras, a printer and a PC in WS-Discovery,
EtherNet/IP devices answering List Identity, CEF/LEEF syslog, SMTP,
POP3 and IMAP logins in the clear, LDAP simple binds, and a resolver's
answers naming site hosts. Each tunnel file
carries one HTTP-over-TCP exchange (handshake, request, response, close)
between a workstation and an infusion pump (B. Braun OUI) on VLAN 40.

    pip install scapy && python3 tests/captures/make_captures.py
"""
import base64
import os
import struct

from scapy.all import (GRE, IP, TCP, UDP, Dot1Q, Ether, Raw, wrpcap, fragment)
from scapy.layers.dot11 import Dot11, Dot11QoS
from scapy.layers.l2 import LLC, SNAP
from scapy.layers.vxlan import VXLAN

HERE = os.path.dirname(os.path.abspath(__file__))
WS_MAC, PUMP_MAC = "f8:bc:12:4a:10:21", "00:12:21:0a:0b:0c"
WS, PUMP = "10.40.5.21", "10.40.3.9"
REQ = b"GET /status HTTP/1.1\r\nHost: pump-3-9\r\nUser-Agent: curl/7.88.1\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nServer: Pump-Web/2.1\r\nContent-Length: 12\r\n\r\npump ready\r\n"


def conversation(t0=1_700_000_000.0):
    """The inner frames: (time, ethernet frame)."""
    c, s = 40000, 80
    cs, ss = 1000, 5000
    seq = [
        (WS, PUMP, c, s, "S", cs, 0, b""),
        (PUMP, WS, s, c, "SA", ss, cs + 1, b""),
        (WS, PUMP, c, s, "A", cs + 1, ss + 1, b""),
        (WS, PUMP, c, s, "PA", cs + 1, ss + 1, REQ),
        (PUMP, WS, s, c, "PA", ss + 1, cs + 1 + len(REQ), RESP),
        (WS, PUMP, c, s, "FA", cs + 1 + len(REQ), ss + 1 + len(RESP), b""),
        (PUMP, WS, s, c, "FA", ss + 1 + len(RESP), cs + 2 + len(REQ), b""),
        (WS, PUMP, c, s, "A", cs + 2 + len(REQ), ss + 2 + len(RESP), b""),
    ]
    out = []
    for i, (src, dst, sp, dp, fl, sq, ak, pl) in enumerate(seq):
        smac, dmac = (WS_MAC, PUMP_MAC) if src == WS else (PUMP_MAC, WS_MAC)
        f = Ether(src=smac, dst=dmac) / Dot1Q(vlan=40) / IP(src=src, dst=dst, id=100 + i) / \
            TCP(sport=sp, dport=dp, flags=fl, seq=sq, ack=ak) / Raw(pl)
        f.time = t0 + i * 0.01
        out.append(f)
    return out


def outer(inner_bytes, payload_builder):
    return [payload_builder(f) for f in inner_bytes]


def stamp(frames, like):
    for f, l in zip(frames, like):
        f.time = l.time
    return frames


def udp_frame(src, smac, dst, dmac, sport, dport, payload, ttl=64):
    return Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, ttl=ttl) / UDP(sport=sport, dport=dport) / Raw(payload)


def tcp_frame(src, smac, dst, dmac, sport, dport, flags, seq, ack, payload):
    return Ether(src=smac, dst=dmac) / IP(src=src, dst=dst) / \
        TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack) / Raw(payload)


def handshake(client, cmac, server, smac, cport, sport, cseq, sseq):
    """tcp_frame rows of a three-way handshake; the data then starts at
    cseq + 1 and sseq + 1."""
    return [(client, cmac, server, smac, cport, sport, "S", cseq, 0, b""),
            (server, smac, client, cmac, sport, cport, "SA", sseq, cseq + 1, b""),
            (client, cmac, server, smac, cport, sport, "A", cseq + 1, sseq + 1, b"")]


def dialogue(client, cmac, server, smac, cport, sport, turns, cseq=1000, sseq=5000):
    """tcp_frame rows of a connection: the handshake, then each turn
    ("c" or "s", bytes) as one segment of that side."""
    rows = handshake(client, cmac, server, smac, cport, sport, cseq, sseq)
    c, s = cseq + 1, sseq + 1
    for side, data in turns:
        if side == "c":
            rows.append((client, cmac, server, smac, cport, sport, "PA", c, s, data))
            c += len(data)
        else:
            rows.append((server, smac, client, cmac, sport, cport, "PA", s, c, data))
            s += len(data)
    return rows


def client_hello(name):
    """A TLS 1.2 ClientHello record offering two suites, with one
    extension: the server name (what follows STARTTLS in the captures)."""
    sni = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x04\xc0\x2f\x00\x2f" + b"\x01\x00" + \
        struct.pack(">H", len(sni)) + sni
    hello = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hello)) + hello


def timed(frames, t0):
    """The frames 10 ms apart from t0."""
    for i, f in enumerate(frames):
        f.time = t0 + i * 0.01
    return frames


def write(name, frames):
    wrpcap(os.path.join(HERE, name), frames)


def main():
    inner = conversation()
    sensor = Ether(src="00:1b:21:00:00:01", dst="00:1b:21:00:00:02")
    outer_ip = IP(src="192.0.2.1", dst="192.0.2.2")

    # GRE transparent Ethernet bridging (0x6558).
    write("gre_teb.pcap", stamp([sensor / outer_ip / GRE(proto=0x6558) / f for f in inner], inner))
    # ERSPAN type II: GRE with sequence number, protocol 0x88BE, 8-byte header.
    erspan2 = bytes([0x10, 0x28, 0x00, 0x01, 0, 0, 0, 0])  # ver 1, vlan 40, session 1
    write("erspan2.pcap", stamp([sensor / outer_ip / GRE(proto=0x88BE, seqnum_present=1, seqence_number=i) /
                                 Raw(erspan2 + bytes(f)) for i, f in enumerate(inner)], inner))
    # ERSPAN type III: protocol 0x22EB, 12-byte header (no optional subheader).
    erspan3 = bytes([0x20, 0x28, 0x00, 0x01]) + bytes(4) + bytes([0, 0, 0, 0])
    write("erspan3.pcap", stamp([sensor / outer_ip / GRE(proto=0x22EB, seqnum_present=1, seqence_number=i) /
                                 Raw(erspan3 + bytes(f)) for i, f in enumerate(inner)], inner))
    # VXLAN on UDP 4789, VNI 5040.
    write("vxlan.pcap", stamp([sensor / outer_ip / UDP(sport=50000, dport=4789) / VXLAN(vni=5040) / f
                               for f in inner], inner))
    # CAPWAP data (UDP 5247): 8-byte header, T=1 and WBID=1, an 802.11 QoS data
    # frame inside (the pump is a wireless client: To-DS from it, From-DS to it).
    capwap = bytes([0x00, 0x10, 0x03, 0x00, 0, 0, 0, 0])  # HLEN=2 words, WBID=1, T=1
    bssid = "00:0b:86:aa:bb:cc"
    frames = []
    for f in inner:
        ip = f[IP]
        if ip.src == PUMP:
            d11 = Dot11(type=2, subtype=8, FCfield="to_DS", addr1=bssid, addr2=PUMP_MAC, addr3=WS_MAC)
        else:
            d11 = Dot11(type=2, subtype=8, FCfield="from_DS", addr1=PUMP_MAC, addr2=bssid, addr3=WS_MAC)
        w = sensor / outer_ip / UDP(sport=5247, dport=5247) / Raw(capwap) / d11 / Dot11QoS() / \
            LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / ip
        w.time = f.time
        frames.append(w)
    write("capwap_80211.pcap", frames)
    # The same conversation captured over the air by a monitor-mode sensor:
    # radiotap (flags say each frame ends in its FCS) and PPI headers before
    # the 802.11 frames, with the access point's beacon and a protected
    # (encrypted) frame from another station, whose body cannot be read.
    from scapy.layers.dot11 import (RadioTap, Dot11FCS, Dot11Beacon, Dot11Elt)
    from scapy.layers.ppi import PPI
    radio = dict(present="Flags+Rate+Channel+dBm_AntSignal", Flags="FCS", Rate=108,
                 ChannelFrequency=5180, ChannelFlags="5GHz+OFDM", dBm_AntSignal=-48)
    beacon = RadioTap(**radio) / Dot11FCS(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=bssid,
                                          addr3=bssid) / \
        Dot11Beacon(cap="ESS+privacy") / Dot11Elt(ID="SSID", info=b"ward3-clinical")
    beacon.time = inner[0].time - 0.05
    air, ppi = [beacon], []
    for f in frames:
        d11 = f[Dot11]
        body = d11.payload.copy()
        fcs = Dot11FCS(type=2, subtype=8, FCfield=d11.FCfield, addr1=d11.addr1, addr2=d11.addr2,
                       addr3=d11.addr3) / body
        r = RadioTap(**radio) / fcs
        r.time = f.time
        air.append(r)
        p = PPI() / Dot11(type=2, subtype=8, FCfield=d11.FCfield, addr1=d11.addr1, addr2=d11.addr2,
                          addr3=d11.addr3) / body.copy()
        p.time = f.time
        ppi.append(p)
    sealed = RadioTap(**radio) / Dot11FCS(type=2, subtype=8, FCfield="to_DS+protected", addr1=bssid,
                                          addr2="00:09:fb:11:22:33", addr3="ff:ff:ff:ff:ff:ff") / \
        Dot11QoS() / Raw(bytes(range(64)))
    sealed.time = inner[-1].time + 0.05
    air.append(sealed)
    write("wifi_radiotap.pcap", air)
    write("wifi_ppi.pcap", ppi)
    # A WPA2 ward network and a legacy WEP one seen over the air, every data
    # frame encrypted: the access points' beacons, the B. Braun pump's
    # association request and its protected frames to its access point, a
    # Baxter pump's protected frames on the WEP network (no association
    # seen), a protected frame relayed from the access point to the pump
    # (it names no station) and a phone's probe request (not read).
    from scapy.layers.dot11 import Dot11AssoReq, Dot11ProbeReq, Dot11EltRSN, AKMSuite
    ap1, ap2, baxter = "00:0b:86:a1:00:01", "00:0b:86:a1:00:02", "58:42:e4:00:00:07"

    def aired(frame, t):
        r = RadioTap(**radio) / frame
        r.time = t
        return r
    rsn = Dot11EltRSN(akm_suites=[AKMSuite(suite=2)])
    sealed_body = Dot11QoS() / Raw(bytes(range(48)))
    wpa = [
        aired(Dot11FCS(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=ap1, addr3=ap1) /
              Dot11Beacon(cap="ESS+privacy") / Dot11Elt(ID="SSID", info=b"ICU-PUMPS") / rsn, 1_700_001_000.0),
        aired(Dot11FCS(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=ap2, addr3=ap2) /
              Dot11Beacon(cap="ESS+privacy") / Dot11Elt(ID="SSID", info=b"LEGACY-WEP"), 1_700_001_000.1),
        aired(Dot11FCS(type=0, subtype=0, addr1=ap1, addr2=PUMP_MAC, addr3=ap1) /
              Dot11AssoReq(cap="ESS+privacy", listen_interval=10) / Dot11Elt(ID="SSID", info=b"ICU-PUMPS") /
              rsn, 1_700_001_000.2),
        aired(Dot11FCS(type=2, subtype=8, FCfield="to_DS+protected", addr1=ap1, addr2=PUMP_MAC,
                       addr3="00:50:56:00:00:10") / sealed_body, 1_700_001_000.3),
        aired(Dot11FCS(type=2, subtype=8, FCfield="from_DS+protected", addr1=PUMP_MAC, addr2=ap1,
                       addr3="00:50:56:00:00:10") / sealed_body, 1_700_001_000.4),
        aired(Dot11FCS(type=2, subtype=8, FCfield="to_DS+protected", addr1=ap2, addr2=baxter,
                       addr3="00:50:56:00:00:10") / sealed_body, 1_700_001_000.5),
        aired(Dot11FCS(type=0, subtype=4, addr1="ff:ff:ff:ff:ff:ff", addr2="da:a1:19:00:00:01",
                       addr3="ff:ff:ff:ff:ff:ff") / Dot11ProbeReq() / Dot11Elt(ID="SSID", info=b""),
              1_700_001_000.6),
    ]
    write("wifi_networks.pcap", wpa)
    # IP tunnels between two routers: IPv4 in IPv4 (protocol 4), IPv4 in IPv6
    # (next header 4), and GTP-U (UDP 2152; every other packet with a PDU
    # session container extension header). No inner frame has MACs.
    from scapy.layers.inet6 import IPv6
    from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
    write("ipip.pcap", stamp([sensor / outer_ip / f[IP] for f in inner], inner))
    write("ip4in6.pcap", stamp([sensor / IPv6(src="2001:db8::1", dst="2001:db8::2", nh=4) / f[IP]
                                for f in inner], inner))
    gtp = []
    for i, f in enumerate(inner):
        h = GTP_U_Header(teid=0x1001, E=1, next_ex=0x85) / GTPPDUSessionContainer(type=0, QFI=9) \
            if i % 2 else GTP_U_Header(teid=0x1001)
        gtp.append(sensor / outer_ip / UDP(sport=2152, dport=2152) / h / f[IP])
    write("gtpu.pcap", stamp(gtp, inner))
    # Teredo (UDP 3544): the same exchange over IPv6 between Teredo addresses,
    # the relay's first answer carrying an origin indication.
    ws6, pump6 = "2001:0:c000:201:0:f227:3f57:fdea", "2001:0:c000:202:0:ad4:9c:f5fe"
    teredo = []
    for i, f in enumerate(inner):
        ip, tcp = f[IP], f[TCP].copy()
        del tcp.chksum
        v6 = IPv6(src=ws6 if ip.src == WS else pump6, dst=pump6 if ip.src == WS else ws6) / tcp
        origin = Raw(bytes([0, 0, 0x9c, 0x40]) + bytes([0x3f, 0xfd, 0xfd, 0xfe])) if i == 1 else Raw(b"")
        o = sensor / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=3544, dport=3544) / origin / v6
        teredo.append(o)
    write("teredo.pcap", stamp(teredo, inner))
    # Every frame mirrored twice, 20 microseconds apart, as a SPAN of both ports does.
    dup = []
    for f in inner:
        g = f.copy()
        g.time = f.time + 0.00002
        dup += [f, g]
    write("duplicates_span.pcap", dup)
    # One direction only: the pump's side never reached the sensor.
    write("one_direction.pcap", [f for f in inner if f[IP].src == WS])
    # A fragmented UDP datagram (syslog-sized, 3 fragments) from the pump.
    big = Ether(src=PUMP_MAC, dst=WS_MAC) / IP(src=PUMP, dst=WS, id=4242) / UDP(sport=40514, dport=514) / \
        Raw(b"<134>pump-3-9: " + b"x" * 3000)
    frags = fragment(big[IP], fragsize=1200)
    out = []
    for i, fr in enumerate(frags):
        e = Ether(src=PUMP_MAC, dst=WS_MAC) / fr
        e.time = 1_700_000_100.0 + i * 0.001
        out.append(e)
    write("ipv4_fragments.pcap", out)
    # Link-layer discovery: the pump announces itself over LLDP, a switch over
    # CDP, and the pump answers ARP so that it is a device.
    from scapy.contrib.lldp import (LLDPDU, LLDPDUChassisID, LLDPDUPortID, LLDPDUTimeToLive,
                                    LLDPDUSystemName, LLDPDUSystemDescription, LLDPDUEndOfLLDPDU)
    from scapy.contrib.cdp import CDPv2_HDR, CDPMsgDeviceID, CDPMsgSoftwareVersion, CDPMsgPlatform
    from scapy.layers.l2 import ARP, Dot3
    lldp = Ether(src=PUMP_MAC, dst="01:80:c2:00:00:0e", type=0x88CC) / LLDPDU() / \
        LLDPDUChassisID(subtype=4, id=PUMP_MAC) / LLDPDUPortID(subtype=7, id=b"eth0") / \
        LLDPDUTimeToLive(ttl=120) / LLDPDUSystemName(system_name=b"pump-3-9") / \
        LLDPDUSystemDescription(description=b"Infusion pump network module 2.1") / LLDPDUEndOfLLDPDU()
    lldp.time = 1_700_000_200.0
    switch_mac = "00:1b:54:aa:bb:01"
    cdp = Dot3(src=switch_mac, dst="01:00:0c:cc:cc:cc") / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / \
        SNAP(OUI=0x0c, code=0x2000) / CDPv2_HDR(vers=2, ttl=180) / CDPMsgDeviceID(val=b"ward3-access-sw") / \
        CDPMsgSoftwareVersion(val=b"Cisco IOS Software, C2960 Version 15.0(2)SE") / CDPMsgPlatform(val=b"cisco WS-C2960-24TT-L")
    cdp.time = 1_700_000_201.0
    arp = Ether(src=PUMP_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=PUMP_MAC, psrc=PUMP, hwdst=WS_MAC, pdst=WS)
    arp.time = 1_700_000_202.0
    arp2 = Ether(src=switch_mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=switch_mac, psrc="10.40.0.2", hwdst=WS_MAC, pdst=WS)
    arp2.time = 1_700_000_203.0
    # An IP phone's LLDP with LLDP-MED inventory (TIA-1057: hardware,
    # firmware and software revisions, serial, manufacturer, model, and an
    # asset id, which is not kept), and its ARP.
    from scapy.contrib.lldp import LLDPDUGenericOrganisationSpecific as OrgTLV
    phone_mac = "00:04:f2:12:34:56"
    med = [OrgTLV(org_code=0x0012BB, subtype=st, data=v) for st, v in [
        (5, b"Rev 2"), (6, b"BootROM 5.0.1"), (7, b"UC 6.4.6.2"), (8, b"64167F123456"),
        (9, b"Polycom"), (10, b"VVX 411"), (11, b"WARD3-PHONE-07")]]
    phone = Ether(src=phone_mac, dst="01:80:c2:00:00:0e", type=0x88CC) / LLDPDU() / \
        LLDPDUChassisID(subtype=4, id=phone_mac) / LLDPDUPortID(subtype=3, id=phone_mac) / \
        LLDPDUTimeToLive(ttl=120) / LLDPDUSystemName(system_name=b"ward3-phone-07")
    for t in med:
        phone = phone / t
    phone = phone / LLDPDUEndOfLLDPDU()
    phone.time = 1_700_000_204.0
    arp3 = Ether(src=phone_mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=phone_mac, psrc="10.40.7.7", hwdst=WS_MAC, pdst=WS)
    arp3.time = 1_700_000_205.0
    write("lldp_cdp.pcap", [lldp, cdp, arp, arp2, phone, arp3])
    # Browser announcements (NetBIOS datagram service, UDP 138): a Windows
    # XP viewing station, a Windows Server 2008 R2 domain controller (as
    # the local master browser), a Samba NAS, and the workgroup's domain
    # announcement.
    from scapy.layers.netbios import NBTDatagram
    from scapy.layers.smb import (SMB_Header, SMBMailslot_Write, BRWS_HostAnnouncement,
                                  BRWS_LocalMasterAnnouncement, BRWS)
    from scapy.packet import Raw as _Raw

    def announce(i, mac, ip, name, layer):
        f = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=ip, dst="10.40.255.255") / \
            UDP(sport=138, dport=138) / \
            NBTDatagram(Type=0x11, SourceName=name, DestinationName="RADIOLOGY", SourceIP=ip) / \
            SMB_Header() / SMBMailslot_Write(Name=b"\\MAILSLOT\\BROWSE", Data=layer)
        f.time = 1_700_000_300.0 + i
        return f
    # Server type bits (MS-RAP 2.5.5.2): 0x1 workstation, 0x2 server, 0x8
    # domain controller, 0x800 Unix, 0x1000 NT, 0x8000 NT server, 0x10000
    # potential browser, 0x40000 master browser.
    xp = BRWS_HostAnnouncement(ServerName=b"WS-RAD-07", OSVersionMajor=5, OSVersionMinor=1,
                               ServerType=0x00011003, Comment=b"Radiology viewer")
    dc = BRWS_LocalMasterAnnouncement(ServerName=b"RAD-DC01", OSVersionMajor=6, OSVersionMinor=1,
                                      ServerType=0x0005900b, Comment=b"")
    nas = BRWS_HostAnnouncement(ServerName=b"RAD-NAS", OSVersionMajor=6, OSVersionMinor=1,
                                ServerType=0x00019a03, Comment=b"Samba 4.17.12-Debian")
    # Domain announcement (opcode 0x0C): the workgroup's name where the
    # server name goes, the master browser's in the comment.
    dom = BRWS(OpCode=0x0C) / _Raw(bytes([0, 0x60, 0xea, 0, 0]) + b"RADIOLOGY".ljust(16, b"\0") +
                                   bytes([6, 1]) + (0x80001000).to_bytes(4, "little") +
                                   bytes([15, 1, 0x55, 0xaa]) + b"RAD-DC01\0")
    write("browser.pcap", [
        announce(0, "00:14:22:01:02:03", "10.40.5.30", "WS-RAD-07", xp),
        announce(1, "00:15:5d:0a:00:01", "10.40.0.10", "RAD-DC01", dc),
        announce(2, "00:11:32:0c:0d:0e", "10.40.0.20", "RAD-NAS", nas),
        announce(3, "00:15:5d:0a:00:01", "10.40.0.10", "RAD-DC01", dom),
    ])
    # DHCPv6 client messages (UDP 546 -> 547, from link-local addresses):
    # a Windows host's Solicit (FQDN, vendor class MSFT 5.0, DUID-LLT) that
    # also speaks IPv4, and a Linux host's Information-request (DUID-LL).
    from scapy.layers.inet6 import IPv6
    from scapy.layers.dhcp6 import (DHCP6_Solicit, DHCP6_InfoRequest, DHCP6OptClientId,
                                    DHCP6OptClientFQDN, DHCP6OptVendorClass, DHCP6OptOptReq,
                                    DHCP6OptElapsedTime, DUID_LLT, DUID_LL, VENDOR_CLASS_DATA)
    win_mac, lin_mac = "00:14:22:01:02:03", "00:1b:21:3c:4d:5e"
    win6 = Ether(src=win_mac, dst="33:33:00:01:00:02") / \
        IPv6(src="fe80::214:22ff:fe01:203", dst="ff02::1:2", hlim=1) / UDP(sport=546, dport=547) / \
        DHCP6_Solicit(trid=0x123456) / DHCP6OptElapsedTime() / \
        DHCP6OptClientId(duid=DUID_LLT(lladdr=win_mac, timeval=0x2a3b4c5d)) / \
        DHCP6OptClientFQDN(fqdn="WS-RAD-07.rad.example.") / \
        DHCP6OptVendorClass(enterprisenum=311, vcdata=[VENDOR_CLASS_DATA(data=b"MSFT 5.0")]) / \
        DHCP6OptOptReq(reqopts=[17, 23, 24, 39])
    win6.time = 1_700_000_400.0
    win4 = Ether(src=win_mac, dst=WS_MAC) / IP(src="10.40.5.30", dst=WS) / UDP(sport=50000, dport=53) / \
        Raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03rad\x00\x00\x01\x00\x01")
    win4.time = 1_700_000_401.0
    lin6 = Ether(src=lin_mac, dst="33:33:00:01:00:02") / \
        IPv6(src="fe80::21b:21ff:fe3c:4d5e", dst="ff02::1:2", hlim=1) / UDP(sport=546, dport=547) / \
        DHCP6_InfoRequest(trid=0x654321) / DHCP6OptClientId(duid=DUID_LL(lladdr=lin_mac)) / \
        DHCP6OptOptReq(reqopts=[23, 24])
    lin6.time = 1_700_000_402.0
    write("dhcp6.pcap", [win6, win4, lin6])
    # Kerberos requests to a domain controller (port 88): a Windows host's
    # machine logon over UDP with its NetBIOS address, another's over TCP
    # split across two segments, a person's logon (names nobody), and one
    # host asking tickets for two machine accounts (probing them: named by
    # neither).
    from scapy.layers.kerberos import (Kerberos, KRB_AS_REQ, KRB_KDC_REQ_BODY, PrincipalName,
                                       HostAddress)
    from scapy.asn1.asn1 import ASN1_GENERAL_STRING, ASN1_INTEGER, ASN1_GENERALIZED_TIME
    dc, dc_mac = "10.40.0.10", "00:15:5d:0a:00:01"

    def as_req(cname, netbios=None):
        body = KRB_KDC_REQ_BODY(
            kdcOptions="forwardable+renewable+canonicalize",
            cname=PrincipalName(nameString=[ASN1_GENERAL_STRING(cname)], nameType=1),
            realm=ASN1_GENERAL_STRING(b"RAD.EXAMPLE"),
            sname=PrincipalName(nameString=[ASN1_GENERAL_STRING(b"krbtgt"),
                                            ASN1_GENERAL_STRING(b"RAD.EXAMPLE")], nameType=2),
            till=ASN1_GENERALIZED_TIME("20370913024805Z"), rtime=ASN1_GENERALIZED_TIME("20370913024805Z"),
            nonce=0x1234,
            etype=[ASN1_INTEGER(18), ASN1_INTEGER(17), ASN1_INTEGER(23)],
            addresses=[HostAddress(addrType=20, address=netbios.ljust(16))] if netbios else None)
        return bytes(Kerberos(root=KRB_AS_REQ(reqBody=body)))

    krb = []

    def udp88(mac, ip, payload, sport):
        f = Ether(src=mac, dst=dc_mac) / IP(src=ip, dst=dc) / UDP(sport=sport, dport=88) / Raw(payload)
        f.time = 1_700_000_500.0 + len(krb)
        krb.append(f)
    udp88("00:14:22:01:02:03", "10.40.5.30", as_req(b"WS-RAD-07$", b"WS-RAD-07"), 50100)
    udp88("00:14:22:01:02:04", "10.40.5.32", as_req(b"jdoe"), 50101)
    udp88("00:14:22:01:02:05", "10.40.5.99", as_req(b"WS-RAD-07$"), 50102)
    udp88("00:14:22:01:02:05", "10.40.5.99", as_req(b"RAD-DC01$"), 50103)
    # Over TCP: handshake, the length-prefixed request in two segments.
    req = as_req(b"WS-RAD-08$")
    rec = len(req).to_bytes(4, "big") + req
    ws8, ws8_mac = "10.40.5.31", "00:14:22:01:02:06"
    c, sv = 1000, 7000
    for src, dst, fl, sq, ak, pl in [
            (ws8, dc, "S", c, 0, b""), (dc, ws8, "SA", sv, c + 1, b""), (ws8, dc, "A", c + 1, sv + 1, b""),
            (ws8, dc, "PA", c + 1, sv + 1, rec[:60]), (ws8, dc, "PA", c + 61, sv + 1, rec[60:]),
            (dc, ws8, "A", sv + 1, c + 1 + len(rec), b"")]:
        to_dc = src == ws8
        f = Ether(src=ws8_mac if to_dc else dc_mac, dst=dc_mac if to_dc else ws8_mac) / \
            IP(src=src, dst=dst) / TCP(sport=49800 if to_dc else 88, dport=88 if to_dc else 49800,
                                       flags=fl, seq=sq, ack=ak) / Raw(pl)
        f.time = 1_700_000_500.0 + len(krb)
        krb.append(f)
    # CLDAP domain controller pings (LDAP search over UDP 389, as Windows'
    # DC locator sends them): a host no Kerberos request named, and the
    # Kerberos-named host again (the same name, in another case).
    from scapy.layers.ldap import (LDAP, LDAP_SearchRequest, LDAP_Filter, LDAP_FilterAnd,
                                   LDAP_FilterEqual, LDAP_SearchRequestAttribute)
    from scapy.asn1.asn1 import ASN1_STRING

    def dc_ping(mac, ip, host, user, sport):
        def eq(a, v):
            return LDAP_Filter(filter=LDAP_FilterEqual(attributeType=ASN1_STRING(a), attributeValue=ASN1_STRING(v)))
        flt = LDAP_Filter(filter=LDAP_FilterAnd(vals=[
            eq(b"DnsDomain", b"rad.example"), eq(b"Host", host), eq(b"User", user),
            eq(b"NtVer", b"\x16\x00\x00\x20")]))
        ping = LDAP(messageID=1, protocolOp=LDAP_SearchRequest(
            filter=flt, attributes=[LDAP_SearchRequestAttribute(type=ASN1_STRING(b"Netlogon"))]))
        f = Ether(src=mac, dst=dc_mac) / IP(src=ip, dst=dc) / UDP(sport=sport, dport=389) / Raw(bytes(ping))
        f.time = 1_700_000_500.0 + len(krb)
        krb.append(f)
    dc_ping("00:14:22:01:02:07", "10.40.5.33", b"WS-RAD-09", b"WS-RAD-09$", 50300)
    dc_ping("00:14:22:01:02:03", "10.40.5.30", b"ws-rad-07", b"WS-RAD-07$", 50301)
    write("kerberos.pcap", krb)
    # mDNS (UDP 5353) announcements naming make and model in TXT records: a
    # printer (Bonjour Printing: ty, usb_MFG, usb_MDL, and a location note,
    # which is not kept), a Mac (device information), a sleep proxy
    # answering for a sleeping Mac (the records are the Mac's: its address
    # in the A record), and a query carrying the printer's TXT as a known
    # answer (its sender is not the printer).
    from scapy.layers.dns import DNS, DNSRR
    mdns = []

    def mdns_msg(mac, ip, records, response=True, extra=()):
        d = DNS(id=0, qr=1 if response else 0, aa=1 if response else 0, qd=None,
                an=records if response else None, ar=list(extra) or None)
        if not response:
            from scapy.layers.dns import DNSQR
            d = DNS(id=0, qr=0, qd=[DNSQR(qname="_ipp._tcp.local", qtype="PTR")], an=records)
        f = Ether(src=mac, dst="01:00:5e:00:00:fb") / IP(src=ip, dst="224.0.0.251", ttl=255) / \
            UDP(sport=5353, dport=5353) / d
        f.time = 1_700_000_600.0 + len(mdns)
        mdns.append(f)
    printer_txt = [b"txtvers=1", b"ty=HP LaserJet Pro M404n", b"usb_MFG=HP", b"usb_MDL=LaserJet Pro M404n",
                   b"note=Ward 3 nurses station", b"rp=ipp/print"]
    mdns_msg("3c:52:82:11:22:33", "10.40.6.20", [
        DNSRR(rrname="_ipp._tcp.local", type="PTR", rdata="HP LaserJet M404n._ipp._tcp.local"),
        DNSRR(rrname="HP LaserJet M404n._ipp._tcp.local", type="TXT", rdata=printer_txt),
        DNSRR(rrname="NPI112233.local", type="A", rdata="10.40.6.20")])
    mdns_msg("f0:18:98:44:55:66", "10.40.5.40", [
        DNSRR(rrname="Reading Room Mac._device-info._tcp.local", type="TXT",
              rdata=[b"model=MacBookPro16,1", b"osxvers=21"]),
        DNSRR(rrname="Reading-Room-Mac.local", type="A", rdata="10.40.5.40")])
    mdns_msg("00:1b:21:aa:00:05", "10.40.0.5", [
        DNSRR(rrname="Sleepy Mac._device-info._tcp.local", type="TXT", rdata=[b"model=Macmini8,1"]),
        DNSRR(rrname="Sleepy-Mac.local", type="A", rdata="10.40.5.50")])
    mdns_msg("00:1b:21:aa:00:07", "10.40.5.60", [
        DNSRR(rrname="HP LaserJet M404n._ipp._tcp.local", type="TXT", rdata=printer_txt)], response=False)
    # The sleeping Mac's own traffic, before it slept.
    sleepy = Ether(src="a4:83:e7:00:00:50", dst=WS_MAC) / IP(src="10.40.5.50", dst=WS) / \
        UDP(sport=50000, dport=53) / Raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03rad\x00\x00\x01\x00\x01")
    sleepy.time = 1_700_000_590.0
    write("mdns_identity.pcap", [sleepy] + mdns)
    # FHIR over HTTP (port 8080): an infusion pump posts its own Device
    # resource (JSON, R4, with a patient reference, which is not kept); a
    # gateway posts two devices' (no identity of its own); a workstation
    # reads the server's Device records (XML; the server's answer names none
    # of the server's own identity).
    fhir = []
    srv, srv_mac = "10.20.1.40", "00:50:56:aa:00:40"

    def http_exchange(cmac, cip, sport, request, response, t0):
        c, sv = 5000, 9000
        segs = [(cip, srv, "S", c, 0, b""), (srv, cip, "SA", sv, c + 1, b""),
                (cip, srv, "A", c + 1, sv + 1, b""), (cip, srv, "PA", c + 1, sv + 1, request),
                (srv, cip, "PA", sv + 1, c + 1 + len(request), response),
                (cip, srv, "FA", c + 1 + len(request), sv + 1 + len(response), b""),
                (srv, cip, "FA", sv + 1 + len(response), c + 2 + len(request), b""),
                (cip, srv, "A", c + 2 + len(request), sv + 2 + len(response), b"")]
        for i, (a, b, fl, sq, ak, pl) in enumerate(segs):
            up = a == cip
            f = Ether(src=cmac if up else srv_mac, dst=srv_mac if up else cmac) / IP(src=a, dst=b) / \
                TCP(sport=sport if up else 8080, dport=8080 if up else sport, flags=fl, seq=sq, ack=ak) / Raw(pl)
            f.time = t0 + i * 0.01
            fhir.append(f)

    def post(path, body):
        return (f"POST {path} HTTP/1.1\r\nHost: fhir.hospital.example:8080\r\nContent-Type: application/fhir+json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    created = b"HTTP/1.1 201 Created\r\nServer: HAPI FHIR\r\nLocation: /fhir/Device/1\r\nContent-Length: 0\r\n\r\n"
    pump_dev = (b'{"resourceType":"Device","manufacturer":"Acme Infusion Systems",'
                b'"deviceName":[{"name":"AI-900","type":"model-name"}],"serialNumber":"AI9-004471",'
                b'"version":[{"value":"3.2.1"}],"patient":{"reference":"Patient/pat-77a"}}')
    http_exchange("00:1b:21:3c:00:0c", "10.40.3.12", 41000, post("/fhir/Device", pump_dev), created, 1_700_000_700.0)
    two = (b'{"resourceType":"Bundle","type":"transaction","entry":['
           b'{"resource":{"resourceType":"Device","manufacturer":"Acme Infusion Systems","modelNumber":"AI-900"}},'
           b'{"resource":{"resourceType":"Device","manufacturer":"Other Monitors","modelNumber":"OM-2"}}]}')
    http_exchange("00:1b:21:3c:00:32", "10.40.3.50", 41001, post("/fhir", two), created, 1_700_000_701.0)
    xml = (b'<Bundle xmlns="http://hl7.org/fhir"><entry><resource><Device><manufacturer value="Acme Infusion Systems"/>'
           b'<modelNumber value="AI-900"/><version><value value="3.2.1"/></version></Device></resource></entry></Bundle>')
    read = b"GET /fhir/Device?manufacturer=Acme HTTP/1.1\r\nHost: fhir.hospital.example:8080\r\nAccept: application/fhir+xml\r\n\r\n"
    answer = (b"HTTP/1.1 200 OK\r\nServer: HAPI FHIR\r\nContent-Type: application/fhir+xml;charset=utf-8\r\n"
              b"Content-Length: " + str(len(xml)).encode() + b"\r\n\r\n" + xml)
    http_exchange(WS_MAC, WS, 41002, read, answer, 1_700_000_702.0)
    write("fhir_device.pcap", fhir)
    # UPnP: a TV in a patient room announces itself over SSDP and serves its
    # device description (the XML its LOCATION names) to a workstation;
    # its friendly name (a person's) is not kept.
    tv, tv_mac = "10.40.8.20", "a0:d0:dc:00:08:20"
    notify = (b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
              b"LOCATION: http://10.40.8.20:52323/dmr.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"
              b"SERVER: Linux/4.9 UPnP/1.0 Sony-BRAVIA/1.0\r\nUSN: uuid:00000000-0000-1010-8000-a0d0dc000820::upnp:rootdevice\r\n\r\n")
    n = Ether(src=tv_mac, dst="01:00:5e:7f:ff:fa") / IP(src=tv, dst="239.255.255.250", ttl=4) / \
        UDP(sport=1900, dport=1900) / Raw(notify)
    n.time = 1_700_000_800.0
    desc = (b'<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major>'
            b'<minor>0</minor></specVersion><device><deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>'
            b"<friendlyName>Room 312 - Mrs Example TV</friendlyName><manufacturer>Sony Corporation</manufacturer>"
            b"<modelName>KD-43X80J</modelName><modelNumber>KD-43X80J</modelNumber><serialNumber>4011234</serialNumber>"
            b"<UDN>uuid:00000000-0000-1010-8000-a0d0dc000820</UDN></device></root>")
    get = b"GET /dmr.xml HTTP/1.1\r\nHost: 10.40.8.20:52323\r\nUser-Agent: Microsoft-Windows/10.0 UPnP/1.0\r\n\r\n"
    ok = (b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nContent-Length: " + str(len(desc)).encode() +
          b"\r\n\r\n" + desc)
    upnp = [n]
    c, sv = 7000, 3000
    for i, (a, b, fl, sq, ak, pl) in enumerate([
            (WS, tv, "S", c, 0, b""), (tv, WS, "SA", sv, c + 1, b""), (WS, tv, "A", c + 1, sv + 1, b""),
            (WS, tv, "PA", c + 1, sv + 1, get), (tv, WS, "PA", sv + 1, c + 1 + len(get), ok),
            (WS, tv, "FA", c + 1 + len(get), sv + 1 + len(ok), b""),
            (tv, WS, "FA", sv + 1 + len(ok), c + 2 + len(get), b""),
            (WS, tv, "A", c + 2 + len(get), sv + 2 + len(ok), b"")]):
        up = a == WS
        f = Ether(src=WS_MAC if up else tv_mac, dst=tv_mac if up else WS_MAC) / IP(src=a, dst=b) / \
            TCP(sport=49500 if up else 52323, dport=52323 if up else 49500, flags=fl, seq=sq, ack=ak) / Raw(pl)
        f.time = 1_700_000_801.0 + i * 0.01
        upnp.append(f)
    write("upnp_description.pcap", upnp)
    # BACnet/IP on a building network: the front-end looks for devices
    # (Who-Is) and asks one (ReadPropertyMultiple); a Johnson Controls field
    # controller announces itself (I-Am) and answers the front-end's
    # ReadPropertyMultiple of its device object; a Tridium JACE announces
    # itself and answers two ReadProperty; the JACE routes the I-Am of a
    # Delta MS/TP controller behind it (a source network: not the JACE's own
    # identity); a point value read (analog input present value) names
    # nobody.
    def bip(apdu, npdu=b"\x01\x00", function=0x0a):
        body = npdu + apdu
        return bytes([0x81, function]) + (4 + len(body)).to_bytes(2, "big") + body

    def chars(text):
        return bytes([0x75, len(text) + 1, 0]) + text.encode()

    def i_am(instance, vendor):
        oid = (8 << 22 | instance).to_bytes(4, "big")
        return b"\x10\x00\xc4" + oid + b"\x22\x05\xc4\x91\x00\x21" + bytes([vendor])

    def device_oid(instance):
        return b"\x0c" + (8 << 22 | instance).to_bytes(4, "big")

    fec, fec_mac, jace, jace_mac = "10.50.1.10", "00:90:c2:50:01:10", "10.50.1.20", "00:01:f0:50:01:20"
    bms, bms_mac = "10.50.1.5", "00:50:56:50:01:05"
    rpm_ack = b"\x30\x01\x0e" + device_oid(260001) + b"\x1e"
    for prop, text in [(121, "Johnson Controls, Inc."), (70, "FEC2611-0"), (44, "10.1.0"),
                       (12, "10.1.0.2201"), (77, "AHU-3-OR-SUITE")]:
        rpm_ack += b"\x29" + bytes([prop]) + b"\x4e" + chars(text) + b"\x4f"
    rpm_ack += b"\x1f"
    rp_model = b"\x30\x02\x0c" + device_oid(1001) + b"\x19\x46\x3e" + chars("JACE-8000") + b"\x3f"
    rp_firmware = b"\x30\x03\x0c" + device_oid(1001) + b"\x19\x2c\x3e" + chars("4.10.0.154") + b"\x3f"
    point = b"\x30\x04\x0c\x00\x00\x00\x01\x19\x55\x3e\x44\x41\xa0\x00\x00\x3f"
    # The routed I-Am: SNET 5, SLEN 1, SADR 0x07.
    routed = bip(i_am(50007, 8), npdu=b"\x01\x08\x00\x05\x01\x07", function=0x0b)
    # The front-end asks: Who-Is (broadcast), then ReadPropertyMultiple of
    # the controller's vendor-name and model-name.
    who_is = bip(b"\x10\x08", function=0x0b)
    rpm = bip(b"\x00\x05\x01\x0e" + device_oid(260001) + b"\x1e\x09\x79\x09\x46\x1f")
    bac = [udp_frame(src, smac, dst, dmac, 47808, 47808, payload) for src, smac, dst, dmac, payload in [
        (bms, bms_mac, "10.50.1.255", "ff:ff:ff:ff:ff:ff", who_is),
        (fec, fec_mac, "10.50.1.255", "ff:ff:ff:ff:ff:ff", bip(i_am(260001, 5), function=0x0b)),
        (jace, jace_mac, "10.50.1.255", "ff:ff:ff:ff:ff:ff", bip(i_am(1001, 36), function=0x0b)),
        (bms, bms_mac, fec, fec_mac, rpm),
        (fec, fec_mac, bms, bms_mac, bip(rpm_ack)),
        (jace, jace_mac, bms, bms_mac, bip(rp_model)),
        (jace, jace_mac, bms, bms_mac, bip(rp_firmware)),
        (jace, jace_mac, "10.50.1.255", "ff:ff:ff:ff:ff:ff", routed),
        (fec, fec_mac, bms, bms_mac, bip(point))]]
    write("bacnet.pcap", timed(bac, 1_700_000_900.0))
    # SIP on a hospital voice network: a Yealink desk phone registers over
    # UDP to an Asterisk call server (401 challenge, then 200); the call
    # server qualifies a Polycom VVX 411 (OPTIONS) and the phone answers;
    # a Cisco 8845 registers over TCP, its REGISTER cut across two
    # segments, then an INVITE with an SDP body; an Ascom i62 wireless
    # handset uses port 5062 (found by content); SIPVicious
    # ('friendly-scanner') probes the call server and a phone from the
    # internet, and guesses an extension's password. The From/To display
    # names are staff names and must not reach the report.
    pbx, pbx_mac = "10.20.0.5", "00:50:56:20:00:05"
    yea, yea_mac = "10.20.0.31", "80:5e:c0:20:00:31"
    poly, poly_mac = "10.20.0.32", "64:16:7f:20:00:32"
    cisco, cisco_mac = "10.20.0.33", "00:eb:d5:20:00:33"
    ascom, ascom_mac = "10.20.0.34", "00:01:3e:20:00:34"
    scanner, gw_mac = "203.0.113.50", "00:00:5e:00:01:01"

    def sip(start, headers, body=b""):
        head = start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    def via(host, port=5060, proto="UDP"):
        return ("Via", f"SIP/2.0/{proto} {host}:{port};branch=z9hG4bK{sum(host.encode()) * 7}")

    who = [("From", '"Dr Jane Whitfield" <sip:4711@pbx.ward.example>;tag=7a1'),
           ("To", '"Dr Jane Whitfield" <sip:4711@pbx.ward.example>'),
           ("Call-ID", "4711-reg@10.20.0.31"), ("CSeq", "1 REGISTER")]
    udp = [
        (yea, yea_mac, pbx, pbx_mac, 5060, 5060, sip("REGISTER sip:pbx.ward.example SIP/2.0",
            [via(yea)] + who + [("User-Agent", "Yealink SIP-T46S 66.86.0.15")])),
        (pbx, pbx_mac, yea, yea_mac, 5060, 5060, sip("SIP/2.0 401 Unauthorized",
            [via(yea)] + who + [("Server", "Asterisk PBX 18.10.0"),
                                ("WWW-Authenticate", 'Digest realm="asterisk",nonce="1a2b3c"')])),
        (yea, yea_mac, pbx, pbx_mac, 5060, 5060, sip("REGISTER sip:pbx.ward.example SIP/2.0",
            [via(yea)] + who + [("User-Agent", "Yealink SIP-T46S 66.86.0.15"),
                                ("Authorization", 'Digest username="4711",realm="asterisk",nonce="1a2b3c",response="9f8e7d"')])),
        (pbx, pbx_mac, yea, yea_mac, 5060, 5060, sip("SIP/2.0 200 OK",
            [via(yea)] + who + [("Server", "Asterisk PBX 18.10.0")])),
        (pbx, pbx_mac, poly, poly_mac, 5060, 5060, sip("OPTIONS sip:4712@10.20.0.32:5060 SIP/2.0",
            [via(pbx), ("From", "<sip:asterisk@10.20.0.5>;tag=q1"), ("To", "<sip:4712@10.20.0.32>"),
             ("Call-ID", "q-4712"), ("CSeq", "102 OPTIONS"), ("User-Agent", "Asterisk PBX 18.10.0")])),
        (poly, poly_mac, pbx, pbx_mac, 5060, 5060, sip("SIP/2.0 200 OK",
            [via(pbx), ("From", "<sip:asterisk@10.20.0.5>;tag=q1"), ("To", "<sip:4712@10.20.0.32>;tag=p9"),
             ("Call-ID", "q-4712"), ("CSeq", "102 OPTIONS"),
             ("User-Agent", "Polycom/5.9.0.9373 PolycomVVX-VVX_411-UA/5.9.0.9373")])),
        (ascom, ascom_mac, pbx, pbx_mac, 5062, 5062, sip("REGISTER sip:pbx.ward.example SIP/2.0",
            [via(ascom, 5062), ("From", '"Ward 3 Nurse" <sip:4801@pbx.ward.example>;tag=a1'),
             ("To", "<sip:4801@pbx.ward.example>"), ("Call-ID", "a-4801"), ("CSeq", "1 REGISTER"),
             ("User-Agent", "Ascom i62/v6.3.1")])),
        (scanner, gw_mac, pbx, pbx_mac, 5070, 5060, sip("OPTIONS sip:100@10.20.0.5 SIP/2.0",
            [via("203.0.113.50", 5070), ("From", '"sipvicious"<sip:100@1.1.1.1>;tag=x'),
             ("To", '"sipvicious"<sip:100@1.1.1.1>'), ("Call-ID", "s-1"), ("CSeq", "1 OPTIONS"),
             ("User-Agent", "friendly-scanner")])),
        (pbx, pbx_mac, scanner, gw_mac, 5060, 5070, sip("SIP/2.0 200 OK",
            [via("203.0.113.50", 5070), ("Call-ID", "s-1"), ("CSeq", "1 OPTIONS"),
             ("Server", "Asterisk PBX 18.10.0")])),
        (scanner, gw_mac, yea, yea_mac, 5070, 5060, sip("OPTIONS sip:100@10.20.0.31 SIP/2.0",
            [via("203.0.113.50", 5070), ("Call-ID", "s-2"), ("CSeq", "1 OPTIONS"),
             ("User-Agent", "friendly-scanner")])),
    ]
    # A password guesser (SIPVicious svcrack) tries six passwords on one
    # extension; the call server refuses each (403 to REGISTER).
    cracker = "203.0.113.77"
    for n in range(6):
        cseq = ("CSeq", f"{n + 2} REGISTER")
        udp.append((cracker, gw_mac, pbx, pbx_mac, 5080, 5060, sip("REGISTER sip:10.20.0.5 SIP/2.0",
            [via(cracker, 5080), ("From", "<sip:4711@10.20.0.5>;tag=k"), ("To", "<sip:4711@10.20.0.5>"),
             ("Call-ID", "k-1"), cseq, ("User-Agent", "friendly-scanner"),
             ("Authorization", f'Digest username="4711",realm="asterisk",nonce="n{n}",response="{n:032x}"')])))
        udp.append((pbx, pbx_mac, cracker, gw_mac, 5060, 5080, sip("SIP/2.0 403 Forbidden",
            [via(cracker, 5080), ("Call-ID", "k-1"), cseq, ("Server", "Asterisk PBX 18.10.0")])))
    # The scanners' packets crossed routers on their way in.
    sipcap = [udp_frame(*row, ttl=49 if row[0] in (scanner, cracker) else 64) for row in udp]
    register = sip("REGISTER sip:pbx.ward.example;transport=tcp SIP/2.0",
                   [via(cisco, 5060, "TCP"), ("From", '"Ward 5 Desk" <sip:4901@pbx.ward.example>;tag=c1'),
                    ("To", "<sip:4901@pbx.ward.example>"), ("Call-ID", "c-4901"), ("CSeq", "1 REGISTER"),
                    ("User-Agent", "Cisco-CP8845/11.7.1")])
    ok = sip("SIP/2.0 200 OK", [via(cisco, 5060, "TCP"), ("Call-ID", "c-4901"), ("CSeq", "1 REGISTER"),
                                ("Server", "Asterisk PBX 18.10.0")])
    sdp = b"v=0\r\no=- 1 1 IN IP4 10.20.0.33\r\ns=-\r\nc=IN IP4 10.20.0.33\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\n"
    invite = sip("INVITE sip:4711@pbx.ward.example;transport=tcp SIP/2.0",
                 [via(cisco, 5060, "TCP"), ("From", '"Ward 5 Desk" <sip:4901@pbx.ward.example>;tag=c2'),
                  ("To", '"Dr Jane Whitfield" <sip:4711@pbx.ward.example>'), ("Call-ID", "c-call"),
                  ("CSeq", "1 INVITE"), ("User-Agent", "Cisco-CP8845/11.7.1"), ("Content-Type", "application/sdp")],
                 sdp)
    cs, ss, cp = 7000, 9000, 51000
    half = len(register) // 2
    tcp = handshake(cisco, cisco_mac, pbx, pbx_mac, cp, 5060, cs, ss) + [
        (cisco, cisco_mac, pbx, pbx_mac, cp, 5060, "A", cs + 1, ss + 1, register[:half]),
        (cisco, cisco_mac, pbx, pbx_mac, cp, 5060, "PA", cs + 1 + half, ss + 1, register[half:]),
        (pbx, pbx_mac, cisco, cisco_mac, 5060, cp, "PA", ss + 1, cs + 1 + len(register), ok),
        (cisco, cisco_mac, pbx, pbx_mac, cp, 5060, "PA", cs + 1 + len(register), ss + 1 + len(ok), invite),
    ]
    sipcap += [tcp_frame(*row) for row in tcp]
    write("sip.pcap", timed(sipcap, 1_700_001_000.0))
    # Modbus/TCP on the facility network: the building management server
    # polls a Schneider PowerLogic PM5560 power meter (read holding
    # registers), asks its identity (Read Device Identification, regular
    # objects, the answer cut across two segments), and a write is refused
    # with an exception.
    bms2, bms2_mac = "10.50.1.6", "00:50:56:50:01:06"
    meter, meter_mac = "10.50.2.10", "00:80:f4:50:02:10"

    def mbap(txid, pdu, unit=1):
        return txid.to_bytes(2, "big") + b"\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + bytes([unit]) + pdu

    ident = b"\x2b\x0e\x02\x83\x00\x00\x06"
    for oid, text in [(0, "Schneider Electric"), (1, "METSEPM5560"), (2, "v2.7.4"), (3, "www.se.com"),
                      (4, "PowerLogic PM5000"), (5, "PM5560")]:
        ident += bytes([oid, len(text)]) + text.encode()
    answer = mbap(2, ident)
    exchanges = [
        (mbap(1, b"\x03\x0b\xb7\x00\x02"), [mbap(1, b"\x03\x04\x43\x5c\x00\x00")]),
        (mbap(2, b"\x2b\x0e\x02\x00"), [answer[:20], answer[20:]]),
        (mbap(3, b"\x06\x0f\xa0\x00\x01"), [mbap(3, b"\x86\x02")]),
    ]
    cs, ss, cp = 3000, 8000, 50502
    mb = handshake(bms2, bms2_mac, meter, meter_mac, cp, 502, cs, ss)
    c, sv = cs + 1, ss + 1
    for req, answers in exchanges:
        mb.append((bms2, bms2_mac, meter, meter_mac, cp, 502, "PA", c, sv, req))
        c += len(req)
        for a in answers:
            mb.append((meter, meter_mac, bms2, bms2_mac, 502, cp, "PA", sv, c, a))
            sv += len(a)
    write("modbus.pcap", timed([tcp_frame(*row) for row in mb], 1_700_001_100.0))
    # WS-Discovery (UDP 3702): a Hikvision camera says Hello (its ONVIF
    # scopes name model, maker and a location the site set, which must not
    # reach the report); the video management server probes and an Axis
    # camera answers ProbeMatches; a printer and a Windows PC answer too.
    def wsd(action, body, ns=""):
        return ('<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
                'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"' + ns + '><s:Header>'
                '<a:MessageID>urn:uuid:5f1d</a:MessageID>'
                '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/' + action + '</a:Action>'
                '</s:Header><s:Body>' + body + '</s:Body></s:Envelope>').encode()

    def match(types, scopes):
        return ('<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>urn:uuid:9a</a:Address>'
                '</a:EndpointReference><d:Types>' + types + '</d:Types><d:Scopes>' + scopes +
                '</d:Scopes><d:XAddrs>http://x/</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion>'
                '</d:ProbeMatch></d:ProbeMatches>')
    onvif = ' xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
    hik, hik_mac = "10.60.0.21", "44:19:b6:60:00:21"
    axis, axis_mac = "10.60.0.22", "ac:cc:8e:60:00:22"
    vms, vms_mac = "10.60.0.5", "00:50:56:60:00:05"
    prn, prn_mac = "10.60.0.40", "3c:52:82:60:00:40"
    pc, pc_mac = "10.60.0.50", "f8:bc:12:60:00:50"
    mcast, mcast_mac = "239.255.255.250", "01:00:5e:7f:ff:fa"
    hello = wsd("Hello", '<d:Hello><a:EndpointReference><a:Address>urn:uuid:4c2a</a:Address></a:EndpointReference>'
                '<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>'
                'onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/DS-2CD2143G0-I '
                'onvif://www.onvif.org/name/HIKVISION onvif://www.onvif.org/location/ICU%20Bed%2012'
                '</d:Scopes><d:XAddrs>http://10.60.0.21/onvif/device_service</d:XAddrs>'
                '<d:MetadataVersion>10</d:MetadataVersion></d:Hello>', onvif)
    probe = wsd("Probe", '<d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>', onvif)
    axis_match = wsd("ProbeMatches", match("dn:NetworkVideoTransmitter tds:Device",
                     "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/P3225-LV "
                     "onvif://www.onvif.org/name/AXIS%20P3225-LV onvif://www.onvif.org/location/Ward%205"), onvif)
    prn_match = wsd("ProbeMatches", match("wsdp:Device wprt:PrintDeviceType", ""),
                    ' xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof" '
                    'xmlns:wprt="http://schemas.microsoft.com/windows/2006/08/wdp/print"')
    # An OEM camera: a NIC maker's MAC and its own name; its ONVIF type
    # alone says what it is.
    oem, oem_mac = "10.60.0.23", "00:e0:4c:60:00:23"
    oem_hello = wsd("Hello", '<d:Hello><a:EndpointReference><a:Address>urn:uuid:8b</a:Address></a:EndpointReference>'
                    '<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>'
                    'onvif://www.onvif.org/hardware/IPC-B12 onvif://www.onvif.org/name/IPCAM</d:Scopes>'
                    '<d:XAddrs>http://x/</d:XAddrs><d:MetadataVersion>3</d:MetadataVersion></d:Hello>', onvif)
    pc_hello = wsd("Hello", '<d:Hello><a:EndpointReference><a:Address>urn:uuid:77</a:Address></a:EndpointReference>'
                   '<d:Types>wsdp:Device pub:Computer</d:Types><d:XAddrs>http://x/</d:XAddrs>'
                   '<d:MetadataVersion>2</d:MetadataVersion></d:Hello>',
                   ' xmlns:wsdp="http://schemas.xmlsoap.org/ws/2006/02/devprof" '
                   'xmlns:pub="http://schemas.microsoft.com/windows/pub/2005/07"')
    wsdcap = [udp_frame(*row, ttl=1 if row[2] == mcast else 64) for row in [
        (hik, hik_mac, mcast, mcast_mac, 3702, 3702, hello),
        (vms, vms_mac, mcast, mcast_mac, 50123, 3702, probe),
        (axis, axis_mac, vms, vms_mac, 3702, 50123, axis_match),
        (prn, prn_mac, vms, vms_mac, 3702, 50123, prn_match),
        (pc, pc_mac, mcast, mcast_mac, 3702, 3702, pc_hello),
        (oem, oem_mac, mcast, mcast_mac, 3702, 3702, oem_hello)]]
    write("ws_discovery.pcap", timed(wsdcap, 1_700_001_200.0))
    # EtherNet/IP List Identity (UDP 44818): the facility engineering
    # workstation asks by broadcast; an Allen-Bradley 1756-EN2T adapter of
    # the air-handling PLC and a Stratix managed switch answer.
    def list_identity(items=b"", count=None):
        data = b"" if count is None else count.to_bytes(2, "little") + items
        return b"\x63\x00" + len(data).to_bytes(2, "little") + bytes(20) + data

    def identity(ip, vendor, devtype, code, rev, serial, name):
        item = (b"\x01\x00" + b"\x00\x02\xaf\x12" + bytes(int(x) for x in ip.split(".")) + bytes(8) +
                vendor.to_bytes(2, "little") + devtype.to_bytes(2, "little") + code.to_bytes(2, "little") +
                bytes(rev) + b"\x30\x00" + serial.to_bytes(4, "little") + bytes([len(name)]) + name + b"\x03")
        return list_identity(b"\x0c\x00" + len(item).to_bytes(2, "little") + item, 1)
    ews, ews_mac = "10.70.0.5", "00:50:56:70:00:05"
    plc, plc_mac = "10.70.0.10", "00:00:bc:70:00:10"
    sw, sw_mac = "10.70.0.2", "00:00:bc:70:00:02"
    enip = [udp_frame(*row) for row in [
        (ews, ews_mac, "10.70.0.255", "ff:ff:ff:ff:ff:ff", 44818, 44818, list_identity()),
        (plc, plc_mac, ews, ews_mac, 44818, 44818, identity(plc, 1, 12, 166, (10, 7), 0x00C0FFEE, b"1756-EN2T/D")),
        (sw, sw_mac, ews, ews_mac, 44818, 44818, identity(sw, 1, 44, 123, (15, 2), 0x61A2B3C4, b"Stratix 5700"))]]
    write("enip_identity.pcap", timed(enip, 1_700_001_300.0))
    # Syslog to the SIEM collector in CEF and LEEF: the edge firewall and an
    # archive server name their product in the format's header; the event
    # fields (a user, a patient's name in a free-text field) must not reach
    # the report.
    siem, siem_mac = "10.80.0.9", "00:50:56:80:00:09"
    fw, fw_mac = "10.80.0.1", "00:1b:17:80:00:01"
    arch, arch_mac = "10.80.0.20", "00:50:56:80:00:20"
    logs = [udp_frame(*row) for row in [
        (fw, fw_mac, siem, siem_mac, 51514, 514,
         b"<134>Nov 25 10:00:00 fw-edge CEF:0|Palo Alto Networks|PAN-OS|10.1.6|end|TRAFFIC|1|src=10.40.3.9 suser=jdoe"),
        (arch, arch_mac, siem, siem_mac, 51515, 514,
         b"<13>1 2026-11-25T10:00:01Z archive-1 pacsd - - - LEEF:1.0|Acme Imaging|PACS Archive|7.2|login|"
         b"usrName=rad1\tmsg=study for DOE^JANE opened")]]
    write("syslog_cef.pcap", timed(logs, 1_700_001_400.0))
    # Mail in the clear. A scanner (multifunction printer) logs in to the
    # Exchange relay with AUTH LOGIN and mails a scan (its recipient and
    # subject name a patient: never kept); an infusion pump gateway fails
    # AUTH PLAIN, then succeeds, at a relay whose greeting does not say
    # SMTP; a lab system reads its mailbox over POP3 and a workstation over
    # IMAP (quoted LOGIN); a workstation's submission on 587 turns to TLS
    # with STARTTLS (its ClientHello names the server).
    exch, exch_mac = "10.20.1.25", "00:15:5d:20:01:25"
    relay2, relay2_mac = "10.20.1.26", "00:15:5d:20:01:26"
    dove, dove_mac = "10.20.1.27", "00:15:5d:20:01:27"
    mfp, mfp_mac = "10.40.6.30", "3c:52:82:40:06:30"
    gw, gw_mac = "10.40.3.60", "00:12:21:40:03:60"
    lab, lab_mac = "10.40.7.15", "00:1b:21:40:07:15"
    exch_hi = b"220 EXCH01.hospital.example Microsoft ESMTP MAIL Service ready at Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    ehlo_ok = (b"250-EXCH01.hospital.example Hello [10.40.6.30]\r\n250-SIZE 37748736\r\n250-STARTTLS\r\n"
               b"250-AUTH LOGIN NTLM\r\n250 8BITMIME\r\n")
    scan = dialogue(mfp, mfp_mac, exch, exch_mac, 51025, 25, [
        ("s", exch_hi), ("c", b"EHLO NPI4A0630\r\n"), ("s", ehlo_ok), ("c", b"AUTH LOGIN\r\n"),
        ("s", b"334 VXNlcm5hbWU6\r\n"), ("c", base64.b64encode(b"scan2mail") + b"\r\n"),
        ("s", b"334 UGFzc3dvcmQ6\r\n"), ("c", base64.b64encode(b"Winter-2023!x") + b"\r\n"),
        ("s", b"235 2.7.0 Authentication successful\r\n"),
        ("c", b"MAIL FROM:<scanner@hospital.example>\r\n"), ("s", b"250 2.1.0 Sender OK\r\n"),
        ("c", b"RCPT TO:<jane.roe.family@example.org>\r\n"), ("s", b"250 2.1.5 Recipient OK\r\n"),
        ("c", b"DATA\r\n"), ("s", b"354 Start mail input; end with <CRLF>.<CRLF>\r\n"),
        ("c", b"Subject: Scan for John Q Patient MRN 448812\r\n\r\nAttached.\r\n.\r\n"),
        ("s", b"250 2.6.0 Queued mail for delivery\r\n"), ("c", b"QUIT\r\n"),
        ("s", b"221 2.0.0 Service closing transmission channel\r\n")])
    plain = base64.b64encode(b"\x00pumpalerts\x00alerts")
    pump = dialogue(gw, gw_mac, relay2, relay2_mac, 51026, 25, [
        ("s", b"220 relay2.hospital.example Service ready\r\n"), ("c", b"EHLO pumpgw\r\n"),
        ("s", b"250-relay2.hospital.example\r\n250 AUTH PLAIN\r\n"), ("c", b"AUTH PLAIN " + plain + b"\r\n"),
        ("s", b"535 5.7.8 Error: authentication failed\r\n"), ("c", b"AUTH PLAIN\r\n"), ("s", b"334 \r\n"),
        ("c", base64.b64encode(b"\x00pumpalerts\x00Infus3!on") + b"\r\n"),
        ("s", b"235 2.7.0 Authentication successful\r\n"), ("c", b"QUIT\r\n"), ("s", b"221 2.0.0 Bye\r\n")])
    pop = dialogue(lab, lab_mac, dove, dove_mac, 51110, 110, [
        ("s", b"+OK Dovecot (Debian) ready.\r\n"), ("c", b"USER labsys\r\n"), ("s", b"+OK\r\n"),
        ("c", b"PASS Lab-Results-9\r\n"), ("s", b"+OK Logged in.\r\n"), ("c", b"STAT\r\n"),
        ("s", b"+OK 1 2048\r\n"), ("c", b"QUIT\r\n"), ("s", b"+OK Logging out.\r\n")])
    imap = dialogue(WS, WS_MAC, dove, dove_mac, 51143, 143, [
        ("s", b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] "
              b"Dovecot (Debian) ready.\r\n"),
        ("c", b'a001 LOGIN "radiology" "Rad-2023"\r\n'), ("s", b"a001 OK Logged in\r\n"),
        ("c", b'a002 SELECT "Patients/Roe"\r\n'), ("s", b"* 3 EXISTS\r\na002 OK [READ-WRITE] Select completed.\r\n"),
        ("c", b"a003 LOGOUT\r\n"), ("s", b"* BYE Logging out\r\na003 OK Logout completed.\r\n")])
    hello = client_hello(b"exch01.hospital.example")
    tls = dialogue(WS, WS_MAC, exch, exch_mac, 51587, 587, [
        ("s", exch_hi), ("c", b"EHLO RAD-WS-21\r\n"), ("s", ehlo_ok), ("c", b"STARTTLS\r\n"),
        ("s", b"220 2.0.0 SMTP server ready\r\n"), ("c", hello)])
    rows = scan + pump + pop + imap + tls
    write("mail.pcap", timed([tcp_frame(*row) for row in rows], 1_700_001_500.0))
    # LDAP on 389 to the domain controller: the PACS binds with its service
    # account (twice, on two connections), looks a clinician up (the entry's attributes are never read)
    # and checks her password by binding as her, wrongly then rightly; a
    # printer binds anonymously; a Windows member binds with SASL
    # (GSS-SPNEGO: no password on the wire); a workstation asks StartTLS and
    # its ClientHello follows.
    def ber(tag, v):
        n = len(v)
        head = bytes([n]) if n < 0x80 else b"\x82" + n.to_bytes(2, "big")
        return bytes([tag]) + head + v

    def msg(i, op):
        return ber(0x30, ber(0x02, bytes([i])) + op)

    def bind(i, name, auth):
        return msg(i, ber(0x60, ber(0x02, b"\x03") + ber(0x04, name) + auth))

    def res(i, op, code, diag=b""):
        return msg(i, ber(op, ber(0x0A, bytes([code])) + ber(0x04, b"") + ber(0x04, diag)))
    dc, dc_mac = "10.20.0.10", "00:15:5d:20:00:10"
    pacs, pacs_mac = "10.20.2.10", "00:50:56:20:02:10"
    svc = b"CN=svc-pacs,OU=Service Accounts,DC=hospital,DC=example"
    lookup = msg(2, ber(0x63, ber(0x04, b"DC=hospital,DC=example") + ber(0x0A, b"\x02") + ber(0x0A, b"\x00") +
                        ber(0x02, b"\x00") + ber(0x02, b"\x00") + ber(0x01, b"\x00") +
                        ber(0xA3, ber(0x04, b"sAMAccountName") + ber(0x04, b"mroe")) + ber(0x30, b"")))
    entry = msg(2, ber(0x64, ber(0x04, b"CN=Mary Roe,OU=Radiology,DC=hospital,DC=example") + ber(0x30, ber(
        0x30, ber(0x04, b"memberOf") + ber(0x31, ber(0x04, b"CN=Radiologists,OU=Groups,DC=hospital,DC=example"))))))
    done = msg(2, ber(0x65, ber(0x0A, b"\x00") + ber(0x04, b"") + ber(0x04, b"")))
    user = b"mroe@hospital.example"
    pacs_rows = dialogue(pacs, pacs_mac, dc, dc_mac, 52389, 389, [
        ("c", bind(1, svc, ber(0x80, b"Pacs#2019"))), ("s", res(1, 0x61, 0)),
        ("c", lookup), ("s", entry + done),
        ("c", bind(3, user, ber(0x80, b"Radiology1"))),
        ("s", res(3, 0x61, 49, b"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563")),
        ("c", bind(4, user, ber(0x80, b"Rad!ology-2024"))), ("s", res(4, 0x61, 0)),
        ("c", msg(5, ber(0x42, b"")))])
    anon = dialogue(prn, prn_mac, dc, dc_mac, 52390, 389, [
        ("c", bind(1, b"", ber(0x80, b""))), ("s", res(1, 0x61, 0))])
    sasl = dialogue(pc, pc_mac, dc, dc_mac, 52391, 389, [
        ("c", bind(1, b"", ber(0xA3, ber(0x04, b"GSS-SPNEGO") + ber(0x04, b"\x60\x06\x06\x04\x2b\x06\x01\x05")))),
        ("s", res(1, 0x61, 14)),
        ("c", bind(2, b"", ber(0xA3, ber(0x04, b"GSS-SPNEGO") + ber(0x04, b"\xa1\x03\x0a\x01\x00")))),
        ("s", res(2, 0x61, 0))])
    hello = client_hello(b"dc01.hospital.example")
    starttls = dialogue(WS, WS_MAC, dc, dc_mac, 52392, 389, [
        ("c", msg(1, ber(0x77, ber(0x80, b"1.3.6.1.4.1.1466.20037")))), ("s", res(1, 0x78, 0)), ("c", hello)])
    # The PACS's pool binds again with its service account: the same fact.
    again = dialogue(pacs, pacs_mac, dc, dc_mac, 52393, 389, [
        ("c", bind(1, svc, ber(0x80, b"Pacs#2019"))), ("s", res(1, 0x61, 0)), ("c", msg(2, ber(0x42, b"")))])
    rows = pacs_rows + anon + sasl + starttls + again
    write("ldap.pcap", timed([tcp_frame(*row) for row in rows], 1_700_001_600.0))
    # Passive DNS: the site resolver answers a workstation's and the CT's
    # lookups of the PACS (through a CNAME), the PACS's reverse lookup of the
    # workstation, the workstation's lookup of the CT scanner (which named
    # itself in DHCP: its own name wins), of an EHR server never seen on
    # the wire (no device made), and of an internet name (nothing kept).
    from scapy.layers.dns import DNS, DNSQR, DNSRR
    from scapy.layers.dhcp import BOOTP, DHCP
    ct, ct_mac = "10.30.1.5", "00:00:cc:30:01:05"

    def lookup(client, cmac, sport, qname, qtype, answers, qid):
        q = DNS(id=qid, rd=1, qd=DNSQR(qname=qname, qtype=qtype))
        r = DNS(id=qid, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname=qname, qtype=qtype), an=answers)
        return [udp_frame(client, cmac, dc, dc_mac, sport, 53, bytes(q)),
                udp_frame(dc, dc_mac, client, cmac, 53, sport, bytes(r))]
    pacs_a = [DNSRR(rrname="pacs.hospital.example", type="CNAME", rdata="PACS01.hospital.example"),
              DNSRR(rrname="PACS01.hospital.example", type="A", rdata=pacs)]
    names = []
    names += lookup(WS, WS_MAC, 53001, "pacs.hospital.example", "A", pacs_a, 1)
    names += lookup(ct, ct_mac, 53002, "pacs.hospital.example", "A", pacs_a, 2)
    names += lookup(pacs, pacs_mac, 53003, "21.5.40.10.in-addr.arpa", "PTR",
                    [DNSRR(rrname="21.5.40.10.in-addr.arpa", type="PTR", rdata="rad-ws-21.hospital.example")], 3)
    names += lookup(WS, WS_MAC, 53004, "ct1.hospital.example", "A",
                    [DNSRR(rrname="ct1.hospital.example", type="A", rdata=ct)], 4)
    names += lookup(WS, WS_MAC, 53005, "ehr01.hospital.example", "A",
                    [DNSRR(rrname="ehr01.hospital.example", type="A", rdata="10.20.3.5")], 5)
    names += lookup(WS, WS_MAC, 53006, "www.example.com", "A",
                    [DNSRR(rrname="www.example.com", type="A", rdata="93.184.216.34")], 6)
    dhcp = Ether(src=ct_mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") / \
        UDP(sport=68, dport=67) / BOOTP(chaddr=bytes.fromhex(ct_mac.replace(":", "")), xid=0x5a5a) / \
        DHCP(options=[("message-type", "request"), ("requested_addr", ct), ("hostname", b"CT-SCANNER-1"), "end"])
    ct_talks = udp_frame(ct, ct_mac, dc, dc_mac, 53007, 53, bytes(DNS(id=7, rd=1, qd=DNSQR(qname="ntp.hospital.example"))))
    write("dns_names.pcap", timed([dhcp, ct_talks] + names, 1_700_001_700.0))
    print("captures written to", HERE)


if __name__ == "__main__":
    main()
