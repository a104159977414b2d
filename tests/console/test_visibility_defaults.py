"""New installs: every seeded transition is visible to operators (oms_web) and integrations
(third_party); stores (instore) see their own work only. Operators' edits survive a re-seed."""

import io

from django.core.management import call_command

from commands.models import Transition

# The store's work, by command type: every seeded move of these is visible to instore.
STORE_COMMANDS = {
    "COMPLETE_PACKAGING", "SHIP_THE_PACKAGE", "SHIP_THE_PACKAGE_ADVANCED", "UPDATE_SHIPMENT_INFO",
    "READY_FOR_PICKUP", "SELF_SERVICE_DELIVERY", "DETECTED_OUT_OF_STOCK_ITEM",
    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED", "PACKAGE_REFUSE", "REJECT_CANCELLATION",
    "TRANSFER_READY_FOR_DISPATCH", "TRANSFER_ORDER_ADVANCED", "TRANSFER_DISPATCH",
    "TRANSFER_DELIVERED", "TRANSFER_PRODUCT_NOT_FOUND", "TRANSFER_OUT_OF_STOCK",
}
NOT_FOR_STORES = {
    "PKG_STATE_TRANSITION", "PKG_DEALLOCATE_RESERVATIONS", "ASSIGN_PACKAGE_ITEMS_MANUALLY",
    "PACKED_FOR_REFUND", "REPACK", "BLOCK_THE_PACKAGE", "UNBLOCK_THE_PACKAGE", "REQUEST_CANCELLATION",
    "COMPLETE_PACKAGING_WITHOUT_SHIPMENT", "CHANNEL_BASED_COMPLETE_PACKAGING", "SHIP_THE_PACKAGE_BASIC",
    "UPDATE_PACKAGE_SHIPMENT_STATUS", "UPDATE_INVOICE",
}


def seed() -> None:
    call_command("seed_transitions", stdout=io.StringIO())


def test_every_command_type_is_classified_for_stores(db):
    # given a seeded install
    seed()
    # when
    commands = set(Transition.objects.values_list("command", flat=True))
    # then each command type is either a store's, not a store's, or CANCEL_PACKAGE (per source)
    assert commands == STORE_COMMANDS | NOT_FOR_STORES | {"CANCEL_PACKAGE"}
    assert len(commands) == 30


def test_instore_sees_the_stores_work_only(db):
    # given
    seed()
    # when
    rows = Transition.objects.select_related("source_state")
    # then
    for t in rows:
        store_work = t.command in STORE_COMMANDS or (
            t.command == "CANCEL_PACKAGE" and t.source_state.enum_value == "50")
        expected = ["oms_web", "third_party", "instore"] if store_work else ["oms_web", "third_party"]
        assert t.ui_visibility == expected, t.slug


def test_instore_may_accept_a_cancellation_request_but_not_cancel_on_its_own(db):
    # given
    seed()
    # when
    cancels = dict(Transition.objects.filter(command="CANCEL_PACKAGE")
                   .values_list("source_state__enum_value", "ui_visibility"))
    # then only Cancellation Waiting -> Cancelled is the store's
    assert cancels == {
        "50": ["oms_web", "third_party", "instore"],
        "100": ["oms_web", "third_party"], "150": ["oms_web", "third_party"],
        "200": ["oms_web", "third_party"], "300": ["oms_web", "third_party"],
        "350": ["oms_web", "third_party"], "400": ["oms_web", "third_party"],
    }


def test_a_waiting_package_shows_a_store_pack_out_of_stock_refuse_only(db):
    # given
    seed()
    # when the transitions leaving Waiting that instore sees
    visible = sorted(command for command, channels in Transition.objects.filter(
        source_state__enum_class="PackageStatus", source_state__enum_value="100")
        .values_list("command", "ui_visibility") if "instore" in channels)
    # then (Move, Deallocate, Manual planning, Block, refund and the pack variants are hidden)
    assert visible == ["COMPLETE_PACKAGING", "DETECTED_OUT_OF_STOCK_ITEM",
                       "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED", "PACKAGE_REFUSE"]


def test_reseed_keeps_an_operators_visibility_edit(db):
    # given an operator showed Block to stores and hid Pack from them
    seed()
    Transition.objects.filter(slug="package__block_the_package__waiting__blocked").update(
        ui_visibility=["instore"])
    Transition.objects.filter(slug="package__complete_packaging__waiting__packed").update(
        ui_visibility=["oms_web"])
    # when
    seed()
    # then
    assert dict(Transition.objects.filter(slug__in=[
        "package__block_the_package__waiting__blocked", "package__complete_packaging__waiting__packed"])
        .values_list("slug", "ui_visibility")) == {
        "package__block_the_package__waiting__blocked": ["instore"],
        "package__complete_packaging__waiting__packed": ["oms_web"]}
