"""Helpers for tests that run commands at the same moment in real threads, each with its own
PostgreSQL connection.

Django's test ``Client`` connects to the global ``got_request_exception`` signal while a request
runs and re-raises what it caught there: with clients in several threads, one thread's exception
would be raised in another thread's test client. Threaded tests therefore use ``thread_client``
(``raise_request_exception=False``: a server error comes back as the 500 response it is, to the
thread that caused it)."""

from __future__ import annotations

import threading

from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def thread_client(user) -> APIClient:
    """A token-authenticated client for one thread (make it before the threads start)."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    client.user = user
    return client


def run_in_threads(calls, *, timeout: float = 120) -> list:
    """Start every call at the same moment, each in its own thread and database connection; an
    exception is returned as that call's result. Fails if a thread is still running at
    ``timeout`` (a deadlock or a leaked lock)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - reported to the test as the result
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock or lock leak)"
    return results


def post(user, url, body):
    """A call for ``run_in_threads``: POST with the user's token, answer (status, json)."""
    client = thread_client(user)

    def call():
        response = client.post(url, body, format="json")
        return response.status_code, response.json() if response.content else None
    return call


class OutboxHold:
    """Holds the first transaction that writes its outbox rows (PostgreSQL: its last statement)
    between that write and its commit, until another thread's ``meanwhile`` action has run.
    ``writes`` counts the outbox writes, one per attempt of a command or an intake."""

    def __init__(self, monkeypatch) -> None:
        from webhooks import outbox

        self.written, self.released, self.writes = threading.Event(), threading.Event(), 0
        real_insert = outbox._insert_postgresql

        def insert_then_wait(*args, **kwargs):
            real_insert(*args, **kwargs)
            self.writes += 1
            if self.writes == 1:
                self.written.set()
                assert self.released.wait(30)

        monkeypatch.setattr(outbox, "_insert_postgresql", insert_then_wait)

    def meanwhile(self, action):
        """A call for ``run_in_threads``: once the held transaction has written, ``action()``
        (its result is the call's), then the held transaction goes on to its commit."""
        def call():
            assert self.written.wait(30)
            try:
                return action()
            finally:
                self.released.set()
        return call
