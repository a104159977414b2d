"""Domain errors. Each carries the wire ``error_code`` and HTTP status; the API's exception
handler, the admin and management commands all render them the same way."""

from __future__ import annotations


class DomainError(Exception):
    error_code: str = "oms_000_0"
    http_status: int = 406
    default_message: str = "The request was refused."

    def __init__(self, message: str | None = None, *, error_code: str | None = None,
                 http_status: int | None = None, fields: dict | None = None) -> None:
        self.message = message or self.default_message
        if error_code:
            self.error_code = error_code
        if http_status:
            self.http_status = http_status
        # Field errors ({"field": ["message"]}) replace non_field_errors in the envelope.
        self.fields = fields
        super().__init__(self.message)

    def as_error(self) -> dict:
        body: dict = dict(self.fields) if self.fields else {"non_field_errors": self.message}
        body["error_code"] = self.error_code
        return body

    def __str__(self) -> str:
        if self.fields:
            parts = [f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in self.fields.items()]
            return "; ".join(parts)
        return self.message
