"""Production serving, from the outside: the settings refuse a public SECRET_KEY, `check --deploy` is
clean under the documented production environment, and gunicorn with DEBUG=false serves the admin's
static files (WhiteNoise, hashed and compressed), HTTPS redirects, HSTS and secure cookies."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import django
import httpx
import pytest

from tests.ops.conftest import PRODUCTION_ENV, VIA_BALANCER
from tests.ops.servers import ROOT, Gunicorn, Process, free_port, manage, process_env

REFUSAL = ("SECRET_KEY is not set (or is the public development key) and DEBUG is false: refusing to "
           "start.")
ADMIN_CSS = Path(django.__file__).parent / "contrib/admin/static/admin/css/base.css"


# -- SECRET_KEY --------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", [
    {"SECRET_KEY": ""},  # DEBUG unset: false
    {"SECRET_KEY": "", "DEBUG": "false"},
    {"SECRET_KEY": "dev-insecure-oms-key-change-me", "DEBUG": "false"},
], ids=["no-debug-no-key", "debug-false-no-key", "debug-false-public-key"])
def test_without_debug_a_missing_or_public_secret_key_refuses_to_start(env):
    done = manage("check", env=process_env(**env))

    assert done.returncode == 1
    assert REFUSAL in done.stderr
    assert "secrets.token_urlsafe(50)" in done.stderr
    assert done.stdout == ""


def test_gunicorn_without_a_secret_key_does_not_serve(tmp_path):
    server = Gunicorn(process_env(SECRET_KEY="", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
                      workers=1, threads=1, name="nokey")
    with pytest.raises(AssertionError, match="gunicorn exited with 3"):
        server.start()
    assert REFUSAL in server.output


def test_with_debug_the_development_key_is_accepted():
    done = manage("check", env=process_env(SECRET_KEY="", DEBUG="true"))

    assert (done.returncode, done.stdout) == (0, "System check identified no issues (0 silenced).\n")


# -- check --deploy ------------------------------------------------------------------------------------
def test_check_deploy_is_clean_under_the_documented_production_environment(collected_static):
    env = process_env(**PRODUCTION_ENV, STATIC_ROOT=str(collected_static))

    done = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert (done.returncode, done.stdout, done.stderr) == (
        0, "System check identified no issues (0 silenced).\n", "")


def test_check_deploy_names_each_production_setting_left_out(tmp_path):
    env = process_env(DEBUG="false", STATIC_ROOT=str(tmp_path / "static"))

    done = manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert done.returncode == 1
    found = sorted(set(re.findall(r"\(((?:security|oms)\.W\d+)\)", done.stderr)))
    assert found == ["oms.W001", "security.W004", "security.W008", "security.W012", "security.W016"]


# -- static files under gunicorn -------------------------------------------------------------------
def test_gunicorn_without_debug_serves_the_admin_css_after_collectstatic(production_server):
    response = httpx.get(f"{production_server.url}/static/admin/css/base.css", headers=VIA_BALANCER)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.content == ADMIN_CSS.read_bytes()


def test_the_admin_page_links_hashed_compressed_static_files_cached_for_good(production_server):
    page = httpx.get(f"{production_server.url}/admin/login/", headers=VIA_BALANCER)
    assert page.status_code == 200
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert links and all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", link) for link in links), links

    for link in links:
        response = httpx.get(f"{production_server.url}{link}",
                             headers={**VIA_BALANCER, "Accept-Encoding": "gzip"})

        assert response.status_code == 200, link
        assert response.headers["content-encoding"] == "gzip", link
        assert response.headers["cache-control"] == "max-age=315360000, public, immutable", link
        assert len(response.content) > 0, link


# -- HTTPS behind the load balancer ----------------------------------------------------------------
def test_plain_http_is_redirected_to_https(production_server):
    response = httpx.get(f"{production_server.url}/admin/login/", headers={"Host": "oms.example.com"})

    assert (response.status_code, response.headers["location"]) == (301, "https://oms.example.com/admin/login/")


def test_https_responses_carry_hsts_and_the_security_headers_and_secure_cookies(production_server):
    response = httpx.get(f"{production_server.url}/admin/login/", headers=VIA_BALANCER)

    assert response.status_code == 200
    headers = response.headers
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert (headers["x-content-type-options"], headers["x-frame-options"], headers["referrer-policy"],
            headers["cross-origin-opener-policy"]) == ("nosniff", "DENY", "same-origin", "same-origin")
    [cookie] = headers.get_list("set-cookie")
    assert cookie.startswith("csrftoken=") and "; Secure" in cookie and "SameSite=Lax" in cookie


def test_load_balancer_probes_and_scrapes_over_plain_http_are_not_redirected(production_server):
    health = httpx.get(f"{production_server.url}/api/v1/oms/health/", headers={"Host": "oms.example.com"})
    scrape = httpx.get(f"{production_server.url}/metrics", headers={"Host": "oms.example.com"})

    # The database is an empty file here: no tables, so the node reports it unavailable.
    assert (health.status_code, health.json()) == (503, {"status": "unavailable", "database": "unavailable"})
    assert scrape.status_code == 200
    assert "oms_database_up 0.0" in scrape.text


# -- DEBUG=true (make run) needs no collectstatic ---------------------------------------------------
def test_the_development_server_serves_static_files_without_collectstatic(tmp_path):
    port = free_port()
    env = process_env(DEBUG="true", SECRET_KEY="", STATIC_ROOT=str(tmp_path / "never-collected"),
                      DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    server = Process([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
                      "--skip-checks"], env, "runserver").start()
    try:
        response = _get_when_up(f"http://127.0.0.1:{port}/static/admin/css/base.css")
    finally:
        server.stop()

    assert response.status_code == 200
    assert response.content == ADMIN_CSS.read_bytes()


def _get_when_up(url: str, wait: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + wait
    while True:
        try:
            return httpx.get(url, timeout=5.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# -- tests run without DEBUG and without collectstatic ---------------------------------------------
def test_without_collectstatic_pages_link_plain_static_urls(client, settings, tmp_path, db):
    settings.STATIC_ROOT = tmp_path  # nothing collected: no manifest

    page = client.get("/admin/login/")

    assert page.status_code == 200
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.content.decode())
    assert "/static/admin/css/base.css" in links or "/static/unfold/css/styles.css" in links, links
    assert not [link for link in links if re.search(r"\.[0-9a-f]{12}\.", link)]


def test_after_collectstatic_pages_link_hashed_urls_and_unknown_files_keep_their_name(settings, tmp_path):
    from django.contrib.staticfiles.storage import staticfiles_storage  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())

    url = staticfiles_storage.url("admin/css/base.css")
    assert url == f"/static/{manifest['paths']['admin/css/base.css']}"
    assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", url)
    assert staticfiles_storage.url("not/collected.css") == "/static/not/collected.css"



# -- where the servers listen -------------------------------------------------------------------------
def make_dry_run(*args: str) -> str:
    done = subprocess.run(["make", "-n", "serve", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")})
    return done.stdout


def test_make_run_serves_on_loopback_unless_host_says_otherwise():
    assert "runserver 127.0.0.1:8000" in make_dry_run()
    assert "runserver 0.0.0.0:9000" in make_dry_run("HOST=0.0.0.0", "PORT=9000")


CPUS = os.cpu_count() or 1
# The measured default (bench/RESULTS.md): 2 single-threaded (sync) processes per CPU, at least 2.
DEFAULT_WORKERS = {1: 2, 2: 4, 4: 8, 8: 16}.get(CPUS, max(2, 2 * CPUS))


@pytest.mark.parametrize(("env", "bind", "workers", "threads", "worker_class"), [
    ({}, ["127.0.0.1:8000"], DEFAULT_WORKERS, 1, "sync"),
    ({"HOST": "0.0.0.0", "PORT": "9000", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "4"},
     ["0.0.0.0:9000"], 3, 4, "gthread"),
    ({"GUNICORN_BIND": "unix:/run/oms.sock", "HOST": "0.0.0.0"}, ["unix:/run/oms.sock"], DEFAULT_WORKERS, 1,
     "sync"),
])
def test_gunicorn_conf_takes_its_address_and_size_from_the_environment(monkeypatch, env, bind, workers,
                                                                       threads, worker_class):
    for name in ("HOST", "PORT", "GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert (conf["bind"], conf["workers"], conf["threads"], conf["worker_class"]) == (
        bind, workers, threads, worker_class)
    assert (conf["graceful_timeout"], conf["timeout"], conf["accesslog"], conf["control_socket_disable"]) == (
        30, 30, "-", True)
