"""Domain errors: adapters translate SDK failures into these, entry points map them to status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidInput(DomainError):
    """A request or message that cannot be accepted; `field` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Unauthorized(DomainError):
    """Credentials are missing or wrong (HTTP 401)."""


class Forbidden(DomainError):
    """A request whose signature or origin is not trusted (HTTP 403)."""


class NotFound(DomainError):
    """The addressed entity does not exist."""


class MethodNotAllowed(DomainError):
    """The path exists but not for this HTTP method (HTTP 405)."""


class Conflict(DomainError):
    """The operation was already done, or collides with another one."""


class TransientError(DomainError):
    """Worth retrying later: raising it from a Pub/Sub handler makes Pub/Sub redeliver."""


class TooLarge(DomainError):
    """A body over the accepted size (HTTP 413)."""


class UpstreamError(DomainError):
    """An upstream API (WeCom) refused a call; `code` is its error code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
