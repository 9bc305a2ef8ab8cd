"""JSON log lines in Cloud Logging's structured format, each carrying the event's correlation id."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="")
_SEVERITY = {"WARNING": "WARNING", "ERROR": "ERROR", "CRITICAL": "CRITICAL", "DEBUG": "DEBUG"}


class CloudFormatter(logging.Formatter):
    """Render a record as one JSON object Cloud Logging parses into a LogEntry."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelname, "INFO"),
            "message": record.getMessage(),
            "logger": record.name,
            "correlation_id": _correlation.get(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    """Install the JSON formatter on the root logger once."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CloudFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "google", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def correlation_id() -> str:
    """The id bound to the current request or message ("" outside one)."""
    return _correlation.get()


@contextmanager
def correlated(correlation_id: str | None = None) -> Iterator[str]:
    """Bind a correlation id for the duration of one request or message."""
    cid = correlation_id or uuid.uuid4().hex
    token = _correlation.set(cid)
    try:
        yield cid
    finally:
        _correlation.reset(token)


def log(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log with structured fields merged into the JSON entry."""
    logger.log(level, message, extra={"fields": fields})
