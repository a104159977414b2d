"""A real HTTP receiver for webhook tests: a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port)
that records every request and answers from a programmable queue of status codes (200 when the
queue is empty). It can be stopped (connection refused) and started again on the same port.

Every webhook test also runs with a fake resolver (no DNS query ever leaves the machine) and a guard
that records every outgoing connection and lets only loopback ones through: the webhook tests never
send traffic to any other address."""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

WAIT = 10.0  # seconds: every wait on the receiver is bounded by this
PUBLIC_IP = "93.184.215.14"  # stands for a receiver on the internet; never connected to


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # header names lower-cased
    body: bytes
    raw_headers: tuple[tuple[str, str], ...] = ()  # as sent, in order

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def event_type(self) -> str:
        return self.json()["event"]["type"]


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._answers: deque[tuple[int, str, float]] = deque()
        self._changed = threading.Condition()
        self._gate: threading.Event | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    # -- control ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Listen (again) on the same port; the first start picks a free one."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"webhook-receiver-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until ``start()``."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT)
        self._server = self._thread = None

    def answer(self, *statuses: int, body: str = "", delay: float = 0.0) -> None:
        """Queue the answers to the next requests (then 200 "ok" again); ``delay`` seconds each."""
        for status in statuses:
            self._answers.append((status, body or f"answer {status}", delay))

    def hold(self) -> threading.Event:
        """Keep every request waiting (at most WAIT seconds) until the returned event is set."""
        self._gate = threading.Event()
        return self._gate

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Received]:
        """Wait until ``count`` requests arrived (bounded), and return them."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} request(s) within {timeout}s, "
                                     f"got {len(self.requests)}")
            return list(self.requests)

    # -- reading ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.url_for("/hooks")

    def url_for(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    @property
    def event_types(self) -> list[str]:
        return [r.event_type for r in self.requests]

    # -- the server side --------------------------------------------------------------------------
    def _next_answer(self) -> tuple[int, str, float]:
        try:
            return self._answers.popleft()
        except IndexError:
            return 200, "ok", 0.0

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 (the default): one request per connection, so a stopped receiver refuses
            # the next request instead of answering on a kept-alive connection.

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = Received(method="POST", path=self.path, body=body,
                                    headers={k.lower(): v for k, v in self.headers.items()},
                                    raw_headers=tuple(self.headers.items()))
                with receiver._changed:
                    receiver.requests.append(received)
                    receiver._changed.notify_all()
                if receiver._gate is not None:
                    receiver._gate.wait(WAIT)
                status, text, delay = receiver._next_answer()
                if delay:
                    time.sleep(min(delay, WAIT))
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
                pass

        return Handler


@pytest.fixture
def receiver(settings):
    """A receiver on 127.0.0.1, which webhooks may only reach with WEBHOOK_ALLOW_PRIVATE_TARGETS."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    server = Receiver()
    yield server
    if server._gate is not None:
        server._gate.set()  # never leave a handler thread waiting
    server.stop()


# -- no real DNS, no traffic beyond loopback ------------------------------------------------------------
class FakeResolver:
    """``socket.getaddrinfo`` for the webhook tests. A name answers from ``names``: a list of
    addresses, or a function returning one per lookup (to change its answer between lookups).
    IP literals and the C resolver's numeric IPv4 forms are parsed by the real function with
    AI_NUMERICHOST (no query); any other name is unknown. ``lookups`` lists the names asked for."""

    def __init__(self, real) -> None:
        self.names: dict = {"localhost": ["127.0.0.1"], "hooks.example.com": [PUBLIC_IP]}
        self.lookups: list[str] = []
        self._real = real

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's API
        name = host.decode() if isinstance(host, bytes) else host
        if name is None:
            return self._real(host, port, family, type, proto, flags)
        try:
            return self._real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            pass
        self.lookups.append(name)
        answer = self.names.get(name.lower().rstrip("."))
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = answer() if callable(answer) else answer
        return [_addrinfo(address, port) for address in addresses]


def _addrinfo(address: str, port) -> tuple:
    port = int(port or 0)
    if ipaddress.ip_address(address).version == 6:
        return socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0)
    return socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port)


@pytest.fixture(autouse=True)
def resolver(monkeypatch) -> FakeResolver:
    fake = FakeResolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(autouse=True)
def connections(monkeypatch) -> list[tuple[str, int]]:
    """Every IP connection the code under test opens, as (address, port). Only loopback ones are
    made; any other is refused here (ECONNREFUSED), so nothing ever leaves the machine."""
    made: list[tuple[str, int]] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            made.append((address[0], address[1]))
            if not ipaddress.ip_address(address[0]).is_loopback:
                raise ConnectionRefusedError(errno.ECONNREFUSED, f"test guard: no traffic to {address[0]}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return made
