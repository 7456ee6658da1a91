#!/usr/bin/env python3
"""Regenerates mail_python.pcap: real mail clients (Python's smtplib,
poplib and imaplib) logging in to small servers on loopback, captured with
dumpcap (root; Debian's tshark package). The servers answer just enough:
SMTP accepts AUTH PLAIN and refuses AUTH LOGIN; POP3 and IMAP accept.

    python3 tests/captures/make_mail_python.py
"""
import os
import smtplib
import poplib
import imaplib
import socketserver
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PORTS = {"smtp": 2525, "pop": 2110, "imap": 2143}


class Smtp(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"220 test.local ESMTP ready\r\n")
        while line := self.rfile.readline():
            c = line.strip().upper()
            if c.startswith(b"EHLO"):
                w(b"250-test.local\r\n250-AUTH LOGIN PLAIN\r\n250 OK\r\n")
            elif c.startswith(b"AUTH LOGIN"):
                if len(c.split()) == 2:
                    w(b"334 VXNlcm5hbWU6\r\n")
                    self.rfile.readline()
                w(b"334 UGFzc3dvcmQ6\r\n")
                self.rfile.readline()
                w(b"535 5.7.8 Authentication failed\r\n")
            elif c.startswith(b"AUTH PLAIN"):
                w(b"235 2.7.0 Authentication successful\r\n")
            elif c.startswith(b"QUIT"):
                w(b"221 2.0.0 Bye\r\n")
                return
            else:
                w(b"250 OK\r\n")


class Pop(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"+OK ready\r\n")
        while line := self.rfile.readline():
            if line.upper().startswith(b"QUIT"):
                w(b"+OK bye\r\n")
                return
            w(b"+OK\r\n")


class Imap(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
        while line := self.rfile.readline():
            tag, cmd = line.split()[0], line.split()[1].upper()
            if cmd == b"CAPABILITY":
                w(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
            elif cmd == b"LOGOUT":
                w(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                w(tag + b" OK done\r\n")


def main():
    out = os.path.join(HERE, "mail_python.pcap")
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    for handler, port in [(Smtp, PORTS["smtp"]), (Pop, PORTS["pop"]), (Imap, PORTS["imap"])]:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    filt = " or ".join(f"tcp port {p}" for p in PORTS.values())
    cap = subprocess.Popen(["dumpcap", "-q", "-P", "-i", "lo", "-f", filt, "-w", out])
    time.sleep(2)
    s = smtplib.SMTP("127.0.0.1", PORTS["smtp"])
    s.ehlo("scanner-7")
    s.login("alice", "Secret-1")  # AUTH PLAIN, the first the server offers that smtplib prefers
    s.quit()
    s = smtplib.SMTP("127.0.0.1", PORTS["smtp"])
    s.ehlo("scanner-8")
    s.user, s.password = "bob", "Secret-2"
    try:
        s.auth("LOGIN", s.auth_login)
    except smtplib.SMTPAuthenticationError:
        pass
    s.quit()
    p = poplib.POP3("127.0.0.1", PORTS["pop"])
    p.user("carol")
    p.pass_("Secret-3")
    p.quit()
    m = imaplib.IMAP4("127.0.0.1", PORTS["imap"])
    m.login("dave", "Secret 4")
    m.logout()
    time.sleep(1)
    cap.terminate()
    cap.wait()
    os.chmod(out, 0o644)
    print("written", out)


if __name__ == "__main__":
    main()
