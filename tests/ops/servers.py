"""Real processes for the operations tests: gunicorn with gunicorn.conf.py, manage.py commands and
workers, started as an operator would start them (environment variables only), on this helper's
ports (8100-8199) and on the test database, and always stopped by the fixture that started them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
VENV_BIN = Path(sys.executable).parent
PORT_RANGE = range(8100, 8200)
BOOT_WAIT = 30.0  # seconds: a server that does not answer by then has failed to start
TEST_SECRET_KEY = "ops-tests-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"

# What an operator's environment would not carry over from this test process.
_NOT_INHERITED = {"DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "DATABASE_URL", "TASKS_BACKEND",
                  "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "LOG_FORMAT", "METRICS_TOKEN", "HTTPS_ONLY",
                  "STATIC_ROOT", "HOST", "PORT", "GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS",
                  "WEBHOOK_ALLOW_PRIVATE_TARGETS", "WORKER_METRICS_PORT", "CONN_HEALTH_CHECKS",
                  "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_PRELOAD", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}


_handed_out: set[int] = set()


def free_port() -> int:
    """A port of 8100-8199 that nothing listens on and that this run has not handed out yet."""
    for port in PORT_RANGE:
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port in 8100-8199")


def run_database_url() -> str:
    """The database this test run uses (pytest-django's test_<name>), as a DATABASE_URL."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("only a PostgreSQL test database is reachable from another process")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def tasks_env() -> dict[str, str]:
    """The task backend of this run (make test-rq runs on Redis), for the processes it starts."""
    if getattr(settings, "RQ_ENABLED", False):
        return {"TASKS_BACKEND": settings.TASKS_BACKEND, "REDIS_URL": settings.REDIS_URL}
    return {}


def process_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    env.update(DJANGO_SETTINGS_MODULE="oms.settings", ENV_FILE=os.devnull, SECRET_KEY=TEST_SECRET_KEY,
               PYTHONUNBUFFERED="1")
    env.update({key: str(value) for key, value in values.items()})
    return {key: value for key, value in env.items() if value != ""}  # "" removes a variable


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def collectstatic(static_root: Path, env: dict[str, str]) -> None:
    done = manage("collectstatic", "--noinput", "-v", "0", env={**env, "STATIC_ROOT": str(static_root)})
    assert done.returncode == 0, done.stderr


class Process:
    """A long-running child process with its output in a file; stopped in its own process group."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.args, self.env, self.name = args, env, name
        self.log_path = Path(tempfile.mkstemp(prefix=f"oms-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        self.proc = None


class Gunicorn(Process):
    """``gunicorn -c gunicorn.conf.py oms.wsgi`` on a port of 8100-8199."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, threads: int = 2, name: str = "gunicorn"):
        self.port = free_port()
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": str(workers),
               "GUNICORN_THREADS": str(threads)}
        super().__init__([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "oms.wsgi"], env, name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        super().start()
        listening = f"Listening at: {self.url} ({self.proc.pid})"  # this gunicorn, not another one
        deadline = time.monotonic() + BOOT_WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.output}")
            if listening in self.output:
                try:
                    httpx.get(f"{self.url}/static/admin/css/base.css", timeout=2.0)
                    return self
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"gunicorn did not answer within {BOOT_WAIT}s:\n{self.output}")


def worker_process(env: dict[str, str], name: str) -> Process:
    return Process([sys.executable, "manage.py", "run_worker", "--name", name], env, name)
