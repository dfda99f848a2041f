"""Bearer tokens: issued and verified with the configured key only; every kind of bad token refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config import Settings
from models.access import Principal, Unauthenticated
from models.errors import PulseError
from pipeline.security import keyring
from pipeline.security.auth import decode_token, issue_token, parse_ttl, split_api_key

ANN = Principal.define("ann", "fund_manager", manager_id="m-1")
SECRET = "s" * 40


def hs256(tmp_path: Path, secret: str = SECRET) -> Settings:
    return Settings(jwt_secret=secret, data_dir=tmp_path)


def check(settings: Settings, token: str) -> dict:
    return decode_token(settings, keyring.token_keys(settings), token)


def test_a_token_round_trips_with_its_claims(tmp_path: Path):
    settings = hs256(tmp_path)
    claims = check(settings, issue_token(settings, ANN, timedelta(hours=1)))
    assert claims["sub"] == "ann"
    assert claims["role"] == "fund_manager"
    assert claims["aud"] == "syndicate-pulse-api"
    assert claims["iss"] == "syndicate-pulse"
    assert claims["exp"] - claims["iat"] == 3600


def test_an_expired_token_is_refused(tmp_path: Path):
    settings = hs256(tmp_path)
    old = datetime.now(UTC) - timedelta(hours=2)
    token = issue_token(settings, ANN, timedelta(hours=1), now=old)
    with pytest.raises(Unauthenticated, match="expired"):
        check(settings, token)


def test_a_token_signed_with_another_secret_is_refused(tmp_path: Path):
    forged = issue_token(hs256(tmp_path, "x" * 40), ANN, timedelta(hours=1))
    with pytest.raises(Unauthenticated, match="invalid token"):
        check(hs256(tmp_path), forged)


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(tmp_path: Path):
    settings = hs256(tmp_path)
    genuine = check(settings, issue_token(settings, ANN, timedelta(hours=1)))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(genuine | {'role': 'admin'})}."
    with pytest.raises(Unauthenticated):
        check(settings, unsigned)


def test_tampered_claims_are_refused(tmp_path: Path):
    settings = hs256(tmp_path)
    header, payload, signature = issue_token(settings, ANN, timedelta(hours=1)).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = f"{header}.{_b64(claims | {'role': 'admin'})}.{signature}"
    with pytest.raises(Unauthenticated):
        check(settings, tampered)


def test_wrong_audience_or_issuer_or_missing_claims_are_refused(tmp_path: Path):
    settings = hs256(tmp_path)
    now = datetime.now(UTC)
    base = {"sub": "ann", "role": "admin", "iat": now, "exp": now + timedelta(hours=1)}
    for claims in (
        base | {"aud": "other", "iss": "syndicate-pulse"},
        base | {"aud": "syndicate-pulse-api", "iss": "someone-else"},
        {"sub": "ann", "aud": "syndicate-pulse-api", "iss": "syndicate-pulse", "iat": now},
    ):
        with pytest.raises(Unauthenticated):
            check(settings, jwt.encode(claims, SECRET, algorithm="HS256"))


def _rsa_pair(tmp_path: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "jwt.key"
    public = tmp_path / "jwt.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_rs256_verifies_with_the_public_key_and_refuses_hs256_made_with_it(tmp_path: Path):
    private, public = _rsa_pair(tmp_path)
    issuer = Settings(jwt_public_key=str(public), jwt_private_key=str(private), data_dir=tmp_path)
    verifier = Settings(jwt_public_key=public.read_text(), data_dir=tmp_path)
    assert check(verifier, issue_token(issuer, ANN, timedelta(minutes=5)))["sub"] == "ann"
    with pytest.raises(PulseError, match="PULSE_JWT_PRIVATE_KEY"):
        issue_token(verifier, ANN, timedelta(minutes=5))
    # Algorithm confusion: an HS256 token whose "secret" is the public key must not pass.
    now = datetime.now(UTC)
    confused = jwt.api_jws.PyJWS().encode(
        json.dumps(
            {
                "sub": "ann",
                "role": "admin",
                "aud": "syndicate-pulse-api",
                "iss": "syndicate-pulse",
                "iat": int(now.timestamp()),
                "exp": int((now + timedelta(hours=1)).timestamp()),
            }
        ).encode(),
        b"k" * 32,
        algorithm="HS256",
    )
    with pytest.raises(Unauthenticated):
        check(verifier, confused)


def test_a_short_hs256_secret_is_refused(tmp_path: Path):
    with pytest.raises(PulseError, match="32 bytes"):
        keyring.token_keys(hs256(tmp_path, "short"))


def test_without_a_configured_secret_one_is_generated_once_and_kept_private(tmp_path: Path):
    settings = Settings(_env_file=None, data_dir=tmp_path, jwt_secret=None)
    first = keyring.token_keys(settings)
    second = keyring.token_keys(Settings(data_dir=tmp_path, jwt_secret=None))
    assert first == second
    assert len(str(first.signing)) >= 48
    assert (tmp_path / "secrets" / "jwt-secret").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800)]
)
def test_ttl_parsing(text: str, seconds: int):
    assert parse_ttl(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1", "1y", "-1h", "31d", "0s", "1.5h"])
def test_bad_ttls_are_refused(text: str):
    with pytest.raises(PulseError):
        parse_ttl(text)


def test_api_keys_split_into_id_and_secret_and_malformed_ones_are_refused():
    assert split_api_key("psk_0123456789abcdef_se_cr-et") == ("0123456789abcdef", "se_cr-et")
    for bad in ("pk_x_y", "psk_", "psk_nounderscore", "Bearer psk_a_b"):
        with pytest.raises(Unauthenticated):
            split_api_key(bad)
