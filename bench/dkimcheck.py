#!/usr/bin/python3
"""dkimcheck: the DKIM signatures of one message that smtp-sink dumped.

usage: bench/dkimcheck.py DUMP OFFSET TXT

DUMP is smtp-sink's -D file; the message is what follows byte OFFSET
(one message sent alone, so nothing else is interleaved). smtp-sink's
own lines (X-Client-Addr ... and its three-line Received) are dropped,
lines get CRLF back, and each DKIM-Signature is verified with dkimpy
against TXT (the record "v=DKIM1; k=rsa; p=...") for every name asked.
Prints "signed (N signature(s), d=..., s=..., verified)", "unsigned" or
"signed, NOT verified: why"; exit status 0 for the first two, 1 else.
"""
import re
import sys

import dkim


def message(data):
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and lines[i].startswith(b"X-"):
        i += 1
    if i < len(lines) and lines[i].startswith(b"Received: "):  # smtp-sink's
        i += 1
        while i < len(lines) and lines[i][:1] in (b"\t", b" "):
            i += 1
    # smtp-sink appends an empty line to every message: it is gone under
    # relaxed body canonicalization either way.
    return b"\r\n".join(lines[i:])


def main():
    dump, offset, txt = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    with open(dump, "rb") as f:
        f.seek(offset)
        msg = message(f.read())
    head = msg.split(b"\r\n\r\n", 1)[0]
    sigs = re.findall(rb"(?im)^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head)
    if not sigs:
        print("unsigned")
        return 0
    tags = []
    for s in sigs:
        t = dict(re.findall(rb"(?:^|;)([ds])=([^;]*)", re.sub(rb"\s+", b"", s)))
        tags.append("d=%s s=%s" % (t.get(b"d", b"?").decode(), t.get(b"s", b"?").decode()))
    ok = True
    for i in range(len(sigs)):
        if not dkim.DKIM(msg).verify(idx=i, dnsfunc=lambda name, timeout=5: txt):
            ok = False
    verdict = "verified (dkimpy)" if ok else "NOT verified (dkimpy)"
    print("signed (%d signature(s), %s, %s)" % (len(sigs), ", ".join(tags), verdict))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
