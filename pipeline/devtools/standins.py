"""Local stand-ins for the providers, for the demo: the real twilio and boto3 clients talk to them over HTTP.

Twilio: a tiny server speaking the Messages API (standard library only). SES: moto's server, when moto is
installed (it is with the dev extras that `make demo` installs).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
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


@dataclass
class TwilioStandIn:
    messages: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    # Until this time.monotonic(), answer 503 (odd requests) or 429 (even ones): a provider outage.
    failing_until: float = 0.0
    refused: int = 0

    def start(self) -> str:
        outbox = self.messages
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if time.monotonic() < standin.failing_until:
                    self.rfile.read(int(self.headers["Content-Length"]))
                    standin.refused += 1
                    status = 503 if standin.refused % 2 else 429
                    payload = json.dumps(
                        {"code": 20003, "message": "stand-in outage", "status": status}
                    ).encode()
                    _reply(self, status, payload, "application/json")
                    return
                form = {
                    k: v[0]
                    for k, v in parse_qs(
                        self.rfile.read(int(self.headers["Content-Length"])).decode()
                    ).items()
                }
                sid = "SM" + uuid.uuid4().hex
                outbox.append({"to": form.get("To", ""), "body": form.get("Body", ""), "sid": sid})
                payload = json.dumps(
                    {"sid": sid, "to": form.get("To"), "status": "queued"}
                ).encode()
                _reply(self, 201, payload, "application/json")

            def log_message(self, *args: object) -> None:
                pass

        self.server, url = _serve(Handler)
        return url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()


class FailingProxy:
    """Forwards to ``target``, except that until ``failing_until`` it answers 503 like an unavailable AWS."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.failing_until = 0.0
        self.refused = 0
        self.server: ThreadingHTTPServer | None = None

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

        self.server, url = _serve(Handler)
        return url

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
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
