"""Operations routes on the Faust web server: /health, /ready, /metrics."""

from __future__ import annotations

import faust
from faust.web import Request, Response, View

from pipeline.platform.health import metrics_text, readiness


class Health(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


class Ready(View):
    database_url: str

    async def get(self, request: Request) -> Response:
        ready, body = await readiness(self.app, self.database_url)
        return self.json(body, status=200 if ready else 503)


class Metrics(View):
    async def get(self, request: Request) -> Response:
        body, content_type = metrics_text(self.app)
        return self.bytes(body, content_type=content_type.split(";")[0])


def register(app: faust.App, database_url: str) -> None:
    app.page("/health")(Health)
    app.page("/ready")(type("Ready", (Ready,), {"database_url": database_url}))
    app.page("/metrics")(Metrics)
