from oms.errors import DomainError


class NoMatchingScenario(DomainError):
    error_code = "orders_300_1"
    default_message = "No active scenario matches this order"
