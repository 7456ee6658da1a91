#!/usr/bin/env python3
"""Regenerates rtsp.pcap: a real RTSP client (GStreamer's rtspsrc, Debian
gstreamer1.0-tools and gstreamer1.0-plugins-good) asking a small camera
server for its stream, across a veth pair into a network namespace,
captured with dumpcap (root; Debian's iproute2 and tshark packages).

    python3 tests/captures/make_rtsp.py [OUT_DIR]

The camera (10.54.0.1, namespace wwrtsp, port 554) answers a DESCRIBE
without credentials with a Basic challenge, then takes admin/12345 (a
camera maker's default, in the shipped list) and refuses anything else.
The recorder (10.54.0.2) connects three times: with the right password
over UDP transport, with a wrong one, and with the right one over TCP
(interleaved: the camera then sends one `$` frame of RTP).
"""
import base64
import os
import socketserver
import subprocess
import sys
import time

from netns import capture, out_path, veth_namespace

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "wwrtsp"
GOOD = "Basic " + base64.b64encode(b"admin:12345").decode()
SDP = (
    "v=0\r\no=- 1 1 IN IP4 10.54.0.1\r\ns=Media Presentation\r\nc=IN IP4 0.0.0.0\r\n"
    "t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=1\r\n"
)


class Camera(socketserver.StreamRequestHandler):
    def reply(self, cseq, status, headers=(), body=""):
        lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", "Server: IPCam RTSP Server/1.0"]
        lines += list(headers)
        if body:
            lines += ["Content-Type: application/sdp", f"Content-Length: {len(body)}"]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n" + body).encode())

    def handle(self):
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                c = self.rfile.read(1)
                if not c:
                    return
                head += c
            lines = head.decode().split("\r\n")
            method = lines[0].split(" ")[0]
            fields = {
                k.strip().lower(): v.strip()
                for k, _, v in (l.partition(":") for l in lines[1:] if l)
            }
            n = int(fields.get("content-length", "0"))
            if n:
                self.rfile.read(n)
            cseq = fields.get("cseq", "0")
            if method == "OPTIONS":
                self.reply(cseq, "200 OK", ["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"])
            elif fields.get("authorization") != GOOD:
                self.reply(cseq, "401 Unauthorized", ['WWW-Authenticate: Basic realm="IPCamera"'])
            elif method == "DESCRIBE":
                self.reply(cseq, "200 OK", ["Content-Base: rtsp://10.54.0.1:554/stream1/"], SDP)
            elif method == "SETUP":
                t = fields.get("transport", "")
                if "client_port" in t:
                    t += ";server_port=6970-6971"
                self.reply(cseq, "200 OK", [f"Transport: {t}", "Session: 5A1B2C3D;timeout=60"])
            elif method == "PLAY":
                self.reply(cseq, "200 OK", ["Session: 5A1B2C3D", "Range: npt=0.000-"])
                if "interleaved" in self.server.transport_seen.get(self.client_address, ""):
                    rtp = bytes([0x80, 96, 0, 1, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78])
                    self.wfile.write(b"$\x00" + len(rtp).to_bytes(2, "big") + rtp)
            elif method == "TEARDOWN":
                self.reply(cseq, "200 OK", ["Session: 5A1B2C3D"])
                return
            else:
                self.reply(cseq, "405 Method Not Allowed")
            if method == "SETUP":
                self.server.transport_seen[self.client_address] = fields.get("transport", "")


SERVER = """
import socketserver, sys
sys.path.insert(0, sys.argv[1])
from make_rtsp import Camera
socketserver.ThreadingTCPServer.allow_reuse_address = True
s = socketserver.ThreadingTCPServer(("10.54.0.1", 554), Camera)
s.transport_seen = {}
s.serve_forever()
"""


def client(password, protocols):
    loc = "rtsp://10.54.0.1:554/stream1"
    subprocess.run(
        ["timeout", "4", "gst-launch-1.0", "-q", "rtspsrc", f"location={loc}",
         "user-id=admin", f"user-pw={password}", f"protocols={protocols}",
         "!", "fakesink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def main():
    out = out_path("rtsp.pcap")
    with veth_namespace(NS, ["10.54.0.2/24"], ["10.54.0.1/24"]) as iface:
        server = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", SERVER, HERE])
        time.sleep(1.5)
        with capture(iface, "tcp port 554", out):
            client("12345", "udp")
            client("letmein", "udp")
            client("12345", "tcp")
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
