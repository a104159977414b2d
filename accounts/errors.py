from oms.errors import DomainError


class LocationNotAllowed(DomainError):
    """A store user acted on a location that is not theirs (or on the wrong side of a transfer)."""

    error_code = "accounts_600_1"
    http_status = 403
    default_message = "This stock location is not one of yours."


class StoreUserReadOnly(DomainError):
    """Store users change data only by running commands on their own packages and transfers."""

    error_code = "accounts_600_2"
    http_status = 403
    default_message = "Store users can read this endpoint but not change it."
