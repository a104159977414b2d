#!/usr/bin/env python3
"""`make fuzz`: schemathesis against a live OMS on a scratch database with the demo data.

Creates the scratch database (PostgreSQL: ``<DATABASE_URL's name>_fuzz``, dropped and created
fresh; without DATABASE_URL: a temporary SQLite file), migrates and seeds it, starts gunicorn on
a free port of 127.0.0.1 (or FUZZ_PORT), runs schemathesis over the whole OpenAPI schema with a
superuser's token and a fixed seed, stops the server and drops the database. Exit status:
schemathesis'. On failure the server's error log lines are printed.

Environment: DATABASE_URL / FUZZ_DATABASE_URL, FUZZ_PORT, FUZZ_SEED (default 1),
FUZZ_MAX_EXAMPLES (per operation, default 15), FUZZ_CHECKS, FUZZ_WORKERS (default 1: schemathesis
threads can trip a CPython 3.11 compiler bug)."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
API = "/api/v1/oms/"
# Every check that the API passes: no 5xx, documented status codes and content types, responses
# matching their schema, schema-violating requests refused. Not run: positive_data_acceptance
# (valid-looking input the data refuses: unknown ids, taken codes, commands in the wrong state),
# and the stateful/auth-probing checks that need links or several users.
DEFAULT_CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
                  "response_schema_conformance,negative_data_rejection")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="oms-fuzz-"))
    database_url, drop = scratch_database(workdir)
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false",
           "SECRET_KEY": secrets.token_urlsafe(50), "LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = None
    try:
        print(f"fuzz: scratch database {redact(database_url)}", flush=True)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_transitions")
        manage(env, "seed_demo")
        token = re.search(r"API token:\s*(\w+)",
                          manage(env, "demo_admin", "--no-credentials-file")).group(1)
        port = int(os.environ.get("FUZZ_PORT") or free_port())
        log = workdir / "server.log"
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "oms.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--timeout", "60", "--graceful-timeout", "5", "--error-logfile", str(log),
             # No request-line limit here: a URL too long for gunicorn (414, HTML) is the HTTP
             # server's answer, not the API's, and would hide what the API does with it.
             "--limit-request-line", "0",
             "--capture-output"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        base = f"http://127.0.0.1:{port}{API}"
        wait_until_up(base + "health/", server)
        print(f"fuzz: server pid {server.pid} on {base}", flush=True)
        status = subprocess.call(
            [str(BIN / "schemathesis"), "run", base + "schema/",
             "--header", f"Authorization: Token {token}",
             "--checks", os.environ.get("FUZZ_CHECKS", DEFAULT_CHECKS),
             "--seed", os.environ.get("FUZZ_SEED", "1"),
             "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "15"),
             "--workers", os.environ.get("FUZZ_WORKERS", "1"),
             "--phases", "examples,coverage,fuzzing",
             "--request-timeout", "30", "--suppress-health-check", "all",
             "--output-truncate", "true"],
            cwd=workdir)
        if status != 0:
            print_server_errors(log)
        return status
    finally:
        if server is not None:
            stop(server)
        drop()


def scratch_database(workdir: Path) -> tuple[str, Callable[[], None]]:
    explicit = os.environ.get("FUZZ_DATABASE_URL")
    base = explicit or os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'fuzz.sqlite3'}", lambda: None
    parts = urlsplit(base)
    name = parts.path.lstrip("/") if explicit else f"{parts.path.lstrip('/') or 'oms'}_fuzz"
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"fuzz: refusing an unusual database name {name!r}")
    admin_url = urlunsplit(parts._replace(path="/postgres"))

    import psycopg

    def run(sql: str) -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    drop_sql = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    return urlunsplit(parts._replace(path=f"/{name}")), lambda: run(drop_sql)


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"fuzz: manage.py {' '.join(args)} failed")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"fuzz: the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"fuzz: no answer from {url} within {timeout:.0f}s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def print_server_errors(log: Path) -> None:
    if not log.exists():
        return
    lines = log.read_text(errors="replace").splitlines()
    errors = [i for i, line in enumerate(lines) if "Internal error" in line or "Traceback" in line]
    if errors:
        print("\nfuzz: server errors (first 80 lines from the first one):")
        print("\n".join(lines[errors[0]:errors[0] + 80]))


def redact(url: str) -> str:
    return re.sub(r"://([^:@/]+):[^@/]+@", r"://\1:***@", url)


if __name__ == "__main__":
    sys.exit(main())
