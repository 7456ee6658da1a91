#!/usr/bin/env python3
"""Regenerates samples/demo-hospital.pcapng: real protocol stacks talking over
loopback, captured with dumpcap, then rewritten offline to a small hospital
address plan with real vendor OUIs. See samples/README.md.

Needs root (port 104), dumpcap (tshark), dnsmasq, dig, curl, and from PyPI
pynetdicom, pydicom and scapy.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "demo-hospital.pcapng")

# Port on loopback -> (client ip, client mac, server ip, server mac, vlan)
PLAN = {
    8080: ("10.20.5.21", "f8:bc:12:4a:10:21", "10.20.1.30", "00:50:56:a1:01:30", 20),  # Dell workstation -> web portal (VMware VM)
    53: ("10.30.1.15", "44:4b:5d:3c:81:0f", "10.20.1.2", "00:50:56:a1:01:02", 30),  # GE ultrasound -> DNS
    104: ("10.30.1.15", "44:4b:5d:3c:81:0f", "10.20.1.10", "00:50:56:a1:01:10", 30),  # GE ultrasound -> PACS
    2575: ("10.40.2.7", "00:09:5c:11:22:33", "10.20.1.20", "00:50:56:a1:01:20", 40),  # Philips monitor -> interface engine
    23: ("10.20.5.21", "f8:bc:12:4a:10:21", "10.40.3.9", "00:12:21:0a:0b:0c", 40),  # workstation -> B. Braun pump (telnet)
}


def run_http():
    srv = subprocess.Popen([sys.executable, "-m", "http.server", "8080", "--bind", "127.0.0.1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-A", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "http://127.0.0.1:8080/"], check=False)
    srv.terminate()


def run_dns():
    d = subprocess.Popen(["dnsmasq", "--no-daemon", "--port=53", "--listen-address=127.0.0.1",
                          "--bind-interfaces", "--no-resolv", "--no-hosts",
                          "--address=/pacs.hospital.example/10.20.1.10"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    subprocess.run(["dig", "@127.0.0.1", "-p", "53", "+tries=1", "pacs.hospital.example", "A"],
                   stdout=subprocess.DEVNULL, check=False)
    d.terminate()


def run_dicom():
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    from pynetdicom import AE, evt, AllStoragePresentationContexts
    from pynetdicom.sop_class import Verification, UltrasoundImageStorage

    def on_store(event):
        return 0x0000

    scp = AE(ae_title="PACS_ARCHIVE")
    scp.supported_contexts = AllStoragePresentationContexts
    scp.add_supported_context(Verification)
    server = scp.start_server(("127.0.0.1", 104), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])

    ds = Dataset()
    ds.SOPClassUID = UltrasoundImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "US"
    ds.Manufacturer = "GE Healthcare"
    ds.ManufacturerModelName = "LOGIQ E9"
    ds.SoftwareVersions = "R6.0.5"
    ds.DeviceSerialNumber = "LE9-000123"
    ds.StationName = "US-ROOM-3"
    ds.InstitutionName = "General Hospital"
    ds.PatientName = "DEMO^FICTITIOUS"
    ds.PatientID = "DEMO-0001"
    ds.Rows = 64
    ds.Columns = 64
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(256)) * 16
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian

    scu = AE(ae_title="US_LOGIQ_E9")
    scu.add_requested_context(Verification)
    scu.add_requested_context(UltrasoundImageStorage, ExplicitVRLittleEndian)
    assoc = scu.associate("127.0.0.1", 104, ae_title="PACS_ARCHIVE")
    if assoc.is_established:
        assoc.send_c_echo()
        assoc.send_c_store(ds)
        assoc.release()
    server.shutdown()


def mllp(msg):
    return b"\x0b" + msg.replace("\n", "\r").encode() + b"\x1c\x0d"


def run_hl7():
    ready = threading.Event()

    def server():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 2575))
        s.listen(1)
        ready.set()
        c, _ = s.accept()
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            while b"\x1c\x0d" in buf:
                m, buf = buf.split(b"\x1c\x0d", 1)
                ctrl = m.split(b"\r")[0].split(b"|")[9].decode()
                ack = ("MSH|^~\\&|IE|GENERAL_HOSP|MX800|ICU|20261125120001||ACK^R01|A%s|P|2.5.1\n"
                       "MSA|AA|%s" % (ctrl, ctrl))
                c.sendall(mllp(ack))
        c.close()
        s.close()

    t = threading.Thread(target=server)
    t.start()
    ready.wait()
    c = socket.create_connection(("127.0.0.1", 2575))
    oru = ("MSH|^~\\&|MX800|ICU|IE|GENERAL_HOSP|20261125120000||ORU^R01^ORU_R01|MSG0001|P|2.5.1\n"
           "PID|1||DEMO-0001^^^GH^MR||DEMO^FICTITIOUS||19700101|U\n"
           "OBR|1|||69837-2^Vital signs^LN\n"
           "OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F|||||||MX800^Philips^IntelliVue MX800^M.00.03\n")
    c.sendall(mllp(oru))
    time.sleep(0.3)
    c.close()
    t.join()


def run_telnet():
    # inetutils telnetd, launched inetd-style on the accepted socket; the login fails on purpose
    # (no such account), which is what a brute-force attempt looks like.
    srv = subprocess.Popen(["python3", "-c", """
import socket, subprocess
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 23)); s.listen(1)
c, _ = s.accept()
subprocess.run(['/usr/sbin/telnetd', '-h'], stdin=c, stdout=c, stderr=c)
"""])
    time.sleep(1)
    script = "sleep 1; echo admin; sleep 1; echo admin; sleep 2"
    subprocess.run(f"({script}) | telnet 127.0.0.1 23", shell=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=20, check=False)
    srv.kill()


def rewrite(raw, out):
    from scapy.all import Ether, IP, TCP, UDP, Dot1Q, rdpcap
    from scapy.utils import PcapNgWriter

    w = PcapNgWriter(out)
    for p in rdpcap(raw):
        if IP not in p:
            continue
        l4 = p[TCP] if TCP in p else p[UDP] if UDP in p else None
        if l4 is None:
            continue
        port = l4.dport if l4.dport in PLAN else l4.sport if l4.sport in PLAN else None
        if port is None:
            continue
        cip, cmac, sip, smac, vlan = PLAN[port]
        to_server = l4.dport == port
        ip = p[IP].copy()
        ip.src, ip.dst = (cip, sip) if to_server else (sip, cip)
        del ip.chksum
        if TCP in ip:
            del ip[TCP].chksum
        if UDP in ip:
            del ip[UDP].chksum
        src, dst = (cmac, smac) if to_server else (smac, cmac)
        q = Ether(src=src, dst=dst) / Dot1Q(vlan=vlan) / ip
        q.time = p.time
        w.write(q)
    w.close()


def main():
    raw = tempfile.mktemp(suffix=".pcapng")
    cap = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-w", raw, "-f",
                            "tcp port 8080 or port 53 or tcp port 104 or tcp port 2575 or tcp port 23"],
                           stderr=subprocess.DEVNULL)
    time.sleep(2)
    run_dns()
    run_http()
    run_dicom()
    run_hl7()
    run_telnet()
    time.sleep(1)
    cap.terminate()
    cap.wait()
    rewrite(raw, OUT)
    os.unlink(raw)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
