"""Package command types that re-plan (spec §5): out of stock, repack, refuse, manual planning."""

from __future__ import annotations

from django.db.models import F
from rest_framework import serializers

from commands.registry import CommandContext, CommandResult, command_type
from locations.models import Stock, StockLocation
from locations.services import reservations_release
from oms.db import lock_many
from packages.enums import ItemStatus, PackageStatus
from packages.errors import ItemNotInPackage, NoStockToReplan
from packages.events import package_refused
from packages.handlers import PACKAGE, NoInput, PackageItemIds, check_items_belong, package_response
from packages.models import Package, PackageDenialReason, PackageItem
from packages.services import (
    items_reserve,
    package_create,
    package_release_reservations,
    package_relocate,
    package_reservations,
    package_state,
)
from planning.services import items_replan, replanned_packages_create

S = PackageStatus


class OutOfStockInput(serializers.Serializer):
    package_items = PackageItemIds(allow_empty=False)


def _stock_write_off(*, location_id: int, skus: set[str]) -> None:
    """The location had none of these SKUs: on hand becomes what other packages still reserve
    (this package's reservations are released first)."""
    rows = lock_many(Stock.objects.filter(stock_location_id=location_id, sku__in=skus))
    Stock.objects.filter(pk__in=[r.pk for r in rows]).update(quantity=F("reserved"))


def _mark_out_of_stock(item_ids: list[int]) -> None:
    PackageItem.objects.filter(pk__in=item_ids).update(status=ItemStatus.OUT_OF_STOCK)


def _holder_response(origin: Package, created: list[Package]) -> CommandResult:
    return package_response(created[0], origin=origin) if created else package_response(origin)


@command_type("DETECTED_OUT_OF_STOCK_ITEM", object_type=PACKAGE, fsm_method="mark_out_of_stock",
              input_serializer=OutOfStockInput)
def detected_out_of_stock_item(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    listed = set(check_items_belong(package, ctx.data["package_items"]))
    items = list(package.packageitem_set.all())
    origin_location = package.stock_location
    package_release_reservations(package=package)
    _stock_write_off(location_id=origin_location.pk,
                     skus={i.sku for i in items if i.pk in listed})
    _mark_out_of_stock(list(listed))
    planned, scenario = items_replan(
        package=package, items=items,
        excluded={pk: frozenset({origin_location.pk}) for pk in listed})
    placed = {line.key for p in planned.plan.packages for line in p.lines}
    created = replanned_packages_create(package=package, planned=planned, items=items,
                                        scenario=scenario)
    update_fields: tuple[str, ...] = ()
    if len(placed) < len(items) and package.stock_location_id != scenario.default_stock_location_id:
        # What could not be placed waits in this package at the scenario's default location.
        package_relocate(package=package, stock_location=scenario.default_stock_location)
        update_fields = ("stock_location",)
    # The answer names the package now holding the items: a new one, or this one where it now waits.
    response = _holder_response(_origin_view(package, origin_location), created)
    if not created:
        response = package_response(package, origin=_origin_view(package, origin_location))
    return CommandResult(response.body, update_fields=update_fields)


def _origin_view(package: Package, location: StockLocation) -> Package:
    """The package as it was before relocating, for ``is_same_location``."""
    return Package(pk=package.pk, number=package.number, stock_location=location)


@command_type("DETECTED_OUT_OF_STOCK_ITEM_ADVANCED", object_type=PACKAGE,
              fsm_method="split_out_of_stock", input_serializer=OutOfStockInput)
def detected_out_of_stock_item_advanced(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    listed = set(check_items_belong(package, ctx.data["package_items"]))
    items = list(package.packageitem_set.all())
    if len(listed) == len(items):
        return detected_out_of_stock_item(ctx)  # nothing stays behind: as the basic command
    leaving = [i for i in items if i.pk in listed]
    origin = package.stock_location
    reservations_release(reservations=[r for r in package_reservations(package)
                                       if r.package_item_id in listed])
    _stock_write_off(location_id=origin.pk, skus={i.sku for i in leaving})
    _mark_out_of_stock(list(listed))
    planned, scenario = items_replan(package=package, items=leaving,
                                     excluded={pk: frozenset({origin.pk}) for pk in listed})
    created = replanned_packages_create(package=package, planned=planned, items=leaving,
                                        scenario=scenario)
    placed = {line.key for p in planned.plan.packages for line in p.lines}
    unplaced = [i for i in leaving if i.pk not in placed]
    if unplaced:
        created.append(package_create(
            order=package.order, stock_location=scenario.default_stock_location,
            state=package_state(S.OUT_OF_STOCK), move_items=unplaced, reserve=False))
    response = package_response(created[0], origin=package)
    return CommandResult(response.body, keeps_state=True)


@command_type("REPACK", object_type=PACKAGE, fsm_method="repack", input_serializer=NoInput)
def repack(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    items = list(package.packageitem_set.all())
    if not items:
        raise NoStockToReplan("The package holds no items to re-plan.")
    excluded_locations = frozenset(package.excluded_locations or [])
    # The package itself becomes Waiting (the transition's destination): no transfer legs.
    planned, scenario = items_replan(
        package=package, items=items, transferable=False,
        excluded={item.pk: excluded_locations for item in items} if excluded_locations else None)
    if planned.plan.unplaced or not planned.plan.packages:
        raise NoStockToReplan()
    origin = _origin_view(package, package.stock_location)
    home, *others = planned.plan.packages
    staying = {line.key for line in home.lines}
    kept = [i for i in items if i.pk in staying]
    moving = [i for i in items if i.pk not in staying]
    package_relocate(package=package, stock_location=planned.sites[home.location_id])
    PackageItem.objects.filter(pk__in=[i.pk for i in kept]).update(status=ItemStatus.WAITING)
    items_reserve(items=kept, location_id=home.location_id)
    # Lines planned at other locations leave in packages of their own.
    planned.plan.packages = others
    replanned_packages_create(package=package, planned=planned, items=moving, scenario=scenario)
    return CommandResult(package_response(package, origin=origin).body, update_fields=("stock_location",))


class RefuseInput(serializers.Serializer):
    denial_reason = serializers.PrimaryKeyRelatedField(
        queryset=PackageDenialReason.objects.filter(is_active=True))


@command_type("PACKAGE_REFUSE", object_type=PACKAGE, fsm_method="refuse", input_serializer=RefuseInput)
def package_refuse(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    package_release_reservations(package=package)
    package.denial_reason = ctx.data["denial_reason"]
    package.excluded_locations = sorted({*(package.excluded_locations or []), package.stock_location_id})
    result = package_response(package)
    return CommandResult(result.body, update_fields=("denial_reason", "excluded_locations"),
                         after=lambda: package_refused(package))


class AssignmentGroup(serializers.Serializer):
    package_items = PackageItemIds(allow_empty=False)
    stock_location = serializers.SlugRelatedField(
        slug_field="erp_code", queryset=StockLocation.objects.filter(is_active=True))


class AssignInput(serializers.Serializer):
    assignment_groups = AssignmentGroup(many=True, allow_empty=False)

    def validate_assignment_groups(self, groups):
        package = self.context["obj"]
        ids = [pk for group in groups for pk in group["package_items"]]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Each package item may appear in one group only.")
        all_items = set(PackageItem.objects.filter(package=package).values_list("pk", flat=True))
        unknown = set(ids) - all_items
        if unknown:
            raise ItemNotInPackage(f"Package item(s) {', '.join(map(str, sorted(unknown)))} do not "
                                   f"belong to package {package.number}.")
        missing = all_items - set(ids)
        if missing:
            raise serializers.ValidationError(
                f"Every package item must be assigned; missing {', '.join(map(str, sorted(missing)))}.")
        return groups


@command_type("ASSIGN_PACKAGE_ITEMS_MANUALLY", object_type=PACKAGE, fsm_method="assign_manually",
              input_serializer=AssignInput)
def assign_package_items_manually(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    items = {i.pk: i for i in package.packageitem_set.all()}
    package_release_reservations(package=package)
    waiting = package_state(S.WAITING)
    created = [package_create(order=package.order, stock_location=group["stock_location"], state=waiting,
                              move_items=[items[pk] for pk in group["package_items"]])
               for group in ctx.data["assignment_groups"]]
    return package_response(created[0], origin=package)
