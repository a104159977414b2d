"""Webhook targets cannot reach the inside (issue 9, item 6): loopback, private, link-local,
multicast, reserved, unspecified, shared and IPv6 site-/unique-local addresses are refused when a
subscription is saved and again at delivery after the worker's own lookup (which it then connects
to, so a name cannot be rebound in between); WEBHOOK_ALLOW_PRIVATE_TARGETS lifts that. A receiver's
answer is read up to 64 KiB, and a request has one deadline for all of it.

Names resolve through the fake resolver of conftest.py and every connection outside loopback is
refused by its guard: nothing here sends traffic beyond 127.0.0.1."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time

import pytest
import trustme

from tests.factories import make_package
from tests.webhooks.conftest import PUBLIC_IP, WAIT
from tests.webhooks.helpers import WEBHOOKS_URL, attempts, deliveries, pack, subscribe
from webhooks import delivery as delivery_module
from webhooks import transport
from webhooks.admin import WebhookSubscriptionForm
from webhooks.delivery import deliveries_run
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.transport import webhook_client
from webhooks.validation import target_url_problems

PUBLIC_IPV6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
MUST_BE_PUBLIC = ": webhook targets must be public addresses."
REFUSED_AT_DELIVERY = "; webhook targets must be public unless WEBHOOK_ALLOW_PRIVATE_TARGETS is set"
FIXED_10 = {"strategy": "fixed", "countdown": 10, "max_retries": 3}
NO_RETRY = {"strategy": "fixed", "countdown": 10, "max_retries": 0}
INVALID = "Enter a valid URL."  # what Django's URL validator answers first, for the legacy forms

NAMES = {
    "intranet.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
    "mixed.example.com": [PUBLIC_IP, "192.168.0.7"],  # one bad address refuses the name
    "v6.example.com": ["fd00::7"],
    "loop.example.com": ["::1"],
    "dual.example.com": [PUBLIC_IP, PUBLIC_IPV6],
}


@pytest.fixture(autouse=True)
def names(resolver):
    resolver.names.update(NAMES)
    return resolver.names


def subscription_rows() -> list[tuple]:
    return list(WebhookSubscription.objects.order_by("id").values_list("event_type", "target_url"))


# -- saving: the table ----------------------------------------------------------------------------------
# (target url, why it is refused, what the API answers when Django's URL check speaks first)
REFUSED = [
    # IPv4, literal and the legacy numeric forms the C resolver accepts
    ("http://127.0.0.1:5432/", "127.0.0.1 is a loopback address", None),
    ("http://127.1/", "127.1 resolves to 127.0.0.1, a loopback address", INVALID),
    ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address", INVALID),
    ("http://0x7f.1/", "0x7f.1 resolves to 127.0.0.1, a loopback address", INVALID),
    ("http://0177.0.0.1/", "0177.0.0.1 resolves to 127.0.0.1, a loopback address", INVALID),
    ("http://0x7f000001/", "0x7f000001 resolves to 127.0.0.1, a loopback address", INVALID),
    ("http://0xa.0.0.5/", "0xa.0.0.5 resolves to 10.0.0.5, a private address", INVALID),
    ("http://10.0.0.5:8080/in", "10.0.0.5 is a private address", None),
    ("http://172.16.3.4/", "172.16.3.4 is a private address", None),
    ("http://172.31.255.255/", "172.31.255.255 is a private address", None),
    ("http://192.168.1.10/", "192.168.1.10 is a private address", None),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address", None),
    ("http://100.64.0.1/", "100.64.0.1 is a shared (CGNAT) address", None),
    ("http://100.127.255.254/", "100.127.255.254 is a shared (CGNAT) address", None),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address", None),
    ("http://0.1.2.3/", "0.1.2.3 is an unspecified address", None),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address", None),
    ("http://239.255.255.250/", "239.255.255.250 is a multicast address", None),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address", None),
    ("http://255.255.255.255/", "255.255.255.255 is a reserved address", None),
    ("http://198.18.0.1/", "198.18.0.1 is a reserved address", None),
    ("http://192.0.2.10/", "192.0.2.10 is a reserved address", None),
    ("http://192.0.0.8/", "192.0.0.8 is a reserved address", None),
    # names
    ("HTTP://LOCALHOST:8000/", "localhost is a loopback name", None),
    ("http://localhost./", "localhost is a loopback name", INVALID),
    ("http://api.localhost/", "api.localhost is a loopback name", None),
    ("http://intranet.example.com/in", "intranet.example.com resolves to 10.1.2.3, a private address", None),
    ("https://metadata.example.com/",
     "metadata.example.com resolves to 169.254.169.254, a link-local address", None),
    ("https://mixed.example.com/", "mixed.example.com resolves to 192.168.0.7, a private address", None),
    ("https://v6.example.com/", "v6.example.com resolves to fd00::7, a unique-local address", None),
    ("https://loop.example.com/", "loop.example.com resolves to ::1, a loopback address", None),
    # the host a URL parser sees, not the name in the user info or the fragment
    ("http://hooks.example.com@127.0.0.1/", "127.0.0.1 is a loopback address", None),
    ("http://127.0.0.1#@hooks.example.com/", "127.0.0.1 is a loopback address", None),
    # IPv6, and IPv6 forms that carry an IPv4 address
    ("http://[::1]:8000/", "::1 is a loopback address", None),
    ("http://[::]/", ":: is an unspecified address", None),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address", None),
    ("http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe is a link-local address", None),
    ("http://[::ffff:10.0.0.5]/", "::ffff:10.0.0.5 is a private address", None),
    ("http://[::127.0.0.1]/", "::127.0.0.1 is a loopback address", None),
    ("http://[::ffff:0:7f00:1]/", "::ffff:0:7f00:1 is a loopback address", None),
    ("http://[64:ff9b::10.0.0.1]/", "64:ff9b::10.0.0.1 is a private address", None),
    ("http://[2002:7f00:1::]/", "2002:7f00:1:: is a loopback address", None),
    ("http://[::8.8.8.8]/", "::8.8.8.8 is a reserved address", None),
    ("http://[fe80::1]/", "fe80::1 is a link-local address", None),
    ("http://[fe80::1%25eth0]/", "fe80::1%eth0 is a link-local address", INVALID),
    ("http://[fc00::1]/", "fc00::1 is a unique-local address", None),
    ("http://[fd12:3456::1]/", "fd12:3456::1 is a unique-local address", None),
    ("http://[fec0::1]/", "fec0::1 is a site-local address", None),
    ("http://[ff02::1]/", "ff02::1 is a multicast address", None),
    ("http://[ff0e::1]/", "ff0e::1 is a multicast address", None),
    ("http://[2001:db8::1]/", "2001:db8::1 is a reserved address", None),
    ("http://[2001::1]/", "2001::1 is a reserved address", None),
    ("http://[100::1]/", "100::1 is a reserved address", None),
]

ACCEPTED = [
    f"http://{PUBLIC_IP}/", "https://8.8.8.8:8443/hooks", "http://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/", "http://[64:ff9b::808:808]/", "http://[2002:808:808::1]/",
    # the neighbours of refused ranges
    "http://9.255.255.255/", "http://11.0.0.1/", "http://100.63.255.255/", "http://100.128.0.0/",
    "http://126.255.255.255/", "http://128.0.0.1/", "http://172.15.255.255/", "http://172.32.0.1/",
    "http://192.167.255.255/", "http://192.169.0.1/", "http://223.255.255.255/",
    # names that resolve to public addresses only
    "https://hooks.example.com/oms", "https://dual.example.com/in",
]


@pytest.mark.parametrize(("url", "reason", "api_answer"), REFUSED, ids=[row[0] for row in REFUSED])
def test_the_check_refuses_a_target_inside(url, reason, api_answer):
    assert target_url_problems(url) == [reason + MUST_BE_PUBLIC]


@pytest.mark.parametrize(("url", "reason", "api_answer"), REFUSED, ids=[row[0] for row in REFUSED])
def test_the_api_refuses_a_target_inside_and_saves_nothing(api, url, reason, api_answer):
    response = api.post(WEBHOOKS_URL, {"event_type": "*", "target_url": url}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"target_url": [api_answer or reason + MUST_BE_PUBLIC]},
                               "status_code": 400}
    assert subscription_rows() == []


def test_a_patch_to_a_target_inside_is_refused_and_keeps_the_stored_url(api):
    created = subscribe(api, "https://hooks.example.com/oms")

    response = api.patch(f"{WEBHOOKS_URL}{created['id']}/", {"target_url": "http://169.254.169.254/"},
                         format="json")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "target_url": ["169.254.169.254 is a link-local address" + MUST_BE_PUBLIC]}
    assert subscription_rows() == [("*", "https://hooks.example.com/oms")]


@pytest.mark.parametrize("url", ACCEPTED)
def test_a_public_target_is_accepted(api, url):
    assert target_url_problems(url) == []

    body = subscribe(api, url)

    assert body["target_url"] == url
    assert subscription_rows() == [("*", url)]


def test_a_name_that_does_not_resolve_yet_is_accepted_and_checked_at_delivery(api, resolver):
    body = subscribe(api, "https://not-yet.example.org/hooks")

    assert body["target_url"] == "https://not-yet.example.org/hooks"
    assert resolver.lookups == ["not-yet.example.org"]


def test_the_switch_lets_private_targets_be_saved(api, settings, resolver):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    for url in ("http://10.0.0.5:8080/in", "http://127.0.0.1:9000/oms-hook", "http://intranet.example.com/"):
        subscribe(api, url)

    assert [url for _, url in subscription_rows()] == [
        "http://10.0.0.5:8080/in", "http://127.0.0.1:9000/oms-hook", "http://intranet.example.com/"]
    assert resolver.lookups == []  # nothing to check: not even looked up
    assert target_url_problems("ftp://10.0.0.5/") == ["Use an http or https URL."]


def test_the_admin_form_runs_the_same_check(db):
    data = {"event_type": "*", "target_url": "http://10.0.0.5/in", "is_active": True,
            "retry_countdown_config": json.dumps(FIXED_10)}

    form = WebhookSubscriptionForm(data=data)

    assert not form.is_valid()
    assert form.errors["target_url"] == ["10.0.0.5 is a private address" + MUST_BE_PUBLIC]
    assert WebhookSubscriptionForm(data={**data, "target_url": f"http://{PUBLIC_IP}/in"}).is_valid()


# -- delivering ------------------------------------------------------------------------------------------
@pytest.fixture
def package(seeded):
    return make_package(items=1)


def attempt_rows() -> list[tuple]:
    return list(WebhookAttempt.objects.order_by("id").values_list("number", "status_code", "error"))


def test_with_the_switch_off_a_loopback_receiver_never_gets_a_request(api, seeded, package, receiver,
                                                                      settings, connections):
    hook = subscribe(api, receiver.url, "shipment.created", retry_countdown_config=FIXED_10)
    pack(api, seeded, package)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # e.g. stored before the check existed

    assert deliveries_run() == 1

    assert receiver.requests == []
    assert connections == []  # not even a connection
    assert attempt_rows() == [
        (1, None, "TargetRefused: 127.0.0.1 is a loopback address" + REFUSED_AT_DELIVERY)]
    [row] = WebhookDelivery.objects.all()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)  # a failure: retried
    assert row.next_attempt_at is not None

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert deliveries_run(now=row.next_attempt_at) == 1

    assert len(receiver.requests) == 1  # the same subscription, allowed: it does reach the receiver
    assert deliveries(hook["id"]) == [("shipment.created", "delivered", 2)]


def test_a_refused_target_counts_as_a_failed_delivery(api, seeded, package, receiver, settings):
    hook = subscribe(api, receiver.url, "shipment.created", retry_countdown_config=NO_RETRY)
    pack(api, seeded, package)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    deliveries_run()

    assert deliveries(hook["id"]) == [("shipment.created", "failed", 1)]
    assert WebhookSubscription.objects.values_list("consecutive_failures", flat=True).get() == 1
    assert receiver.requests == []


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"])
def test_a_stored_legacy_or_mapped_loopback_form_is_refused_at_delivery(api, seeded, package, receiver,
                                                                       settings, connections, host):
    # written around the API's checks (a migration, the shell): the worker checks on its own
    WebhookSubscription.objects.create(event_type="shipment.created",
                                       target_url=f"http://{host}:{receiver.port}/hooks",
                                       retry_countdown_config=FIXED_10)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    pack(api, seeded, package)

    deliveries_run()

    [(number, status_code, error)] = attempt_rows()
    assert (number, status_code) == (1, None)
    assert error.startswith("TargetRefused: ")
    assert "a loopback address" in error
    assert receiver.requests == []
    assert connections == []


def test_a_name_rebound_to_loopback_after_saving_is_refused_with_no_connection(
        api, seeded, package, receiver, settings, names, connections):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    names["rebind.example.com"] = [PUBLIC_IP]
    hook = subscribe(api, f"http://rebind.example.com:{receiver.port}/hooks", "shipment.created",
                     retry_countdown_config=FIXED_10)  # public when saved
    pack(api, seeded, package)
    names["rebind.example.com"] = ["127.0.0.1"]  # the attacker's DNS now points inside

    deliveries_run()

    assert receiver.requests == []
    assert connections == []
    assert attempt_rows() == [(1, None, "TargetRefused: rebind.example.com resolves to 127.0.0.1, "
                                        "a loopback address" + REFUSED_AT_DELIVERY)]
    assert deliveries(hook["id"]) == [("shipment.created", "pending", 1)]


def test_the_worker_connects_to_the_address_it_checked_not_to_a_second_answer(
        api, seeded, package, receiver, settings, names, resolver, connections):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    answers = iter([[PUBLIC_IP]])
    names["flip.example.com"] = lambda: next(answers, ["127.0.0.1"])  # public once, then loopback
    WebhookSubscription.objects.create(event_type="shipment.created",
                                       target_url=f"http://flip.example.com:{receiver.port}/hooks",
                                       retry_countdown_config=FIXED_10)
    pack(api, seeded, package)

    deliveries_run()

    assert resolver.lookups == ["flip.example.com"]  # one lookup: checked and connected to
    assert connections == [(PUBLIC_IP, receiver.port)]  # (refused by the test guard)
    assert receiver.requests == []
    [(_, status_code, error)] = attempt_rows()
    assert status_code is None
    assert error.startswith("ConnectError: ") and f"test guard: no traffic to {PUBLIC_IP}" in error


def test_a_name_is_kept_in_the_host_header_while_the_connection_goes_to_its_address(
        api, seeded, package, receiver, names, connections):
    names["receiver.example.com"] = ["127.0.0.1"]
    hook = subscribe(api, f"http://receiver.example.com:{receiver.port}/hooks", "shipment.created")
    pack(api, seeded, package)

    deliveries_run()

    [request] = receiver.requests
    assert request.headers["host"] == f"receiver.example.com:{receiver.port}"
    assert request.headers["accept-encoding"] == "identity"
    assert connections == [("127.0.0.1", receiver.port)]
    assert deliveries(hook["id"]) == [("shipment.created", "delivered", 1)]


# -- TLS: SNI and the certificate check use the name --------------------------------------------------------
class RawServer:
    """A TCP server on 127.0.0.1 handing each connection to ``serve(conn, stop)`` in a thread: for
    answers http.server does not give (a dripped status line, a huge body, TLS)."""

    def __init__(self, serve) -> None:
        self.stop = threading.Event()
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        try:
            self._serve(conn, self.stop)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            pass  # the client went away (as it should) or never came
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(WAIT)
        self._listener.close()


@pytest.fixture
def raw_servers():
    servers: list[RawServer] = []

    def start(serve) -> RawServer:
        servers.append(RawServer(serve))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    assert [e for s in servers for e in s.errors] == []


def read_request(conn) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += conn.recv(65536)
    return head


def test_https_to_a_pinned_address_keeps_the_name_for_sni_and_the_certificate(
        api, seeded, package, settings, names, connections, raw_servers):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    names["tls.example.com"] = ["127.0.0.1"]
    names["other.example.com"] = ["127.0.0.1"]
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("tls.example.com").configure_cert(server_context)
    server_names, heads = [], []
    server_context.sni_callback = lambda sock, name, context: server_names.append(name)

    def serve(conn, stop):
        tls = server_context.wrap_socket(conn, server_side=True)
        heads.append(read_request(tls))
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nthanks")

    server = raw_servers(serve)
    good = subscribe(api, f"https://tls.example.com:{server.port}/hooks", "shipment.created")
    wrong = subscribe(api, f"https://other.example.com:{server.port}/hooks", "shipment.created",
                      retry_countdown_config=NO_RETRY)
    pack(api, seeded, package)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    deliveries_run(client=webhook_client(ssl_context=client_context))

    assert server_names == ["tls.example.com", "other.example.com"]
    assert len(heads) == 1 and f"Host: tls.example.com:{server.port}".encode() in heads[0].split(b"\r\n")
    assert connections == [("127.0.0.1", server.port)] * 2
    assert deliveries(good["id"]) == [("shipment.created", "delivered", 1)]
    assert deliveries(wrong["id"]) == [("shipment.created", "failed", 1)]  # certificate not for that name
    [error] = WebhookAttempt.objects.filter(delivery__subscription_id=wrong["id"]).values_list(
        "error", flat=True)
    assert error.startswith("ConnectError: ") and "certificate verify failed" in error


# -- the answer: 64 KiB at most, one deadline for everything ------------------------------------------------
HUGE = 8 * 1024 * 1024


def huge_answer(conn, stop) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 b"Content-Length: %d\r\n\r\n" % HUGE)
    chunk = b"0123456789abcdef" * 4096  # 64 KiB
    for _ in range(HUGE // len(chunk)):
        if stop.is_set():
            return
        conn.sendall(chunk)


def test_only_64_kib_of_a_huge_answer_are_read(api, seeded, package, settings, raw_servers, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    server = raw_servers(huge_answer)
    hook = subscribe(api, f"http://127.0.0.1:{server.port}/hooks", "shipment.created")
    pack(api, seeded, package)
    received, bodies = [], []
    real_read, real_capped = transport._DeadlineStream.read, delivery_module.read_capped

    def counting_read(stream, max_bytes, timeout=None):
        received.append(len(data := real_read(stream, max_bytes, timeout)))
        return data

    monkeypatch.setattr(transport._DeadlineStream, "read", counting_read)
    monkeypatch.setattr(delivery_module, "read_capped", lambda response: bodies.append(
        real_capped(response)) or bodies[-1])

    assert deliveries_run() == 1

    assert deliveries(hook["id"]) == [("shipment.created", "delivered", 1)]
    assert [len(body) for body in bodies] == [64 * 1024]
    assert bodies[0] == (b"0123456789abcdef" * 4096)
    # off the socket: the head, the 64 KiB, and at most what one read (64 KiB) brought beyond them
    assert sum(received) < 2 * 64 * 1024 + 200 < HUGE
    assert attempts(WebhookDelivery.objects.get()) == [(1, 200, ("0123456789abcdef" * 63)[:1000])]


def drip(text: bytes, every: float, *, head: bytes = b""):
    """An answer: ``head`` at once, then ``text`` a byte every ``every`` seconds."""
    def serve(conn, stop) -> None:
        read_request(conn)
        conn.sendall(head)
        for i in range(len(text)):
            if stop.wait(every):
                return
            conn.sendall(text[i:i + 1])
    return serve


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_total_timeout(api, seeded, package, settings,
                                                                        raw_servers):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TOTAL_TIMEOUT = 0.5
    settings.WEBHOOK_READ_TIMEOUT = 5.0  # each byte comes well within it: only the total can end this
    server = raw_servers(drip(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
                              every=0.05))
    hook = subscribe(api, f"http://127.0.0.1:{server.port}/hooks", "shipment.created",
                     retry_countdown_config=FIXED_10)
    pack(api, seeded, package)

    started = time.monotonic()
    deliveries_run()
    elapsed = time.monotonic() - started

    assert attempt_rows() == [
        (1, None, "ReadTimeout: no complete answer within WEBHOOK_TOTAL_TIMEOUT (0.5 s)")]
    [duration] = WebhookAttempt.objects.values_list("duration_ms", flat=True)
    assert 500 <= duration < 2000
    assert elapsed < 5.0  # not one read timeout: the drip alone would take 3.6 s
    assert deliveries(hook["id"]) == [("shipment.created", "pending", 1)]  # retried later


def test_a_2xx_whose_body_drips_is_delivered_and_the_read_stops_at_the_deadline(
        api, seeded, package, settings, raw_servers):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TOTAL_TIMEOUT = 0.5
    server = raw_servers(drip(b"x" * 100, every=0.05, head=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"))
    hook = subscribe(api, f"http://127.0.0.1:{server.port}/hooks", "shipment.created")
    pack(api, seeded, package)

    deliveries_run()

    assert deliveries(hook["id"]) == [("shipment.created", "delivered", 1)]  # it answered 200
    assert attempt_rows() == [
        (1, 200, "ReadTimeout: no complete answer within WEBHOOK_TOTAL_TIMEOUT (0.5 s)")]
    [duration] = WebhookAttempt.objects.values_list("duration_ms", flat=True)
    assert 500 <= duration < 2000  # the 100 bytes would take 5 s
    assert WebhookDelivery.objects.get().last_error == ""


def test_a_slow_lookup_counts_against_the_total_timeout(api, seeded, package, receiver, settings, names,
                                                        connections):
    settings.WEBHOOK_TOTAL_TIMEOUT = 0.3
    names["slow.example.com"] = lambda: time.sleep(1.5) or ["127.0.0.1"]
    WebhookSubscription.objects.create(event_type="shipment.created",
                                       target_url=f"http://slow.example.com:{receiver.port}/hooks",
                                       retry_countdown_config=FIXED_10)
    pack(api, seeded, package)

    deliveries_run()

    assert attempt_rows() == [
        (1, None, "ConnectTimeout: no complete answer within WEBHOOK_TOTAL_TIMEOUT (0.3 s)")]
    [duration] = WebhookAttempt.objects.values_list("duration_ms", flat=True)
    assert 300 <= duration < 1500
    assert receiver.requests == []
    assert connections == []
