"""Browser tests: the system Chromium (Debian package ``chromium``), driven by pytest-playwright,
against a live server on the test database.

Playwright cannot download browsers here, so the system one is launched by its path
(``OMS_CHROMIUM``, else ``chromium`` on PATH, else /usr/bin/chromium). Without it these tests skip
with the reason; CI installs it (``.ci/run``) and fails on any skip (``OMS_FORBID_SKIPS=1``).
The live server listens on the first free port of ``OMS_BROWSER_PORTS`` (default 8450-8499)."""

from __future__ import annotations

import io
import os
import shutil
import socket
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from tests.factories import UserFactory

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "browser-pass-4321"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Set OMS_SCREENSHOTS=docs to refresh the README's screenshots (docs/*.png) while the tests run.
SCREENSHOTS = os.environ.get("OMS_SCREENSHOTS", "")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("OMS_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    browser_items = [item for item in items if Path(str(item.fspath)).is_relative_to(here)]
    # Last in the run: Playwright keeps an event loop in the main thread until the session ends
    # (see browser_type_launch_args), so nothing else should run after it starts.
    items[:] = [item for item in items if item not in browser_items] + browser_items
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if browser_items and chromium_path() is None:
        skip = pytest.mark.skip(reason="needs the system Chromium (apt-get install -y chromium, or set "
                                       "OMS_CHROMIUM); .ci/run installs it")
        for item in browser_items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments: the system Chromium, headless, no network chatter."""
    # Playwright's sync API keeps an event loop marked as running in this thread from now until the
    # session ends; Django then refuses ORM calls here (the tests' own, the database flush after
    # each live-server test) as "async unsafe". They are synchronous: allow them. The browser tests
    # run last (pytest_collection_modifyitems), so no other test runs beside that loop.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # Assertions wait for the page up to this long: a busy CI machine renders slowly.
    expect.set_options(timeout=15_000)
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS,
            "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP, "locale": "en-US"}


def _free_port() -> int:
    first, _, last = os.environ.get("OMS_BROWSER_PORTS", "8450-8499").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in OMS_BROWSER_PORTS={first}-{last}")


@pytest.fixture
def live_server(request):
    """pytest-django's live server (transactional database), on a port of our range."""
    server = LiveServer(f"127.0.0.1:{_free_port()}")
    yield server
    server.stop()


@pytest.fixture
def demo(live_server, monkeypatch):
    """The demo data set (seed_demo: stores, orders, store logins) and an operator, on a live
    server. Store logins and the operator share PASSWORD."""
    monkeypatch.setenv("OMS_DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", stdout=io.StringIO())
    operator = UserFactory(username="operator", is_staff=True)
    operator.set_password(PASSWORD)
    operator.save()
    operator.groups.add(Group.objects.get(name="Operations"))
    return live_server


def login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form#login-form [type=submit], #login-form button[type=submit], "
                 "button[type=submit]").first.click()
    page.wait_for_url(f"{base_url}/admin/")


def screenshot(page, name: str) -> None:
    """Writes docs/<name>.png when OMS_SCREENSHOTS=docs (the README's pictures)."""
    if SCREENSHOTS:
        target = Path(__file__).resolve().parents[2] / SCREENSHOTS / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=False)


def no_sideways_scroll(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")
