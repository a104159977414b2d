"""Order intake + planning benchmark (issue: planning one order must not cost a query per
candidate location per item).

Creates L locations with stock for S SKUs and a scenario, then posts O orders of K items each —
through the whole API stack in-process (`--mode api`, Django's test client: auth, validation,
serialization) or straight to the service (`--mode service`) — and prints orders/s, latency
percentiles and SQL queries per order. Run it against PostgreSQL:

    createdb -h 127.0.0.1 -U postgres oms_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench .venv/bin/python bench/planning_bench.py \\
        --locations 20 --skus 500 --orders 300 --items 5 --mode api
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from locations.models import Stock, StockLocation  # noqa: E402
from orders.models import Channel  # noqa: E402
from planning.models import Rule, Scenario  # noqa: E402
from planning.services import IntakeItem, order_intake  # noqa: E402


def setup(run: str, locations: int, skus: int, rng: random.Random) -> tuple[str, list[str]]:
    call_command("seed_transitions", stdout=open(os.devnull, "w"))  # noqa: SIM115
    channel, _ = Channel.objects.get_or_create(code=f"bench-{run}", defaults={"name": f"Bench {run}"})
    sites = StockLocation.objects.bulk_create([
        StockLocation(name=f"Bench {run} #{i}", erp_code=f"B{run}-{i}", priority=rng.randint(0, 9),
                      max_quota=rng.choice([None, 10_000]), city=rng.choice(["Istanbul", "Ankara", "Izmir"]))
        for i in range(locations)])
    sku_names = [f"B{run}-SKU-{i:05d}" for i in range(skus)]
    Stock.objects.bulk_create([
        Stock(stock_location=site, sku=sku, quantity=rng.randint(0, 50))
        for site in sites for sku in sku_names if rng.random() < 0.6], batch_size=5000)
    scenario = Scenario.objects.create(name=f"Bench {run}", priority=1000,
                                       default_stock_location=sites[0])
    scenario.channels.set([channel])
    Rule.objects.create(scenario=scenario, position=0, select_by_quota=True,
                        sort_keys=["priority", "stock"])
    return channel.code, sku_names


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=20)
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--mode", choices=["api", "service"], default="api")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    run = uuid.uuid4().hex[:6]

    t0 = time.perf_counter()
    channel, skus = setup(run, args.locations, args.skus, rng)
    rows = Stock.objects.filter(sku__startswith=f"B{run}").count()
    print(f"setup: {args.locations} locations, {args.skus} SKUs, {rows} stock rows in "
          f"{time.perf_counter() - t0:.1f}s  (database: {connection.vendor})")

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True,
                                                                                   "is_staff": True})
    token, _ = Token.objects.get_or_create(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    latencies, queries, packages, errors = [], [], 0, 0
    started = time.perf_counter()
    for n in range(args.orders):
        lines = rng.sample(skus, args.items)
        number = f"B{run}-{n:06d}"
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            begin = time.perf_counter()
            if args.mode == "api":
                response = client.post("/api/v1/oms/orders/", {
                    "number": number, "channel": channel,
                    "items": [{"sku": s, "quantity": 1, "price": "10.00"} for s in lines]},
                    content_type="application/json")
                ok = response.status_code == 201
                packages += len(response.json().get("packages", [])) if ok else 0
            else:
                order, ok = order_intake(fields={"number": number, "channel_id": Channel.objects.get(
                    code=channel).pk, "date_placed": django.utils.timezone.now()},
                    items=[IntakeItem(sku=s, quantity=1, price="10.00") for s in lines])
                packages += order.packages.count()
            latencies.append((time.perf_counter() - begin) * 1000)
        errors += not ok
        queries.append(len(captured.captured_queries))
    wall = time.perf_counter() - started

    print(f"mode={args.mode} orders={args.orders} items/order={args.items} errors={errors}")
    print(f"  {args.orders / wall:.1f} orders/s over {wall:.1f}s, "
          f"{packages / args.orders:.2f} packages/order")
    print(f"  latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
          f"p99 {percentile(latencies, 99):.1f}")
    print(f"  SQL queries per order: mean {statistics.mean(queries):.1f}  min {min(queries)}  "
          f"max {max(queries)}  (candidate locations x items = {args.locations * args.items})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
