"""SQL kept as .sql files; ``load(name)`` reads one."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def load(name: str) -> str:
    return files(__name__).joinpath(f"{name}.sql").read_text()
