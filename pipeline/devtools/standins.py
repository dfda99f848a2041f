"""Local stand-ins for the providers; the real twilio and boto3 clients talk to them over HTTP. One
set, used by the demo, the tests and the benchmarks.

Twilio: a tiny server speaking the Messages API (standard library only). SES: moto's server, when moto is
installed (it is with the dev extras that `make demo` installs). FailingProxy: an outage in front of it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "demo-token"
TWILIO_FROM = "+15005550006"
EMAIL_FROM = "alerts@pulse.example"


def _reply(handler: BaseHTTPRequestHandler, status: int, payload: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``handler`` on a free loopback port in a daemon thread; returns the server and its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass(frozen=True)
class Sms:
    to: str
    sender: str
    body: str
    sid: str


class TwilioStandIn:
    """Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json), for the demo, the
    tests and the benchmarks alike. What a test can make it do:

    - ``script[to]``: the HTTP statuses to answer for that number, in order (then 201);
    - ``failing_until`` (a ``time.monotonic()``): until then, 503 and 429 by turns, an outage;
    - ``delay``: seconds to wait before answering; ``error_message``: what error answers say.
    """

    def __init__(self) -> None:
        self.delivered: list[Sms] = []
        self.requests: list[str] = []  # the To of every request, answered or refused
        self.script: dict[str, list[int]] = {}
        self.delay = 0.0
        self.error_message: str | None = None
        self.failing_until = 0.0
        self.refused = 0
        self.url = ""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        standin = self
        path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != path:
                    _reply(self, 404, b'{"code": 20404, "status": 404}', "application/json")
                    return
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                status, payload = standin.answer(form)
                _reply(self, status, json.dumps(payload).encode(), "application/json")

            def log_message(self, *args: object) -> None:
                pass

        self._server, self.url = _serve(Handler)
        return self.url

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if self.delay:
            time.sleep(self.delay)
        to = form.get("To", "")
        with self._lock:
            self.requests.append(to)
            status = self._status_for(to)
            if status == 201:
                sms = Sms(to, form.get("From", ""), form.get("Body", ""), "SM" + uuid.uuid4().hex)
                self.delivered.append(sms)
        if status != 201:
            code = 21211 if status == 400 else 20003 if status in (429, 503) else 20500
            message = self.error_message or f"stand-in {status}"
            return status, {"code": code, "message": message, "status": status}
        return 201, {
            "sid": sms.sid,
            "to": to,
            "from": sms.sender,
            "body": sms.body,
            "status": "queued",
        }

    def _status_for(self, to: str) -> int:
        if time.monotonic() < self.failing_until:
            self.refused += 1
            return 503 if self.refused % 2 else 429
        planned = self.script.get(to, [])
        return planned.pop(0) if planned else 201

    def bodies_to(self, to: str) -> list[str]:
        return [m.body for m in self.delivered if m.to == to]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()


class FailingProxy:
    """Forwards to ``target``, except that until ``failing_until`` it answers 503 like an unavailable AWS."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.failing_until = 0.0
        self.refused = 0
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if time.monotonic() < proxy.failing_until:
                    proxy.refused += 1
                    payload = b"<ErrorResponse><Error><Code>ServiceUnavailable</Code><Message>stand-in outage</Message></Error></ErrorResponse>"
                    status, content_type = 503, "text/xml"
                else:
                    request = urllib.request.Request(
                        proxy.target + self.path, data=body, method="POST"
                    )
                    for key, value in self.headers.items():
                        if key.lower() not in ("host", "content-length"):
                            request.add_header(key, value)
                    try:
                        with urllib.request.urlopen(request, timeout=30) as response:
                            status, payload = response.status, response.read()
                            content_type = response.headers.get("Content-Type", "text/xml")
                    except urllib.error.HTTPError as exc:
                        status, payload = exc.code, exc.read()
                        content_type = exc.headers.get("Content-Type", "text/xml")
                _reply(self, status, payload, content_type)

            def log_message(self, *args: object) -> None:
                pass

        self.server, self.url = _serve(Handler)
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()


class SesStandIn:
    def __init__(self) -> None:
        self.server = None
        self.url: str | None = None

    def start(self) -> str | None:
        try:
            import boto3
            from moto.server import ThreadedMotoServer
        except ImportError:
            return None
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        # werkzeug logs every request at INFO on a handler of its own: it would print through the
        # demo's live view.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        self.url = f"http://127.0.0.1:{port}"
        boto3.client(
            "ses",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="demo",
            aws_secret_access_key="demo",
        ).verify_email_identity(EmailAddress=EMAIL_FROM)
        return self.url

    def sent(self) -> list:
        return ses_messages()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def ses_messages() -> list:
    """What moto's SES received (moto's server runs in this process, in a thread)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)
