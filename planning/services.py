"""Planning applied: pick the scenario, lock the stock, run the planner, create packages,
reservations and transfers — inside the caller's transaction (intake or a command).

Planning places packages and creates transfers, so this app sits above both
(locations <- orders <- packages <- transfers <- planning); the planner itself is pure."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from commands import cache
from commands.models import State
from locations.models import Stock, StockLocation
from locations.services import quota_batch
from oms.db import lock_many
from orders.models import Order, OrderItem
from packages.enums import PackageStatus, holds_quota
from packages.models import Package, PackageItem
from packages.services import (
    ItemLine,
    order_status_from,
    package_create,
    package_state,
)
from planning.errors import NoMatchingScenario
from planning.models import Rule, Scenario
from planning.planner import Line, Plan, PlanRequest, RuleSpec, Site, plan
from planning.sql import (
    active_location_quotas,
    locations_lock,
    order_with_items_insert,
    plain_sql,
    stock_lock_for_skus,
)
from transfers.services import transfer_create
from webhooks.outbox import outbox_batch

S = PackageStatus

logger = logging.getLogger(__name__)


def active_scenarios() -> list[Scenario]:
    """Active scenarios, highest priority first, with what matching and planning read."""
    return list(Scenario.objects.filter(is_active=True).select_related(
        "default_stock_location", "initial_state").prefetch_related(
        "channels", "cargo_companies",
        Prefetch("rules", queryset=Rule.objects.filter(is_active=True).prefetch_related(
            "stock_locations", "except_stock_locations"))))


def scenario_matching(scenarios: list[Scenario], order: Order) -> Scenario | None:
    for scenario in scenarios:
        channels = {c.pk for c in scenario.channels.all()}
        cargo = {c.pk for c in scenario.cargo_companies.all()}
        if channels and order.channel_id not in channels:
            continue
        if scenario.payment_types and order.payment_type not in scenario.payment_types:
            continue
        if cargo and order.cargo_company_id not in cargo:
            continue
        return scenario
    return None


@dataclass(frozen=True)
class PlanningConfig:
    """What planning reads that only operators change (commands.cache, part "planning"): the active
    scenarios with their conditions and rules, and the active locations' attributes. Their quota
    is never read from here."""

    scenarios: list[Scenario]
    specs: dict[tuple[int, bool], list[RuleSpec]]     # (scenario id, transferable) -> its rules
    locations: dict[int, StockLocation]


def _load_planning() -> PlanningConfig:
    scenarios = active_scenarios()
    return PlanningConfig(
        scenarios=scenarios,
        specs={(sc.pk, transferable): _rule_specs(sc, transferable=transferable)
               for sc in scenarios for transferable in (True, False)},
        locations={loc.pk: loc for loc in StockLocation.objects.filter(is_active=True)})


def planning_config() -> PlanningConfig:
    return cache.planning_config(_load_planning)


def scenario_for_order(order: Order) -> Scenario:
    """The active scenario with the highest priority whose conditions match (configuration cache:
    no read while it is current)."""
    scenario = scenario_matching(planning_config().scenarios, order)
    if scenario is not None:
        return scenario
    raise NoMatchingScenario(f"No active scenario matches order {order.number} (channel, payment "
                             "type, cargo company). Add or activate a scenario.")


def rule_specs(scenario: Scenario, *, transferable: bool = True) -> list[RuleSpec]:
    cached = planning_config().specs.get((scenario.pk, transferable))
    return cached if cached is not None else _rule_specs(scenario, transferable=transferable)


def _rule_specs(scenario: Scenario, *, transferable: bool) -> list[RuleSpec]:
    specs = []
    for rule in scenario.rules.all():
        include = frozenset(loc.pk for loc in rule.stock_locations.all())
        specs.append(RuleSpec(
            include=include or None,
            exclude=frozenset(loc.pk for loc in rule.except_stock_locations.all()),
            location_type=rule.stock_location_type, same_city=rule.same_city,
            select_by_quota=rule.select_by_quota, sort_keys=tuple(rule.sort_keys or ("priority",)),
            transferable=rule.transferable and transferable))
    return specs


def _site(location: StockLocation, credit: int = 0, quota: int | None = None) -> Site:
    quota = location.quota if quota is None else quota
    return Site(id=location.pk, priority=location.priority, quota=max(quota - credit, 0),
                max_quota=location.max_quota, city=location.city,
                latitude=float(location.latitude) if location.latitude is not None else None,
                longitude=float(location.longitude) if location.longitude is not None else None,
                location_type=location.stock_location_type,
                is_transfer_center=location.is_transfer_center)


def _order_point(order: Order) -> tuple[float, float] | None:
    address = order.shipping_address or {}
    try:
        return float(address["latitude"]), float(address["longitude"])
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class PlanResult:
    plan: Plan
    sites: dict[int, StockLocation]


def stock_lock_for_planning(skus: set[str]) -> list[Stock]:
    """Every stock row of these SKUs, at every location, locked in one pk-ordered statement that
    also reads the configuration's version (the caller's ``config_scope``)."""
    if plain_sql():
        rows, versions = stock_lock_for_skus(skus)
        cache.provide_versions(versions)
        return rows
    rows = lock_many(Stock.objects.filter(sku__in=skus).annotate(
        config_versions=cache.versions_expression()))
    if rows:
        cache.provide_versions(rows[0].config_versions)
    return rows


def plan_lines(*, order: Order, scenario: Scenario, lines: Sequence[Line],
               excluded: dict[int, frozenset[int]] | None = None,
               transferable: bool = True, quota_credit: dict[int, int] | None = None,
               stocks: Sequence[Stock] | None = None) -> PlanResult:
    """Lock the stock of the lines' SKUs (pk order; or ``stocks``, locked by the caller), plan
    from that one read and the locations' quotas, then lock the chosen locations and re-check
    their quota; a location found full meanwhile is left out and planning runs again.
    ``quota_credit`` counts units about to be given back as free (a re-planned package's own)."""
    credit = quota_credit or {}
    if stocks is None:
        stocks = lock_many(Stock.objects.filter(sku__in={line.sku for line in lines}))
    available = {(s.stock_location_id, s.sku): s.quantity - s.reserved for s in stocks}
    static = planning_config().locations
    quotas = active_location_quotas()
    if quotas.keys() - static.keys():  # activated since the cache's version was read
        static = {**static, **StockLocation.objects.in_bulk(quotas.keys() - static.keys())}
    rules = rule_specs(scenario, transferable=transferable)
    locked: dict[int, StockLocation] = {}
    full: set[int] = set()
    while True:
        request = PlanRequest(
            lines=list(lines), rules=rules,
            sites={pk: _site(static[pk], credit.get(pk, 0), quota) for pk, quota in quotas.items()},
            available=available, order_city=(order.shipping_address or {}).get("city", ""),
            order_point=_order_point(order), excluded=excluded or {}, full_sites=frozenset(full))
        result = plan(request)
        chosen = [p.location_id for p in result.packages]
        if not chosen or not any(r.select_by_quota for r in rules):
            return PlanResult(result, {pk: locked.get(pk) or copy.copy(static[pk]) for pk in chosen})
        # One pk-ordered lock of the chosen rows and of those this re-plan gives quota back to.
        fresh = {loc.pk: loc for loc in (
            locations_lock({*chosen, *credit}) if plain_sql()
            else lock_many(StockLocation.objects.filter(pk__in={*chosen, *credit})))}
        now_full = {pk for pk, loc in fresh.items() if pk in chosen
                    and loc.max_quota is not None and loc.quota - credit.get(pk, 0) >= loc.max_quota
                    and loc.quota != quotas.get(pk)}
        locked.update(fresh)
        quotas.update((pk, loc.quota) for pk, loc in fresh.items() if pk in quotas)
        if not now_full or now_full <= full:
            return PlanResult(result, {pk: locked.get(pk) or copy.copy(static[pk]) for pk in chosen})
        full |= now_full


def initial_state(scenario: Scenario, package_count: int) -> State:
    if package_count > 1 and scenario.initial_state_id:
        return scenario.initial_state
    return package_state(S.WAITING)


def order_plan(*, order: Order, scenario: Scenario, items: Sequence[OrderItem] | None = None,
               stocks: Sequence[Stock] | None = None) -> list[Package]:
    """Plan a new order's items into packages (intake). ``items``: the order's items, as just
    created; ``stocks``: the rows of their SKUs, locked by the caller."""
    items = {item.pk: item for item in (order.orderitem_set.all() if items is None else items)}
    lines = [Line(key=item.pk, sku=item.sku, quantity=item.quantity) for item in items.values()]
    planned = plan_lines(order=order, scenario=scenario, lines=lines, stocks=stocks)
    locked_stocks = {(s.stock_location_id, s.sku): s for s in stocks} if stocks is not None else None
    result = planned.plan
    count = len(result.packages) + (1 if result.unplaced else 0)
    state = initial_state(scenario, count)
    packages: list[Package] = []
    for package_plan in result.packages:
        reserve_at = {line.key: leg.source_id for leg in package_plan.transfers.values()
                      for line in leg.lines}
        package = package_create(
            order=order, stock_location=planned.sites[package_plan.location_id],
            state=package_state(S.WAITING_FOR_TRANSFER) if package_plan.needs_transfer else state,
            lines=[ItemLine(items[line.key], line.quantity) for line in package_plan.lines],
            reserve_at=reserve_at, existing=len(packages), locked_stocks=locked_stocks,
            objects_current=True)
        if package_plan.needs_transfer:
            by_order_item = {i.order_item_id: i for i in package.packageitem_set.all()}
            for leg in package_plan.transfers.values():
                transfer_create(package=package, source=leg.source_id,
                                items=[by_order_item[line.key] for line in leg.lines])
        packages.append(package)
    if result.unplaced:
        packages.append(package_create(
            order=order, stock_location=copy.copy(scenario.default_stock_location),
            state=package_state(S.OUT_OF_STOCK), reserve=False, existing=len(packages),
            lines=[ItemLine(items[line.key], line.quantity) for line in result.unplaced],
            objects_current=True))
    return packages


def items_replan(*, package: Package, items: Sequence[PackageItem],
                 excluded: dict[int, frozenset[int]] | None = None, transferable: bool = True,
                 scenario: Scenario | None = None, releases_quota: bool = False
                 ) -> tuple[PlanResult, Scenario]:
    """Plan existing package items again (out of stock, repack, refuse). ``releases_quota``: the
    package gives its location's quota unit back in this command, so planning may use it."""
    scenario = scenario or scenario_for_order(package.order)
    lines = [Line(key=item.pk, sku=item.sku, quantity=item.quantity) for item in items]
    credit = {package.stock_location_id: 1} if releases_quota and holds_quota(package.status) else None
    return plan_lines(order=package.order, scenario=scenario, lines=lines, excluded=excluded,
                      transferable=transferable, quota_credit=credit), scenario


def replanned_packages_create(*, package: Package, planned: PlanResult,
                              items: Sequence[PackageItem], scenario: Scenario) -> list[Package]:
    """Move planned items into new packages at their new locations (Waiting, or Waiting for
    Transfer with the transfers created)."""
    by_pk = {item.pk: item for item in items}
    created = []
    for package_plan in planned.plan.packages:
        moving = [by_pk[line.key] for line in package_plan.lines]
        reserve_at = {by_pk[line.key].order_item_id: leg.source_id
                      for leg in package_plan.transfers.values() for line in leg.lines}
        new = package_create(
            order=package.order, stock_location=planned.sites[package_plan.location_id],
            state=package_state(S.WAITING_FOR_TRANSFER if package_plan.needs_transfer else S.WAITING),
            move_items=moving, reserve_at=reserve_at)
        for leg in package_plan.transfers.values():
            transfer_create(package=new, source=leg.source_id,
                            items=[by_pk[line.key] for line in leg.lines])
        if package.excluded_locations:  # locations that refused these items stay excluded
            new.excluded_locations = list(package.excluded_locations)
            new.save(update_fields=["excluded_locations"])
        created.append(new)
    return created


@dataclass(frozen=True)
class IntakeItem:
    sku: str
    quantity: int
    price: object
    currency: str = "TRY"


@dataclass
class Intake:
    """What an intake wrote, as the database has it (``items`` and ``packages`` in pk order; both
    empty when ``created`` is false: the order was there before)."""

    order: Order
    created: bool
    items: list[OrderItem]
    packages: list[Package]


def order_intake(*, fields: dict, items: Sequence[IntakeItem]) -> tuple[Order, bool]:
    """Create an order and plan it, in one transaction. Returns (order, created): an order
    number seen before returns the existing order, also when two requests race (the unique
    number decides; the loser answers with the winner's order)."""
    intake = order_intake_written(fields=fields, items=items)
    return intake.order, intake.created


# foreign_key_violation at commit: a row the intake referenced was deleted meanwhile (a webhook
# subscription deleted while the intake wrote a delivery for it): the intake runs again.
_INTAKE_ATTEMPTS = 3


def order_intake_written(*, fields: dict, items: Sequence[IntakeItem]) -> Intake:
    """``order_intake``, also returning the rows it wrote (the response is built from them)."""
    for attempt in range(1, _INTAKE_ATTEMPTS + 1):
        try:
            return _order_intake_once(fields=fields, items=items)
        except IntegrityError as error:
            if getattr(error.__cause__, "sqlstate", None) != "23503" or attempt == _INTAKE_ATTEMPTS:
                raise
            logger.warning("Order intake %s rolled back (a reference deleted meanwhile), attempt %d "
                           "of %d; retrying", fields.get("number"), attempt, _INTAKE_ATTEMPTS)
    raise AssertionError("unreachable")


def _order_intake_once(*, fields: dict, items: Sequence[IntakeItem]) -> Intake:
    try:
        with transaction.atomic(durable=True), outbox_batch(), quota_batch():
            # A number seen before fails here, first: the unique constraint decides.
            if plain_sql():  # the order and its items in one statement
                order = Order(**fields)
                order_items = [OrderItem(sku=i.sku, quantity=i.quantity, price=i.price,
                                         currency=i.currency) for i in items]
                order_with_items_insert(order, order_items)
            else:
                order = Order.objects.create(**fields)
                order_items = OrderItem.objects.bulk_create([
                    OrderItem(order=order, sku=i.sku, quantity=i.quantity, price=i.price,
                              currency=i.currency) for i in items])
            stocks = stock_lock_for_planning({i.sku for i in order_items})
            scenario = scenario_for_order(order)
            packages = order_plan(order=order, scenario=scenario, items=order_items, stocks=stocks)
            status = order_status_from([p.status for p in packages])
            if status != order.status:  # as order_refresh_status, keeping the object current
                now = timezone.now()
                Order.objects.filter(pk=order.pk).update(status=status, modified_date=now)
                order.status, order.modified_date = status, now
    except IntegrityError as error:
        existing = (Order.objects.filter(number=fields["number"]).first()
                    if getattr(error.__cause__, "sqlstate", None) != "23503" else None)
        if existing is None:
            raise
        return Intake(existing, False, [], [])
    return Intake(order, True, sorted(order_items, key=lambda i: i.pk),
                  sorted(packages, key=lambda p: p.pk))
