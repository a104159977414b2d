from oms.errors import DomainError


class ItemNotInTransfer(DomainError):
    error_code = "transfers_500_1"
    default_message = "Transfer item does not belong to this transfer"
