"""The webhook worker's HTTP client: it only ever connects to an address it has just checked, and
each request has one deadline for all of it.

- The network backend resolves the host itself, refuses the connection when any address the host
  resolves to is not public (``webhooks.validation.blocked_kind``; WEBHOOK_ALLOW_PRIVATE_TARGETS
  lifts it), and connects to those checked addresses: the name is not looked up a second time, so
  it cannot be rebound between the check and the connection. The URL is not rewritten: the Host
  header, TLS SNI and certificate check use the name (httpcore hands it to ``start_tls``).
- Every step (lookup, connect, TLS handshake, each write, each read) gets at most the time left
  before the deadline that ``deadline()`` sets, so a receiver dripping its answer a byte at a time
  is cut off at WEBHOOK_TOTAL_TIMEOUT instead of getting a fresh read timeout per byte.

httpx 0.28 takes no network backend, so the transport is a small one of our own around httpcore's
public ``ConnectionPool`` (httpx's default transport does the same, with its own backend)."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx
from django.conf import settings

from webhooks.validation import IPAddress, blocked_kind, refusal_text

MAX_RESPONSE_BYTES = 64 * 1024  # of a receiver's answer body; the rest is never read


class TargetRefused(Exception):
    """The target is, or resolves to, an address webhooks may not reach."""


# -- the deadline of the current request ----------------------------------------------------------------
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("webhook_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Everything the client does inside this block must be over ``seconds`` after it starts."""
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> Iterator[float | None]:
    """Yield the step's timeout cut to the time left; a step cut short by the deadline (or started
    after it) raises ``error`` saying so."""
    current = _deadline.get()
    if current is None:
        yield timeout
        return
    end, total = current
    left = end - time.monotonic()
    too_slow = f"no complete answer within WEBHOOK_TOTAL_TIMEOUT ({total:g} s)"
    if left <= 0:
        raise error(too_slow)
    cut = timeout is None or left < timeout
    try:
        yield left if cut else timeout
    except httpcore.TimeoutException as exc:
        if cut:
            raise error(too_slow) from exc
        raise


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _bounded(timeout, httpcore.ReadTimeout) as left:
            return self._stream.read(max_bytes, left)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _bounded(timeout, httpcore.WriteTimeout) as left:
            self._stream.write(buffer, left)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        with _bounded(timeout, httpcore.ConnectTimeout) as left:
            return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


# -- resolving and checking -------------------------------------------------------------------------------
_resolver: ThreadPoolExecutor | None = None
_resolver_lock = threading.Lock()


def _forget_resolver() -> None:
    """A forked process (an RQ work horse) starts its own pool: the parent's threads are not in it."""
    global _resolver, _resolver_lock  # noqa: PLW0603
    _resolver, _resolver_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_resolver)


def _lookup(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    """The addresses of ``host`` in the resolver's order. The C resolver has no timeout of its own
    to give it, so the lookup runs in a helper thread that the deadline stops waiting for."""
    try:
        return [ipaddress.ip_address(host)]  # a literal: nothing to look up
    except ValueError:
        pass
    global _resolver  # noqa: PLW0603 - one lazily started pool per process
    with _resolver_lock:
        if _resolver is None:
            _resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-resolver")
    future = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        raise httpcore.ConnectTimeout(f"looking up {host} took longer than {timeout:g} s") from None
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class CheckedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses of the host, within the request's deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        with _bounded(timeout, httpcore.ConnectTimeout) as left:
            addresses = _lookup(host, port, left)
        if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
            for address in addresses:
                kind = blocked_kind(address)
                if kind:  # one bad address refuses the name: no choosing among them
                    raise TargetRefused(f"{refusal_text(host, address, kind)}; webhook targets must be "
                                        "public unless WEBHOOK_ALLOW_PRIVATE_TARGETS is set")
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # in the resolver's order, as socket.create_connection does
            try:
                with _bounded(timeout, httpcore.ConnectTimeout) as left:
                    stream = self._backend.connect_tcp(str(address), port, left, local_address,
                                                       socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None):
        raise TargetRefused("webhooks do not connect to Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# -- an httpx transport on that backend --------------------------------------------------------------------
_HTTPCORE_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                    httpcore.UnsupportedProtocol, httpcore.ProxyError)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's errors raised as httpx's of the same name, as httpx's own transport does."""
    try:
        yield
    except _HTTPCORE_ERRORS as exc:
        raise getattr(httpx, type(exc).__name__)(str(exc)) from exc


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        with _httpx_errors():
            self._stream.close()


class CheckedTransport(httpx.BaseTransport):
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=20, max_keepalive_connections=10, keepalive_expiry=5.0,
            network_backend=CheckedBackend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        with _httpx_errors():
            response = self._pool.handle_request(core_request)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseStream(response.stream), extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


def webhook_client(*, ssl_context: ssl.SSLContext | None = None) -> httpx.Client:
    """The client deliveries are sent with: checked and pinned connections, no redirects, no proxy
    or netrc from the environment (a proxy would connect on our behalf, unchecked)."""
    return httpx.Client(
        transport=CheckedTransport(ssl_context=ssl_context), follow_redirects=False, trust_env=False,
        timeout=httpx.Timeout(settings.WEBHOOK_READ_TIMEOUT, connect=settings.WEBHOOK_CONNECT_TIMEOUT))


def read_capped(response: httpx.Response, limit: int = MAX_RESPONSE_BYTES) -> bytes:
    """At most ``limit`` bytes of the body as sent (the request asks for no compression, so a small
    compressed answer cannot inflate); reading stops there and the connection is dropped."""
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            break
    return bytes(body)
