"""Settings: one pydantic-settings object, read from ``PULSE_*`` environment variables.

Unset ``PULSE_KAFKA_URL`` / ``PULSE_DATABASE_URL`` mean "use the embedded local stack"
started by ``pulse local up``; its URLs are recorded under ``PULSE_DATA_DIR``.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.alert_status import MAX_ESCALATE_AFTER
from models.anomaly import DEFAULT_EVIDENCE, MAX_EVIDENCE
from models.errors import PulseError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", extra="ignore")

    kafka_url: str | None = Field(
        default=None,
        description="Kafka bootstrap URL, e.g. kafka://127.0.0.1:9092. Unset: embedded broker.",
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL, postgresql://... Unset: embedded PostgreSQL."
    )
    data_dir: Path = Field(
        default=Path(".pulse"), description="Local state: embedded stack, RocksDB tables."
    )
    web_port: int = Field(default=6066, description="Port of the Faust web server (stats, API).")
    web_bind: str = Field(default="127.0.0.1", description="Address the Faust web server binds to.")
    public_url: str | None = Field(
        default=None,
        description="Where Twilio's webhooks and email links reach the web server, e.g. https://pulse.example.com. Unset: http://127.0.0.1:<PULSE_WEB_PORT>.",
    )
    ack_link_ttl_seconds: int = Field(
        default=3 * 24 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="How long the acknowledge link in an alert email stays valid (seconds).",
    )
    topic_partitions: int = Field(
        default=4, ge=1, description="Partitions of the topics this app creates."
    )
    app_id: str = Field(
        default="syndicate-pulse", description="Faust app id = Kafka consumer group."
    )
    log_level: str = Field(
        default="info", description="Worker log level: crit, error, warn, info, debug."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text or as JSON objects."
    )

    sink_batch_size: int = Field(
        default=2000, ge=1, description="Most transactions written per database batch."
    )
    sink_batch_seconds: float = Field(
        default=0.01, gt=0, description="Longest wait to fill a batch before writing it (seconds)."
    )
    fetch_max_wait_ms: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Longest time the broker may hold a fetch; bounds alert latency.",
    )
    commit_interval: float = Field(
        default=0.5, gt=0, description="How often the worker commits consumed offsets (seconds)."
    )
    commit_every: int = Field(
        default=2000,
        ge=1,
        description="Also commit consumed offsets after this many acknowledged messages.",
    )
    session_timeout: float = Field(
        default=3.0,
        ge=1.0,
        le=300.0,
        description="A worker that stops heartbeating leaves the group after this long (seconds).",
    )
    table_standby_replicas: int = Field(
        default=1,
        ge=0,
        le=3,
        description="Other workers that keep a warm copy of each partition's spike windows.",
    )

    default_threshold: Decimal = Field(
        default=Decimal("10000.00"),
        description="Large-transaction threshold for syndicates without their own.",
    )
    spike_multiplier: Decimal = Field(
        default=Decimal("10"),
        gt=0,
        description=(
            "Spike when a window of 1 to 5 minutes holds what a rise to this many times the hourly"
            " average rate gives (at least that count, or a count such a rise gives one time in three)."
        ),
    )
    spike_min_count: int = Field(
        default=5, ge=1, description="Fewest transactions in a window that can be a spike."
    )
    spike_evidence: Decimal = Field(
        default=DEFAULT_EVIDENCE,
        ge=2,
        le=MAX_EVIDENCE,
        description=(
            "Spike only when chance would give such a count less than once in this many (per 5"
            " minutes of windows that long)."
        ),
    )
    default_escalate_after: int = Field(
        default=900,
        ge=0,
        le=MAX_ESCALATE_AFTER,
        description="Seconds an alert may stay open before the next level of managers hears of it (0: never).",
    )
    max_future_seconds: int = Field(
        default=300,
        ge=0,
        description="A transaction dated further ahead of the worker's clock is dead-lettered as future_date.",
    )
    late_event_seconds: int = Field(
        default=120,
        ge=0,
        description="Events this far behind their syndicate's newest event time still count in spike windows.",
    )

    twilio_account_sid: str | None = Field(
        default=None, description="Twilio account SID; SMS is off without it."
    )
    twilio_auth_token: SecretStr | None = Field(default=None, description="Twilio auth token.")
    twilio_from: str | None = Field(default=None, description="Sender number for SMS, E.164.")
    twilio_api_url: str | None = Field(
        default=None, description="Base URL of the Twilio API (tests, proxies). Unset: Twilio's."
    )
    email_from: str | None = Field(
        default=None,
        description="Sender address for email via SES (boto3 configuration: AWS_REGION, AWS_ENDPOINT_URL_SES).",
    )
    notify_retry_delays: str = Field(
        default="30,120,600,3600",
        description="Seconds before each retry of a notification; then it fails.",
    )
    storm_max_per_window: int = Field(
        default=5,
        ge=1,
        description="Most SMS (and emails) per manager per 10 minutes; the rest go in a digest.",
    )
    notifier_in_worker: bool = Field(
        default=True, description="Run the notification sender inside pulse worker."
    )
    notifier_poll_seconds: float = Field(
        default=0.2, gt=0, description="How often the sender looks for due notifications."
    )
    notifier_lease_seconds: int = Field(
        default=60,
        ge=5,
        description="A claimed notification is retried after this long without an outcome.",
    )

    auth_failure_limit: int = Field(
        default=10,
        ge=1,
        description="Failed authentications per client address (and per API key id) before 429 with Retry-After.",
    )
    auth_failure_window_seconds: float = Field(
        default=60.0, gt=0, description="The window in which failed authentications are counted."
    )
    auth_enabled: bool = Field(
        default=True,
        description="Require a bearer token or API key on every HTTP route but /health. Off: the web server must bind to a loopback address.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 secret that signs and verifies bearer tokens. Unset (and no public key): one is generated under PULSE_DATA_DIR.",
    )
    jwt_public_key: str | None = Field(
        default=None,
        description="RS256 public key (PEM text or file path) that verifies bearer tokens instead of the HS256 secret.",
    )
    jwt_private_key: SecretStr | None = Field(
        default=None,
        description="RS256 private key (PEM text or file path) that pulse tokens issue signs with.",
    )
    jwt_issuer: str = Field(default="syndicate-pulse", description="Issuer (iss) of bearer tokens.")
    jwt_audience: str = Field(
        default="syndicate-pulse-api", description="Audience (aud) bearer tokens must name."
    )
    console_session_seconds: int = Field(
        default=8 * 3600,
        ge=60,
        le=30 * 86400,
        description="How long a console sign-in lasts before the user signs in again.",
    )
    console_secret: SecretStr | None = Field(
        default=None,
        description="Secret that signs console session cookies (at least 32 bytes). Unset: one is generated under PULSE_DATA_DIR.",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys for personal data at rest, comma-separated, newest first. Unset: one is generated under PULSE_DATA_DIR.",
    )
    kms_key_id: str | None = Field(
        default=None,
        description="AWS KMS key id: PULSE_ENCRYPTION_KEYS then hold KMS-encrypted data keys, decrypted at start.",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest HTTP request body accepted (bytes)."
    )
    max_json_depth: int = Field(
        default=8,
        ge=2,
        description="Deepest nesting of arrays and objects accepted in a JSON body.",
    )
    database_read_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of a read replica for the read-only paths. Unset: PULSE_DATABASE_URL.",
    )
    partition_months_ahead: int = Field(
        default=3,
        ge=0,
        le=120,
        description="Monthly partitions of transactions each worker makes ahead of time.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the schema owner for pulse db upgrade/grant. Unset: PULSE_DATABASE_URL.",
    )
    database_sslmode: str | None = Field(
        default=None,
        description="libpq sslmode for PostgreSQL, e.g. verify-full. Unset: as in the URL.",
    )
    database_sslrootcert: str | None = Field(
        default=None, description="CA file that verifies the PostgreSQL server certificate."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="Kafka security protocol."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="Kafka SASL mechanism (with SASL_* protocols)."
    )
    kafka_sasl_username: str | None = Field(default=None, description="Kafka SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="Kafka SASL password.")
    kafka_ssl_cafile: str | None = Field(
        default=None, description="CA file that verifies the Kafka brokers' certificates."
    )

    def kafka_bootstrap(self) -> str:
        """``host:port`` list for aiokafka."""
        url = self.resolved_kafka_url()
        return ",".join(part.split("://", 1)[-1] for part in url.split(";"))

    def resolved_kafka_url(self) -> str:
        if not self.kafka_url:
            raise UnsetAddress("PULSE_KAFKA_URL")
        return self.kafka_url

    def resolved_public_url(self) -> str:
        """The web server's address as the outside world calls it, without a trailing slash."""
        return (self.public_url or f"http://127.0.0.1:{self.web_port}").rstrip("/")

    def resolved_database_url(self) -> str:
        if not self.database_url:
            raise UnsetAddress("PULSE_DATABASE_URL")
        return self.with_database_tls(self.database_url)

    def resolved_read_url(self) -> str:
        """Where the read-only paths read (top-5, alert and position listings, console pages,
        backtest): the replica if there is one. Writes, and reads that must see their own writes,
        stay on the primary."""
        if self.database_read_url:
            return self.with_database_tls(self.database_read_url)
        return self.resolved_database_url()

    def resolved_migration_url(self) -> str:
        """The owner's URL: migrations and grants run as the owner, the app as a role without DDL."""
        if self.migration_database_url:
            return self.with_database_tls(self.migration_database_url)
        return self.resolved_database_url()

    def with_database_tls(self, url: str) -> str:
        """The URL with the configured sslmode and CA file as libpq query parameters."""
        params = {"sslmode": self.database_sslmode, "sslrootcert": self.database_sslrootcert}
        if not any(params.values()):
            return url
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if params.get(k) is None]
        query += [(k, v) for k, v in params.items() if v is not None]
        return urlunsplit(parts._replace(query=urlencode(query)))


class UnsetAddress(PulseError):
    """Raised by code that needs a service's address when the settings have none. The ``pulse``
    commands fill in the embedded stack's addresses before they get this far."""

    def __init__(self, variable: str) -> None:
        super().__init__(
            f"{variable} is not set: set it, or start the embedded stack with `pulse local up`"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
