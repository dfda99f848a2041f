"""A syndicate's alert settings: changed only after a backtest preview, saved on confirmation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from faust.web import Request

from agents.alerts import scope_of
from agents.console.pages import ConsolePage
from models.alert_status import (
    MAX_ESCALATE_AFTER,
    InvalidQuery,
    clean_filter,
    parse_instant,
)
from models.anomaly import InvalidRule
from models.backtest import Overrides
from pipeline.alerts import lifecycle
from pipeline.alerts.backtest import backtest_syndicate
from pipeline.alerts.rules import RulesCache
from pipeline.alerts.syndicates import (
    SettingsError,
    SyndicateUpdate,
    set_syndicate,
)
from pipeline.console import reads
from pipeline.security.middleware import principal_of, redirect

SETTING_FIELDS = (
    "threshold",
    "spike_multiplier",
    "spike_min_count",
    "spike_evidence",
    "escalate_after",
)


class Syndicate(ConsolePage):
    async def _visible(self, request: Request, syndicate_id: str) -> bool:
        caller = principal_of(request)
        try:
            clean_filter("syndicate_id", syndicate_id)
        except InvalidQuery:
            return False
        async with (await self.database.get()).connection() as conn:
            return await lifecycle.runs(conn, scope_of(caller), syndicate_id)

    async def _show(
        self,
        request: Request,
        syndicate_id: str,
        status: int = 200,
        candidate: dict[str, str] | None = None,
        **context: Any,
    ) -> Any:
        async with (await self.read_pool(request)).connection() as conn:
            found = await reads.syndicate(conn, syndicate_id)
        stored = found["settings"]
        defaults = RulesCache(self.settings).defaults
        current = {
            "threshold": stored.get("threshold") or defaults.threshold,
            "spike_multiplier": (stored.get("spike_multiplier") or defaults.spike_multiplier)
            .normalize()
            .to_eng_string(),
            "spike_min_count": stored.get("spike_min_count") or defaults.spike_min_count,
            "spike_evidence": stored.get("spike_evidence") or defaults.spike_evidence,
            "escalate_after": self.settings.default_escalate_after
            if stored.get("escalate_after") is None
            else stored["escalate_after"],
        }
        now = datetime.now(UTC).replace(microsecond=0)
        shown = {
            **{k: str(v) for k, v in current.items()},
            "from": (now - timedelta(days=7)).isoformat(),
            "to": now.isoformat(),
            **(candidate or {}),
        }
        context.setdefault("preview", None)
        return self.page(
            request,
            "syndicate.html",
            status,
            syndicate_id=syndicate_id,
            settings={"name": stored.get("name"), **{k: stored.get(k) for k in SETTING_FIELDS}},
            fields=SETTING_FIELDS,
            current=current,
            managers=found["managers"],
            candidate=shown,
            notice="Settings saved." if request.query.get("saved") == "1" else None,
            error=context.pop("error", None),
            **context,
        )

    async def get(self, request: Request, syndicate_id: str) -> Any:
        if not await self._visible(request, syndicate_id):
            return self.not_found(request, "such syndicate")
        return await self._show(request, syndicate_id)

    async def post(self, request: Request, syndicate_id: str) -> Any:
        if not await self._visible(request, syndicate_id):
            return self.not_found(request, "such syndicate")
        form = await self.form(request)
        candidate = {k: form.get(k, "").strip() for k in (*SETTING_FIELDS, "from", "to")}
        try:
            overrides = Overrides.parse(
                candidate["threshold"] or None,
                candidate["spike_multiplier"] or None,
                candidate["spike_min_count"] or None,
                label=lambda field: field.replace("_", " "),
                spike_evidence=candidate["spike_evidence"] or None,
            )
            escalate = candidate["escalate_after"] or None
            if escalate is not None and not (
                escalate.isdigit() and int(escalate) <= MAX_ESCALATE_AFTER
            ):
                raise InvalidQuery("escalation deadline: whole seconds from 0 to 30 days")
        except (InvalidRule, InvalidQuery) as exc:
            return await self._show(request, syndicate_id, 422, candidate, error=str(exc))
        if form.get("action") == "save":
            update = SyndicateUpdate(
                syndicate_id,
                threshold=candidate["threshold"] or None,
                spike_multiplier=candidate["spike_multiplier"] or None,
                spike_min_count=overrides.spike_min_count,
                spike_evidence=candidate["spike_evidence"] or None,
                escalate_after=None if escalate is None else int(escalate),
            )
            try:
                await asyncio.to_thread(
                    set_syndicate, self.settings.resolved_database_url(), update
                )
            except SettingsError as exc:
                return await self._show(request, syndicate_id, 422, candidate, error=str(exc))
            return redirect(f"{request.path}?saved=1")
        try:
            start = parse_instant(candidate["from"] or None, "backtest from")
            end = parse_instant(candidate["to"] or None, "backtest to")
            if start is None or end is None:
                raise InvalidQuery("the backtest needs a range: from and to")
            result = await backtest_syndicate(self.settings, syndicate_id, start, end, overrides)
        except InvalidQuery as exc:
            return await self._show(request, syndicate_id, 422, candidate, error=str(exc))
        return await self._show(
            request,
            syndicate_id,
            200,
            candidate,
            preview=result.summary,
            preview_live=sum(d.live for d in result.summary),
            preview_candidate=sum(d.candidate for d in result.summary),
            preview_labels=result.labels.words(),
        )
