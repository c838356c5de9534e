"""Domain errors. Domain code raises these; the web layer maps them to HTTP answers.

Each error carries a stable snake_case ``code`` (part of the API contract), a
Chinese ``message`` for people and the HTTP status the API should use.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return body


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 400


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class IllegalTransition(Conflict):
    code = "illegal_transition"


class IdentityNotVerified(Forbidden):
    code = "identity_not_verified"


class DrillExpired(Conflict):
    code = "drill_expired"


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429


class ConfigurationError(DomainError):
    """The install is misconfigured (unwritable home, unreachable database...)."""

    code = "configuration_error"
    status = 500
