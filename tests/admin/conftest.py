"""Admin fixtures: a logged-in staff client and a small world with a row for every admin."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.models import IdempotencyRecord, StateTransitionLog
from locations.models import CargoCompany, StockLocation
from orders.models import Order
from packages.models import Package, PackageDenialReason
from tests.factories import (
    CargoCompanyFactory,
    DenialReasonFactory,
    OrderFactory,
    StockLocationFactory,
    UserFactory,
    make_package,
)
from transfers.models import TransferOrder
from transfers.services import transfer_create


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # Users are created in most tests here; the default hasher costs ~0.4 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@dataclass
class World:
    cargo: CargoCompany
    store: StockLocation
    warehouse: StockLocation
    waiting: Package
    packed: Package
    transfer: TransferOrder
    reason: PackageDenialReason
    instore: Profile
    log: StateTransitionLog
    record: IdempotencyRecord

    @property
    def waiting_order(self) -> Order:
        return self.waiting.order


@pytest.fixture
def world(seeded, staff_user) -> World:
    """Two packages at a store (one Waiting, one packed through the dispatcher), a transfer from a
    warehouse, a denial reason, an instore operator, a token and a group."""
    cargo = CargoCompanyFactory(name="Yurtiçi Kargo", code="yurtici")
    store = StockLocationFactory(name="Kadıköy", erp_code="KDK01", max_quota=10,
                                 default_cargo_company=cargo)
    warehouse = StockLocationFactory(name="Central warehouse", erp_code="WH01", is_transfer_center=True,
                                     stock_location_type="warehouse")
    waiting = make_package(location=store, skus={"SKU-RED": 2}, order=OrderFactory(number="ORD-1"))
    packed = make_package(location=store, skus={"SKU-BLUE": 1},
                          order=OrderFactory(number="ORD-2", customer={"email": "can@example.com"}))
    command_run(object_type="package", object_id=packed.pk,
                transition_id=seeded.transition("COMPLETE_PACKAGING", 100, 500).pk,
                actor=staff_user, channel="oms_web", idempotency_key="key-pack-1")
    transfer = transfer_create(package=waiting, source=warehouse, items=list(waiting.packageitem_set.all()))
    instore = Profile.objects.create(user=UserFactory(username="instore1", is_staff=True),
                                     channel="instore")
    instore.stock_locations.set([store])
    Token.objects.create(user=staff_user)
    Group.objects.get_or_create(name="Store staff")  # seed_transitions creates the roles
    return World(cargo=cargo, store=store, warehouse=warehouse, waiting=waiting,
                 packed=Package.objects.get(pk=packed.pk), transfer=transfer,
                 reason=DenialReasonFactory(title="Damaged box"), instore=instore,
                 log=StateTransitionLog.objects.get(), record=IdempotencyRecord.objects.get())
