"""A small world with two stores, a warehouse and every kind of row, and one user per role.

Everything that belongs to store A carries the marker ``SECRET-A`` (order number, and so package
and transfer numbers; customer e-mail and address; SKUs; a block reason in a log row), so "store B
learns nothing of store A" is a plain substring check on every response body."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import transaction

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.models import StateTransitionLog
from locations.models import Stock, StockLocation
from orders.models import Order
from packages.models import Package, PackageItem
from planning.models import Rule, Scenario
from tests.conftest import api_client_for
from tests.factories import (
    CargoCompanyFactory,
    ChannelFactory,
    DenialReasonFactory,
    OrderFactory,
    StockLocationFactory,
    UserFactory,
    make_package,
)
from transfers.models import TransferOrder
from transfers.services import transfer_create
from webhooks.models import WebhookSubscription

MARKER = "SECRET-A"
WEBHOOK_SECRET = "whsec-do-not-leak"
PROJECT_APPS = ("accounts", "commands", "locations", "orders", "packages", "planning", "transfers",
                "webhooks")


@dataclass
class World:
    a: StockLocation
    b: StockLocation
    warehouse: StockLocation
    package_a: Package
    waiting_a: Package
    transfer_a: TransferOrder
    package_b: Package
    log_a: StateTransitionLog
    subscription: WebhookSubscription

    def object_of(self, model) -> object | None:
        """Store A's row of a location-bound model (what B must not reach), else any row."""
        own = {Package: self.package_a, PackageItem: self.package_a.packageitem_set.first(),
               Order: self.package_a.order, TransferOrder: self.transfer_a,
               Stock: Stock.objects.filter(stock_location=self.a).first(),
               StateTransitionLog: self.log_a, WebhookSubscription: self.subscription}
        return own.get(model) or model._default_manager.order_by("pk").first()


@pytest.fixture
def world(seeded) -> World:
    ChannelFactory(code="web")
    CargoCompanyFactory(code="yurtici")
    DenialReasonFactory()
    a = StockLocationFactory(erp_code="ST-A", name="Store A", stock_location_type="store")
    b = StockLocationFactory(erp_code="ST-B", name="Store B", stock_location_type="store")
    warehouse = StockLocationFactory(erp_code="WH", name="Warehouse", is_transfer_center=True)
    secret_order = OrderFactory(number=f"ORD-{MARKER}-1", customer={"email": f"{MARKER}@customer.test"},
                                shipping_address={"line": f"{MARKER} street 1", "city": "Istanbul"})
    package_a = make_package(location=a, skus={f"SKU-{MARKER}-1": 1}, order=secret_order)
    waiting_a = make_package(location=a, skus={f"SKU-{MARKER}-2": 1}, order=secret_order, status=300)
    Stock.objects.create(stock_location=warehouse, sku=f"SKU-{MARKER}-2", quantity=5)
    with transaction.atomic():
        transfer_a = transfer_create(package=waiting_a, source=warehouse.pk,
                                     items=list(waiting_a.packageitem_set.all()))
    package_b = make_package(location=b, skus={"SKU-B-1": 1}, order=OrderFactory(number="ORD-B-1"))
    block = seeded.transition("BLOCK_THE_PACKAGE", 100, 350)
    unblock = seeded.transition("UNBLOCK_THE_PACKAGE", 350)
    command_run(object_type="package", object_id=package_a.pk, transition_id=block.pk,
                input_parameters={"reason": f"{MARKER} customer called"})
    command_run(object_type="package", object_id=package_a.pk, transition_id=unblock.pk)
    log_a = StateTransitionLog.objects.filter(object_id=package_a.pk).order_by("pk").first()
    scenario = Scenario.objects.create(name="Stores first", default_stock_location=warehouse)
    Rule.objects.create(scenario=scenario, position=0, name="Any store")
    subscription = WebhookSubscription.objects.create(
        event_type="*", target_url="https://hooks.example.com/oms", secret_key=WEBHOOK_SECRET)
    return World(a=a, b=b, warehouse=warehouse, package_a=Package.objects.get(pk=package_a.pk),
                 waiting_a=waiting_a, transfer_a=transfer_a, package_b=package_b, log_a=log_a,
                 subscription=subscription)


def every_project_permission():
    return Permission.objects.filter(content_type__app_label__in=PROJECT_APPS)


def _user(*, channel: str | None = None, locations=(), perms=(), **flags):
    user = UserFactory(**flags)
    if perms:
        user.user_permissions.add(*perms)
    if channel is not None:
        Profile.objects.create(user=user, channel=channel).stock_locations.set(locations)
    return api_client_for(user)


ROLES = ["anonymous", "read_only", "integration", "store_a", "store_b", "operator", "superuser"]


@pytest.fixture
def clients(world) -> dict:
    """One API client per role. Store users get *every* project permission (an operator who
    over-granted them): their locations alone must keep them in their store."""
    from rest_framework.test import APIClient

    integration_perms = Permission.objects.filter(codename__in=[
        "add_order", "change_package", "change_transferorder", "add_stock", "change_stock"])
    return {
        "anonymous": APIClient(),
        "read_only": _user(channel="third_party"),
        "integration": _user(channel="third_party", perms=integration_perms),
        "store_a": _user(channel="instore", locations=[world.a], perms=every_project_permission(),
                         is_staff=True),
        "store_b": _user(channel="instore", locations=[world.b], perms=every_project_permission(),
                         is_staff=True),
        "operator": _user(channel="oms_web", perms=every_project_permission(), is_staff=True),
        "superuser": _user(is_staff=True, is_superuser=True),
    }


def everything() -> dict:
    """Every row of every project model, for 'nothing changed' assertions."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in PROJECT_APPS:
            rows[model._meta.label] = list(model._default_manager.order_by("pk").values_list())
    return rows
