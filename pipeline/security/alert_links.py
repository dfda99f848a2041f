"""The one-click acknowledge link in an alert email: a signed, expiring token that names one alert
and the manager it was sent to, and can do nothing else.

Signed with the bearer tokens' keys under an audience of its own: it is not a bearer token (the API
refuses its audience and it carries no role), and a bearer token is not a link (no alert in it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from config import Settings
from models.errors import PulseError
from pipeline.security import keyring

AUDIENCE = "syndicate-pulse-alert-ack"


class InvalidLink(PulseError):
    """A link that is forged, altered, expired or not an acknowledge link."""


@dataclass(frozen=True)
class AckLink:
    alert_id: str
    manager_id: str


def issue(settings: Settings, alert_id: str, manager_id: str, now: datetime | None = None) -> str:
    keys = keyring.token_keys(settings)
    if keys.signing is None:
        raise PulseError("acknowledge links: this process has no key to sign with")
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(manager_id),
        "alert_id": str(alert_id),
        "aud": AUDIENCE,
        "iss": settings.jwt_issuer,
        "iat": issued,
        "exp": issued + timedelta(seconds=settings.ack_link_ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, keys.signing, algorithm=keys.algorithm)


def verify(settings: Settings, token: str) -> AckLink:
    keys = keyring.token_keys(settings)
    try:
        claims = jwt.decode(
            token,
            keys.verifying,
            algorithms=[keys.algorithm],
            audience=AUDIENCE,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "alert_id"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidLink("this link has expired; acknowledge the alert in the console") from None
    except jwt.InvalidTokenError:
        raise InvalidLink("this link is not valid") from None
    alert_id, manager_id = claims.get("alert_id"), claims.get("sub")
    if not isinstance(alert_id, str) or not isinstance(manager_id, str):
        raise InvalidLink("this link is not valid")
    return AckLink(alert_id, manager_id)


def url(settings: Settings, alert_id: str, manager_id: str) -> str:
    return (
        f"{settings.resolved_public_url()}/alerts/ack?token={issue(settings, alert_id, manager_id)}"
    )
