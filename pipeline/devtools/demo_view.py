"""The demo's live view: what the worker stored, alerted and delivered, redrawn a few times a second."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table

from pipeline.devtools.standins import SesStandIn, TwilioStandIn
from pipeline.ingest import top_investors as queries
from pipeline.platform import db
from pipeline.platform.queries import rows_sync

# The syndicates the demo plants spikes in, by the names their alerts carry.
SPIKED = {
    "syn-00007": "Harbor Seed Fund",
    "syn-00042": "Atlas Growth II",
    "syn-00123": "Meridian Angels",
}


class View:
    def __init__(
        self,
        url: str,
        produced: list[int],
        expected: int,
        twilio: TwilioStandIn,
        ses: SesStandIn,
        copies: int = 0,
    ) -> None:
        self.copies = copies  # redelivered copies: consumed, but never a row
        self.url, self.produced, self.expected, self.twilio, self.ses = (
            url,
            produced,
            expected,
            twilio,
            ses,
        )
        self.samples: list[tuple[float, int]] = []
        self.first_row: float | None = None  # when the first transaction was stored
        self.average: float | None = None  # once everything is stored: the run's rate
        self.log: list[str] = []
        self.pool: dict | None = None

    def snapshot(self) -> dict:
        with db.connect(self.url) as conn:
            counts = rows_sync(conn, "devtools/demo_counts")[0]
            alerts = rows_sync(conn, "devtools/demo_latest_alerts")
            kinds = rows_sync(conn, "devtools/demo_alert_kinds")
            sent = rows_sync(conn, "devtools/demo_deliveries")
        return {
            **counts,
            "alerts": alerts,
            "kinds": {r["kind"]: r["alerts"] for r in kinds},
            "sent": {r["outcome"]: r["deliveries"] for r in sent},
        }

    def render(self) -> Group:
        s = self.snapshot()
        now = time.monotonic()
        self.samples = [(t, n) for t, n in self.samples if now - t < 2] + [(now, s["stored"])]
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        rate = (n1 - n0) / (t1 - t0) if t1 > t0 else 0
        if self.first_row is None and s["stored"]:
            self.first_row = now
        if self.average is None and self.first_row and s["stored"] >= self.expected:
            self.average = s["stored"] / max(now - self.first_row, 1e-3)
        # Once done, the live rate falls to 0: show what the run averaged instead.
        ingest = (
            f"ingest [bold]{rate:,.0f}[/] tx/s"
            if self.average is None
            else f"ingested at [bold]{self.average:,.0f}[/] tx/s"
        )
        # Two short rows rather than one that wraps inside its cells at 80 columns.
        head = Table.grid(padding=(0, 3))
        head.add_row(
            f"produced [bold]{self.produced[0]:,}[/]",
            f"stored [bold]{s['stored']:,}[/]/{self.expected:,}",
            f"behind [bold]{max(0, self.produced[0] - s['stored'] - s['dead'] - self.copies):,}[/]",
        )
        head.add_row(ingest, f"dead letters [bold]{s['dead']}[/]", "")
        alerts = Table(
            title=f"alerts: {s['kinds'].get('spike', 0)} spikes, {s['kinds'].get('large_transaction', 0)} large",
            expand=True,
        )
        for col in ("kind", "syndicate", "observed", "expected", "event time"):
            alerts.add_column(col)
        for a in s["alerts"]:
            kind, syndicate, observed, expected, at = (
                a["kind"],
                a["syndicate_id"],
                a["observed"],
                a["expected"],
                a["at"],
            )
            alerts.add_row(kind, SPIKED.get(syndicate, syndicate), f"{observed}", f"{expected}", at)
        deliveries = Table(
            title=f"deliveries: {len(self.twilio.delivered)} SMS, {len(self.ses.sent()) if self.ses.url else 0} emails"
            f" ({s['sent'].get('sms:held', 0) + s['sent'].get('sms:digested', 0)} SMS folded into digests)",
            expand=True,
        )
        deliveries.add_column("latest SMS to the fund manager (Twilio stand-in)")
        for message in self.twilio.delivered[-3:]:
            deliveries.add_row(message.body)
        top = Table(title="top investors", expand=True)
        for col in ("investor", "syndicates", "total invested"):
            top.add_column(col)
        for row in queries.top_investors(self.url, 5):
            top.add_row(row.investor_id, str(row.syndicate_count), f"{row.total_invested:,.2f}")
        parts: list = [head, alerts, deliveries, top]
        if self.log:
            parts.append("\n".join(self.log[-6:]))
        return Group(*parts)
