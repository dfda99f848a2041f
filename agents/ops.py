"""Operations routes on the Faust web server: /health, /ready, /metrics."""

from __future__ import annotations

from faust.web import Request, Response, View

from config import get_settings
from pipeline.platform.faust_app import app
from pipeline.platform.health import metrics_text, readiness

settings = get_settings()


@app.page("/health")
class Health(View):
    async def get(self, request: Request) -> Response:
        return self.json({"status": "ok"})


@app.page("/ready")
class Ready(View):
    async def get(self, request: Request) -> Response:
        ready, body = await readiness(self.app, settings.resolved_database_url())
        return self.json(body, status=200 if ready else 503)


@app.page("/metrics")
class Metrics(View):
    async def get(self, request: Request) -> Response:
        body, content_type = metrics_text(self.app)
        return self.bytes(body, content_type=content_type.split(";")[0])
