#!/usr/bin/env python
"""`make bench`: the command path and order intake against PostgreSQL's own limit, in one run.

    .venv/bin/python bench/run.py                      # what `make bench` runs
    .venv/bin/python bench/run.py --source /tmp/oms-before --workers 4 --threads 4

One run, on this machine:

1. A fresh PostgreSQL database (``--database``, default oms_bench): migrate, seed_transitions,
   seed_demo, then the bench data loaded in bulk (consistent with the invariants: reservations,
   stock ``reserved``, quota): Waiting packages and Packed packages (with their shipment), three
   one-unit items each, spread over the five demo locations and all at one of them; ten intake
   locations with stock, a channel and a scenario for order intake; a superuser token; active
   webhook subscriptions (``--subscriptions``).
2. SQL queries per command, in-process (``django.test.Client``, the whole request incl.
   BEGIN/COMMIT), and a profile summary (pyinstrument) of pack and ship.
3. The production server: gunicorn with the source tree's ``gunicorn.conf.py`` (``WEB_CONCURRENCY``
   and ``GUNICORN_THREADS`` from ``--workers``/``--threads`` when given), or explicit flags when
   the tree has no such file.
4. pgbench TPC-B (scale 10, ``-c 16 -j 2 -T 10``) in its own database (``--pgbench-database``),
   before the HTTP phases and again after each of them: each phase's "% of pgbench" is to the
   mean of the two runs around it (``--pgbench-ends-only``: before and after all of them).
5. The HTTP load, with wrk (Debian package ``wrk``, one event-loop thread, bench/load.lua):
   pack and ship, packages spread over the demo locations and all at one location (16
   connections, every request a different package); order intake, 1-item and 3-item orders over
   ten candidate locations (8 connections). For each: rate, % of pgbench TPS, latency
   percentiles, errors, and CPU per command of the gunicorn workers, of the PostgreSQL backends
   of the bench database (both from /proc) and of wrk itself.
6. Checks: every 2xx moved exactly its package (statuses, log rows), no over-reservation
   (``reserved <= quantity``, ``reserved`` = the sum of reservations, on every stock row), the
   quota invariant at every location.

Exit status 1 when a request failed, a check failed or a phase ran out of packages.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"

PACK_SLUG = "package__complete_packaging__waiting__packed"
SHIP_SLUG = "package__ship_the_package__packed__shipped"
BENCH_USER = "bench"
BENCH_CHANNEL = "bench"
INTAKE_CHANNEL = "bench-intake"
ONE_LOCATION = "WH-IST"          # the demo warehouse: "all at one location"
SKUS_PER_LOCATION = 2000         # pack/ship stock catalogue at each demo location
INTAKE_LOCATIONS = 10
INTAKE_SKUS = 300
ITEMS_PER_PACKAGE = 3
HOOK_URL = "https://hooks.bench.invalid/oms"
BENCH_SECRET_KEY = secrets.token_urlsafe(50)
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def cpu_probe() -> float:
    """CPU seconds this process needs for a fixed pure-Python loop: on a shared virtual machine the
    same work costs more CPU time when the host is busy, so CPU per command is compared across
    runs together with this figure (about 0.5 s on a quiet core of this machine)."""
    started = time.process_time()
    total = 0
    for n in range(10_000_000):
        total += n
    return time.process_time() - started


# -- arguments --------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", type=Path, default=ROOT,
                   help="the OMS source tree to serve and load (default: this checkout)")
    p.add_argument("--database", default="oms_bench", help="bench database (dropped and created)")
    p.add_argument("--pgbench-database", default="oms_pgbench")
    p.add_argument("--port", type=int, default=8500)
    p.add_argument("--duration", type=int, default=10, help="seconds per HTTP phase (and pgbench)")
    p.add_argument("--max-rate", type=int, default=600,
                   help="packages loaded per phase = max-rate x duration (a phase that runs out "
                        "reports it and fails)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    p.add_argument("--threads", type=int, help="threads per worker (default: gunicorn.conf.py's)")
    p.add_argument("--configs", default="",
                   help="compare server sizes: comma-separated WORKERSxTHREADS (e.g. 2x4,3x4,4x2), one "
                        "server after the other on the same data; default: one server (--workers/--threads)")
    p.add_argument("--connections", type=int, default=16, help="HTTP connections, pack and ship")
    p.add_argument("--intake-connections", type=int, default=8)
    p.add_argument("--subscriptions", choices=["all", "none"], default="all",
                   help="'all': one active subscription to '*' (every event is written with a "
                        "delivery); 'none': no subscription")
    p.add_argument("--phases", default="pack-spread,pack-one,ship-spread,ship-one,intake-1,intake-3",
                   help="comma-separated subset of the phases")
    p.add_argument("--skip-pgbench", action="store_true")
    p.add_argument("--pgbench-ends-only", action="store_true",
                   help="pgbench before and after all the HTTP phases only (every phase's %% is then "
                        "to their mean); default: pgbench between every two phases too, each phase's "
                        "%% to the runs right before and after it")
    p.add_argument("--pgbench-tps", type=float, help="use this TPS instead of running pgbench")
    p.add_argument("--profile-commands", type=int, default=100,
                   help="in-process packs and ships profiled with pyinstrument (0: no profile)")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--server-log", type=Path, help="gunicorn's output (default: a temp file)")
    args = p.parse_args(argv)
    args.source = args.source.resolve()
    try:
        args.sizes = [tuple(int(n) for n in c.lower().split("x")) for c in args.configs.split(",") if c]
    except ValueError:
        p.error("--configs takes WORKERSxTHREADS, e.g. 2x4,3x4")
    if not args.sizes:
        args.sizes = [(args.workers, args.threads)]
    return args


# -- PostgreSQL -------------------------------------------------------------------------------------
def pg_connect(dbname: str):
    import psycopg

    return psycopg.connect(dbname=dbname, autocommit=True, **PG)


def recreate_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(args) -> dict[str, str]:
    """The environment of everything that runs the OMS here: production settings (DEBUG off, a
    throwaway SECRET_KEY) on the bench database."""
    return {**os.environ, "DATABASE_URL": database_url(args.database), "DEBUG": "false",
            "SECRET_KEY": BENCH_SECRET_KEY}


def database_url(name: str) -> str:
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def pgbench(args) -> dict:
    """TPC-B, scale 10, in its own database (initialised once, re-initialised if its scale differs)."""
    db = args.pgbench_database
    with pg_connect("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db}"')
    scale = None
    with pg_connect(db) as conn:
        try:
            scale = conn.execute("SELECT count(*) FROM pgbench_branches").fetchone()[0]
        except Exception:  # noqa: BLE001 - not initialised yet
            scale = None
    base = ["-h", PG["host"], "-p", PG["port"], "-U", PG["user"]]
    if scale != 10:
        log(f"pgbench: initialising {db} at scale 10")
        subprocess.run(["pgbench", *base, "-i", "-s", "10", "-q", db], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before = loadavg()
    cmd = ["pgbench", *base, "-c", "16", "-j", "2", "-T", str(args.duration), db]
    log(f"pgbench: {' '.join(cmd[len(base) + 1:])}  (load {before})")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    with pg_connect("postgres") as conn:  # its backends gone (and reaped) before a phase is metered
        for _ in range(100):
            if not conn.execute("SELECT 1 FROM pg_stat_activity WHERE datname = %s", (db,)).fetchone():
                break
            time.sleep(0.05)
    time.sleep(0.2)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": tps, "latency_avg_ms": float(latency.group(1)) if latency else None,
            "load_before": before, "load_after": loadavg()}


# -- Django (in-process: setup, counts, profile, checks) -------------------------------------------
def django_setup(args) -> None:
    os.environ.update(server_env(args))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    sys.path.insert(0, str(args.source))
    import logging

    import django

    django.setup()
    logging.getLogger("oms").setLevel(logging.WARNING)  # the in-process requests' log lines


def manage(args, *command: str) -> None:
    env = server_env(args)
    subprocess.run([str(VENV_BIN / "python"), "manage.py", *command], cwd=args.source, env=env,
                   check=True, stdout=subprocess.DEVNULL)


@dataclass
class BenchData:
    token: str
    user_id: int
    sets: dict[str, list[int]] = field(default_factory=dict)      # phase -> package ids
    spare_waiting: list[int] = field(default_factory=list)
    warm_pack: list[int] = field(default_factory=list)   # warm-up packs and ships, per server
    warm_ship: list[int] = field(default_factory=list)
    intake_skus: list[str] = field(default_factory=list)
    intake_location_ids: list[int] = field(default_factory=list)


def load_data(args, phases: list[str]) -> BenchData:
    """Bulk-load the bench data, keeping every invariant the checks verify."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from commands.models import State
    from locations.models import CargoCompany, Reservation, Stock, StockLocation
    from orders.enums import OrderStatus
    from orders.models import Channel, Order, OrderItem
    from packages.models import Package, PackageItem, Shipment
    from planning.models import Rule, Scenario
    from webhooks.models import WebhookSubscription

    rng = random.Random(42)
    user = get_user_model().objects.create_superuser(BENCH_USER, "bench@example.com",
                                                     secrets.token_urlsafe(24))
    token = Token.objects.create(user=user)
    data = BenchData(token=token.key, user_id=user.pk)
    if args.subscriptions == "all":
        WebhookSubscription.objects.create(event_type="*", target_url=HOOK_URL, is_active=True)

    demo = list(StockLocation.objects.filter(erp_code__in=["WH-IST", "ST-KDK", "ST-BSK", "ST-ANK",
                                                           "ST-IZM"]).order_by("id"))
    assert len(demo) == 5, "seed_demo's five locations are expected"
    one = next(loc for loc in demo if loc.erp_code == ONE_LOCATION)
    channel = Channel.objects.create(code=BENCH_CHANNEL, name="Bench")
    waiting = State.objects.get(enum_class="PackageStatus", slug="waiting")
    packed = State.objects.get(enum_class="PackageStatus", slug="packed")
    skus = [f"BSKU-{n:05d}" for n in range(SKUS_PER_LOCATION)]
    Stock.objects.bulk_create([Stock(stock_location=loc, sku=sku, quantity=1_000_000)
                               for loc in demo for sku in skus], batch_size=5000)

    per_phase = (args.max_rate * args.duration + args.connections) * len(args.sizes)
    profile_n = args.profile_commands + 2
    plan: list[tuple[str, list[StockLocation], int]] = []   # (set name, locations, status)
    for name in phases:
        if name.startswith(("pack-", "ship-")):
            status = 100 if name.startswith("pack") else 500
            plan.append((name, demo if name.endswith("spread") else [one], status))
    now = timezone.now()
    stock_reserved: Counter = Counter()
    quota: Counter = Counter()
    run = secrets.token_hex(3)

    def load_set(name: str, locations: list[StockLocation], status: int, count: int) -> list[int]:
        with transaction.atomic():
            orders = Order.objects.bulk_create([Order(
                number=f"BENCH-{run}-{name}-{i:06d}", channel=channel, date_placed=now,
                status=OrderStatus.APPROVED if status == 100 else OrderStatus.PREPARING,
                customer={"first_name": "Bench", "last_name": "Client", "email": "b@example.com"},
                shipping_address={"line": "Bench Cd. 1", "city": "İstanbul", "country": "TR"},
                payment_type="credit_card") for i in range(count)], batch_size=2000)
            picks = [rng.sample(skus, ITEMS_PER_PACKAGE) for _ in orders]
            order_items = OrderItem.objects.bulk_create([
                OrderItem(order=o, sku=sku, quantity=1, price="100.00")
                for o, chosen in zip(orders, picks, strict=True) for sku in chosen], batch_size=5000)
            where = [locations[i % len(locations)] for i in range(count)]
            packages = Package.objects.bulk_create([Package(
                number=f"{o.number}P1", order=o, stock_location=loc, status=status,
                state=waiting if status == 100 else packed) for o, loc in zip(orders, where, strict=True)],
                batch_size=2000)
            item_status = "waiting" if status == 100 else "packed"
            items = PackageItem.objects.bulk_create([
                PackageItem(package=packages[n // ITEMS_PER_PACKAGE], order_item=oi, sku=oi.sku,
                            quantity=1, status=item_status) for n, oi in enumerate(order_items)],
                batch_size=5000)
            if status == 100:
                Reservation.objects.bulk_create([
                    Reservation(package_item=item, stock_location_id=item.package.stock_location_id,
                                sku=item.sku, quantity=1) for item in items], batch_size=5000)
                for item in items:
                    stock_reserved[(item.package.stock_location_id, item.sku)] += 1
                for loc in where:
                    quota[loc.pk] += 1
            else:
                Shipment.objects.bulk_create([Shipment(
                    package=p, status="created", has_shipping_document=True,
                    cargo_company_id=p.stock_location.default_cargo_company_id) for p in packages],
                    batch_size=2000)
        return [p.pk for p in packages]

    for name, locations, status in plan:
        started = time.perf_counter()
        data.sets[name] = load_set(name, locations, status, per_phase)
        log(f"  loaded {per_phase} packages for {name} in {time.perf_counter() - started:.1f}s")
    data.spare_waiting = load_set("spare", demo, 100, profile_n)
    data.warm_pack = load_set("warm-pack", demo, 100, WARM_UP_COMMANDS * len(args.sizes))
    data.warm_ship = load_set("warm-ship", demo, 500, WARM_UP_COMMANDS * len(args.sizes))

    with transaction.atomic():
        rows = {(s.stock_location_id, s.sku): s for s in Stock.objects.filter(
            stock_location__in=demo, sku__in=skus).select_for_update()}
        for key, n in stock_reserved.items():
            rows[key].reserved = n
        Stock.objects.bulk_update([rows[k] for k in stock_reserved], ["reserved"], batch_size=5000)
        for loc_id, n in quota.items():
            StockLocation.objects.filter(pk=loc_id).update(quota=n + StockLocation.objects.get(
                pk=loc_id).quota)

        # Order intake: ten locations, stock at ~60 % of (location, SKU) pairs, one scenario.
        cargo = CargoCompany.objects.order_by("id").first()
        sites = StockLocation.objects.bulk_create([StockLocation(
            name=f"Bench intake {n}", erp_code=f"BENCH-IN-{n:02d}", city=rng.choice(
                ["İstanbul", "Ankara", "İzmir"]), country="TR", priority=rng.randint(0, 9),
            default_cargo_company=cargo) for n in range(1, INTAKE_LOCATIONS + 1)])
        data.intake_skus = [f"ISKU-{n:04d}" for n in range(INTAKE_SKUS)]
        Stock.objects.bulk_create([Stock(stock_location=site, sku=sku, quantity=1_000_000)
                                   for site in sites for sku in data.intake_skus if rng.random() < 0.6],
                                  batch_size=5000)
        intake_channel = Channel.objects.create(code=INTAKE_CHANNEL, name="Bench intake")
        scenario = Scenario.objects.create(name="Bench intake", priority=10_000,
                                           default_stock_location=sites[0])
        scenario.channels.set([intake_channel])
        rule = Rule.objects.create(scenario=scenario, position=0, name="Bench: ten locations",
                                   select_by_quota=True, sort_keys=["priority", "stock"])
        rule.stock_locations.set(sites)
        data.intake_location_ids = [s.pk for s in sites]
    if args.subscriptions == "all":
        load_outbox_history()
    return data


OUTBOX_HISTORY = 20_000  # delivered events (with their deliveries) already in the outbox


def load_outbox_history() -> None:
    """A running OMS's outbox holds the events it delivered (the worker keeps them): without
    them the planner, told by the ANALYZE after loading that the outbox is empty, plans the
    deliveries' foreign-key checks (one per delivery, in every command) as scans of the whole
    event table, which the run itself then grows — costs production does not have (autovacuum
    analyses the table as it grows; it is off on this project's machines)."""
    from django.db import connection

    from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

    subscription = WebhookSubscription.objects.order_by("id").values_list("id", flat=True).first()
    events, deliveries = WebhookEvent._meta.db_table, WebhookDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} (uuid, event_type, payload, created_date) "
            f"SELECT md5('bench-history-' || n), 'package.status.shipped', jsonb_build_object('id', n), "
            f"now() - interval '1 day' FROM generate_series(1, %s) AS n", [OUTBOX_HISTORY])
        cursor.execute(
            f"INSERT INTO {deliveries} (created_date, modified_date, uuid, status, attempts, last_error, "
            f"delivered_at, event_id, subscription_id) SELECT e.created_date, e.created_date, "
            f"gen_random_uuid(), 'delivered', 1, '', e.created_date, e.id, %s FROM {events} e",
            [subscription])


# -- in-process: queries per command and a profile --------------------------------------------------
def query_counts(data: BenchData) -> list[dict]:
    """One request of each kind through django.test.Client, twice (the first of a process also
    fills per-process caches). Outside a test case nothing wraps the request in a transaction:
    the count is what a gunicorn worker runs, the dispatcher's BEGIN/COMMIT included."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": f"Token {data.token}"})
    rows = []
    ids = data.spare_waiting[:2]
    requests = []
    for slug, verb in ((PACK_SLUG, "pack"), (SHIP_SLUG, "ship")):
        for n, pk in enumerate(ids, 1):
            requests.append((f"{verb} #{n}", f"/api/v1/oms/packages/{pk}/command/",
                             {"slug": slug, "input_parameters": {}}))
    rng = random.Random(7)
    for items in (1, 3):
        for n in (1, 2):
            requests.append((f"intake {items}-item #{n}", "/api/v1/oms/orders/", {
                "number": f"BENCH-Q-{secrets.token_hex(4)}", "channel": INTAKE_CHANNEL,
                "items": [{"sku": s, "quantity": 1, "price": "10.00"}
                          for s in rng.sample(data.intake_skus, items)]}))
    for label, path, body in requests:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(path, data=json.dumps(body), content_type="application/json")
        sql = [q["sql"] for q in captured.captured_queries]
        kinds = Counter(s.split(None, 1)[0].upper() for s in sql)
        rows.append({"label": label, "status": response.status_code, "queries": len(sql),
                     "breakdown": dict(kinds.most_common()), "sql": sql})
    return rows


BUCKETS = [  # (label, path fragments), first match wins, on the innermost frame's file
    ("PostgreSQL round trips (psycopg)", ("/psycopg/", "psycopg_binary", "/psycopg_c/")),
    ("Django DB backend (cursor, SQL logging)", ("/django/db/backends/",)),
    ("Django ORM (query building, model init)", ("/django/db/models/", "/django/db/transaction")),
    ("DRF (serializers, fields, views)", ("/rest_framework/",)),
    ("django-fsm", ("/django_fsm/",)),
    ("Django request/response, middleware, URLs, auth", ("/django/",)),
    ("json / encoding", ("/json/",)),
]


def args_source() -> Path:
    return Path(sys.path[0])


def summarize(root, source: str) -> tuple[Counter, Counter]:
    """Self time by bucket (where the innermost frame's code lives) and inclusive time of the
    OMS's own functions, from a pyinstrument frame tree."""
    buckets: Counter = Counter()
    project: Counter = Counter()
    stack = [(root, "")] if root is not None else []
    while stack:
        frame, parent_path = stack.pop()
        self_time = frame.time - sum(child.time for child in frame.children)
        # synthetic frames ([self], [await]) carry their parent's time: file it under the parent
        path = parent_path if frame.is_synthetic else (frame.file_path or "")
        ours = path.startswith(source) and "/.venv/" not in path
        label = next((name for name, parts in BUCKETS if any(p in path for p in parts)), None)
        buckets[label or ("OMS code" if ours else "other")] += self_time
        if ours and not frame.is_synthetic and "/bench/" not in path:
            project[f"{frame.function} ({Path(path).relative_to(source)}:{frame.line_no})"] += frame.time
        stack.extend((child, path) for child in frame.children)
    # the request's wrappers (middleware, view, dispatcher entry) hold nearly all the time: leave
    # them out, so that the list shows where it goes
    whole = root.time if root is not None else 0.0
    project = Counter({name: t for name, t in project.items() if t < 0.5 * whole})
    return buckets, project


def profile_commands(data: BenchData, count: int) -> dict:
    """Pack then ship ``count`` packages in-process: the first half timed plainly (CPU and wall per
    command, one client, no concurrency), the second half under pyinstrument (wall time split by
    where the innermost frame's code lives, and the project's costliest functions)."""
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(headers={"Authorization": f"Token {data.token}"})
    ids = data.spare_waiting[2:2 + count]
    timed, profiled = ids[:len(ids) // 2], ids[len(ids) // 2:]
    result = {}
    for slug, verb in ((PACK_SLUG, "pack"), (SHIP_SLUG, "ship")):
        def run(pks, slug=slug):
            for pk in pks:
                response = client.post(f"/api/v1/oms/packages/{pk}/command/",
                                       content_type="application/json",
                                       data=json.dumps({"slug": slug, "input_parameters": {}}))
                assert response.status_code in (200, 204), response.content[:300]

        cpu, wall = time.process_time(), time.perf_counter()
        run(timed)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        profiler = Profiler(interval=0.0005)
        profiler.start()
        run(profiled)
        profiler.stop()
        buckets, project = summarize(profiler.last_session.root_frame(), str(args_source()))
        total = sum(buckets.values()) or 1.0
        result[verb] = {
            "commands": len(timed), "profiled": len(profiled),
            "wall_ms_per_command": wall / len(timed) * 1000, "cpu_ms_per_command": cpu / len(timed) * 1000,
            "buckets_pct": {k: round(v / total * 100, 1) for k, v in buckets.most_common()},
            # inclusive time, per command; nested functions overlap
            "top_oms_functions_ms": {k: round(v / len(profiled) * 1000, 2)
                                     for k, v in project.most_common(12)},
        }
    return result


# -- CPU accounting from /proc ----------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, …), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def proc_cpu(pid: int) -> float | None:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK if fields else None


def reaped_cpu(pid: int) -> float | None:
    """CPU seconds of ``pid``'s children that ended and were waited for (cutime + cstime)."""
    fields = _stat(pid)
    return (int(fields[13]) + int(fields[14])) / TICK if fields else None


def parent_of(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def children_of(pid: int) -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and parent_of(int(entry.name)) == pid]


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


class CpuMeter:
    """CPU seconds of the gunicorn workers and of the bench database's PostgreSQL backends between
    start() and stop(). Backends that start during the phase are counted whole; those that end
    during it (a connection older than CONN_MAX_AGE is replaced) through the postmaster's reaped
    children's CPU, less what they had used before the phase began."""

    def __init__(self, master_pid: int, database: str) -> None:
        self.master_pid, self.database = master_pid, database
        self.postmaster: int | None = None

    def _backends(self) -> list[int]:
        with pg_connect("postgres") as conn:
            return [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
                (self.database,))]

    def _snapshot(self) -> dict:
        workers = {pid: proc_cpu(pid) for pid in children_of(self.master_pid)}
        backends = {pid: proc_cpu(pid) for pid in self._backends()}
        if self.postmaster is None and backends:
            self.postmaster = parent_of(next(iter(backends)))
        reaped = reaped_cpu(self.postmaster) if self.postmaster else None
        return {"workers": workers, "backends": backends, "reaped": reaped, "machine": machine_cpu()}

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self) -> dict:
        after = self._snapshot()

        def delta(kind: str) -> float:
            total = 0.0
            for pid, cpu in after[kind].items():
                if cpu is not None:
                    total += cpu - (self.before[kind].get(pid) or 0.0)
            return total

        postgres = delta("backends")
        if after["reaped"] is not None and self.before["reaped"] is not None:
            ended = [pid for pid in self.before["backends"] if after["backends"].get(pid) is None]
            postgres += (after["reaped"] - self.before["reaped"]
                         - sum(self.before["backends"][pid] or 0.0 for pid in ended))
        busy = after["machine"][0] - self.before["machine"][0]
        total = after["machine"][1] - self.before["machine"][1]
        return {"workers_s": delta("workers"), "postgres_s": postgres,
                "machine_busy_pct": busy / total * 100 if total else 0.0}


# -- the server -------------------------------------------------------------------------------------
class Server:
    def __init__(self, args, workers: int | None = None, threads: int | None = None) -> None:
        self.args = args
        self.workers_wanted, self.threads_wanted = workers, threads
        self.log_path = args.server_log or Path(tempfile.mkstemp(prefix="oms-bench-gunicorn-",
                                                                 suffix=".log")[1])
        self.config = args.source / "gunicorn.conf.py"

    def start(self) -> None:
        args = self.args
        env = server_env(args)
        cmd = [str(VENV_BIN / "gunicorn")]
        if self.config.exists():
            cmd += ["-c", str(self.config)]
            if self.workers_wanted:
                env["WEB_CONCURRENCY"] = str(self.workers_wanted)
            if self.threads_wanted:
                env["GUNICORN_THREADS"] = str(self.threads_wanted)
            self.described = (f"gunicorn -c gunicorn.conf.py (WEB_CONCURRENCY="
                              f"{env.get('WEB_CONCURRENCY', 'default')}, GUNICORN_THREADS="
                              f"{env.get('GUNICORN_THREADS', 'default')})")
        else:
            workers, threads = self.workers_wanted or 4, self.threads_wanted or 4
            cmd += ["-k", "gthread", "-w", str(workers), "--threads", str(threads), "--keep-alive", "5",
                    "--timeout", "60", "--access-logfile", "-"]
            self.described = (f"gunicorn -k gthread -w {workers} --threads {threads} --keep-alive 5 "
                              "(no gunicorn.conf.py in the source tree)")
        cmd += ["-b", f"127.0.0.1:{args.port}", "oms.wsgi"]
        self.out = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(cmd, cwd=args.source, env=env, stdout=self.out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/oms/health/", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log_path}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.args.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def workers(self) -> list[int]:
        return children_of(self.pid)

    def stop(self) -> None:
        if getattr(self, "process", None) is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "out", None) is not None:
            self.out.close()


# -- HTTP phases ------------------------------------------------------------------------------------
@dataclass
class PhaseResult:
    name: str
    requests: int = 0
    duration_s: float = 0.0
    latency_ms: dict = field(default_factory=dict)
    errors: int = 0
    socket_errors: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    samples: list = field(default_factory=list)
    exhausted: bool = False
    cpu: dict = field(default_factory=dict)
    wrk_cpu_s: float = 0.0
    load_before: str = ""
    load_after: str = ""
    ok_count: int = 0
    connections: int = 0
    pgbench_tps: float | None = None  # the yardstick of this phase (mean of the runs around it)

    @property
    def rate(self) -> float:
        return self.ok_count / self.duration_s if self.duration_s else 0.0


def wrk(server: Server, meter: CpuMeter, name: str, connections: int, duration: int,
        script_args: list[str]) -> PhaseResult:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
           "-s", str(BENCH_DIR / "load.lua"), server.url, "--", *script_args]
    result = PhaseResult(name, connections=connections, load_before=loadavg())
    meter.start()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    result.cpu = meter.stop()
    result.load_after = loadavg()
    out = process.stdout.read()
    err = process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    result.wrk_cpu_s = usage.ru_utime + usage.ru_stime
    line = next((line for line in out.splitlines() if line.startswith("BENCHJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result (exit {process.returncode}):\n{out}\n{err}")
    raw = json.loads(line[len("BENCHJSON "):])
    result.requests = raw["requests"]
    result.duration_s = raw["duration_us"] / 1e6
    result.latency_ms = {k: v / 1000 for k, v in raw["latency_us"].items()}
    result.socket_errors = {k: v for k, v in raw["errors"].items() if k != "status" and v}
    result.statuses = {int(k): v for k, v in raw["statuses"].items()}
    result.ok_count = sum(v for k, v in result.statuses.items() if 200 <= k < 300)
    result.errors = sum(v for k, v in result.statuses.items() if not 200 <= k < 300) \
        + sum(result.socket_errors.values())
    result.samples = raw["samples"]
    result.exhausted = raw["exhausted_threads"] > 0
    return result


def wait_until_idle(database: str, timeout: float = 120.0) -> None:
    """Wait for the requests still in flight when wrk stopped: the server finishes them (their
    commands commit), and the checks and the next phase must not run beside them."""
    deadline = time.monotonic() + timeout
    quiet = 0
    with pg_connect("postgres") as conn:
        while time.monotonic() < deadline and quiet < 3:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND backend_type = 'client backend' AND state <> 'idle'", (database,)).fetchone()[0]
            quiet = quiet + 1 if busy == 0 else 0
            time.sleep(0.2)


WARM_UP_COMMANDS = 400  # packages packed, and shipped, while warming up each server


def warm_up(server: Server, data: BenchData, args, index: int) -> None:
    """Before anything is measured, every worker has served each kind of request: GETs of a
    package's detail (code loaded, database connection open), then packs, ships and orders for a
    few seconds on packages and order numbers of their own, outside the measured sets — so that
    no phase pays for a worker's first commands (queries compiled once per process, statements
    prepared after their second run on a connection, per-process caches filled)."""
    pk, connections = data.spare_waiting[0], args.connections
    auth = ["-H", f"Authorization: Token {data.token}"]
    subprocess.run(["wrk", "-t1", f"-c{connections}", "-d3s", *auth,
                    f"{server.url}/api/v1/oms/packages/{pk}/"], check=True, capture_output=True)
    runs = []
    for ids, slug in ((data.warm_pack, PACK_SLUG), (data.warm_ship, SHIP_SLUG)):
        share = ids[index * WARM_UP_COMMANDS:(index + 1) * WARM_UP_COMMANDS]
        ids_file = Path(tempfile.mkstemp(prefix="oms-bench-warm-")[1])
        ids_file.write_text("\n".join(map(str, share)) + "\n")
        runs.append((["command", data.token, str(ids_file), slug, "1"], ids_file))
    sku_file = Path(tempfile.mkstemp(prefix="oms-bench-warm-skus-")[1])
    sku_file.write_text("\n".join(data.intake_skus) + "\n")
    runs.append((["intake", data.token, str(sku_file), INTAKE_CHANNEL, "1",
                  f"BENCH-{secrets.token_hex(3)}-warm"], sku_file))
    for script_args, path in runs:
        subprocess.run(["wrk", "-t1", f"-c{connections}", "-d2s", "--timeout", "30s", "-s",
                        str(BENCH_DIR / "load.lua"), server.url, "--", *script_args],
                       check=True, capture_output=True)
        wait_until_idle(args.database)
        path.unlink()


# -- checks -----------------------------------------------------------------------------------------
def check_phase(name: str, ids: list[int], result: PhaseResult) -> list[str]:
    """Every package moved has one log row; the packages moved are the 2xx answers plus at most
    the requests still in flight when wrk stopped (the server finishes them, wrk does not count
    them); nothing outside the set moved."""
    from commands.models import StateTransitionLog
    from packages.models import Package

    target = 500 if name.startswith("pack") else 550
    moved = Package.objects.filter(pk__in=ids, status=target).count()
    logs = StateTransitionLog.objects.filter(object_id__in=ids, content_type__model="package").count()
    problems = []
    if not result.ok_count <= moved <= result.ok_count + result.connections:
        problems.append(f"{name}: {result.ok_count} answers 2xx but {moved} packages moved")
    if logs != moved:
        problems.append(f"{name}: {moved} packages moved but {logs} log rows")
    return problems


def check_intake(prefix: str, result: PhaseResult) -> list[str]:
    from orders.models import Order

    created = Order.objects.filter(number__startswith=prefix).count()
    if not result.ok_count <= created <= result.ok_count + result.connections:
        return [f"{result.name}: {result.ok_count} answers 2xx but {created} orders created"]
    return []


def check_invariants() -> list[str]:
    """No over-reservation on any stock row, reserved = the sum of its reservations, quota
    invariant (§4) at every location."""
    from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
    from django.db.models.functions import Coalesce

    from locations.models import Reservation, Stock, StockLocation

    problems = []
    over = Stock.objects.filter(reserved__gt=F("quantity")).count()
    if over:
        problems.append(f"{over} stock rows with reserved > quantity")
    sums = Reservation.objects.filter(stock_location=OuterRef("stock_location"), sku=OuterRef("sku")) \
        .values("stock_location").annotate(n=Sum("quantity")).values("n")
    mismatched = Stock.objects.annotate(held=Coalesce(Subquery(sums), 0)).exclude(reserved=F("held"))
    if mismatched.exists():
        problems.append(f"{mismatched.count()} stock rows whose reserved differs from their reservations")
    orphans = Reservation.objects.exclude(stock_location__stocks__sku=F("sku")).count()
    if orphans:
        problems.append(f"{orphans} reservations without a stock row")
    bad = StockLocation.objects.annotate(below=Count("packages", filter=Q(packages__status__lt=400))) \
        .exclude(quota=F("below"))
    for loc in bad:
        problems.append(f"quota invariant broken at {loc.erp_code}: quota {loc.quota}, packages below "
                        f"400: {loc.below}")
    return problems


# -- report -----------------------------------------------------------------------------------------
def report(args, server_desc: str, pg: dict | None, counts: list[dict], profile: dict,
           results: list[PhaseResult], problems: list[str], probes: tuple[float, float]) -> dict:
    tps = pg["tps"] if pg else None
    print()
    print("=" * 100)
    print(f"OMS bench  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  source {args.source}  "
          f"commit {git_commit(args.source)}")
    print(f"machine: {os.cpu_count()} CPUs; server: {server_desc}")
    print(f"load: wrk -t1 (one event loop), bench/load.lua; subscriptions: {args.subscriptions}")
    print(f"CPU probe (fixed Python loop, ~0.5 s on a quiet core): {probes[0]:.2f} s before, "
          f"{probes[1]:.2f} s after")
    if pg:
        runs = (f" (mean of {pg['tps_before']:.0f} before and {pg['tps_after']:.0f} after the HTTP phases)"
                if "tps_after" in pg else "")
        if "tps_runs" in pg:
            runs = (f" (mean of {len(pg['tps_runs'])} runs, before, between and after the HTTP phases: "
                    f"{', '.join(f'{t:.0f}' for t in pg['tps_runs'])}; each phase's % is to the two "
                    "runs around it)")
        print(f"pgbench TPC-B scale 10, -c 16 -j 2 -T {args.duration}: {tps:.0f} TPS{runs} "
              f"(latency avg {pg['latency_avg_ms']} ms; load {pg['load_before']} -> {pg['load_after']})")
    print()
    head = (f"{'phase':<17}{'conn':>5}{'ok':>7}{'err':>5}{'cmd/s':>8}{'%pgb':>7}{'p50':>8}{'p95':>8}"
            f"{'p99':>8}{'max':>8}{'py ms':>8}{'pg ms':>7}{'wrk ms':>7}{'cpu%':>6}  load before -> after")
    print(head)
    for r in results:
        yardstick = r.pgbench_tps or tps
        pct = f"{r.rate / yardstick * 100:6.1f}%" if yardstick else "     -"
        n = max(r.ok_count + r.errors, 1)
        print(f"{r.name:<17}{r.connections:>5}{r.ok_count:>7}{r.errors:>5}{r.rate:>8.1f}{pct:>7}"
              f"{r.latency_ms.get('50', 0):>8.1f}{r.latency_ms.get('95', 0):>8.1f}"
              f"{r.latency_ms.get('99', 0):>8.1f}{r.latency_ms.get('max', 0):>8.1f}"
              f"{r.cpu['workers_s'] / n * 1000:>8.2f}{r.cpu['postgres_s'] / n * 1000:>7.2f}"
              f"{r.wrk_cpu_s / n * 1000:>7.3f}{r.cpu['machine_busy_pct']:>6.0f}  "
              f"{r.load_before} -> {r.load_after}"
              + ("  RAN OUT OF PACKAGES" if r.exhausted else ""))
    print("  latencies in ms (wrk, client side); py ms / pg ms: CPU per command of the gunicorn workers /")
    print("  the bench database's PostgreSQL backends; wrk ms: the load generator's CPU per request;")
    print("  cpu%: both cores' busy share during the phase (anything else running included).")
    if any(r.pgbench_tps for r in results):
        print("  %pgb: to the mean of the pgbench runs right before and after the phase: "
              + ", ".join(f"{r.name} {r.pgbench_tps:.0f}" for r in results if r.pgbench_tps))
    for r in results:
        if r.errors:
            print(f"  {r.name} errors: statuses {r.statuses}, sockets {r.socket_errors}")
            for s in r.samples:
                print(f"    {s[:200]}")
    print()
    print("SQL queries per request (in-process django.test.Client, whole request incl. BEGIN/COMMIT):")
    for c in counts:
        kinds = ", ".join(f"{k} {v}" for k, v in c["breakdown"].items())
        print(f"  {c['queries']:>3}  {c['label']:<16} (HTTP {c['status']}): {kinds}")
    if profile:
        print()
        for verb, p in profile.items():
            print(f"in-process {verb}, one client, x{p['commands']}: "
                  f"{p['wall_ms_per_command']:.1f} ms/command wall, Python CPU "
                  f"{p['cpu_ms_per_command']:.1f} ms (the whole request, test client included); "
                  f"profile of {p['profiled']} more (pyinstrument, wall time):")
            for label, pct in p["buckets_pct"].items():
                print(f"    {pct:5.1f}%  {label}")
            print("    costliest OMS functions (inclusive ms/command):")
            for fn, ms in list(p["top_oms_functions_ms"].items())[:8]:
                print(f"      {ms:7.2f}  {fn}")
    print()
    if problems:
        print("CHECKS FAILED:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print("checks: ok (every 2xx moved its package once with one log row; no over-reservation; "
              "reserved = sum of reservations; quota invariant at every location)")
    return {
        "commit": git_commit(args.source), "source": str(args.source), "server": server_desc,
        "cpu_probe_s": probes,
        "pgbench": pg, "subscriptions": args.subscriptions,
        "phases": [{
            "name": r.name, "connections": r.connections, "ok": r.ok_count, "errors": r.errors,
            "rate": r.rate, "pgbench_tps": r.pgbench_tps or tps,
            "pct_of_pgbench": (r.rate / (r.pgbench_tps or tps) * 100) if (r.pgbench_tps or tps) else None,
            "latency_ms": r.latency_ms, "statuses": r.statuses, "exhausted": r.exhausted,
            "cpu_ms_per_command": {k: (v / max(r.ok_count + r.errors, 1) * 1000 if k.endswith("_s") else v)
                                   for k, v in r.cpu.items()},
            "wrk_cpu_ms_per_request": r.wrk_cpu_s / max(r.requests, 1) * 1000,
            "load_before": r.load_before, "load_after": r.load_after} for r in results],
        "queries": [{k: v for k, v in c.items() if k != "sql"} for c in counts],
        "profile": profile, "problems": problems,
    }


def git_commit(source: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return out + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_phases(args, server: Server, data: BenchData, phases: list[str], index: int, label: str,
               problems: list[str], yardstick: list[float] | None = None) -> list[PhaseResult]:
    """Every phase once against ``server``, on the ``index``-th share of each phase's packages.
    ``yardstick``: the pgbench TPS measured so far (its last entry right before the first phase);
    pgbench runs again after each phase, and the phase is compared with the mean of the two runs
    around it."""
    from django.db import connection

    meter = CpuMeter(server.pid, args.database)
    run_id = secrets.token_hex(3)
    sku_file = Path(tempfile.mkstemp(prefix="oms-bench-skus-")[1])
    sku_file.write_text("\n".join(data.intake_skus) + "\n")
    results = []
    for name in phases:
        if name.startswith(("pack", "ship")):
            share = len(data.sets[name]) // len(args.sizes)
            ids = data.sets[name][index * share:(index + 1) * share]
            ids_file = Path(tempfile.mkstemp(prefix=f"oms-bench-{name}-")[1])
            ids_file.write_text("\n".join(map(str, ids)) + "\n")
            slug = PACK_SLUG if name.startswith("pack") else SHIP_SLUG
            log(f"{name}{label}: {args.connections} connections, {args.duration}s (load {loadavg()})")
            result = wrk(server, meter, name + label, args.connections, args.duration,
                         ["command", data.token, str(ids_file), slug, "1"])
            wait_until_idle(args.database)
            ids_file.unlink()
            problems += check_phase(name, ids, result)
        else:
            items = 1 if name == "intake-1" else 3
            prefix = f"BENCH-{run_id}-{name}"
            log(f"{name}{label}: {args.intake_connections} connections, {items}-item orders, "
                f"{INTAKE_LOCATIONS} candidate locations, {args.duration}s (load {loadavg()})")
            result = wrk(server, meter, name + label, args.intake_connections, args.duration,
                         ["intake", data.token, str(sku_file), INTAKE_CHANNEL, str(items), prefix])
            wait_until_idle(args.database)
            problems += check_intake(prefix, result)
        if result.exhausted:
            problems.append(f"{name}{label}: ran out of packages (raise --max-rate); its rate is a "
                            "lower bound")
        if result.errors:
            problems.append(f"{name}{label}: {result.errors} failed requests")
        if yardstick:
            tps = pgbench(args)["tps"]
            log(f"pgbench after {name}{label}: {tps:.0f} TPS")
            result.pgbench_tps = (yardstick[-1] + tps) / 2
            yardstick.append(tps)
        results.append(result)
        connection.close()
    sku_file.unlink()
    return results


# -- main -------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk (Debian package)")
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    known = {"pack-spread", "pack-one", "ship-spread", "ship-one", "intake-1", "intake-3"}
    if set(phases) - known:
        sys.exit(f"unknown phases: {', '.join(sorted(set(phases) - known))}")

    probe_before = cpu_probe()
    log(f"CPU probe: {probe_before:.2f} s")
    log(f"bench database {args.database}: recreate, migrate, seed (source {args.source}; load {loadavg()})")
    recreate_database(args.database)
    manage(args, "migrate", "--noinput")
    manage(args, "seed_demo")
    django_setup(args)
    from django.db import connection

    log("loading the bench data")
    data = load_data(args, phases)
    with connection.cursor() as cursor:  # fresh bulk loads: give the planner its statistics
        cursor.execute("ANALYZE")
    log("queries per request, in-process")
    counts = query_counts(data)
    profile = {}
    if args.profile_commands:
        log(f"profile: {args.profile_commands} packs and ships in-process")
        profile = profile_commands(data, args.profile_commands)
    connection.close()

    pg = None
    if args.pgbench_tps:
        pg = {"tps": args.pgbench_tps, "latency_avg_ms": None, "load_before": "-", "load_after": "-"}
    elif not args.skip_pgbench:
        pg = pgbench(args)
        log(f"pgbench: {pg['tps']:.0f} TPS")

    # pgbench between the phases too: this machine's speed drifts by up to a third within minutes
    # (other tenants of its host), so each phase is compared with the runs right around it
    between = pg is not None and not args.pgbench_tps and not args.pgbench_ends_only
    yardstick = [pg["tps"]] if between else None
    results: list[PhaseResult] = []
    problems: list[str] = []
    described = []
    server_log = None
    for index, (workers, threads) in enumerate(args.sizes):
        server = Server(args, workers, threads)
        label = f" {workers}x{threads}" if len(args.sizes) > 1 else ""
        try:
            server.start()
            described.append(server.described)
            server_log = server.log_path
            log(f"server up: {server.described}, pid {server.pid}, workers {server.workers()}")
            warm_up(server, data, args, index)
            results += run_phases(args, server, data, phases, index, label, problems, yardstick)
        finally:
            server.stop()
    problems += check_invariants()
    connection.close()
    if yardstick is not None:
        pg = {**pg, "tps_runs": yardstick, "tps": sum(yardstick) / len(yardstick)}
    elif pg is not None and not args.pgbench_tps:
        # This machine's speed drifts (other tenants of the host): pgbench again after the phases,
        # and the ratio is to the mean of the two runs.
        after = pgbench(args)
        log(f"pgbench again: {after['tps']:.0f} TPS")
        pg = {**pg, "tps_before": pg["tps"], "tps_after": after["tps"],
              "tps": (pg["tps"] + after["tps"]) / 2, "load_after": after["load_after"]}
    probes = (probe_before, cpu_probe())
    summary = report(args, "; ".join(described), pg, counts, profile, results, problems, probes)
    print(f"server log: {server_log}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
