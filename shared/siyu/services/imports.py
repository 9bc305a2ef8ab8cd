"""`siyu import`: every row validated first, the good ones written in batches, resumable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import BaseModel

from siyu.domain.imports import Kind, RowError, Table, parse


class RowWriter(Protocol):
    def write(
        self, rows: list[Any], after_batch: Callable[[int], None], batch_size: int
    ) -> None: ...


class Progress(Protocol):
    def done(self) -> int: ...

    def save(self, rows_done: int) -> None: ...

    def finish(self) -> None: ...


class ImportResult(BaseModel):
    rows: int
    written: int
    skipped_as_done: int  # written by an earlier, interrupted run
    errors: list[str]


def run_import(
    kind: Kind,
    table: Table,
    writer: RowWriter,
    progress: Progress,
    on_progress: Callable[[int, int], None],
    batch_size: int = 500,
) -> ImportResult:
    """Rows with an error are reported and not written at all; the rest are written."""
    parsed = list(parse(kind, table))
    errors = [str(item) for _, item in parsed if isinstance(item, RowError)]
    good = [item for _, item in parsed if not isinstance(item, RowError)]
    already = min(progress.done(), len(good))
    todo = good[already:]

    def committed(n: int) -> None:
        progress.save(already + n)
        on_progress(already + n, len(good))

    on_progress(already, len(good))
    writer.write(todo, committed, batch_size)
    progress.finish()
    return ImportResult(rows=len(parsed), written=len(todo), skipped_as_done=already, errors=errors)
