"""Failed-attempt throttling: after ``limit`` failures within ``window`` seconds a key is refused
until the oldest of them is older than the window. Pure: the caller passes the clock."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class FailureThrottle:
    limit: int = 10
    window: float = 60.0
    max_keys: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> int:
        """Seconds until ``key`` may try again; 0 when it may now."""
        failures = self._failures.get(key)
        if not failures:
            return 0
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window - now))

    def failed(self, key: str, now: float) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._failures.clear()  # bounded memory under a flood of distinct keys
        self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)
