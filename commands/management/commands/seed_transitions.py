"""Create a State for every status, a Transition for every allowed command move, and the roles
(``seed_roles``).

Idempotent: existing rows are matched by slug and never changed, so operator edits (labels,
visibility, is_active) survive and transition ids stay stable. A new transition's
``ui_visibility`` follows ``default_visibility``: operators and integrations see every command,
stores only their own work (README "States and transitions are data" has the matrix)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from commands.enums import UiVisibility
from commands.models import State, Transition
from commands.registry import registry
from commands.services import transition_default_slug, transition_validate

TR_NAMES = {
    "PackageStatus": {
        50: "İptal Bekleniyor", 100: "Bekliyor", 150: "Uzaktan Eylem Bekleniyor", 200: "Hazırlanıyor",
        300: "Transfer Bekleniyor", 350: "Bloke", 400: "Paketlemeye Hazır", 500: "Paketlendi",
        520: "Teslim Almaya Hazır", 550: "Kargoya Verildi", 560: "Teslimat Denendi",
        570: "Teslimat Başarısız", 600: "Teslim Edildi", 900: "Yeniden Planlanmalı",
        920: "Stokta Olmayan Ürünler İçeriyor", 950: "İptal Edildi", 1100: "İade İçin Paketlendi",
    },
    "TransferStatus": {
        "waiting": "Bekliyor", "ready_to_shipment": "Sevke Hazır", "in_transit": "Yolda",
        "transferred": "Transfer Edildi", "not_found": "Bulunamadı", "out_of_stock": "Stokta Yok",
        "cancelled": "İptal Edildi",
    },
}

LABELS = {
    "PKG_STATE_TRANSITION": "Move", "PKG_DEALLOCATE_RESERVATIONS": "Deallocate reservations",
    "COMPLETE_PACKAGING": "Pack", "COMPLETE_PACKAGING_WITHOUT_SHIPMENT": "Pack without shipment",
    "CHANNEL_BASED_COMPLETE_PACKAGING": "Pack order from different channels",
    "SHIP_THE_PACKAGE": "Ship", "SHIP_THE_PACKAGE_ADVANCED": "Advanced ship",
    "SHIP_THE_PACKAGE_BASIC": "Ship without shipment integration",
    "UPDATE_PACKAGE_SHIPMENT_STATUS": "Update shipment status",
    "UPDATE_SHIPMENT_INFO": "Update shipment info", "DETECTED_OUT_OF_STOCK_ITEM": "Out-of-stock",
    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED": "Out-of-stock (split items)", "REPACK": "Repack",
    "PACKAGE_REFUSE": "Refuse", "PACKED_FOR_REFUND": "Packed for refund",
    "BLOCK_THE_PACKAGE": "Block", "UNBLOCK_THE_PACKAGE": "Unblock",
    "UPDATE_INVOICE": "Update invoice", "ASSIGN_PACKAGE_ITEMS_MANUALLY": "Manual planning",
    "REQUEST_CANCELLATION": "Request cancellation", "REJECT_CANCELLATION": "Reject cancellation",
    "CANCEL_PACKAGE": "Cancel", "READY_FOR_PICKUP": "Ready for pickup",
    "SELF_SERVICE_DELIVERY": "Delivered to customer",
    "TRANSFER_READY_FOR_DISPATCH": "Ready for dispatch",
    "TRANSFER_ORDER_ADVANCED": "Ready for dispatch (with shipment)",
    "TRANSFER_DISPATCH": "Dispatch", "TRANSFER_DELIVERED": "Transfer delivered",
    "TRANSFER_PRODUCT_NOT_FOUND": "Product not found", "TRANSFER_OUT_OF_STOCK": "Out of stock",
}

# The store's work (the ``instore`` channel): pack, ship (with or without carrier and tracking
# number, correct them), click & collect, out of stock, refuse, answer a cancellation request,
# and the transfer commands (the dispatcher lets a store run a transfer's source-side commands
# only as its source and TRANSFER_DELIVERED only as its destination). Not for stores: Move,
# Deallocate, Manual planning, refund moves, repack, block/unblock, the channel- and
# integration-specific pack and ship variants, carrier status updates, invoices.
INSTORE_COMMANDS = frozenset({
    "COMPLETE_PACKAGING", "SHIP_THE_PACKAGE", "SHIP_THE_PACKAGE_ADVANCED", "UPDATE_SHIPMENT_INFO",
    "READY_FOR_PICKUP", "SELF_SERVICE_DELIVERY", "DETECTED_OUT_OF_STOCK_ITEM",
    "DETECTED_OUT_OF_STOCK_ITEM_ADVANCED", "PACKAGE_REFUSE", "REJECT_CANCELLATION",
    "TRANSFER_READY_FOR_DISPATCH", "TRANSFER_ORDER_ADVANCED", "TRANSFER_DISPATCH",
    "TRANSFER_DELIVERED", "TRANSFER_PRODUCT_NOT_FOUND", "TRANSFER_OUT_OF_STOCK",
})
# (command, source status) pairs a store also sees: accepting a cancellation request.
INSTORE_PAIRS = frozenset({("CANCEL_PACKAGE", 50)})


def default_visibility(command: str, source) -> list[str]:
    """The channels a newly seeded transition is visible to."""
    channels = [UiVisibility.OMS_WEB.value, UiVisibility.THIRD_PARTY.value]
    if command in INSTORE_COMMANDS or (command, source) in INSTORE_PAIRS:
        channels.append(UiVisibility.INSTORE.value)
    return channels


class Command(BaseCommand):
    help = "Seed a State per status and a Transition per allowed command move (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        states, states_created = self._seed_states()
        existing_slugs = set(Transition.objects.values_list("slug", flat=True))
        new: list[Transition] = []
        existed = 0
        for command_type in sorted(registry.command_types.values(), key=lambda c: c.code):
            object_type = registry.object_types[command_type.object_type]
            for source, destination in sorted(command_type.pairs, key=lambda p: (str(p[0]), str(p[1]))):
                source_state = states[(object_type.enum_class, source)]
                destination_state = (states[(object_type.enum_class, destination)]
                                     if destination is not None else None)
                transition = Transition(
                    command=command_type.code, source_state=source_state,
                    destination_state=destination_state,
                    ui_visibility=default_visibility(command_type.code, source))
                transition.slug = transition_default_slug(transition)
                if transition.slug in existing_slugs:
                    existed += 1
                    continue
                target_name = destination_state.name if destination_state else "previous state"
                transition.label = (f"{LABELS.get(command_type.code, command_type.code.title())} "
                                    f"({source_state.name} → {target_name})")
                transition_validate(transition)  # the same check operators' transitions get
                existing_slugs.add(transition.slug)
                new.append(transition)
        Transition.objects.bulk_create(new)
        self.stdout.write(self.style.SUCCESS(
            f"States: {states_created} created, {len(states) - states_created} already existed. "
            f"Transitions: {len(new)} created, {existed} already existed."))
        call_command("seed_roles", stdout=self.stdout)

    def _seed_states(self):
        existing = {(s.enum_class, s.slug): s for s in State.objects.all()}
        states: dict = {}
        new: list[State] = []
        for object_type in registry.object_types.values():
            for status in object_type.status_enum:
                key = object_type.status_key(status)
                slug = key.replace("_", "-")
                state = existing.get((object_type.enum_class, slug))
                if state is None:
                    state = State(
                        enum_class=object_type.enum_class, slug=slug, name=status.label,
                        enum_value=str(status.value),
                        translations={"en-us": {"name": status.label},
                                      "tr-tr": {"name": TR_NAMES[object_type.enum_class][status.value]}})
                    new.append(state)
                states[(object_type.enum_class, status.value)] = state
        State.objects.bulk_create(new)  # sets ids on PostgreSQL and SQLite 3.35+
        return states, len(new)
