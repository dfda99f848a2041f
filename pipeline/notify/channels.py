"""Delivery channels over the providers' real client libraries: Twilio (SMS), SES via boto3 (email), log."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Protocol

from config import Settings
from models.errors import PulseError
from models.notification import Channel

log = logging.getLogger("pulse.notifications")


class DeliveryError(PulseError):
    """A provider did not take the message. ``permanent``: retrying cannot help."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Sender(Protocol):
    async def send(self, to: str, subject: str, body: str) -> str:
        """Deliver; return the provider's message id or raise DeliveryError."""
        ...


# The longest one provider call can take (connect and read): a claim's lease must outlast it.
PROVIDER_TIMEOUT_SECONDS = 15.0


class SmsSender:
    def __init__(self, settings: Settings) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        assert settings.twilio_auth_token is not None
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=TwilioHttpClient(timeout=10),
        )
        if settings.twilio_api_url:
            self._client.api.base_url = settings.twilio_api_url.rstrip("/")
        self._from = settings.twilio_from

    async def send(self, to: str, subject: str, body: str) -> str:
        from requests import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            message = await asyncio.to_thread(
                self._client.messages.create, to=to, from_=self._from, body=body
            )
        except TwilioRestException as exc:
            transient = exc.status in (408, 409, 429) or exc.status >= 500
            raise DeliveryError(
                f"twilio {exc.status}: {exc.msg}", permanent=not transient
            ) from None
        except (RequestException, TwilioException, OSError) as exc:
            raise DeliveryError(
                f"twilio unreachable: {type(exc).__name__}", permanent=False
            ) from None
        return str(message.sid)


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        self._client = boto3.client(
            "ses",
            region_name=_aws_region(),
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
        )
        self._from = settings.email_from

    async def send(self, to: str, subject: str, body: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = await asyncio.to_thread(
                self._client.send_email,
                Source=self._from,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = error.get("Code", "")
            transient = status >= 500 or status == 429 or "Throttl" in code
            raise DeliveryError(
                f"ses {code}: {error.get('Message', '')}", permanent=not transient
            ) from None
        except (BotoCoreError, OSError) as exc:
            raise DeliveryError(f"ses unreachable: {type(exc).__name__}", permanent=False) from None
        return str(response["MessageId"])


class LogSender:
    async def send(self, to: str, subject: str, body: str) -> str:
        log.info("alert for %s: %s", to, body)
        return "log"


def available_senders(settings: Settings) -> dict[Channel, Sender]:
    """The channels that can be used; a channel without credentials is off, with one warning."""
    senders: dict[Channel, Sender] = {Channel.LOG: LogSender()}
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        senders[Channel.SMS] = SmsSender(settings)
    else:
        log.warning(
            "SMS is off: set PULSE_TWILIO_ACCOUNT_SID, PULSE_TWILIO_AUTH_TOKEN and PULSE_TWILIO_FROM"
        )
    if settings.email_from and _aws_credentials():
        senders[Channel.EMAIL] = EmailSender(settings)
    else:
        log.warning("email is off: set PULSE_EMAIL_FROM and AWS credentials/region for SES")
    return senders


def _aws_region() -> str | None:
    """boto3's region (AWS_DEFAULT_REGION, profile), else AWS_REGION, which boto3 alone does not read."""
    import boto3

    return boto3.session.Session().region_name or os.environ.get("AWS_REGION")


def _aws_credentials() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None and _aws_region() is not None
