"""Local stand-ins for the providers, for the demo: the real twilio and boto3 clients talk to them over HTTP.

Twilio: a tiny server speaking the Messages API (standard library only). SES: moto's server, when moto is
installed (it is with the dev extras that `make demo` installs).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "demo-token"
TWILIO_FROM = "+15005550006"
EMAIL_FROM = "alerts@pulse.example"


@dataclass
class TwilioStandIn:
    messages: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        outbox = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
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
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

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
