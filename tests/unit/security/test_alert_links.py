"""The email's acknowledge link: one alert, one manager, expiring, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from config import Settings
from models.access import Principal, Unauthenticated
from pipeline.security import alert_links, keyring
from pipeline.security.auth import decode_token, issue_token

SETTINGS = Settings(jwt_secret="s" * 48, public_url="https://pulse.example/")


def test_a_link_names_its_alert_and_manager() -> None:
    url = alert_links.url(SETTINGS, "a-1", "m-1")
    assert url.startswith("https://pulse.example/alerts/ack?token=")
    link = alert_links.verify(SETTINGS, url.split("token=", 1)[1])
    assert link == alert_links.AckLink("a-1", "m-1")


def test_an_expired_altered_or_foreign_link_is_refused() -> None:
    old = alert_links.issue(SETTINGS, "a-1", "m-1", now=datetime.now(UTC) - timedelta(days=4))
    with pytest.raises(alert_links.InvalidLink, match="expired"):
        alert_links.verify(SETTINGS, old)
    token = alert_links.issue(SETTINGS, "a-1", "m-1")
    header, _, signature = token.split(".")
    forged_claims = jwt.encode({"alert_id": "a-2"}, "k" * 32).split(".")[1]
    for bad in (f"{header}.{forged_claims}.{signature}", token + "x", "", "not.a.token"):
        with pytest.raises(alert_links.InvalidLink):
            alert_links.verify(SETTINGS, bad)
    other = Settings(jwt_secret="t" * 48)
    with pytest.raises(alert_links.InvalidLink):
        alert_links.verify(other, token)


def test_a_link_is_not_a_bearer_token_and_a_bearer_token_is_not_a_link() -> None:
    keys = keyring.token_keys(SETTINGS)
    with pytest.raises(Unauthenticated):
        decode_token(SETTINGS, keys, alert_links.issue(SETTINGS, "a-1", "m-1"))
    bearer = issue_token(SETTINGS, Principal.define("root", "admin"), timedelta(hours=1))
    with pytest.raises(alert_links.InvalidLink):
        alert_links.verify(SETTINGS, bearer)
