"""docker-compose.yml and the Dockerfile stay in step with the code (no Docker daemon here to run them)."""

from pathlib import Path

import yaml

from config import Settings
from pipeline.cli.main import app as cli

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {f"PULSE_{name.upper()}" for name in Settings.model_fields}
COMMANDS = {c.name or c.callback.__name__ for c in cli.registered_commands} | {
    g.name for g in cli.registered_groups
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_images_and_commands():
    services = compose()["services"]
    assert {"kafka", "postgres", "migrate", "worker-1", "worker-2", "notifier"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert (
        services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    )  # KRaft, no ZooKeeper
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["grant"]["command"] == ["db", "grant", "pulse_app"]
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["worker"]
    assert services["notifier"]["command"] == ["notifier"]
    for name in ("migrate", "worker-1", "worker-2", "notifier"):
        assert services[name]["image"] == "syndicate-pulse:latest"
        assert services[name]["command"][0] in COMMANDS  # a real `pulse` command


def test_every_pulse_variable_is_a_real_setting_and_points_at_the_services():
    services = compose()["services"]
    for name in ("migrate", "grant", "worker-1", "worker-2", "notifier"):
        env = services[name]["environment"]
        pulse_vars = {k for k in env if k.startswith("PULSE_")}
        assert pulse_vars <= SETTINGS, pulse_vars - SETTINGS
        Settings(
            **{
                k.removeprefix("PULSE_").lower(): v
                for k, v in env.items()
                if k.startswith("PULSE_") and v
            }
        )
        assert env["PULSE_KAFKA_URL"] == "kafka://kafka:9092"
        assert env["PULSE_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["PULSE_DATABASE_URL"]
        # The workers connect as the role without DDL; secrets are shared, never in the file.
        assert env["PULSE_DATABASE_URL"].startswith("postgresql://pulse_app:${")
        assert env["PULSE_MIGRATION_DATABASE_URL"].startswith("postgresql://pulse:")
        assert env["PULSE_JWT_SECRET"] == "${PULSE_JWT_SECRET:?set it}"
        assert env["PULSE_ENCRYPTION_KEYS"] == "${PULSE_ENCRYPTION_KEYS:?set it}"
    init = services["postgres"]["volumes"][1].split(":")[0]
    assert "CREATE ROLE pulse_app LOGIN" in (ROOT / init).read_text()
    workers = [
        services[n]["environment"]["PULSE_NOTIFIER_IN_WORKER"] for n in ("worker-1", "worker-2")
    ]
    assert workers == ["false", "false"]  # the notifier service sends


def test_dockerfile_runs_pulse_as_a_non_root_user_with_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2  # multi-stage
    assert "USER pulse" in text
    assert "HEALTHCHECK" in text
    assert 'ENTRYPOINT ["pulse"]' in text
    for package in ("config", "models", "pipeline", "agents", "tables", "sql"):
        assert f"COPY {package} {package}" in text
