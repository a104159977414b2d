from oms.errors import DomainError


class TransitionRequired(DomainError):
    http_status = 400
    default_message = "transition or slug required"

    def as_error(self) -> dict:  # the seed's body carries no error_code for this one
        return {"non_field_errors": self.message}


class CommandNotAllowed(DomainError):
    error_code = "commands_100_1"
    default_message = ("Command definition is not allowed! Check source & destination states "
                       "of command to be created")


class CommandNotFound(DomainError):
    error_code = "commands_100_2"
    default_message = "Command definition not found"


class CommandNotVisible(DomainError):
    error_code = "commands_100_3"
    http_status = 403
    default_message = "Command definition is not available for your channel"


class CommandInputInvalid(DomainError):
    error_code = "commands_100_4"
    http_status = 400
    default_message = "Invalid input parameters"


class CommandMismatch(DomainError):
    error_code = "commands_100_5"
    default_message = "Command id and slug mismatch"


class IdempotencyKeyReused(DomainError):
    error_code = "commands_100_6"
    http_status = 422
    default_message = "Idempotency key reused with a different request"


class CommandNotImplemented(DomainError):
    error_code = "commands_100_7"
    default_message = "This command type is not available in this version of the OMS"
