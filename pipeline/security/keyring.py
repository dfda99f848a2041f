"""Secrets: the token-signing key and the keys that encrypt personal data, from settings.

Production sets ``PULSE_JWT_SECRET`` (or an RS256 key pair) and ``PULSE_ENCRYPTION_KEYS``. When they
are unset, one of each is generated once under ``PULSE_DATA_DIR/secrets`` (mode 0600), so the embedded
demo is secure by default and the CLI and the worker on one machine agree on them.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from pydantic import SecretStr

from config import Settings
from models.errors import PulseError

log = logging.getLogger(__name__)


class KeyProblem(PulseError):
    """A configured key cannot be read or used."""


def _local_secret(settings: Settings, name: str, make: Callable[[], str]) -> str:
    folder = settings.data_dir / "secrets"
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".{name}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            # link, not rename: when two processes race, the first one's key wins for both.
            os.link(tmp, path)
            log.warning("generated %s under %s; set it in production", name, folder)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _pem(value: str) -> bytes:
    """PEM text, or the path of a file holding it."""
    if "-----BEGIN" in value:
        return value.encode()
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise KeyProblem(f"cannot read key file {value}: {exc.strerror}") from None


@dataclass(frozen=True)
class TokenKeys:
    algorithm: str
    signing: str | bytes | None  # None: this process can verify but not issue
    verifying: str | bytes


def token_keys(settings: Settings) -> TokenKeys:
    if settings.jwt_public_key:
        private = settings.jwt_private_key
        return TokenKeys(
            "RS256",
            _pem(private.get_secret_value()) if private else None,
            _pem(settings.jwt_public_key),
        )
    secret = _signing_secret(
        settings,
        settings.jwt_secret,
        "jwt-secret",
        "PULSE_JWT_SECRET must be at least 32 bytes for HS256",
    )
    return TokenKeys("HS256", secret, secret)


def console_secret(settings: Settings) -> str:
    """The key that signs console session cookies: its own, so rotating it signs out only the
    console, not every bearer token."""
    return _signing_secret(
        settings,
        settings.console_secret,
        "console-secret",
        "PULSE_CONSOLE_SECRET must be at least 32 bytes",
    )


def _signing_secret(
    settings: Settings, configured: SecretStr | None, file_name: str, too_short: str
) -> str:
    """An HMAC key: the configured one, else one generated under the data directory; at least 32
    bytes either way."""
    if configured is not None:
        secret = configured.get_secret_value()
    else:
        secret = _local_secret(settings, file_name, lambda: secrets.token_urlsafe(48))
    if len(secret.encode()) < 32:
        raise KeyProblem(too_short)
    return secret


def encryption_keys(settings: Settings) -> list[bytes]:
    """Fernet keys, newest first; KMS-wrapped data keys are unwrapped through AWS KMS."""
    if settings.encryption_keys is not None:
        given = settings.encryption_keys.get_secret_value().split(",")
        keys = [k.strip().encode() for k in given if k.strip()]
    else:
        keys = [
            _local_secret(
                settings, "encryption-key", lambda: Fernet.generate_key().decode()
            ).encode()
        ]
    if not keys:
        raise KeyProblem("PULSE_ENCRYPTION_KEYS holds no key")
    if settings.kms_key_id and settings.encryption_keys is not None:
        keys = [unwrap_with_kms(settings, k) for k in keys]
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise KeyProblem(
                "an encryption key is not a Fernet key (32 url-safe base64 bytes)"
            ) from None
    return keys


def cipher(settings: Settings) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in encryption_keys(settings)])


def _kms(settings: Settings):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("kms")


def unwrap_with_kms(settings: Settings, wrapped: bytes) -> bytes:
    """A data key KMS generated for us, stored encrypted: decrypt it, use it as the Fernet key."""
    try:
        plain = _kms(settings).decrypt(
            CiphertextBlob=base64.b64decode(wrapped), KeyId=settings.kms_key_id
        )["Plaintext"]
    except Exception as exc:
        raise KeyProblem(f"KMS could not decrypt a data key: {exc}") from None
    return base64.urlsafe_b64encode(plain)


def new_encryption_key(settings: Settings) -> str:
    """A new key to put first in PULSE_ENCRYPTION_KEYS; KMS-wrapped when PULSE_KMS_KEY_ID is set."""
    if not settings.kms_key_id:
        return Fernet.generate_key().decode()
    response = _kms(settings).generate_data_key(KeyId=settings.kms_key_id, NumberOfBytes=32)
    return base64.b64encode(response["CiphertextBlob"]).decode()
