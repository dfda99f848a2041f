"""docker-compose.yml and the Dockerfile stay in step with the code (no Docker daemon here to run them)."""

import os
import subprocess
import sys
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
    assert {"kafka", "postgres", "migrate", "worker-1", "worker-2"} <= set(services)
    assert {"nginx", "prometheus", "grafana"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert (
        services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    )  # KRaft, no ZooKeeper
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["grant"]["command"] == ["db", "grant", "pulse_app"]
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"] == ["worker"]
    for name in ("migrate", "worker-1", "worker-2"):
        assert services[name]["image"] == "syndicate-pulse:latest"
        assert services[name]["command"][0] in COMMANDS  # a real `pulse` command


def test_every_pulse_variable_is_a_real_setting_and_points_at_the_services():
    services = compose()["services"]
    for name in ("migrate", "grant", "worker-1", "worker-2"):
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
    # Each worker sends notifications (claims are fenced): its /metrics has their outcomes.
    for name in ("worker-1", "worker-2"):
        env = services[name]["environment"]
        assert env.get("PULSE_NOTIFIER_IN_WORKER", "true") != "false"


def test_dockerfile_runs_pulse_as_a_non_root_user_with_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM ") >= 2  # multi-stage
    assert "USER pulse" in text
    assert "HEALTHCHECK" in text
    assert 'ENTRYPOINT ["pulse"]' in text
    for package in ("config", "models", "pipeline", "agents", "tables", "sql"):
        assert f"COPY {package} {package}" in text


ENV = {
    "PULSE_APP_DB_PASSWORD": "app",
    "PULSE_JWT_SECRET": "jwt",
    "PULSE_ENCRYPTION_KEYS": "keys",
    "GRAFANA_ADMIN_PASSWORD": "grafana",
}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The file as a compose implementation reads it (podman-compose, from PyPI; --dry-run runs
    nothing, so no container engine is needed)."""
    return subprocess.run(
        [sys.executable, "-m", "podman_compose", "--dry-run", "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_compose_implementation_reads_the_file_and_its_mounts_exist():
    result = compose_config(ENV)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", ()):
            assert dependency in services, f"{name} depends on {dependency}"
        for volume in service.get("volumes", ()):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}"
    assert services["worker-1"]["environment"]["PULSE_DATABASE_URL"].startswith(
        "postgresql://pulse_app:app@postgres"
    )
    # Secrets come from the environment: without them the file does not resolve.
    refused = compose_config({k: v for k, v in ENV.items() if k != "PULSE_JWT_SECRET"})
    assert refused.returncode != 0
    assert "PULSE_JWT_SECRET" in refused.stderr


def test_nginx_and_prometheus_point_at_the_workers_with_the_apps_limits():
    services = compose()["services"]
    nginx = (ROOT / "deploy/nginx/nginx.conf").read_text()
    limit_kib = Settings().max_body_bytes // 1024
    assert f"client_max_body_size {limit_kib}k;" in nginx
    for worker in ("worker-1", "worker-2"):
        assert f"server {worker}:6066" in nginx
        assert worker in str(
            yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
        )
    assert "proxy_set_header X-Request-Id" in nginx
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = prometheus["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["credentials_file"] == "/run/secrets/pulse_ops_api_key"
    assert "pulse_ops_api_key" in services["prometheus"]["secrets"]
