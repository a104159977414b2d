"""The demo data set: realistic, consistent, and idempotent (run twice, the second run creates
nothing)."""

import re
from collections import Counter
from io import StringIO

from django.core.management import call_command
from django.db.models import Count, Sum
from rest_framework.authtoken.models import Token

from commands.models import StateTransitionLog
from locations.models import Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package
from transfers.models import TransferOrder


def rows() -> dict:
    return {"locations": StockLocation.objects.count(), "stock": Stock.objects.count(),
            "orders": Order.objects.count(), "packages": Package.objects.count(),
            "logs": StateTransitionLog.objects.count(), "tokens": Token.objects.count()}


def test_seed_demo_twice_creates_everything_once(db):
    first_out, second_out = StringIO(), StringIO()

    call_command("seed_demo", stdout=first_out)
    after_first = rows()
    call_command("seed_demo", stdout=second_out)

    assert rows() == after_first
    assert "Nothing to create: the demo data is already there." in second_out.getvalue()
    assert after_first["locations"] >= 4 and after_first["orders"] >= 8
    assert len(set(Stock.objects.values_list("sku", flat=True))) >= 20


def test_demo_packages_are_in_several_states_and_consistent(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)

    statuses = Counter(Package.objects.values_list("status", flat=True))
    assert {100, 300, 350, 500, 550, 600} <= set(statuses)
    transfer = TransferOrder.objects.get()
    assert (transfer.status, transfer.source.erp_code, transfer.destination.erp_code) == (
        "waiting", "WH-IST", "ST-KDK")
    assert Reservation.objects.filter(package_item__transfer_items__transfer=transfer,
                                      stock_location=transfer.source).count() == 1
    # moved through the dispatcher: one log row per move, state carries the status
    for package in Package.objects.select_related("state"):
        assert package.state.status == package.status
    commands_run = int(re.search(r"commands run\s+(\d+)", out.getvalue()).group(1))
    assert commands_run > 0
    assert StateTransitionLog.objects.count() == commands_run
    # packages are created Waiting (or Waiting for Transfer); every other status came by a command
    moved = set(Package.objects.exclude(status__in=[100, 300]).values_list("pk", flat=True))
    assert moved <= set(StateTransitionLog.objects.values_list("object_id", flat=True))
    # quota = packages below 400; reserved = sum of reservations
    below = dict(Package.objects.filter(status__lt=400).values_list("stock_location").annotate(n=Count("id")))
    for location in StockLocation.objects.all():
        assert location.quota == below.get(location.pk, 0), location.erp_code
    reserved = {(r["stock_location"], r["sku"]): r["n"] for r in Reservation.objects.values(
        "stock_location", "sku").annotate(n=Sum("quantity"))}
    for stock in Stock.objects.all():
        assert stock.reserved == reserved.get((stock.stock_location_id, stock.sku), 0)


def test_demo_admin_prints_a_working_login_and_token(db, client):
    out = StringIO()

    call_command("demo_admin", "--password", "pass-4321", "--no-credentials-file", stdout=out)
    call_command("demo_admin", "--password", "pass-4321", "--no-credentials-file", stdout=StringIO())

    token = Token.objects.get(user__username="admin")
    assert token.key in out.getvalue() and "pass-4321" in out.getvalue()
    assert Token.objects.filter(user__username="admin").count() == 1
    assert client.login(username="admin", password="pass-4321")
    assert client.get("/admin/").status_code == 200
