"""A real HTTP receiver for webhook tests: a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port)
that records every request and answers from a programmable queue of status codes (200 when the
queue is empty). It can be stopped (connection refused) and started again on the same port."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

WAIT = 10.0  # seconds: every wait on the receiver is bounded by this


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
def receiver():
    server = Receiver()
    yield server
    if server._gate is not None:
        server._gate.set()  # never leave a handler thread waiting
    server.stop()
