"""One disagreement between a derived state and its source of truth."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Difference:
    state: str  # aggregates, windows, alerts, pools
    subject: str  # what disagrees: "investor inv-1", "pool p-7", "alert <id>"
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.state}: {self.subject}: {self.detail}"
