"""`siyu import` and the console's import page: every row validated first, the good ones
written in batches, resumable."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from siyu.domain.errors import InvalidInput, NotFound
from siyu.domain.imports import ImportJob, Kind, RowError, Table, parse
from siyu.domain.model import Model
from siyu.ports import Clock


class RowWriter(Protocol):
    def write(
        self, rows: list[Any], after_batch: Callable[[int], None], batch_size: int
    ) -> None: ...


class Progress(Protocol):
    def done(self) -> int: ...

    def save(self, rows_done: int) -> None: ...

    def finish(self) -> None: ...


class ImportResult(Model):
    rows: int
    written: int
    skipped_as_done: int  # written by an earlier, interrupted run
    errors: list[RowError]


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
    errors = [item for _, item in parsed if isinstance(item, RowError)]
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


class ImportJobRepo(Protocol):
    def get(self, job_id: str) -> ImportJob | None: ...

    def put(self, job: ImportJob) -> None: ...


class _JobProgress:
    """run_import's checkpoint kept on the job's document, so the page can follow it."""

    def __init__(self, jobs: ImportJobRepo, job: ImportJob) -> None:
        self._jobs = jobs
        self.job = job

    def done(self) -> int:
        return self.job.written

    def save(self, rows_done: int) -> None:
        self.job = self.job.model_copy(update={"written": rows_done})

    def finish(self) -> None:
        """run_import's last word; the job is closed with its errors by ImportJobs."""

    def moved(self, written: int, valid: int) -> None:
        """After each batch (and at the start): one write the page polls."""
        self.job = self.job.model_copy(update={"written": written, "valid": valid})
        self._jobs.put(self.job)


class ImportJobs:
    def __init__(self, jobs: ImportJobRepo, writer: RowWriter, clock: Clock) -> None:
        self._jobs = jobs
        self._writer = writer
        self._clock = clock

    def run(
        self, job_id: str, kind: Kind, filename: str, raw: bytes, table: Table, actor: str
    ) -> ImportJob:
        """Validate and write; the same file again under the same id resumes where the
        last run stopped, and a finished job answers as it finished."""
        digest = hashlib.sha256(raw).hexdigest()
        job = self._jobs.get(job_id)
        if job is not None and (job.digest, job.kind) != (digest, kind):
            raise InvalidInput("job_id", f"import {job_id} is of another file; use a new id")
        if job is not None and job.status == "done":
            return job
        job = job or ImportJob(
            id=job_id,
            kind=kind,
            filename=filename,
            digest=digest,
            rows=len(table.rows),
            actor=actor,
            started_at=self._clock.now(),
        )
        self._jobs.put(job)
        progress = _JobProgress(self._jobs, job)
        result = run_import(
            kind,
            table,
            self._writer,
            progress,
            progress.moved,
            BATCH,
        )
        finished = progress.job.model_copy(
            update={"status": "done", "errors": result.errors, "finished_at": self._clock.now()}
        )
        self._jobs.put(finished)
        return finished

    def get(self, job_id: str) -> ImportJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"import {job_id}")
        return job


BATCH = 200  # rows per write: the page moves every batch
