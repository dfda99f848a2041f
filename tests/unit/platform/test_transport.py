"""Transport security settings reach the clients: Kafka SASL_SSL/SCRAM with a CA, Postgres TLS."""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg.conninfo
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config import Settings
from models.errors import PulseError
from pipeline.bootstrap import bootstrap
from pipeline.platform.db import libpq_url, sqlalchemy_url
from pipeline.platform.transport import kafka_client_options, kafka_credentials


def ca_file(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pulse Test CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_sasl_ssl_with_scram_and_a_ca_file_reaches_aiokafka_clients(tmp_path: Path):
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="pulse",
        kafka_sasl_password="s3cret",
        kafka_ssl_cafile=str(ca_file(tmp_path)),
    )
    options = kafka_client_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_username"] == "pulse"
    assert options["sasl_plain_password"] == "s3cret"
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    subjects = [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()]
    assert {"commonName": "Pulse Test CA"} in subjects


def test_the_faust_app_gets_the_same_credentials(tmp_path: Path):
    # The composition root builds a worker for any settings, in this process.
    settings = Settings(
        kafka_url="kafka://broker.example:9093",
        database_url="postgresql://db.example/pulse",
        data_dir=tmp_path,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="pulse",
        kafka_sasl_password="s3cret",
        kafka_ssl_cafile=str(ca_file(tmp_path)),
    )
    c = bootstrap(settings).conf.broker_credentials
    assert (c.protocol.value, c.mechanism.value, c.username) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "pulse",
    )
    assert len(c.ssl_context.get_ca_certs()) == 1


def test_plaintext_is_the_default_and_sasl_needs_a_user(tmp_path: Path):
    assert kafka_credentials(Settings()) is None
    assert kafka_client_options(Settings()) == {"security_protocol": "PLAINTEXT"}
    with pytest.raises(PulseError, match="SASL_USERNAME"):
        kafka_credentials(Settings(kafka_security_protocol="SASL_SSL"))


def test_postgres_sslmode_and_root_cert_reach_libpq_and_sqlalchemy():
    settings = Settings(
        database_url="postgresql://pulse_app:pw@db.example:5432/pulse?application_name=pulse",
        database_sslmode="verify-full",
        database_sslrootcert="/etc/pulse/pg-ca.pem",
        migration_database_url="postgresql://owner@db.example/pulse?sslmode=disable",
    )
    for url in (settings.resolved_database_url(), settings.resolved_migration_url()):
        params = psycopg.conninfo.conninfo_to_dict(libpq_url(url))
        assert params["sslmode"] == "verify-full"  # the setting wins over the URL's own
        assert params["sslrootcert"] == "/etc/pulse/pg-ca.pem"
        assert sqlalchemy_url(url).startswith("postgresql+psycopg://")
    app_params = psycopg.conninfo.conninfo_to_dict(settings.resolved_database_url())
    assert app_params["user"] == "pulse_app"
    assert app_params["application_name"] == "pulse"
    assert psycopg.conninfo.conninfo_to_dict(
        Settings(database_url="postgresql://u@h/d").resolved_database_url()
    ) == {"user": "u", "host": "h", "dbname": "d"}


def test_verify_full_is_enforced_by_libpq():
    """Not only passed along: libpq refuses to go on when the server cannot do TLS."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def no_tls() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(8)  # SSLRequest
            conn.sendall(b"N")  # "I do not speak TLS"

    thread = threading.Thread(target=no_tls, daemon=True)
    thread.start()
    settings = Settings(
        database_url=f"postgresql://pulse@127.0.0.1:{port}/pulse", database_sslmode="verify-full"
    )
    try:
        with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
            psycopg.connect(settings.resolved_database_url(), connect_timeout=5)
    finally:
        thread.join(5)
        server.close()
