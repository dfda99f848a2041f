"""Local HTTP servers that speak the providers' APIs, for the real client libraries to talk to."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ACCOUNT_SID = "AC00000000000000000000000000000000"
AUTH_TOKEN = "test-token"
FROM = "+15005550006"


@dataclass
class Sms:
    to: str
    sender: str
    body: str
    sid: str


@dataclass
class TwilioStandIn:
    """The Messages API: POST /2010-04-01/Accounts/{sid}/Messages.json.

    ``script[to]`` lists the HTTP statuses to answer for that number, in order (then 201).
    """

    server: HTTPServer
    delivered: list[Sms] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    delay: float = 0.0
    error_message: str | None = None  # what an error answer says (default: "stand-in <status>")
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def install(self) -> None:
        self.server.expect_request(
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", method="POST"
        ).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        form = request.form
        to = form["To"]
        with self.lock:
            self.requests.append(to)
            planned = self.script.get(to, [])
            status = planned.pop(0) if planned else 201
        if status != 201:
            body = {
                "code": 21211 if status == 400 else 20500,
                "message": self.error_message or f"stand-in {status}",
                "status": status,
            }
            return Response(json.dumps(body), status=status, content_type="application/json")
        sid = "SM" + uuid.uuid4().hex
        with self.lock:
            self.delivered.append(Sms(to, form["From"], form["Body"], sid))
        body = {
            "sid": sid,
            "to": to,
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
        }
        return Response(json.dumps(body), status=201, content_type="application/json")

    def bodies_to(self, to: str) -> list[str]:
        return [m.body for m in self.delivered if m.to == to]


def ses_messages() -> list:
    """What moto's SES received (moto runs in this process, in a thread)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def wait_for(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")
