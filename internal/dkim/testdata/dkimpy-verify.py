# Verifies every DKIM-Signature of the message on stdin with Debian's
# dkimpy; the DNS is the JSON object {name: record} in argv[1]. Prints one
# line per signature: "<index> pass" or "<index> fail <reason>".
import json
import sys

import dkim

records = json.loads(sys.argv[1])


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    rec = records.get(name.rstrip("."))
    return rec.encode() if rec is not None else None


msg = sys.stdin.buffer.read()
d = dkim.DKIM(msg)
n = sum(1 for k, _ in d.headers if k.lower() == b"dkim-signature")
if n == 0:
    print("no signatures")
for i in range(n):
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
        print(i, "pass" if ok else "fail")
    except Exception as e:  # a verification error is a failure, reported
        print(i, "fail", e)
