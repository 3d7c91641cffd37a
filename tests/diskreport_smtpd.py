#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) on a loopback port for tests/diskreport.bats.

usage: diskreport_smtpd.py DIR [--port N] [--reject ADDR]... [--drop-data] [--no-ehlo]
                           [--tempfail-mail N] [--tempfail-rcpt ADDR]...
                           [--auth USER:PASSWORD [--auth-only MECH]]

Listens on 127.0.0.1 on a free port (or --port) and writes the port to DIR/port once
it accepts connections. Every accepted message is saved once per
recipient as DIR/<recipient>/<n>.eml (the content as received, after
dot-unstuffing), with the envelope in DIR/<recipient>/<n>.env.
--reject ADDR refuses that recipient with 550; --tempfail-mail N answers
the first N MAIL FROM with 451, --tempfail-rcpt ADDR the first RCPT of
ADDR with 450 (greylisting); --drop-data closes the
connection after the message data instead of replying; --no-ehlo answers
EHLO with 502 so the client must fall back to HELO. Each QUIT received
adds a line to DIR/quits; DIR/<recipient>/<n>.env names the EHLO or HELO
argument ("helo NAME").
--auth offers AUTH (PLAIN and LOGIN, or only MECH with --auth-only) on
the plain connection (CRAM-MD5 too, which always fails), requires it
before MAIL, and accepts only that login; each attempt adds "MECH LOGIN ok|bad" to DIR/auths.
"""
import argparse
import asyncio
import os

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.args.tempfail_mail > 0:
            self.args.tempfail_mail -= 1
            return "451 4.3.0 Try again later"
        envelope.mail_from = address
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.tempfail_rcpt:
            self.args.tempfail_rcpt.remove(address)
            return "450 4.2.0 <%s>: Greylisted, try again later" % address
        if address in self.args.reject:
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.drop_data:
            server.transport.close()
            return "421 closing"
        self.count += 1
        for rcpt in envelope.rcpt_tos:
            d = os.path.join(self.args.dir, rcpt)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "%d.env" % self.count), "w") as f:
                f.write("from %s\nto %s\nhelo %s\n" % (
                    envelope.mail_from, " ".join(envelope.rcpt_tos), session.host_name))
            with open(os.path.join(d, "%d.eml" % self.count), "wb") as f:
                f.write(envelope.content)
        return "250 2.0.0 Ok: queued"


class CountingSMTP(SMTP):
    """Appends a line to DIR/quits for each QUIT a client sends."""
    quits = None

    async def smtp_QUIT(self, arg):
        with open(self.quits, "a") as f:
            f.write("QUIT\n")
        await super().smtp_QUIT(arg)


class CramSMTP(CountingSMTP):
    """Offers CRAM-MD5 as well (to be refused: only its name matters)."""
    async def auth_CRAM__MD5(self, server, args):
        return AuthResult(success=False)


class NoEhloSMTP(CountingSMTP):
    async def smtp_EHLO(self, arg):
        await self.push("502 5.5.2 Error: command not recognized")


class Authenticator:
    def __init__(self, args):
        self.user, _, self.password = args.auth.partition(":")
        self.log = os.path.join(args.dir, "auths")

    def __call__(self, server, session, envelope, mechanism, data):
        ok = (isinstance(data, LoginPassword) and
              data.login.decode() == self.user and
              data.password.decode() == self.password)
        with open(self.log, "a") as f:
            f.write("%s %s %s\n" % (mechanism, data.login.decode(errors="replace")
                                     if isinstance(data, LoginPassword) else "-",
                                     "ok" if ok else "bad"))
        return AuthResult(success=ok)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--drop-data", action="store_true")
    ap.add_argument("--no-ehlo", action="store_true")
    ap.add_argument("--tempfail-mail", type=int, default=0)
    ap.add_argument("--tempfail-rcpt", action="append", default=[])
    ap.add_argument("--auth")
    ap.add_argument("--auth-only")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    auth = {}
    if args.auth:
        auth = dict(auth_required=True, auth_require_tls=False,
                    authenticator=Authenticator(args))
        if args.auth_only:
            auth["auth_exclude_mechanism"] = [
                m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m != args.auth_only]
    handler = Handler(args)
    cls = NoEhloSMTP if args.no_ehlo else CramSMTP if args.auth else CountingSMTP
    CountingSMTP.quits = os.path.join(args.dir, "quits")

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: cls(handler, decode_data=False, hostname="smtp.test", **auth),
            "127.0.0.1", args.port)
        port = server.sockets[0].getsockname()[1]
        tmp = os.path.join(args.dir, "port.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, os.path.join(args.dir, "port"))
        await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
