"""Planning applied: pick the scenario, lock the stock, run the planner, create packages,
reservations and transfers — inside the caller's transaction (intake or a command).

Planning places packages and creates transfers, so this app sits above both
(locations <- orders <- packages <- transfers <- planning); the planner itself is pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Prefetch

from commands.models import State
from locations.models import Stock, StockLocation
from locations.services import quota_batch
from oms.db import lock_many
from orders.models import Order, OrderItem
from packages.enums import PackageStatus, holds_quota
from packages.models import Package, PackageItem
from packages.services import ItemLine, order_refresh_status, package_create, package_state
from planning.errors import NoMatchingScenario
from planning.models import Rule, Scenario
from planning.planner import Line, Plan, PlanRequest, RuleSpec, Site, plan
from transfers.services import transfer_create
from webhooks.outbox import outbox_batch

S = PackageStatus


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


def scenario_for_order(order: Order) -> Scenario:
    """The active scenario with the highest priority whose conditions match (constant queries)."""
    scenario = scenario_matching(active_scenarios(), order)
    if scenario is not None:
        return scenario
    raise NoMatchingScenario(f"No active scenario matches order {order.number} (channel, payment "
                             "type, cargo company). Add or activate a scenario.")


def rule_specs(scenario: Scenario, *, transferable: bool = True) -> list[RuleSpec]:
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


def _site(location: StockLocation, credit: int = 0) -> Site:
    return Site(id=location.pk, priority=location.priority, quota=max(location.quota - credit, 0),
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


def plan_lines(*, order: Order, scenario: Scenario, lines: Sequence[Line],
               excluded: dict[int, frozenset[int]] | None = None,
               transferable: bool = True, quota_credit: dict[int, int] | None = None) -> PlanResult:
    """Lock the stock of the lines' SKUs (pk order), plan, then lock the chosen locations and
    re-check their quota; a location found full meanwhile is left out and planning runs again.
    ``quota_credit`` counts units about to be given back as free (a re-planned package's own)."""
    credit = quota_credit or {}
    skus = {line.sku for line in lines}
    stocks = lock_many(Stock.objects.filter(sku__in=skus))
    available = {(s.stock_location_id, s.sku): s.quantity - s.reserved for s in stocks}
    locations = {loc.pk: loc for loc in StockLocation.objects.filter(is_active=True)}
    rules = rule_specs(scenario, transferable=transferable)
    full: set[int] = set()
    while True:
        request = PlanRequest(
            lines=list(lines), rules=rules,
            sites={pk: _site(loc, credit.get(pk, 0)) for pk, loc in locations.items()},
            available=available, order_city=(order.shipping_address or {}).get("city", ""),
            order_point=_order_point(order), excluded=excluded or {}, full_sites=frozenset(full))
        result = plan(request)
        chosen = [p.location_id for p in result.packages]
        if not chosen or not any(r.select_by_quota for r in rules):
            return PlanResult(result, locations)
        # One pk-ordered lock of the chosen rows and of those this re-plan gives quota back to.
        fresh = {loc.pk: loc for loc in lock_many(StockLocation.objects.filter(
            pk__in={*chosen, *credit}))}
        now_full = {pk for pk, loc in fresh.items() if pk in chosen
                    and loc.max_quota is not None and loc.quota - credit.get(pk, 0) >= loc.max_quota
                    and loc.quota != locations[pk].quota}
        locations.update(fresh)
        if not now_full or now_full <= full:
            return PlanResult(result, locations)
        full |= now_full


def initial_state(scenario: Scenario, package_count: int) -> State:
    if package_count > 1 and scenario.initial_state_id:
        return scenario.initial_state
    return package_state(S.WAITING)


def order_plan(*, order: Order, scenario: Scenario) -> list[Package]:
    """Plan a new order's items into packages (intake)."""
    items = {item.pk: item for item in order.orderitem_set.all()}
    lines = [Line(key=item.pk, sku=item.sku, quantity=item.quantity) for item in items.values()]
    planned = plan_lines(order=order, scenario=scenario, lines=lines)
    result = planned.plan
    count = len(result.packages) + (1 if result.unplaced else 0)
    state = initial_state(scenario, count)
    packages = []
    for package_plan in result.packages:
        reserve_at = {line.key: leg.source_id for leg in package_plan.transfers.values()
                      for line in leg.lines}
        package = package_create(
            order=order, stock_location=planned.sites[package_plan.location_id],
            state=package_state(S.WAITING_FOR_TRANSFER) if package_plan.needs_transfer else state,
            lines=[ItemLine(items[line.key], line.quantity) for line in package_plan.lines],
            reserve_at=reserve_at)
        if package_plan.needs_transfer:
            by_order_item = {i.order_item_id: i for i in package.packageitem_set.all()}
            for leg in package_plan.transfers.values():
                transfer_create(package=package, source=leg.source_id,
                                items=[by_order_item[line.key] for line in leg.lines])
        packages.append(package)
    if result.unplaced:
        packages.append(package_create(
            order=order, stock_location=scenario.default_stock_location,
            state=package_state(S.OUT_OF_STOCK), reserve=False,
            lines=[ItemLine(items[line.key], line.quantity) for line in result.unplaced]))
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


def order_intake(*, fields: dict, items: Sequence[IntakeItem]) -> tuple[Order, bool]:
    """Create an order and plan it, in one transaction. Returns (order, created): an order
    number seen before returns the existing order, also when two requests race (the unique
    number decides; the loser answers with the winner's order)."""
    existing = Order.objects.filter(number=fields["number"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic(durable=True), quota_batch(), outbox_batch():
            order = Order.objects.create(**fields)
            OrderItem.objects.bulk_create([
                OrderItem(order=order, sku=i.sku, quantity=i.quantity, price=i.price,
                          currency=i.currency) for i in items])
            scenario = scenario_for_order(order)
            order_plan(order=order, scenario=scenario)
            order_refresh_status(order_id=order.pk)
    except IntegrityError:
        existing = Order.objects.filter(number=fields["number"]).first()
        if existing is None:
            raise
        return existing, False
    return order, True
