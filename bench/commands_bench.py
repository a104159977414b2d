#!/usr/bin/env python
"""Benchmark of the package command endpoint (spec §3.2) against a running server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench \\
        .venv/bin/python bench/commands_bench.py --url http://127.0.0.1:8000 \\
        --packages 500 --concurrency 8 --items 3

It starts nothing: the server at ``--url`` must already run on the database ``DATABASE_URL``
names (see bench/README.md). Steps:

1. Setup, in-process through Django (``DJANGO_SETTINGS_MODULE=oms.settings``): seed_transitions,
   a ``bench`` superuser and its DRF token, a bench location with stock, and Waiting packages
   with ``--items`` one-unit items each, made by ``package_create`` (reservations, quota). Every
   order number carries a run id, so reruns never collide.
2. Queries per command, in-process: one pack and one ship through ``django.test.Client`` (the
   whole request: middleware, token auth, view, dispatcher) under ``CaptureQueriesContext``.
3. Over HTTP, ``--concurrency`` threads, each with its own keep-alive ``http.client``
   connection: "pack" for every package, then "ship" for every package.
4. Raw-SQL baseline: the pack command's database work as plain SQL with psycopg 3 on another
   set of packages, one connection per thread, one transaction per command.
5. Checks the database afterwards (statuses, reservations, stock, quota invariant, log rows).

Exits 1 if any command answered non-2xx (or a raw command failed, or a check failed)."""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import queue
import secrets
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent

PACK_SLUG = "package__complete_packaging__waiting__packed"
SHIP_SLUG = "package__ship_the_package__packed__shipped"
BENCH_USERNAME = "bench"
BENCH_LOCATION = "BENCH"
BENCH_CHANNEL = "bench"
BENCH_CARGO = "bench-cargo"
COMMAND_PATH = "/api/v1/oms/packages/{pk}/command/"
DETAIL_PATH = "/api/v1/oms/packages/{pk}/"
HEALTH_PATH = "/api/v1/oms/health/"
SETUP_BATCH = 100


# -- arguments and Django ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL of the running server")
    parser.add_argument("--packages", type=int, default=500, help="packages per phase (N)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (C)")
    parser.add_argument("--items", type=int, default=3, help="items (SKUs) per package (K)")
    parser.add_argument("--locations", type=int, default=1, metavar="L",
                        help="spread the packages round-robin over L bench locations (default 1: "
                             "every pack updates the same location's quota row)")
    parser.add_argument("--shared-skus", type=int, default=0, metavar="S",
                        help="draw every package's SKUs from S shared stock rows (lock contention "
                             "on stock); default 0: each package has its own SKUs")
    parser.add_argument("--warmup", type=int, default=40, metavar="W",
                        help="untimed GETs of package details first, so every server worker has "
                             "loaded its URLconf and code (0: none)")
    parser.add_argument("--server-pid", type=int, metavar="PID",
                        help="gunicorn master pid (same host): also report the workers' CPU time "
                             "per command")
    parser.add_argument("--timeout", type=float, default=60.0, help="HTTP timeout per request, s")
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw-SQL baseline")
    parser.add_argument("--allow-debug", action="store_true",
                        help="run even if the server answers with DEBUG=True pages")
    parser.add_argument("--show-sql", action="store_true",
                        help="print the SQL of the in-process pack and ship")
    args = parser.parse_args(argv)
    if min(args.packages, args.concurrency, args.items, args.locations) < 1:
        parser.error("--packages, --concurrency, --items and --locations must be >= 1")
    if args.shared_skus and args.shared_skus < args.items:
        parser.error("--shared-skus must be >= --items (a package's SKUs are distinct)")
    return args


def django_setup() -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("DATABASE_URL is not set: point it at the database the server uses "
                 "(postgres://postgres@127.0.0.1:5432/oms_bench).")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    import django

    django.setup()


# -- statistics -------------------------------------------------------------------------------------
def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]


@dataclass
class PhaseResult:
    name: str
    latencies: list[float] = field(default_factory=list)   # seconds, one per command
    statuses: Counter = field(default_factory=Counter)     # HTTP status (0: no response / raw error)
    error_samples: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: float | None = None                               # Python CPU seconds spent on the phase
    cpu_of: str = ""

    @property
    def commands(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    @property
    def rate(self) -> float:
        return self.commands / self.wall if self.wall else 0.0

    def ms(self, p: float) -> float:
        return percentile(sorted(self.latencies), p) * 1000

    def row(self) -> str:
        return (f"{self.name:<14}{self.commands:>9}{self.errors:>8}{self.wall:>9.2f}{self.rate:>9.1f}"
                f"{self.ms(50):>9.1f}{self.ms(95):>9.1f}{self.ms(99):>9.1f}")


TABLE_HEADER = (f"{'phase':<14}{'commands':>9}{'errors':>8}{'wall s':>9}{'cmd/s':>9}"
                f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")


def server_cpu(master_pid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by the children of ``master_pid`` (the gunicorn
    workers), from /proc; None when not given or not readable (not Linux, another host)."""
    if master_pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total, found = 0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[1]) == master_pid:                # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime
            found = True
    return total / tick if found else None


def run_threads(name: str, ids: list[int], concurrency: int, make_worker) -> PhaseResult:
    """Run ``make_worker(work, barrier, record)`` in ``concurrency`` threads over ``ids``.

    Each worker opens its connection, waits at the barrier, then takes ids off the queue until
    it is empty; the wall time runs from the barrier to the last thread's end."""
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for pk in ids:
        work.put(pk)
    result = PhaseResult(name)
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def record(latencies: list[float], statuses: Counter, samples: list[str]) -> None:
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.error_samples.extend(samples[: max(0, 5 - len(result.error_samples))])

    threads = [threading.Thread(target=make_worker, args=(work, barrier, record), daemon=True)
               for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - started
    return result


# -- setup (Django, in-process) ---------------------------------------------------------------------
@dataclass
class BenchData:
    run_id: str
    token: str
    user_id: int
    location_ids: list[int]
    http_ids: list[int]
    raw_ids: list[int]
    query_ids: list[int]
    skus: list[str]


def setup_data(args: argparse.Namespace, run_id: str) -> BenchData:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from commands.models import State
    from locations.models import CargoCompany, Stock, StockLocation
    from orders.models import Channel, Order, OrderItem
    from packages.services import ItemLine, package_create

    call_command("seed_transitions", stdout=io.StringIO())
    user_model = get_user_model()
    user = user_model.objects.filter(username=BENCH_USERNAME).first()
    if user is None:
        user = user_model.objects.create_superuser(BENCH_USERNAME, f"{BENCH_USERNAME}@example.com",
                                                   secrets.token_urlsafe(24))
    elif not (user.is_superuser and user.is_active):
        user.is_superuser = user.is_staff = user.is_active = True
        user.save(update_fields=["is_superuser", "is_staff", "is_active"])
    token, _ = Token.objects.get_or_create(user=user)

    cargo, _ = CargoCompany.objects.get_or_create(code=BENCH_CARGO, defaults={"name": "Bench Cargo"})
    locations = [StockLocation.objects.get_or_create(
        erp_code=BENCH_LOCATION if n == 1 else f"{BENCH_LOCATION}-{n}",
        defaults={"name": f"Bench location {n}", "city": "Istanbul", "country": "TR",
                  "default_cargo_company": cargo})[0] for n in range(1, args.locations + 1)]
    location_of = [locations[i % len(locations)] for i in range(2 * args.packages + 2)]
    channel, _ = Channel.objects.get_or_create(code=BENCH_CHANNEL, defaults={"name": "Bench"})
    waiting = State.objects.get(enum_class="PackageStatus", slug="waiting")

    total = 2 * args.packages + 2
    k = args.items
    if args.shared_skus:
        pool = [f"B{run_id}-S{s:04d}" for s in range(args.shared_skus)]
        per_package = [[pool[(i + j) % len(pool)] for j in range(k)] for i in range(total)]
        skus = pool
        stocks = [Stock(stock_location=loc, sku=sku, quantity=total) for loc in locations for sku in pool]
    else:
        per_package = [[f"B{run_id}-{i:05d}-{j}" for j in range(k)] for i in range(total)]
        skus = [sku for group in per_package for sku in group]
        stocks = [Stock(stock_location=location_of[i], sku=sku, quantity=10)
                  for i, group in enumerate(per_package) for sku in group]
    Stock.objects.bulk_create(stocks, batch_size=1000)

    now = timezone.now()
    customer = {"first_name": "Bench", "last_name": "Client", "email": "bench@example.com",
                "phone": "+905550000000"}
    address = {"line": "Bench Cd. 1", "city": "Istanbul", "country": "TR", "postcode": "34000"}
    names = ([f"H{i:05d}" for i in range(args.packages)] + [f"R{i:05d}" for i in range(args.packages)]
             + ["Q1", "Q2"])
    ids: list[int] = []
    for start in range(0, total, SETUP_BATCH):
        with transaction.atomic():
            for i in range(start, min(start + SETUP_BATCH, total)):
                # A new order: nobody else can see it yet, so no lock is needed for package numbers.
                order = Order.objects.create(
                    number=f"BENCH-{run_id}-{names[i]}", channel=channel, customer=customer,
                    shipping_address=address, payment_type="credit_card", date_placed=now)
                order_items = OrderItem.objects.bulk_create([
                    OrderItem(order=order, sku=sku, quantity=1, price="100.00")
                    for sku in per_package[i]])
                package = package_create(order=order, stock_location=location_of[i], state=waiting,
                                         lines=[ItemLine(item, 1) for item in order_items])
                ids.append(package.pk)
    n = args.packages
    return BenchData(run_id=run_id, token=token.key, user_id=user.pk,
                     location_ids=[loc.pk for loc in locations],
                     http_ids=ids[:n], raw_ids=ids[n:2 * n], query_ids=ids[2 * n:], skus=skus)


# -- queries per command (in-process) ---------------------------------------------------------------
@dataclass
class QueryCount:
    label: str
    status: int
    sql: list[str]

    @property
    def total(self) -> int:
        return len(self.sql)

    def breakdown(self) -> str:
        kinds = Counter(s.split(None, 1)[0].upper() for s in self.sql)
        return ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))


def count_queries(data: BenchData) -> list[QueryCount]:
    """Pack then ship both extra packages through the test client, each request captured.

    Outside a test case the client runs the request as a server would: no wrapping transaction,
    no savepoints; the dispatcher's own BEGIN/COMMIT are part of the count. The first request of
    the process also fills per-process caches (ContentType), so both packages are reported."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Token {data.token}"})
    counts = []
    for slug, verb in ((PACK_SLUG, "pack"), (SHIP_SLUG, "ship")):
        for n, pk in enumerate(data.query_ids, start=1):
            with CaptureQueriesContext(connection) as captured:
                response = client.post(COMMAND_PATH.format(pk=pk), data=json.dumps(
                    {"slug": slug, "input_parameters": {}}), content_type="application/json")
            first = " (first request of the process: caches cold)" if not counts else ""
            counts.append(QueryCount(f"{verb} #{n}{first}", response.status_code,
                                     [q["sql"] for q in captured.captured_queries]))
    return counts


# -- HTTP phases ------------------------------------------------------------------------------------
def http_phase(name: str, base_url: str, token: str, slug: str | None, ids: list[int], concurrency: int,
               timeout: float, server_pid: int | None = None) -> PhaseResult:
    """POST ``slug`` to every package's command endpoint (``slug=None``: GET its detail instead,
    the warm-up)."""
    parts = urlsplit(base_url)
    prefix = parts.path.rstrip("/")
    method, path = ("POST", COMMAND_PATH) if slug else ("GET", DETAIL_PATH)
    body = json.dumps({"slug": slug, "input_parameters": {}}).encode() if slug else None
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
               "Accept": "application/json", "Connection": "keep-alive"}

    def worker(work, barrier, record) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        latencies: list[float] = []
        statuses: Counter = Counter()
        samples: list[str] = []
        barrier.wait()
        while True:
            try:
                pk = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                conn.request(method, prefix + path.format(pk=pk), body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                # Not retried: a command is not idempotent without a key. Reconnect next time.
                status, payload = 0, repr(error).encode()
                conn.close()
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if not 200 <= status < 300 and len(samples) < 5:
                samples.append(f"package {pk}: {status} {payload[:300].decode(errors='replace')}")
        conn.close()
        record(latencies, statuses, samples)

    before = server_cpu(server_pid)
    result = run_threads(name, ids, concurrency, worker)
    after = server_cpu(server_pid)
    if before is not None and after is not None:
        result.cpu, result.cpu_of = after - before, "gunicorn workers"
    return result


def probe_server(base_url: str, allow_debug: bool) -> None:
    """Fail fast if the server is down, unhealthy, or shows DEBUG pages."""
    parts = urlsplit(base_url)
    prefix = parts.path.rstrip("/")
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    try:
        conn.request("GET", prefix + HEALTH_PATH)
        health = conn.getresponse()
        health.read()
        conn.request("GET", prefix + f"/__bench_probe_{secrets.token_hex(4)}__/")
        missing = conn.getresponse()
        page = missing.read().decode(errors="replace")
    except OSError as error:
        sys.exit(f"Server at {base_url} is not reachable ({error}). Start it first (bench/README.md).")
    finally:
        conn.close()
    if health.status != 200:
        sys.exit(f"{base_url}{HEALTH_PATH} answered {health.status}.")
    if "DEBUG = True" in page:
        message = "The server runs with DEBUG=True: timings are not representative."
        if not allow_debug:
            sys.exit(message + " Restart it without DEBUG (or pass --allow-debug).")
        print("WARNING: " + message)


# -- raw-SQL baseline -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RawContext:
    """Names and ids read once from the models, like Django's own per-process caches."""

    sql: dict[str, str]
    content_type_id: int
    user_id: int
    enum_class: str


def raw_sql() -> dict[str, str]:
    from commands.models import State, StateTransitionLog, Transition
    from locations.models import Reservation, Stock, StockLocation
    from orders.models import Order
    from packages.models import Package, PackageItem, Shipment

    t = {m.__name__: m._meta.db_table for m in (
        Package, PackageItem, Shipment, Order, Stock, StockLocation, Reservation, Transition, State,
        StateTransitionLog)}
    return {
        "lock_package": (
            f"SELECT p.id, p.status, p.state_id, p.order_id, p.stock_location_id, o.cargo_company_id, "
            f"l.default_cargo_company_id FROM {t['Package']} p "
            f"JOIN {t['Order']} o ON o.id = p.order_id "
            f"JOIN {t['StockLocation']} l ON l.id = p.stock_location_id "
            f"WHERE p.id = %s FOR UPDATE OF p"),
        "transition": (
            f"SELECT tr.id, tr.command, tr.source_state_id, tr.destination_state_id, tr.is_active, "
            f"src.enum_class, dst.enum_value FROM {t['Transition']} tr "
            f"JOIN {t['State']} src ON src.id = tr.source_state_id "
            f"JOIN {t['State']} dst ON dst.id = tr.destination_state_id WHERE tr.slug = %s"),
        "reservations": (
            f"SELECT r.id, r.stock_location_id, r.sku, r.quantity FROM {t['Reservation']} r "
            f"JOIN {t['PackageItem']} i ON i.id = r.package_item_id WHERE i.package_id = %s "
            f"ORDER BY r.id"),
        "lock_stocks": (
            f"SELECT id, stock_location_id, sku FROM {t['Stock']} "
            f"WHERE stock_location_id = ANY(%s) AND sku = ANY(%s) ORDER BY id FOR UPDATE"),
        "consume_stocks": (
            f"UPDATE {t['Stock']} s SET quantity = s.quantity - v.n, reserved = s.reserved - v.n "
            f"FROM unnest(%s::bigint[], %s::integer[]) AS v(id, n) WHERE s.id = v.id"),
        "delete_reservations": f"DELETE FROM {t['Reservation']} WHERE id = ANY(%s)",
        "insert_shipment": (
            f"INSERT INTO {t['Shipment']} (created_date, modified_date, package_id, cargo_company_id, "
            f"tracking_number, query_number, status, shipped_date, has_shipping_document) "
            f"VALUES (now(), now(), %s, %s, '', '', 'created', NULL, true)"),
        "update_package": (
            f"UPDATE {t['Package']} SET status = %s, state_id = %s, modified_date = now() "
            f"WHERE id = %s"),
        "update_quota": f"UPDATE {t['StockLocation']} SET quota = quota + %s WHERE id = %s",
        "update_items": (
            f"UPDATE {t['PackageItem']} SET status = %s, modified_date = now() "
            f"WHERE package_id = %s AND status <> 'out_of_stock'"),
        "order_statuses": f"SELECT status FROM {t['Package']} WHERE order_id = %s",
        "update_order": (
            f"UPDATE {t['Order']} SET status = %s, modified_date = now() "
            f"WHERE id = %s AND status <> %s"),
        "insert_log": (
            f"INSERT INTO {t['StateTransitionLog']} (content_type_id, object_id, old_state_id, "
            f"new_state_id, user_id, attributes, created_date, modified_date) "
            f"VALUES (%s, %s, %s, %s, %s, %s, now(), now())"),
    }


class RawRefusal(Exception):
    pass


def raw_pack(conn, ctx: RawContext, package_id: int, slug: str = PACK_SLUG) -> int:
    """The pack command's database work in one transaction. Returns the statements executed."""
    from psycopg.types.json import Jsonb

    from packages.enums import holds_quota
    from packages.services import order_status_from, status_key

    sql = ctx.sql
    executed = 0

    def run(name: str, params: tuple):
        nonlocal executed
        executed += 1
        return cur.execute(sql[name], params)

    with conn.transaction(), conn.cursor() as cur:
        row = run("lock_package", (package_id,)).fetchone()
        if row is None:
            raise RawRefusal(f"package {package_id} not found")
        _, old_status, old_state_id, order_id, location_id, order_cargo, location_cargo = row
        transition = run("transition", (slug,)).fetchone()
        if transition is None or not transition[4] or transition[5] != ctx.enum_class:
            raise RawRefusal("commands_100_2")
        transition_id, command, source_state_id, new_state_id, _, _, new_value = transition
        if old_state_id != source_state_id:
            raise RawRefusal("commands_100_1")
        new_status = int(new_value)

        reservations = run("reservations", (package_id,)).fetchall()
        if reservations:
            totals: dict[tuple[int, str], int] = defaultdict(int)
            for _, res_location, sku, quantity in reservations:
                totals[(res_location, sku)] += quantity
            stocks = run("lock_stocks", (sorted({loc for loc, _ in totals}),
                                         sorted({sku for _, sku in totals}))).fetchall()
            stocks = [s for s in stocks if (s[1], s[2]) in totals]
            run("consume_stocks", ([s[0] for s in stocks], [totals[(s[1], s[2])] for s in stocks]))
            run("delete_reservations", ([r[0] for r in reservations],))
        run("insert_shipment", (package_id, order_cargo or location_cargo))
        run("update_package", (new_status, new_state_id, package_id))
        if holds_quota(old_status) != holds_quota(new_status):
            run("update_quota", (1 if holds_quota(new_status) else -1, location_id))
        if old_status != new_status:
            run("update_items", (status_key(new_status), package_id))
            statuses = [r[0] for r in run("order_statuses", (order_id,)).fetchall()]
            order_status = order_status_from(statuses)
            run("update_order", (order_status, order_id, order_status))
        run("insert_log", (ctx.content_type_id, package_id, old_state_id, new_state_id, ctx.user_id,
                           Jsonb({"command": {"slug": slug, "transition_id": transition_id,
                                              "command": command},
                                  "input_parameters": {}, "idempotency_key": None})))
    return executed


def connect_raw():
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    params = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"], "host": s["HOST"],
              "port": str(s["PORT"] or "")}
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


def raw_phase(data: BenchData, concurrency: int) -> tuple[PhaseResult, int]:
    from django.contrib.contenttypes.models import ContentType

    from packages.models import Package

    ctx = RawContext(sql=raw_sql(), content_type_id=ContentType.objects.get_for_model(Package).pk,
                     user_id=data.user_id, enum_class="PackageStatus")
    statements: list[int] = []

    def worker(work, barrier, record) -> None:
        latencies: list[float] = []
        statuses: Counter = Counter()
        samples: list[str] = []
        try:
            conn = connect_raw()
        except Exception as error:
            barrier.wait()
            record([], Counter(), [f"connect: {error!r}"])
            raise
        barrier.wait()
        while True:
            try:
                pk = work.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                statements.append(raw_pack(conn, ctx, pk))
                status = 200
            except Exception as error:  # counted and shown, like a non-2xx answer
                status = 0
                if len(samples) < 5:
                    samples.append(f"package {pk}: {error!r}")
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
        conn.close()
        record(latencies, statuses, samples)

    cpu_before = time.process_time()
    result = run_threads("raw-sql pack", data.raw_ids, concurrency, worker)
    result.cpu, result.cpu_of = time.process_time() - cpu_before, "this process"
    missing = len(data.raw_ids) - result.commands
    if missing:  # left in the queue because every worker failed to connect
        result.statuses[0] += missing
    return result, (max(statements) if statements else 0)


# -- checks -----------------------------------------------------------------------------------------
def check_database(data: BenchData, ran_raw: bool) -> list[str]:
    from commands.models import StateTransitionLog
    from locations.models import Reservation, Stock, StockLocation
    from packages.enums import PackageStatus
    from packages.models import Package, Shipment

    problems = []
    expected = [("HTTP", data.http_ids + data.query_ids, PackageStatus.SHIPPED, 2)]
    if ran_raw:
        expected.append(("raw", data.raw_ids, PackageStatus.PACKED, 1))
    for label, ids, status, logs in expected:
        found = Counter(Package.objects.filter(pk__in=ids).values_list("status", flat=True))
        if found != Counter({status: len(ids)}):
            problems.append(f"{label} packages: statuses {dict(found)}, expected all {int(status)}")
        if Reservation.objects.filter(package_item__package_id__in=ids).exists():
            problems.append(f"{label} packages still hold reservations")
        shipments = Shipment.objects.filter(package_id__in=ids).count()
        if shipments != len(ids):
            problems.append(f"{label} packages: {shipments} shipments, expected {len(ids)}")
        log_rows = StateTransitionLog.objects.filter(object_id__in=ids,
                                                     content_type__model="package").count()
        if log_rows != logs * len(ids):
            problems.append(f"{label} packages: {log_rows} log rows, expected {logs * len(ids)}")
    if ran_raw:
        stock = Stock.objects.filter(stock_location_id__in=data.location_ids, sku__in=data.skus)
        if stock.exclude(reserved=0).exists():
            problems.append("stock rows of this run still have reserved units")
    for location in StockLocation.objects.filter(pk__in=data.location_ids):
        below = Package.objects.filter(stock_location=location, status__lt=400).count()
        if location.quota != below:
            problems.append(f"quota invariant broken at {location.erp_code}: quota {location.quota}, "
                            f"packages below 400: {below}")
    return problems


# -- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    django_setup()
    from django.conf import settings
    from django.db import connection

    vendor = connection.vendor
    if vendor != "postgresql" and not args.skip_raw:
        sys.exit(f"DATABASE_URL points at {vendor}; the raw-SQL baseline needs PostgreSQL "
                 "(or pass --skip-raw).")
    run_id = time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)
    print(f"OMS command benchmark  run {run_id}")
    print(f"  target {args.url}  database {vendor}:{settings.DATABASES['default']['NAME']}")
    print(f"  packages {args.packages} per phase, concurrency {args.concurrency}, items {args.items}, "
          f"locations {args.locations}, "
          f"SKUs {'shared pool of ' + str(args.shared_skus) if args.shared_skus else 'own per package'}")

    print("  machine: {} CPUs, load average {:.2f} {:.2f} {:.2f} (anything else running skews the "
          "numbers)".format(os.cpu_count(), *os.getloadavg()))
    probe_server(args.url, args.allow_debug)
    started = time.perf_counter()
    data = setup_data(args, run_id)
    print(f"setup: {len(data.http_ids) + len(data.raw_ids) + len(data.query_ids)} Waiting packages "
          f"with {args.items} items each in {time.perf_counter() - started:.1f}s")

    counts = count_queries(data)
    bad_counts = [c for c in counts if not 200 <= c.status < 300]
    for c in bad_counts:
        print(f"in-process {c.label} answered {c.status}")

    if args.warmup:
        ids = (data.http_ids * (args.warmup // len(data.http_ids) + 1))[:args.warmup]
        warm = http_phase("warm-up", args.url, data.token, None, ids, args.concurrency, args.timeout)
        print(f"warm-up: {warm.commands} GETs of package details, {warm.errors} errors")
        if warm.errors:
            print("\n".join(f"  {sample}" for sample in warm.error_samples))
            return 1
    print("running HTTP pack ...", flush=True)
    pack = http_phase("http pack", args.url, data.token, PACK_SLUG, data.http_ids, args.concurrency,
                      args.timeout, args.server_pid)
    print("running HTTP ship ...", flush=True)
    ship = http_phase("http ship", args.url, data.token, SHIP_SLUG, data.http_ids, args.concurrency,
                      args.timeout, args.server_pid)
    phases = [pack, ship]
    raw_statements = 0
    if not args.skip_raw:
        print("running raw-SQL pack ...", flush=True)
        raw, raw_statements = raw_phase(data, args.concurrency)
        phases.append(raw)

    print()
    print(TABLE_HEADER)
    for phase in phases:
        print(phase.row())
    for phase in phases:
        if phase.errors:
            codes = ", ".join(f"{status or 'no response'}: {n}"
                              for status, n in sorted(phase.statuses.items()) if not 200 <= status < 300)
            print(f"{phase.name} errors ({codes}); first ones:")
            for sample in phase.error_samples:
                print(f"  {sample}")

    measured = [p for p in phases if p.cpu is not None and p.commands]
    if measured:
        print()
        print("Python CPU per command (PostgreSQL's own CPU not included):")
        for phase in measured:
            print(f"  {phase.name:<14}{phase.cpu / phase.commands * 1000:>7.2f} ms  ({phase.cpu_of})")
    if not args.skip_raw:
        ratio = pack.rate / raw.rate if raw.rate else 0.0
        print()
        print(f"framework overhead: HTTP pack {pack.rate:.1f} cmd/s / raw SQL pack {raw.rate:.1f} cmd/s "
              f"= {ratio:.3f} (raw is {1 / ratio if ratio else 0:.1f}x faster)")
        print(f"raw SQL statements per pack: {raw_statements} + BEGIN/COMMIT")

    print()
    print("SQL queries per command (in-process, django.test.Client, whole request incl. BEGIN/COMMIT):")
    for c in counts:
        print(f"  {c.total:>3}  {c.label}: {c.breakdown()}")
    if args.show_sql:
        for c in counts:
            print(f"\n-- {c.label}")
            for sql in c.sql:
                print(f"  {sql[:240]}")

    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    problems = check_database(data, ran_raw=not args.skip_raw)
    print()
    if problems:
        print("database check FAILED:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print("database check: ok (statuses, reservations, shipments, log rows, stock, quota invariant)")

    failed = any(phase.errors for phase in phases) or bad_counts or problems
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
