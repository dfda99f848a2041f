"""Kafka transport security: the one place that turns settings into client credentials.

The Faust app and every plain aiokafka client (producer, DLQ tools, topic admin, notifier) take their
security options from here, so ``SASL_SSL`` with SCRAM and a CA file reach all of them alike.
"""

from __future__ import annotations

import ssl
from typing import Any

from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from faust.types.auth import CredentialsT

from config import Settings, get_settings
from models.errors import PulseError


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifying context: the configured CA file, else the system's trust store."""
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def kafka_credentials(settings: Settings) -> CredentialsT | None:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return SSLCredentials(ssl_context(settings))
    if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
        raise PulseError(
            f"PULSE_KAFKA_SECURITY_PROTOCOL={protocol} needs PULSE_KAFKA_SASL_USERNAME and"
            " PULSE_KAFKA_SASL_PASSWORD"
        )
    return SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        mechanism=settings.kafka_sasl_mechanism,
        ssl_context=ssl_context(settings) if protocol == "SASL_SSL" else None,
    )


def kafka_client_options(settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer / AIOKafkaConsumer / AIOKafkaAdminClient."""
    settings = settings or get_settings()
    return dict(credentials_to_aiokafka_auth(kafka_credentials(settings)))
