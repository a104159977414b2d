from oms.errors import DomainError


class StockBelowReserved(DomainError):
    http_status = 400
    error_code = "locations_400_1"
    default_message = "A quantity is below what is reserved"


class NotEnoughFreeStock(DomainError):
    """Units must leave the shelf without a reservation, and fewer are free than needed."""

    error_code = "locations_400_2"
    default_message = "Not enough free stock"
