"""Factories per app, and helpers that build data the way the OMS itself would."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from commands.models import State, Transition
from locations.models import CargoCompany, Stock, StockLocation
from orders.models import Channel, Order, OrderItem
from packages.models import Package, PackageDenialReason
from packages.services import ItemLine, package_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-1234")


class CargoCompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CargoCompany
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Cargo {n}")
    code = factory.Sequence(lambda n: f"cargo-{n}")


class StockLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLocation

    name = factory.Sequence(lambda n: f"Store {n}")
    erp_code = factory.Sequence(lambda n: f"LOC{n:03d}")
    city = "Istanbul"
    country = "TR"


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    stock_location = factory.SubFactory(StockLocationFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    quantity = 10


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    name = "Web shop"
    code = "web"
    channel_type = "web"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"100{n:05d}")
    channel = factory.SubFactory(ChannelFactory)
    customer = factory.LazyFunction(lambda: {"first_name": "Ayşe", "last_name": "Yılmaz",
                                             "email": "ayse@example.com", "phone": "+905550000000"})
    shipping_address = factory.LazyFunction(lambda: {"line": "Bağdat Cd. 1", "city": "Istanbul",
                                                     "country": "TR", "postcode": "34000"})
    payment_type = "credit_card"
    date_placed = factory.LazyFunction(timezone.now)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    quantity = 1
    price = "100.00"


class DenialReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackageDenialReason

    title = factory.Sequence(lambda n: f"Reason {n}")


class TransitionBook:
    """Looks up seeded states and transitions by readable keys."""

    def state(self, status, enum_class: str = "PackageStatus") -> State:
        return State.objects.get(enum_class=enum_class, enum_value=str(status),
                                 slug__in=_default_slugs(enum_class, status))

    def transition(self, command: str, source, destination=None) -> Transition:
        qs = Transition.objects.filter(command=command, source_state__enum_value=str(source))
        if destination is None:
            qs = qs.filter(destination_state__isnull=True) if qs.filter(
                destination_state__isnull=True).exists() else qs
        else:
            qs = qs.filter(destination_state__enum_value=str(destination))
        return qs.get()


def _default_slugs(enum_class: str, status) -> list[str]:
    from commands.registry import registry

    object_type = registry.object_type_for_enum_class(enum_class)
    return [object_type.status_key(object_type.status_from_enum_value(str(status))).replace("_", "-")]


def make_package(*, location: StockLocation | None = None, skus: dict[str, int] | None = None,
                 status: int = 100, order: Order | None = None, stock: int = 10,
                 items: int | None = None) -> Package:
    """A package created the way planning creates one: items, reservations, quota.

    ``skus`` maps SKU -> quantity; ``items=N`` makes N one-unit SKUs. Stock rows are created with
    ``stock`` units when missing. Requires seeded states."""
    location = location or StockLocationFactory()
    if skus is None:
        skus = {f"SKU-{location.erp_code}-{i}": 1 for i in range(items or 1)}
    order = order or OrderFactory()
    for sku, quantity in skus.items():
        Stock.objects.get_or_create(stock_location=location, sku=sku,
                                    defaults={"quantity": max(stock, quantity)})
    lines = [ItemLine(OrderItemFactory(order=order, sku=sku, quantity=q), q) for sku, q in skus.items()]
    state = TransitionBook().state(status)
    with transaction.atomic():
        return package_create(order=order, stock_location=location, lines=lines, state=state)
