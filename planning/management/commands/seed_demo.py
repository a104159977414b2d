"""Load a small, realistic demo data set: locations, cargo companies, stock, channels, denial
reasons, a planning scenario, orders with packages in several states, an ``integration`` API
user and one admin login per store (``store-kdk``…: channel instore, group "Store staff", the
password of ``OMS_DEMO_PASSWORD`` set when the user is created).

Idempotent: rows are matched on their natural keys (``code``, ``erp_code``, location + SKU, order
``number``, ``username``) and never changed once they exist, so a second run creates nothing.
Packages are created the way planning creates them (``package_create``: items, reservations,
quota) and moved only through the command dispatcher, like any other client would."""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import Profile
from commands.dispatcher import command_run
from commands.enums import EnumClass, UiVisibility
from commands.management.commands.seed_roles import INTEGRATION, STORE_STAFF
from commands.models import State, Transition
from locations.models import CargoCompany, Stock, StockLocation
from oms.errors import DomainError
from orders.models import Channel, Order, OrderItem
from packages.management.commands.demo_admin import DEFAULT_PASSWORD
from packages.models import Package, PackageDenialReason
from packages.services import ItemLine, package_create
from planning.management import demo_data
from planning.models import Rule, Scenario
from transfers.services import transfer_create

INTEGRATION_USERNAME = "integration"
# Post orders (intake) and run package and transfer commands; everything else is read-only.
INTEGRATION_PERMISSIONS = [("orders", "add_order"), ("packages", "change_package"),
                           ("transfers", "change_transferorder"),
                           ("locations", "add_stock"), ("locations", "change_stock")]  # stock upserts


class Command(BaseCommand):
    help = ("Load the demo data set (locations, stock, channels, orders and packages in several "
            "states, an 'integration' API user). Idempotent: a second run creates nothing.")

    def handle(self, *args, **options):
        self.created: Counter[str] = Counter()
        self.existing: Counter[str] = Counter()
        self.commands_run = 0

        self._step("States and transitions")
        call_command("seed_transitions", stdout=self.stdout)

        self._step("Cargo companies, locations, stock, channels, denial reasons, planning scenario")
        with transaction.atomic():
            cargo = self._seed_cargo_companies()
            locations = self._seed_locations(cargo)
            self._seed_stock(locations)
            channels = self._seed_channels()
            self._seed_denial_reasons()
            self._seed_scenario(locations)

        self._step("Orders and packages")
        for spec in demo_data.ORDERS:
            self._seed_order(spec, channels=channels, locations=locations, cargo=cargo)

        self._step("API user")
        token = self._seed_integration_user()

        self._step("Store logins")
        store_users = self._seed_store_users(locations)

        self._summary(token, store_users)

    # -- reference data ------------------------------------------------------------------------
    def _seed_cargo_companies(self) -> dict[str, CargoCompany]:
        companies = {}
        for code, name in demo_data.CARGO_COMPANIES:
            companies[code] = self._get_or_create("cargo companies", CargoCompany, code=code,
                                                  defaults={"name": name})
        return companies

    def _seed_locations(self, cargo: dict[str, CargoCompany]) -> dict[str, StockLocation]:
        locations = {}
        for spec in demo_data.LOCATIONS:
            locations[spec.erp_code] = self._get_or_create(
                "stock locations", StockLocation, erp_code=spec.erp_code,
                defaults={
                    "name": spec.name, "city": spec.city, "country": "TR",
                    "latitude": spec.latitude, "longitude": spec.longitude,
                    "stock_location_type": spec.stock_location_type, "max_quota": spec.max_quota,
                    "priority": spec.priority, "is_fulfillment_center": spec.is_fulfillment_center,
                    "is_transfer_center": spec.is_transfer_center,
                    "is_pickup_location": spec.is_pickup_location,
                    "default_cargo_company": cargo[spec.default_cargo_company],
                })
        return locations

    def _seed_stock(self, locations: dict[str, StockLocation]) -> None:
        for erp_code, quantities in demo_data.STOCK.items():
            for sku, quantity in quantities.items():
                self._get_or_create("stock rows", Stock, stock_location=locations[erp_code], sku=sku,
                                    defaults={"quantity": quantity})

    def _seed_channels(self) -> dict[str, Channel]:
        channels = {}
        for code, name, channel_type in demo_data.CHANNELS:
            channels[code] = self._get_or_create("channels", Channel, code=code,
                                                 defaults={"name": name, "channel_type": channel_type})
        return channels

    def _seed_denial_reasons(self) -> None:
        for title, priority in demo_data.DENIAL_REASONS:
            self._get_or_create("denial reasons", PackageDenialReason, title=title,
                                defaults={"priority": priority})

    def _seed_scenario(self, locations: dict[str, StockLocation]) -> None:
        spec = demo_data.SCENARIO
        scenario = self._get_or_create(
            "planning scenarios", Scenario, name=spec["name"],
            defaults={"default_stock_location": locations[spec["default_stock_location"]]})
        for position, name, fields in spec["rules"]:
            self._get_or_create("planning rules", Rule, scenario=scenario, name=name,
                                defaults={"position": position, **fields})

    # -- orders, packages and their commands ---------------------------------------------------
    def _seed_order(self, spec: demo_data.OrderSpec, *, channels, locations, cargo) -> None:
        with transaction.atomic():
            order, created = Order.objects.get_or_create(number=spec.number, defaults={
                "channel": channels[spec.channel], "customer": spec.customer,
                "shipping_address": spec.address, "payment_type": spec.payment_type,
                "cargo_company": cargo[spec.cargo_company] if spec.cargo_company else None,
                "tracking_number": spec.tracking_number,
                "date_placed": timezone.now() - timedelta(hours=spec.hours_ago),
            })
            self._count("orders", created)
            if created:
                # The order row is new and not yet visible to anyone else: no lock needed for
                # the per-order package numbers package_create hands out.
                for package_spec in spec.packages:
                    self._create_package(order, package_spec, locations[package_spec.location])
            else:
                self.existing["packages"] += len(spec.packages)
        verb = "created" if created else "already there"
        self.stdout.write(f"  order {order.number} ({spec.channel}): {verb}")

        # Commands run after the order is committed, each in the dispatcher's own transaction.
        # A step runs only while the package is still in the step's source state, so a re-run
        # (or a run after a failure half-way) continues where the packages are.
        for index, package_spec in enumerate(spec.packages, start=1):
            package = Package.objects.select_related("state", "stock_location").get(
                number=f"{order.number}P{index}")
            for step in package_spec.steps:
                if package.state.slug == step.source:
                    self._run(package, step)
                    package = Package.objects.select_related("state", "stock_location").get(
                        pk=package.pk)
            self.stdout.write(f"    package {package.number} at {package.stock_location.erp_code}: "
                              f"{package.state.name}")

    def _create_package(self, order: Order, spec: demo_data.PackageSpec,
                        location: StockLocation) -> Package:
        lines = []
        for sku, quantity in spec.skus.items():
            price = demo_data.CATALOGUE[sku][1]
            item = OrderItem.objects.create(order=order, sku=sku, quantity=quantity, price=price,
                                            currency="TRY")
            lines.append(ItemLine(item, quantity))
        sources = {sku: StockLocation.objects.get(erp_code=code) for sku, code in spec.transfer_from.items()}
        try:
            package = package_create(
                order=order, stock_location=location, lines=lines,
                state=self._state("waiting-for-transfer" if sources else "waiting"),
                reserve_at={line.order_item.pk: sources[line.order_item.sku].pk
                            for line in lines if line.order_item.sku in sources})
            for source in {s.pk: s for s in sources.values()}.values():
                transfer_create(package=package, source=source, items=[
                    item for item in package.packageitem_set.all() if sources.get(item.sku) == source])
                self.created["transfer orders"] += 1
        except DomainError as error:
            raise CommandError(f"Order {order.number}: {error} ({error.error_code})") from error
        self.created["packages"] += 1
        return package

    def _run(self, package: Package, step: demo_data.Step) -> None:
        transition = self._transition(step)
        try:
            command_run(object_type="package", object_id=package.pk, transition_id=transition.pk,
                        input_parameters=dict(step.input_parameters), actor=None, channel=None)
        except DomainError as error:
            raise CommandError(f"{step.command} on package {package.number} was refused: "
                               f"{error} ({error.error_code})") from error
        self.commands_run += 1
        self.stdout.write(f"    ran {step.command} on {package.number} "
                          f"({step.source} -> {step.destination})")

    def _state(self, slug: str) -> State:
        try:
            return State.objects.get(enum_class=EnumClass.PACKAGE_STATUS, slug=slug)
        except State.DoesNotExist:
            raise CommandError(f"Package state '{slug}' is missing; run seed_transitions.") from None

    def _transition(self, step: demo_data.Step) -> Transition:
        transition = (Transition.objects
                      .filter(command=step.command, is_active=True,
                              source_state__enum_class=EnumClass.PACKAGE_STATUS,
                              source_state__slug=step.source,
                              destination_state__slug=step.destination)
                      .order_by("id").first())
        if transition is None:
            raise CommandError(f"No active {step.command} transition from '{step.source}' to "
                               f"'{step.destination}'; run seed_transitions or re-activate it.")
        return transition

    # -- API user ------------------------------------------------------------------------------
    def _seed_integration_user(self) -> Token:
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(username=INTEGRATION_USERNAME).first()
            created = user is None
            if created:
                # Token-only integration account: no password, so no admin or session login.
                user = user_model(username=INTEGRATION_USERNAME, email="integration@example.com",
                                  is_staff=False)
                user.set_unusable_password()
                user.save()
                user.groups.add(Group.objects.get(name=INTEGRATION))
            self._count("API users", created)
            # Running commands needs the object's change permission (read-only tokens lack it).
            for app_label, codename in INTEGRATION_PERMISSIONS:
                user.user_permissions.add(Permission.objects.get(
                    content_type__app_label=app_label, codename=codename))
            self._get_or_create("API profiles", Profile, user=user,
                                defaults={"channel": UiVisibility.THIRD_PARTY})
            return self._get_or_create("API tokens", Token, user=user)

    def _seed_store_users(self, locations: dict[str, StockLocation]) -> list[tuple[str, str, bool]]:
        """One admin login per store: (username, location name, created now). An existing user is
        left exactly as it is (its password, groups and locations are the operator's)."""
        user_model = get_user_model()
        password = os.environ.get("OMS_DEMO_PASSWORD") or DEFAULT_PASSWORD
        group = Group.objects.get(name=STORE_STAFF)
        seeded = []
        for username, erp_code in demo_data.STORE_USERS:
            location = locations[erp_code]
            with transaction.atomic():
                user, created = user_model.objects.get_or_create(
                    username=username, defaults={"email": f"{username}@example.com", "is_staff": True,
                                                 "first_name": location.name})
                self._count("store users", created)
                if created:
                    user.set_password(password)
                    user.save(update_fields=["password"])
                    user.groups.add(group)
                    profile = Profile.objects.create(user=user, channel=UiVisibility.INSTORE)
                    profile.stock_locations.set([location])
            seeded.append((username, location.name, created))
            self.stdout.write(f"  {username}: {location.name} ({erp_code}), "
                              f"{'created' if created else 'already there'}")
        return seeded

    # -- bookkeeping ---------------------------------------------------------------------------
    def _get_or_create(self, label: str, model, defaults: dict | None = None, **lookup):
        obj, created = model.objects.get_or_create(defaults=defaults or {}, **lookup)
        self._count(label, created)
        return obj

    def _count(self, label: str, created: bool) -> None:
        (self.created if created else self.existing)[label] += 1

    def _step(self, title: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"{title}..."))

    def _summary(self, token: Token, store_users: list[tuple[str, str, bool]]) -> None:
        labels = list(dict.fromkeys([*self.created, *self.existing]))
        self.stdout.write(self.style.MIGRATE_HEADING("Summary"))
        width = max(len(label) for label in labels)
        for label in labels:
            self.stdout.write(f"  {label.ljust(width)}  {self.created[label]:>3} created, "
                              f"{self.existing[label]:>3} already there")
        self.stdout.write(f"  {'commands run'.ljust(width)}  {self.commands_run:>3}")
        if not self.created and not self.commands_run:
            self.stdout.write(self.style.SUCCESS(
                "Nothing to create: the demo data is already there."))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Demo data loaded: {sum(self.created.values())} rows created, "
                f"{self.commands_run} commands run."))
        self.stdout.write(f"Integration API user '{INTEGRATION_USERNAME}' (channel third_party; may post "
                          f"orders and run package and transfer commands), token: {token.key}")
        if store_users:
            username, location, created = store_users[0]
            password = ((os.environ.get("OMS_DEMO_PASSWORD") or DEFAULT_PASSWORD) if created
                        else "unchanged since it was created")
            others = ", ".join(name for name, _, _ in store_users[1:])
            self.stdout.write(f"Store login (admin, channel instore, group '{STORE_STAFF}'): {username} "
                              f"/ {password} — {location}'s work queue"
                              + (f"; also {others}" if others else ""))
