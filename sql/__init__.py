"""Every SQL statement of the runtime, one named ``.sql`` file each, grouped by capability
(``sql/pools/``, ``sql/notify/``, ...). ``load("pools/pool")`` reads one; run them through
``pipeline.platform.queries``."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    return files(__name__).joinpath(f"{name}.sql").read_text()
