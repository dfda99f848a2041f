import json
import logging
import logging.config

import pytest

from pipeline.platform.logs import logging_config, redact


def test_redaction_removes_emails_and_phone_numbers():
    assert (
        redact("sent to ann@fund.example and +14155550123 ok") == "sent to [email] and [phone] ok"
    )
    assert redact("syndicate syn-42, amount 1500.25") == "syndicate syn-42, amount 1500.25"


def test_redaction_removes_tokens_api_keys_and_ciphertexts():
    from cryptography.fernet import Fernet

    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    key = "psk_0123456789abcdef_Zm9vYmFyLWJhei1xdXV4LXNlY3JldA"
    sealed = Fernet(Fernet.generate_key()).encrypt(b"Ann Investor").decode()
    line = redact(f"Authorization: Bearer {token} X-API-Key: {key} name={sealed}")
    assert line == "Authorization: Bearer [token] X-API-Key: [api-key] name=[encrypted]"


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_no_personal_data_reaches_a_log_line(fmt, capsys, restore_root_logger):
    logging.config.dictConfig(logging_config("info", fmt))
    log = logging.getLogger("pulse.test")
    log.info("alert for %s at %s", "ann@fund.example", "+14155550123")
    try:
        raise ValueError("bad address bob@fund.example")
    except ValueError:
        log.exception("failed")
    err = capsys.readouterr().err
    assert "fund.example" not in err
    assert "4155550123" not in err
    assert "[email]" in err
    if fmt == "json":
        first, second = (json.loads(line) for line in err.strip().splitlines()[:2])
        assert first["message"] == "alert for [email] at [phone]"
        assert first["level"] == "info"
        assert first["logger"] == "pulse.test"
        assert "[email]" in second["exception"]


@pytest.mark.parametrize("level", ["warn", "error"])
def test_a_worker_at_warn_or_above_does_not_build_debug_records(
    level, tmp_path, restore_root_logger
):
    """Faust's own worker turns the root logger to DEBUG for its terminal spinner at these levels,
    so every debug call in Faust and aiokafka would build a record; the service worker does not."""
    from config import Settings
    from pipeline.platform.faust_app import create_app

    settings = Settings(data_dir=tmp_path, log_level=level, kafka_url="kafka://127.0.0.1:9")
    app = create_app(settings)
    worker = app.conf.Worker(app, loglevel=level, logging_config=app.conf.logging_config)
    worker._setup_logging()
    assert not logging.getLogger("aiokafka").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("pulse").isEnabledFor(logging.ERROR)
