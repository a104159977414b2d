"""Package command types that re-plan (spec §5): out of stock, repack, refuse, manual planning."""

from __future__ import annotations

from django.db.models import F
from rest_framework import serializers

from commands.registry import CommandContext, CommandResult, command_type
from locations.models import Stock, StockLocation
from locations.services import reservations_release, stock_lock_skus
from oms.api.serializers import IdField, IdRelatedField, StrictSerializer
from packages.enums import ItemStatus, PackageStatus
from packages.errors import ItemNotInPackage, NoStockToReplan
from packages.events import package_refused
from packages.handlers import (
    MAX_LISTED_ITEMS,
    PACKAGE,
    NoInput,
    PackageItemIds,
    check_items_belong,
    package_response,
)
from packages.models import Package, PackageDenialReason, PackageItem
from packages.services import (
    items_reserve,
    order_refresh_status,
    package_create,
    package_release_reservations,
    package_relocate,
    package_reservations,
    package_state,
)
from planning.services import items_replan, replanned_packages_create, scenario_for_order
from transfers.errors import ItemNotInTransfer
from transfers.handlers import release_package_if_ready, transfer_reservations, transfer_response
from transfers.models import TransferItem, TransferOrder
from transfers.services import transfer_create

S = PackageStatus


class OutOfStockInput(StrictSerializer):
    package_items = PackageItemIds(allow_empty=False)


def _stock_write_off(*, location_id: int, skus: set[str]) -> None:
    """The location had none of these SKUs: on hand becomes what other packages still reserve
    (this package's reservations are released first). The rows are already locked."""
    if skus:
        Stock.objects.filter(stock_location_id=location_id, sku__in=skus).update(quantity=F("reserved"))


def _exclusions(package: Package, items, also: dict[int, int]) -> dict[int, frozenset[int]]:
    """Per item, the locations it must not go to: those that refused the package, and ``also``
    (item id -> the location that just found it missing)."""
    refused = set(package.excluded_locations or [])
    return {i.pk: frozenset(refused | ({also[i.pk]} if i.pk in also else set())) for i in items}


def _mark_out_of_stock(item_ids: list[int]) -> None:
    PackageItem.objects.filter(pk__in=item_ids).update(status=ItemStatus.OUT_OF_STOCK)


@command_type("DETECTED_OUT_OF_STOCK_ITEM", object_type=PACKAGE, fsm_method="mark_out_of_stock",
              input_serializer=OutOfStockInput)
def detected_out_of_stock_item(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    listed = set(check_items_belong(package, ctx.data["package_items"]))
    items = list(package.packageitem_set.all())
    stock_lock_skus(skus={i.sku for i in items})  # every stock row this command may touch, at once
    origin_location = package.stock_location
    package_release_reservations(package=package)
    _stock_write_off(location_id=origin_location.pk,
                     skus={i.sku for i in items if i.pk in listed})
    _mark_out_of_stock(list(listed))
    planned, scenario = items_replan(package=package, items=items, releases_quota=True,
                                     excluded=_exclusions(package, items,
                                                          {pk: origin_location.pk for pk in listed}))
    placed = {line.key for p in planned.plan.packages for line in p.lines}
    created = replanned_packages_create(package=package, planned=planned, items=items,
                                        scenario=scenario)
    update_fields: tuple[str, ...] = ()
    if len(placed) < len(items) and package.stock_location_id != scenario.default_stock_location_id:
        # What could not be placed waits in this package at the scenario's default location.
        package_relocate(package=package, stock_location=scenario.default_stock_location)
        update_fields = ("stock_location",)
    # The answer names the package now holding the items: a new one, or this one where it now waits.
    response = package_response(created[0] if created else package,
                                origin=_origin_view(package, origin_location))
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
    stock_lock_skus(skus={i.sku for i in items})  # every stock row this command may touch, at once
    origin = package.stock_location
    reservations_release(reservations=[r for r in package_reservations(package)
                                       if r.package_item_id in listed])
    _stock_write_off(location_id=origin.pk, skus={i.sku for i in leaving})
    _mark_out_of_stock(list(listed))
    planned, scenario = items_replan(package=package, items=leaving, excluded=_exclusions(
        package, leaving, {pk: origin.pk for pk in listed}))
    created = replanned_packages_create(package=package, planned=planned, items=leaving,
                                        scenario=scenario)
    placed = {line.key for p in planned.plan.packages for line in p.lines}
    unplaced = [i for i in leaving if i.pk not in placed]
    if unplaced:
        created.append(package_create(
            order=package.order, stock_location=scenario.default_stock_location,
            state=package_state(S.OUT_OF_STOCK), move_items=unplaced, reserve=False))
    # This package keeps its state (no status move), but the order has new packages.
    order_refresh_status(order_id=package.order_id)
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


class RefuseInput(StrictSerializer):
    denial_reason = IdRelatedField(
        queryset=PackageDenialReason.objects.filter(is_active=True),
        error_messages={"does_not_exist": "Unknown or inactive denial reason {pk_value}."})


@command_type("PACKAGE_REFUSE", object_type=PACKAGE, fsm_method="refuse", input_serializer=RefuseInput)
def package_refuse(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    package_release_reservations(package=package)
    package.denial_reason = ctx.data["denial_reason"]
    package.excluded_locations = sorted({*(package.excluded_locations or []), package.stock_location_id})
    result = package_response(package)
    return CommandResult(result.body, update_fields=("denial_reason", "excluded_locations"),
                         after=lambda: package_refused(package))


class AssignmentGroup(StrictSerializer):
    package_items = PackageItemIds(allow_empty=False)
    stock_location = serializers.SlugRelatedField(
        slug_field="erp_code", queryset=StockLocation.objects.filter(is_active=True),
        error_messages={"does_not_exist": "Unknown or inactive stock location '{value}'."})


class AssignInput(StrictSerializer):
    assignment_groups = AssignmentGroup(many=True, allow_empty=False, max_length=MAX_LISTED_ITEMS)

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


def _assignment_locations(package: Package, data: dict) -> list[int]:
    """A store user may only assign to its own locations (and from a package it holds)."""
    return [package.stock_location_id,
            *(group["stock_location"].pk for group in data.get("assignment_groups", []))]


@command_type("ASSIGN_PACKAGE_ITEMS_MANUALLY", object_type=PACKAGE, fsm_method="assign_manually",
              input_serializer=AssignInput, acting_locations=_assignment_locations)
def assign_package_items_manually(ctx: CommandContext) -> CommandResult:
    package: Package = ctx.obj
    items = {i.pk: i for i in package.packageitem_set.all()}
    stock_lock_skus(skus={i.sku for i in items.values()})  # all stock rows this command may touch
    package_release_reservations(package=package)
    waiting = package_state(S.WAITING)
    created = [package_create(order=package.order, stock_location=group["stock_location"], state=waiting,
                              move_items=[items[pk] for pk in group["package_items"]])
               for group in ctx.data["assignment_groups"]]
    return package_response(created[0], origin=package)


# -- transfers whose source could not give the items: re-sourced from other transfer centers -------
def _resource(ctx: CommandContext, *, excluded_items: set[int], write_off: set[int],
              reason: str) -> CommandResult:
    """Bring the transfer's items from other transfer centers. ``excluded_items`` (transfer item
    ids) never come from this source again; the source's stock of the ``write_off`` items' SKUs
    is written down to what others still reserve there. Items no center can give wait in a
    package in 920 at the scenario's default location (where replan_out_of_stock picks them up)."""
    transfer: TransferOrder = ctx.obj
    package = transfer.package
    items = list(TransferItem.objects.filter(transfer=transfer).select_related("package_item"))
    stock_lock_skus(skus={i.sku for i in items})  # every stock row this command may touch, at once
    reservations_release(reservations=transfer_reservations(transfer))
    _stock_write_off(location_id=transfer.source_id, skus={i.sku for i in items if i.pk in write_off})
    centers = sorted(StockLocation.objects.filter(is_transfer_center=True, is_active=True)
                     .exclude(pk=transfer.destination_id), key=lambda c: (-c.priority, c.pk))
    available = {(s.stock_location_id, s.sku): s.available for s in Stock.objects.filter(
        stock_location__in=centers, sku__in={i.sku for i in items})}
    legs: dict[int, list[PackageItem]] = {}
    unsourced: list[PackageItem] = []
    for item in items:
        source = next((c for c in centers
                       if not (c.pk == transfer.source_id and item.pk in excluded_items)
                       and available.get((c.pk, item.sku), 0) >= item.quantity), None)
        if source is None:
            unsourced.append(item.package_item)
            continue
        available[(source.pk, item.sku)] -= item.quantity
        legs.setdefault(source.pk, []).append(item.package_item)
    for source_id, package_items in sorted(legs.items()):
        transfer_create(package=package, source=source_id, items=package_items)
        items_reserve(items=package_items, location_id=package.stock_location_id,
                      reserve_at={i.order_item_id: source_id for i in package_items})
    if unsourced:
        scenario = scenario_for_order(package.order)
        package_create(order=package.order, stock_location=scenario.default_stock_location,
                       state=package_state(S.OUT_OF_STOCK), move_items=unsourced, reserve=False)
    return transfer_response(ctx, after=lambda: release_package_if_ready(package, transfer, reason))


@command_type("TRANSFER_PRODUCT_NOT_FOUND", object_type="transfer", fsm_method="mark_not_found",
              input_serializer=NoInput)
def transfer_product_not_found(ctx: CommandContext) -> CommandResult:
    every = set(TransferItem.objects.filter(transfer=ctx.obj).values_list("pk", flat=True))
    return _resource(ctx, excluded_items=every, write_off=every, reason="transfer re-sourced")


class TransferOutOfStockInput(StrictSerializer):
    transfer_items = serializers.ListField(child=IdField(), allow_empty=False, max_length=MAX_LISTED_ITEMS)


@command_type("TRANSFER_OUT_OF_STOCK", object_type="transfer", fsm_method="mark_out_of_stock",
              input_serializer=TransferOutOfStockInput)
def transfer_out_of_stock(ctx: CommandContext) -> CommandResult:
    listed = set(ctx.data["transfer_items"])
    unknown = listed - set(TransferItem.objects.filter(transfer=ctx.obj).values_list("pk", flat=True))
    if unknown:
        raise ItemNotInTransfer(f"Transfer item(s) {', '.join(map(str, sorted(unknown)))} do not "
                                f"belong to transfer {ctx.obj.number}.")
    return _resource(ctx, excluded_items=listed, write_off=listed, reason="transfer re-sourced")
