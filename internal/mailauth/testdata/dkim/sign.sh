#!/bin/sh
# Makes the DKIM interop fixtures of mailauth_test.go, once: messages
# signed by Debian's dkimpy (python3-dkim: rsa-sha256 and ed25519-sha256)
# and by OpenDKIM (opendkim-testmsg, rsa-sha256), with the test keys kept
# here. Their public keys are published by the tests' dnstest zone
# (the *.txt files). Run from anywhere: sh internal/mailauth/testdata/dkim/sign.sh
set -eu
cd "$(dirname "$0")"

# Keys (kept: the fixtures are only valid with them).
[ -f opendkim.private ] || opendkim-genkey -b 2048 -d interop.test -s opendkim
[ -f dkimpy.private ] || opendkim-genkey -b 2048 -d interop.test -s dkimpy
[ -f ed.private ] || /usr/bin/python3 - <<'PY'
import base64, nacl.signing
k = nacl.signing.SigningKey.generate()
open("ed.private", "w").write(base64.b64encode(bytes(k)).decode() + "\n")
open("ed.txt", "w").write("v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(k.verify_key)).decode() + "\n")
PY

cat > message.eml <<'MSG'
From: Alice Sender <alice@interop.test>
To: bob@receiver.test
Subject: DKIM interop fixture
Date: Mon, 07 Dec 2026 12:00:00 +0000
Message-ID: <fixture-1@interop.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Bob,

this message was signed by another DKIM implementation.
  Trailing spaces and  inner   spaces test relaxed canonicalization.  

MSG

# OpenDKIM signs as a milter (opendkim-testmsg 2.11 signs rsa-sha1
# only, which RFC 8301 forbids): a private instance on a loopback port,
# fed by a minimal milter client.
D=$(mktemp -d)
trap 'kill "$(cat "$D/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$D"' EXIT
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/opendkim.conf" <<CONF
Mode s
Domain interop.test
Selector opendkim
KeyFile $PWD/opendkim.private
Socket inet:$PORT@127.0.0.1
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.0/8
Syslog no
Background yes
PidFile $D/pid
RequireSafeKeys false
CONF
opendkim -x "$D/opendkim.conf"
/usr/bin/python3 - "$PORT" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        break
    except OSError:
        time.sleep(0.1)
def send(cmd, data=b""):
    s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)
def recv():
    n = b""
    while len(n) < 4:
        n += s.recv(4 - len(n))
    n = struct.unpack(">I", n)[0]
    d = b""
    while len(d) < n:
        d += s.recv(n - len(d))
    return d[:1], d[1:]
send(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
_, d = recv()
_, _, proto = struct.unpack(">III", d[:12])
def step(cmd, data, no, nr):
    if proto & no:
        return
    send(cmd, data)
    if not proto & nr:
        c, _ = recv()
        assert c == b"c", (cmd, c)
step(b"C", b"localhost\0" + b"4" + struct.pack(">H", 25) + b"127.0.0.1\0", 0x1, 0x1000)
step(b"H", b"localhost\0", 0x2, 0x2000)
step(b"M", b"<alice@interop.test>\0", 0x4, 0x4000)
step(b"R", b"<bob@receiver.test>\0", 0x8, 0x8000)
msg = open("message.eml", "rb").read().replace(b"\n", b"\r\n")
head, body = msg.split(b"\r\n\r\n", 1)
for line in head.split(b"\r\n"):
    name, value = line.split(b":", 1)
    step(b"L", name + b"\0" + value.lstrip(b" ") + b"\0", 0x20, 0x80)
step(b"N", b"", 0x40, 0x40000)
step(b"B", body, 0x10, 0x80000)
send(b"E")
added = []
while True:
    c, d = recv()
    if c in (b"h", b"i"):
        if c == b"i":
            d = d[4:]
        name, value = d.rstrip(b"\0").split(b"\0", 1)
        added.append(name + b": " + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n")
    elif c in (b"a", b"c"):
        break
    else:
        raise SystemExit("milter answered %r" % c)
send(b"Q")
assert added, "OpenDKIM added no signature"
open("opendkim.eml", "wb").write(b"".join(added) + msg)
PY

/usr/bin/python3 - <<'PY'
import dkim
msg = open("message.eml", "rb").read()
hdrs = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]
rsa = dkim.sign(msg, b"dkimpy", b"interop.test", open("dkimpy.private", "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"), include_headers=hdrs)
open("dkimpy-rsa.eml", "wb").write(rsa + msg)
ed = dkim.sign(msg, b"ed", b"interop.test", open("ed.private", "rb").read().strip(),
               canonicalize=(b"relaxed", b"relaxed"), include_headers=hdrs,
               signature_algorithm=b"ed25519-sha256")
open("dkimpy-ed25519.eml", "wb").write(ed + msg)
PY
echo "signed: opendkim.eml dkimpy-rsa.eml dkimpy-ed25519.eml"
