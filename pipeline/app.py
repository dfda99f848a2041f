"""Where Faust's own command line finds the worker: ``faust -A pipeline.app worker``.

The app is built on first access, through the composition root, with the settings from the
environment (and the running embedded stack's addresses where those name none); importing this
module builds nothing.
"""

from __future__ import annotations

from typing import Any

_built: dict[str, Any] = {}


def __getattr__(name: str) -> Any:
    if name != "app":
        raise AttributeError(name)
    if "app" not in _built:
        from config import get_settings
        from pipeline.bootstrap import bootstrap
        from pipeline.devtools.local_stack import with_embedded_defaults

        _built["app"] = bootstrap(with_embedded_defaults(get_settings()))
    return _built["app"]
