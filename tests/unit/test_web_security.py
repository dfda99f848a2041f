"""With auth off, the web server may only listen on this machine."""

from __future__ import annotations

import pytest

from config import Settings
from pipeline.web_security import InsecureBind, check_bind


@pytest.mark.parametrize("bind", ["127.0.0.1", "::1", "localhost", "127.0.0.5"])
def test_auth_off_is_allowed_on_loopback(bind: str):
    check_bind(Settings(auth_enabled=False, web_bind=bind))


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.0.0.7", "pulse.example"])
def test_auth_off_is_refused_beyond_loopback(bind: str):
    with pytest.raises(InsecureBind, match="loopback"):
        check_bind(Settings(auth_enabled=False, web_bind=bind))
    check_bind(Settings(auth_enabled=True, web_bind=bind))
