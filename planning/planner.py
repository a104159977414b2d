"""The planner: decides where an order's lines are packed. Pure: it reads the snapshot it is
given (locations, available stock) and returns a plan; the services lock rows and apply it.

Spec §7: rules are tried in order for the lines still unplaced. Within a rule a single location
that can take every remaining line wins (fewest packages); otherwise lines are placed greedily in
the rule's sort order. One package per location. A transferable rule may bring a line missing at
the packaging location from a transfer center. What no rule places is left ``unplaced``."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    key: int          # the order item (intake) or package item (re-plan) it stands for
    sku: str
    quantity: int


@dataclass(frozen=True)
class Site:
    id: int
    priority: int = 0
    quota: int = 0
    max_quota: int | None = None
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    location_type: str = "store"
    is_transfer_center: bool = False


@dataclass(frozen=True)
class RuleSpec:
    include: frozenset[int] | None = None   # None: every location
    exclude: frozenset[int] = frozenset()
    location_type: str = ""
    same_city: bool = False
    select_by_quota: bool = False
    sort_keys: tuple[str, ...] = ("priority",)
    transferable: bool = False


@dataclass
class TransferLeg:
    source_id: int
    lines: list[Line] = field(default_factory=list)


@dataclass
class PackagePlan:
    location_id: int
    lines: list[Line] = field(default_factory=list)
    transfers: dict[int, TransferLeg] = field(default_factory=dict)

    @property
    def needs_transfer(self) -> bool:
        return bool(self.transfers)


@dataclass
class Plan:
    packages: list[PackagePlan]
    unplaced: list[Line]


@dataclass
class PlanRequest:
    lines: list[Line]
    rules: list[RuleSpec]
    sites: dict[int, Site]
    available: dict[tuple[int, str], int]          # (location id, sku) -> quantity - reserved
    order_city: str = ""
    order_point: tuple[float, float] | None = None
    excluded: dict[int, frozenset[int]] = field(default_factory=dict)  # line key -> locations
    full_sites: frozenset[int] = frozenset()        # quota found full when applying


def plan(request: PlanRequest) -> Plan:
    available = defaultdict(int, request.available)
    packages: dict[int, PackagePlan] = {}
    new_packages_at: dict[int, int] = defaultdict(int)
    remaining = list(request.lines)

    def has_quota(site: Site, rule: RuleSpec) -> bool:
        if not rule.select_by_quota or site.id in packages:
            return True  # an existing package of this plan takes no further quota
        if site.id in request.full_sites:
            return False
        if site.max_quota is None:
            return True  # no max_quota: unlimited (documented choice)
        return site.max_quota - site.quota - new_packages_at[site.id] > 0

    def allowed(line: Line, site_id: int) -> bool:
        return site_id not in request.excluded.get(line.key, ())

    def can_take(site_id: int, lines: Iterable[Line]) -> bool:
        wanted: dict[str, int] = defaultdict(int)
        for line in lines:
            if not allowed(line, site_id):
                return False
            wanted[line.sku] += line.quantity
        return all(available[(site_id, sku)] >= n for sku, n in wanted.items())

    def assign(site_id: int, line: Line, source_id: int | None = None) -> None:
        package = packages.get(site_id)
        if package is None:
            package = packages[site_id] = PackagePlan(site_id)
            new_packages_at[site_id] += 1
        package.lines.append(line)
        stock_at = source_id if source_id is not None else site_id
        available[(stock_at, line.sku)] -= line.quantity
        if source_id is not None:
            package.transfers.setdefault(source_id, TransferLeg(source_id)).lines.append(line)

    for rule in request.rules:
        if not remaining:
            break
        candidates = [s for s in request.sites.values()
                      if _eligible(rule, s, request.order_city) and has_quota(s, rule)]
        candidates.sort(key=lambda s: _sort_key(rule, s, remaining, available, request.order_point))
        single = next((s for s in candidates if can_take(s.id, remaining)), None)
        if single is not None:
            for line in remaining:
                assign(single.id, line)
            remaining = []
            break
        for site in candidates:
            if not remaining:
                break
            if not has_quota(site, rule):
                continue
            taken = []
            for line in remaining:
                if can_take(site.id, [line]):
                    assign(site.id, line)
                    taken.append(line)
            remaining = [line for line in remaining if line not in taken]
        if rule.transferable and remaining and candidates:
            remaining = _place_by_transfer(request, rule, candidates, packages, remaining,
                                           available, allowed, assign, has_quota)
    return Plan(packages=list(packages.values()), unplaced=remaining)


def _place_by_transfer(request, rule, candidates, packages, remaining, available, allowed, assign,
                       has_quota) -> list[Line]:
    """Each line goes to a packaging location — one this plan already uses first, else the rule's
    best candidate with quota — that it may go to, brought there from a transfer center."""
    # A rule's except_stock_locations are never used, neither to pack nor as a transfer source.
    centers = sorted((s for s in request.sites.values() if s.is_transfer_center and s.id not in rule.exclude),
                     key=lambda s: (-s.priority, s.id))
    still = []
    for line in remaining:
        targets = [s for s in candidates if s.id in packages] + [
            s for s in candidates if s.id not in packages and has_quota(s, rule)]
        placed = False
        for target in targets:
            if not allowed(line, target.id):
                continue
            source = next((c for c in centers if c.id != target.id and allowed(line, c.id)
                           and available[(c.id, line.sku)] >= line.quantity), None)
            if source is not None:
                assign(target.id, line, source_id=source.id)
                placed = True
                break
        if not placed:
            still.append(line)
    return still


def _eligible(rule: RuleSpec, site: Site, order_city: str) -> bool:
    if rule.include is not None and site.id not in rule.include:
        return False
    if site.id in rule.exclude:
        return False
    if rule.location_type and site.location_type != rule.location_type:
        return False
    return not (rule.same_city and (not order_city or site.city.casefold() != order_city.casefold()))


def _sort_key(rule: RuleSpec, site: Site, remaining: list[Line], available, point) -> tuple:
    parts: list[float] = []
    for key in rule.sort_keys:
        if key == "priority":
            parts.append(-site.priority)
        elif key == "stock":
            parts.append(-sum(1 for line in remaining if available[(site.id, line.sku)] >= line.quantity))
        elif key == "available_quota":
            free = math.inf if site.max_quota is None else site.max_quota - site.quota
            parts.append(-free)
        elif key == "distance":
            parts.append(_distance(site, point))
    parts.append(site.id)
    return tuple(parts)


def _distance(site: Site, point: tuple[float, float] | None) -> float:
    if point is None or site.latitude is None or site.longitude is None:
        return math.inf
    lat1, lon1, lat2, lon2 = map(math.radians, (point[0], point[1], site.latitude, site.longitude))
    a = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 6371.0 * 2 * math.asin(math.sqrt(a))
