"""Transfer command types (spec §6)."""

from commands.registry import ObjectType, declare_command_type, registry
from transfers.enums import TransferStatus

TRANSFER = "transfer"

registry.register_object_type(ObjectType(
    name=TRANSFER, model_label="transfers.TransferOrder", enum_class="TransferStatus",
    status_enum=TransferStatus, lock_related=("package", "source", "destination")))

# The lifecycle is declared (configurable, listed, seeded); behaviour comes with the transfers issue.
declare_command_type("TRANSFER_READY_FOR_DISPATCH", object_type=TRANSFER, fsm_method="ready_for_dispatch")
declare_command_type("TRANSFER_ORDER_ADVANCED", object_type=TRANSFER, fsm_method="ready_with_shipment")
declare_command_type("TRANSFER_DISPATCH", object_type=TRANSFER, fsm_method="dispatch")
declare_command_type("TRANSFER_DELIVERED", object_type=TRANSFER, fsm_method="deliver")
declare_command_type("TRANSFER_PRODUCT_NOT_FOUND", object_type=TRANSFER, fsm_method="mark_not_found")
declare_command_type("TRANSFER_OUT_OF_STOCK", object_type=TRANSFER, fsm_method="mark_out_of_stock")
