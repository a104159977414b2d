"""Spec §4 and §1.3 under a long seeded-random run of commands through the API.

After every command, successful or refused: each location's quota equals its packages below
status 400; each Stock's ``reserved`` equals its reservations and stays within ``quantity``; every
package's state carries its status; every order's status is derived from its packages; one log row
per successful command. A refused command changes nothing at all."""

import random
from collections import Counter, defaultdict

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import F

from commands.models import StateTransitionLog, Transition
from commands.registry import declare_command_type, registry
from locations.models import Reservation, Stock, StockLocation
from orders.models import Order
from packages.models import Package, PackageItem
from planning.models import Rule, Scenario
from tests.factories import (
    CargoCompanyFactory,
    DenialReasonFactory,
    OrderFactory,
    StockLocationFactory,
    make_package,
)
from tests.packages.helpers import world

SEED = 1234
STEPS = 300
SKUS = ["A", "B", "C", "D"]
# Packed and the lifecycle after it (900/920 are re-planning, not "later" than packed).
PACKED_OR_LATER = {500, 520, 550, 560, 570, 600, 1100}
# Command types of packages/handlers.py: their exact effects are known here; the others (planning's
# re-planning types) are held to the invariants and to "refused means unchanged".
PACKAGE_HANDLERS = {
    "PKG_STATE_TRANSITION", "PKG_DEALLOCATE_RESERVATIONS", "COMPLETE_PACKAGING",
    "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "CHANNEL_BASED_COMPLETE_PACKAGING", "SHIP_THE_PACKAGE",
    "SHIP_THE_PACKAGE_ADVANCED", "SHIP_THE_PACKAGE_BASIC", "UPDATE_PACKAGE_SHIPMENT_STATUS",
    "UPDATE_SHIPMENT_INFO", "BLOCK_THE_PACKAGE", "UNBLOCK_THE_PACKAGE", "REQUEST_CANCELLATION",
    "REJECT_CANCELLATION", "PACKED_FOR_REFUND", "UPDATE_INVOICE", "READY_FOR_PICKUP",
    "SELF_SERVICE_DELIVERY",
}


def spec_order_status(statuses):
    """Spec §1.3, first match wins (written here independently of the application's version)."""
    live = [s for s in statuses if s != 950]
    if not live:
        return 100
    if 50 in statuses:
        return 50
    if all(s == 600 for s in live):
        return 550
    if all(550 <= s <= 600 for s in live):
        return 500
    if any(s in PACKED_OR_LATER for s in live):
        return 450
    return 400


def assert_invariants(successes, context):
    for location in StockLocation.objects.all():
        below_400 = Package.objects.filter(stock_location=location, status__lt=400).count()
        assert location.quota == below_400, f"{context}: quota of {location.erp_code}"
    reserved = defaultdict(int)
    for reservation in Reservation.objects.all():
        reserved[(reservation.stock_location_id, reservation.sku)] += reservation.quantity
    for stock in Stock.objects.all():
        assert stock.reserved == reserved[(stock.stock_location_id, stock.sku)], f"{context}: {stock}"
    statuses = defaultdict(list)
    for package in Package.objects.select_related("state"):
        assert package.state.status == package.status, f"{context}: {package.number}"
        statuses[package.order_id].append(package.status)
    for order in Order.objects.all():
        assert order.status == spec_order_status(statuses[order.pk]), f"{context}: order {order.number}"
    assert StateTransitionLog.objects.count() == successes, context


PACK_TYPES = {"COMPLETE_PACKAGING", "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "CHANNEL_BASED_COMPLETE_PACKAGING"}
WRITE_OFF_TYPES = {"DETECTED_OUT_OF_STOCK_ITEM", "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED"}


def shelf():
    """On-hand units per (location, SKU)."""
    return {(s.stock_location_id, s.sku): s.quantity for s in Stock.objects.all()}


def free_shortfall(package):
    """Whether packing ``package`` needs more unreserved units of a SKU than are free at its
    location (on hand minus every reservation there), computed here from the rows."""
    reserved_items = set(Reservation.objects.filter(package_item__package=package)
                         .values_list("package_item_id", flat=True))
    needed = Counter()
    for item in PackageItem.objects.filter(package=package).exclude(pk__in=reserved_items):
        needed[item.sku] += item.quantity
    free = {s.sku: s.quantity - s.reserved for s in Stock.objects.filter(
        stock_location_id=package.stock_location_id, sku__in=needed)}
    return any(free.get(sku, 0) < n for sku, n in needed.items())


def assert_stock_moves(code, package, params, shelf_before, items_before, context):
    """On-hand units change only where units left the shelf: a pack takes exactly the package's
    units at its location; an out-of-stock report writes the listed SKUs there down to what stays
    reserved; nothing else moves."""
    expected = dict(shelf_before)
    location = package.stock_location_id
    if code in PACK_TYPES:
        for sku, quantity in items_before:
            expected[(location, sku)] -= quantity
    elif code in WRITE_OFF_TYPES:
        listed = set(params["package_items"])
        reserved = {(s.stock_location_id, s.sku): s.reserved for s in Stock.objects.all()}
        for sku in {sku for pk, sku in PackageItem.objects.filter(pk__in=listed).values_list("pk", "sku")}:
            expected[(location, sku)] = reserved[(location, sku)]
    assert shelf() == expected, context


def pick_weight(status):
    """Packages that can still move are picked more often than those at the end of their road."""
    return 6 if status < 500 else 3 if status <= 600 else 1


def new_package(rng, *, location, order):
    """A package as planning makes one; stock is topped up first when the shelf ran low (goods
    received), so the reservation always fits."""
    skus = {sku: rng.randint(1, 2) for sku in rng.sample(SKUS, rng.randint(1, 2))}
    for sku, quantity in skus.items():
        stock, _ = Stock.objects.get_or_create(stock_location=location, sku=sku,
                                               defaults={"quantity": 10})
        if stock.quantity - stock.reserved < quantity:
            Stock.objects.filter(pk=stock.pk).update(quantity=F("quantity") + 10)
    return make_package(location=location, skus=skus, order=order,
                        status=rng.choice([100, 100, 150, 200, 400]))


def valid_parameters(rng, code, package, detail, cargo_companies, step, denial_reason, locations):
    own_items = [item["id"] for item in detail["packageitem_set"]]
    cargo = rng.choice(cargo_companies)
    cargo_ref = rng.choice([cargo.pk, cargo.code])
    if code == "SHIP_THE_PACKAGE":
        return rng.choice([{}, {"package_items": rng.sample(own_items, rng.randint(1, len(own_items)))}])
    if code == "SHIP_THE_PACKAGE_ADVANCED":
        return {"tracking_number": f"TRK-{step}", "cargo_company": cargo_ref}
    if code == "UPDATE_SHIPMENT_INFO":
        return rng.choice([{"tracking_number": f"TRK-{step}"}, {"query_number": f"Q-{step}"},
                           {"cargo_company": cargo_ref}])
    if code == "UPDATE_INVOICE":
        return {"invoice_number": f"INV-{step}", "document": "SGVsbG8="}
    if code in {"BLOCK_THE_PACKAGE", "REQUEST_CANCELLATION", "REJECT_CANCELLATION", "CANCEL_PACKAGE"}:
        return rng.choice([{}, {"reason": f"reason {step}"}])
    if code in {"DETECTED_OUT_OF_STOCK_ITEM", "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED"}:
        return {"package_items": rng.sample(own_items, rng.randint(1, len(own_items)))}
    if code == "PACKAGE_REFUSE":
        return {"denial_reason": denial_reason.pk}
    if code == "ASSIGN_PACKAGE_ITEMS_MANUALLY":
        return {"assignment_groups": [{"package_items": own_items,
                                       "stock_location": rng.choice(locations).erp_code}]}
    return {}


def invalid_parameters(code, foreign_item_id):
    """Input each command type refuses, with the expected (HTTP status, error_code)."""
    return {
        "SHIP_THE_PACKAGE": ({"package_items": [foreign_item_id]}, 406, "packages_200_1"),
        "SHIP_THE_PACKAGE_ADVANCED": ({"tracking_number": "T", "cargo_company": "no-such-carrier"},
                                      400, "commands_100_4"),
        "UPDATE_SHIPMENT_INFO": ({}, 400, "commands_100_4"),
        "UPDATE_INVOICE": ({"invoice_number": "INV", "document": "not base64!"}, 400, "commands_100_4"),
        "BLOCK_THE_PACKAGE": ({"reason": ["not", "a", "string"]}, 400, "commands_100_4"),
        "DETECTED_OUT_OF_STOCK_ITEM": ({"package_items": [foreign_item_id]}, 406, "packages_200_1"),
        "PACKAGE_REFUSE": ({}, 400, "commands_100_4"),
    }.get(code)


@pytest.fixture
def unbuilt_transitions(seeded):
    """Transitions of a declared command type with no behaviour (refused with commands_100_7),
    whichever real types are built by now."""
    declared = declare_command_type("TEST_NOT_BUILT_YET", object_type="package", fsm_method="move")
    made = []
    for status in (100, 150, 200, 400):
        transition = Transition(label=f"Not built ({status})", command=declared.code,
                                source_state=seeded.state(status), destination_state=seeded.state(100))
        transition.full_clean()
        transition.save()
        made.append(transition)
    yield made
    del registry.command_types[declared.code]


def test_quota_stock_state_and_order_invariants_hold_after_every_command(seeded, api, unbuilt_transitions):
    rng = random.Random(SEED)
    # given: 3 locations sharing SKUs, 15 packages (pairs share an order), all pre-packing states
    cargo_companies = [CargoCompanyFactory(code="yurtici"), CargoCompanyFactory(code="aras")]
    locations = [StockLocationFactory(default_cargo_company=cargo_companies[i % 2]) for i in range(3)]
    orders = [OrderFactory(cargo_company=rng.choice([None, *cargo_companies]),
                           tracking_number=rng.choice([None, f"MP-{i}"])) for i in range(8)]
    for i in range(15):
        new_package(rng, location=locations[i % 3], order=orders[i // 2])
    # re-planning (out of stock, refuse, repack) may pick any of the three locations
    scenario = Scenario.objects.create(name="Everywhere", default_stock_location=locations[0])
    Rule.objects.create(scenario=scenario, position=0, name="Any location")
    denial_reason = DenialReasonFactory()
    transitions = {t.pk: t for t in Transition.objects.filter(
        source_state__enum_class="PackageStatus", is_active=True).order_by("pk")}
    unbuilt = {pk for pk, t in transitions.items() if not registry.get(t.command).is_implemented}
    package_type = ContentType.objects.get_for_model(Package)
    successes = 0
    ran, refused = Counter(), Counter()
    assert_invariants(successes, "initial")

    for step in range(STEPS):
        candidates = list(Package.objects.select_related("stock_location").order_by("pk"))
        if sum(p.status < 500 for p in candidates) < 8:
            # as planning would: a new order's package arrives, so the run does not dry up
            new_package(rng, location=rng.choice(locations), order=OrderFactory())
            assert_invariants(successes, f"step {step}: new package")
            candidates = list(Package.objects.select_related("stock_location").order_by("pk"))
        package = rng.choices(candidates, weights=[pick_weight(p.status) for p in candidates])[0]
        detail = api.get(f"/api/v1/oms/packages/{package.pk}/").json()
        allowed = detail["commands"]
        assert {c["source_state"] for c in allowed} <= {package.state_id}
        here_unbuilt = [pk for pk in sorted(unbuilt) if transitions[pk].source_state_id == package.state_id]
        roll = rng.random()
        expected = None  # (HTTP status, error_code) of a refusal we provoke
        if roll < 0.1 or not allowed:
            kind = "wrong_state"
            transition = transitions[rng.choice(
                [pk for pk, t in transitions.items() if t.source_state_id != package.state_id])]
            params, expected = {}, (406, "commands_100_1")
        elif roll < 0.15 and here_unbuilt:
            kind = "unbuilt"
            transition = transitions[rng.choice(here_unbuilt)]
            params, expected = {}, (406, "commands_100_7")
        else:
            # same-state commands (invoice, shipment info) would otherwise dominate the run
            weights = [1 if c["destination_state"] != c["source_state"] else 0.2 for c in allowed]
            transition = transitions[rng.choices(allowed, weights=weights)[0]["id"]]
            foreign = PackageItem.objects.exclude(package=package).order_by("pk").first()
            invalid = invalid_parameters(transition.command, foreign.pk)
            if roll < 0.35 and invalid is not None:
                kind = "invalid_input"
                params, expected = invalid[0], invalid[1:]
            else:
                kind = "run"
                params = valid_parameters(rng, transition.command, package, detail, cargo_companies,
                                          step, denial_reason, locations)
        context = f"step {step}: {transition.slug} on {package.number} with {params}"
        before = world()
        shelf_before = shelf()
        items_before = list(PackageItem.objects.filter(package=package).values_list("sku", "quantity"))
        if kind == "run" and transition.command in PACK_TYPES and free_shortfall(package):
            # released units another package reserved meanwhile: the pack must be refused
            kind, expected = "no_free_stock", (406, "locations_400_2")

        response = api.post(f"/api/v1/oms/packages/{package.pk}/command/",
                            {"transition": transition.pk, "input_parameters": params}, format="json")

        if kind == "run" and (transition.command in PACKAGE_HANDLERS or response.status_code < 300):
            successes += 1
            ran[transition.command] += 1
            assert_ran(response, transition, package, params, before, api.user, package_type, context)
            assert_stock_moves(transition.command, package, params, shelf_before, items_before, context)
        else:
            refused[kind] += 1
            if expected is None:
                # a re-planning type may refuse valid input on business grounds (e.g. no stock)
                expected = (response.status_code, response.json()["error"].get("error_code"))
                assert expected[0] in (400, 406) and expected[1], f"{context}: {response.content!r}"
            assert (response.status_code, response.json()["error"].get("error_code")) == expected, (
                f"{context}: {response.content!r}")
            assert world() == before, context
        assert_invariants(successes, context)

    # the run covered the ground it claims to cover
    assert {"PKG_STATE_TRANSITION", "COMPLETE_PACKAGING", "BLOCK_THE_PACKAGE", "UNBLOCK_THE_PACKAGE",
            "REQUEST_CANCELLATION", "REJECT_CANCELLATION", "PACKED_FOR_REFUND"} <= set(ran), ran
    assert len(PACKAGE_HANDLERS & set(ran)) >= 15, ran
    assert min(refused["wrong_state"], refused["invalid_input"]) >= 10, refused
    assert refused["unbuilt"] >= 2, refused
    assert Package.objects.count() > 15


def assert_ran(response, transition, package, params, before, user, package_type, context):
    """A successful command: the seed's response, the destination (or remembered) state, and its
    audit row."""
    old = next(row for row in before["packages"] if row[0] == package.pk)
    package = Package.objects.select_related("stock_location").get(pk=package.pk)
    expected_state = transition.destination_state_id or old[3]
    if transition.command == "SHIP_THE_PACKAGE_BASIC":
        assert (response.status_code, response.content) == (204, b""), context
    else:
        assert response.status_code == 200, f"{context}: {response.content!r}"
        body = response.json()
        holder = Package.objects.select_related("stock_location").get(pk=body["package_id"])
        if transition.command in PACKAGE_HANDLERS:
            assert body == {
                "package_id": package.pk, "package_number": package.number,
                "package_stock_location_id": package.stock_location_id,
                "package_stock_location_name": package.stock_location.name,
                "is_same_location": True}, context
        else:
            # Re-planning types: the seed's shape naming an existing package (their exact answer is
            # checked in test_commands_replan.py).
            assert (sorted(body), body["package_number"]) == (
                ["is_same_location", "package_id", "package_number", "package_stock_location_id",
                 "package_stock_location_name"], holder.number), context
    if transition.command in PACKAGE_HANDLERS:
        assert package.state_id == expected_state, context
    else:  # the split-off variant leaves the package where it was
        assert package.state_id in (expected_state, old[2]), context
    log = StateTransitionLog.objects.order_by("-id").first()
    assert (log.content_type_id, log.object_id, log.user_id, log.old_state_id, log.new_state_id) == (
        package_type.pk, package.pk, user.pk, old[2], package.state_id), context
    assert log.attributes == {
        "command": {"slug": transition.slug, "transition_id": transition.pk,
                    "command": transition.command},
        "input_parameters": params, "idempotency_key": None}, context
