from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.servers import Gunicorn, collectstatic, process_env

# The production environment the README's "Deploying" section documents (with this run's key and a
# host name of our own): `check --deploy` must be clean under it.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "oms.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://oms.example.com",
    "HTTPS_ONLY": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "SECURE_HSTS_PRELOAD": "true",
}
# As the load balancer in front of it would send them.
VIA_BALANCER = {"Host": "oms.example.com", "X-Forwarded-Proto": "https"}


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """STATIC_ROOT after `manage.py collectstatic` under the production environment."""
    root = tmp_path_factory.mktemp("static")
    collectstatic(root, process_env(**PRODUCTION_ENV))
    return root


@pytest.fixture(scope="session")
def production_server(tmp_path_factory, collected_static):
    """gunicorn under the documented production environment after collectstatic, JSON logs, two
    single-threaded workers. Its database is an empty SQLite file: what it is used for here (static
    files, headers, logs, metrics) must not need one."""
    root = tmp_path_factory.mktemp("prod")
    env = process_env(**PRODUCTION_ENV, DATABASE_URL=f"sqlite:///{root / 'empty.sqlite3'}",
                      STATIC_ROOT=str(collected_static), LOG_FORMAT="json",
                      PROMETHEUS_MULTIPROC_DIR=str(root / "metrics"))
    server = Gunicorn(env, workers=2, threads=1, name="prod").start()
    yield server
    server.stop()
