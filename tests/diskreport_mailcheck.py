#!/usr/bin/python3
"""Checks a message as a strict relay and a mail reader would, for
tests/diskreport.bats.

usage: diskreport_mailcheck.py EML REPORT SUBJECT RECIPIENTS...

EML is the message as the server received it, REPORT the report as
diskreport printed it, SUBJECT the --subject given. Checks: 7-bit only,
CRLF, every line at most 998 octets, header lines at most 78 characters,
encoded words at most 75, no defect found by Python's email parser
(policy SMTP), the Subject and the To list decoding to what was given, and
the body decoding to the report byte for byte. Prints what is wrong and
exits 1.
"""
import email
import email.policy
import re
import sys

eml, report, subject, rcpts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
raw = open(eml, "rb").read()
want = open(report, "rb").read()
bad = []
if any(b >= 0x80 for b in raw):
    bad.append("8-bit bytes in the message")
lines = raw.split(b"\r\n")
if any(b"\n" in l or b"\r" in l for l in lines):
    bad.append("a line end other than CRLF")
long = [len(l) for l in lines if len(l) > 998]
if long:
    bad.append("lines over 998 octets: %s" % long[:5])
head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
for l in head:
    if len(l) > 78:
        bad.append("header line of %d characters: %r" % (len(l), l[:60]))
for w in re.findall(rb"=\?[^?]+\?[BbQq]\?[^?]*\?=", raw.split(b"\r\n\r\n", 1)[0]):
    if len(w) > 75:
        bad.append("encoded word of %d characters" % len(w))
msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
if msg.defects:
    bad.append("defects: %s" % msg.defects)
for h in ("Subject", "To"):
    if msg[h] is not None and msg[h].defects:
        bad.append("%s defects: %s" % (h, msg[h].defects))
if str(msg["Subject"]) != subject:
    bad.append("Subject decodes to %r" % str(msg["Subject"]))
got = [a.addr_spec for a in msg["To"].addresses]
if got != rcpts:
    bad.append("To decodes to %d addresses, not the %d given" % (len(got), len(rcpts)))
# the body in its canonical form has CRLF line ends
body = msg.get_payload(decode=True).replace(b"\r\n", b"\n")
if body != want:
    bad.append("body differs from the report (%d bytes, report %d)" % (len(body), len(want)))
if bad:
    print("\n".join(bad))
    sys.exit(1)
