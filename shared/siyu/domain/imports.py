"""Spreadsheet rows ops hand over: validated one by one, each error naming row and column."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from siyu.domain.groups import GroupSpec
from siyu.domain.ids import DocId, OptionalDocId
from siyu.domain.model import Model

Kind = Literal["groups", "customers"]


class GroupRow(GroupSpec):
    chat_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class CustomerRow(Model):
    model_config = ConfigDict(extra="forbid")

    bank_customer_id: DocId = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    external_userid: OptionalDocId = Field("", max_length=64)
    unionid: str = Field("", max_length=64)
    age: int | None = Field(None, ge=0, le=130)
    aum_band: str | None = Field(None, max_length=32)
    birthday: date | None = None


MODELS: dict[str, type[BaseModel]] = {"groups": GroupRow, "customers": CustomerRow}
LIST_COLUMNS = {"tags"}  # "美食|早餐"


class Table(Model):
    """A sheet as read from a file: column names from row 1, then one dict per data row."""

    columns: list[str]
    rows: list[dict[str, str]]


class RowError(Model):
    row: int  # 1-based, the header being row 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


def parse(kind: Kind, table: Table) -> Iterator[tuple[int, BaseModel | RowError]]:
    """Each data row as a model, or as the first error in it (nothing partial is kept)."""
    model = MODELS[kind]
    unknown = set(table.columns) - set(model.model_fields)
    for number, raw in enumerate(table.rows, start=2):
        if unknown:
            yield number, RowError(row=number, column=sorted(unknown)[0], message="unknown column")
            continue
        values: dict[str, Any] = {
            k: ([v for v in value.split("|") if v] if k in LIST_COLUMNS else value)
            for k, value in raw.items()
            if value.strip()
        }
        try:
            yield number, model.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            column = ".".join(str(p) for p in first["loc"]) or "row"
            yield number, RowError(row=number, column=column, message=first["msg"])


MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a sheet of ~50,000 rows; bigger ones go through `siyu import`


class ImportUpload(Model):
    """PUT /ops/imports/{job_id}: a CSV sheet (UTF-8 or GB18030) in base64. The job id is
    the caller's: sending the same file again with it resumes an interrupted import."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    filename: str = Field(min_length=1, max_length=128, pattern=r"^[^/\\\x00-\x1f]+\.csv$")
    content_base64: str = Field(min_length=4, max_length=MAX_UPLOAD_BYTES * 4 // 3 + 4)


class ImportJob(Model):
    """`import_jobs/{id}`: how far an import from the console has come."""

    id: str
    kind: Kind
    filename: str
    digest: str  # sha256 of the file: a job id runs one file only
    status: Literal["running", "done"] = "running"
    rows: int = 0  # data rows in the file
    valid: int = 0  # rows that passed validation (only these are written)
    written: int = 0  # of the valid rows, written so far
    errors: list[RowError] = Field(default_factory=list)
    actor: str
    started_at: datetime
    finished_at: datetime | None = None
