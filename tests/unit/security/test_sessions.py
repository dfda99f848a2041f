"""Session cookies and sign-in forms, without a database: what is signed, what is refused."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import make_mocked_request

from agents.console.pages import safe_next
from config import Settings
from pipeline.platform.db import LazyPool
from pipeline.security.middleware import cookie_values, same_origin
from pipeline.security.sessions import InvalidPassword, Sessions, check_password


def sessions(tmp_path, secret: str = "s" * 40) -> Sessions:
    settings = Settings(data_dir=tmp_path, console_secret=secret)
    return Sessions(settings, LazyPool(lambda: "postgresql://nowhere.invalid/x", max_size=1))


@pytest.mark.parametrize("password", ["short", "x" * 1025, "twelve chars\x00", "line\nbreak here"])
def test_passwords_that_cannot_be_set(password: str):
    with pytest.raises(InvalidPassword):
        check_password(password)


def test_a_sign_in_form_token_matches_only_its_own_signed_cookie(tmp_path):
    first = sessions(tmp_path)
    cookie, nonce = first.login_nonce()
    assert first.login_nonce_matches(cookie, nonce)
    _, other_nonce = first.login_nonce()
    assert not first.login_nonce_matches(cookie, other_nonce)
    assert not first.login_nonce_matches(nonce, nonce)  # an unsigned cookie
    assert not first.login_nonce_matches(None, nonce)
    assert not first.login_nonce_matches(cookie, None)
    # Another deployment's secret signs nothing here.
    assert not sessions(tmp_path, "t" * 40).login_nonce_matches(cookie, nonce)


def test_forged_or_mangled_session_cookies_are_refused_without_asking_the_database(tmp_path):
    # The database address cannot be reached: any lookup would raise.
    store = sessions(tmp_path)
    for cookie in (None, "", "planted", "abc.def", "x" * 600, "a.b.c.d"):
        assert asyncio.run(store.find(cookie)) is None


def test_a_short_console_secret_is_refused(tmp_path):
    from pipeline.security.keyring import KeyProblem

    with pytest.raises(KeyProblem):
        sessions(tmp_path, "too short")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/pools", "/console/pools"),
        ("//evil.example/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("/console/\\\\evil", "/console/"),
        ("/console/x\r\nSet-Cookie: a=b", "/console/"),
        ("/metrics", "/console/"),
        (None, "/console/"),
    ],
)
def test_after_sign_in_only_a_console_page_is_a_destination(target, expected):
    assert safe_next(target) == expected


def test_every_value_of_a_cookie_is_tried_and_another_origin_is_told_apart():
    request = make_mocked_request(
        "POST",
        "/console/alerts/x/ack",
        headers={
            "Cookie": 'pulse_session=planted; other=1; pulse_session="ours"',
            "Origin": "https://evil.example",
            "Host": "pulse.example",
        },
    )
    assert cookie_values(request, "pulse_session") == ["planted", "ours"]
    assert not same_origin(request)
    ours = make_mocked_request(
        "POST", "/", headers={"Origin": "http://pulse.example", "Host": "pulse.example"}
    )
    assert same_origin(ours)
    assert same_origin(make_mocked_request("POST", "/", headers={"Host": "pulse.example"}))
    # Behind a proxy that ends TLS: the browser's origin is the public address.
    proxied = make_mocked_request(
        "POST", "/", headers={"Origin": "https://pulse.example", "Host": "10.0.0.5:6066"}
    )
    assert not same_origin(proxied)
    assert same_origin(proxied, "https://pulse.example/")
    assert not same_origin(proxied, "https://other.example")
