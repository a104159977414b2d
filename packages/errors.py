from oms.errors import DomainError


class ItemNotInPackage(DomainError):
    error_code = "packages_200_1"
    default_message = "Package item does not belong to this package"


class NoStockToReplan(DomainError):
    error_code = "packages_200_2"
    default_message = "No stock available to re-plan"


class NotEnoughStock(DomainError):
    error_code = "packages_200_3"
    default_message = "Not enough stock"
