"""The event catalogue (spec §8). Status-keyed families are listed with their keys."""

from fnmatch import fnmatchcase

from packages.enums import PackageStatus
from transfers.enums import TransferStatus

FIXED = [
    "package.created", "package.status.transitioned", "package.refused",
    "package.shipment.awb_number", "shipment.created", "shipment.status.updated",
    "shipment.cancelled", "transfer.status.created", "transfer.status.transitioned",
    "stock_location.created", "stock_location.updated",
]
CATALOGUE = frozenset(
    FIXED
    + [f"package.status.{s.name.lower()}" for s in PackageStatus]
    + [f"transfer.status.{s.value}" for s in TransferStatus]
)


def pattern_is_valid(pattern: str) -> bool:
    """An exact event type, or a ``*`` pattern matching at least one (``package.status.*``)."""
    return any(fnmatchcase(event, pattern) for event in CATALOGUE)


def matches(pattern: str, event_type: str) -> bool:
    return fnmatchcase(event_type, pattern)
