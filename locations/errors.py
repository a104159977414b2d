from oms.errors import DomainError


class StockBelowReserved(DomainError):
    http_status = 400
    error_code = "locations_400_1"
    default_message = "A quantity is below what is reserved"
