"""Files ops hand over for `siyu import` and the console's import page: CSV (UTF-8, or
GB18030 as Excel saves it on Chinese Windows) and .xlsx. Every failure is a SheetError: one
line naming the file."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

from siyu.domain.imports import Table


class SheetError(Exception):
    """A file that cannot be read as a table; the message names it and says why."""


def read_table(path: Path) -> Table:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SheetError(f"{path}: no such file") from None
    except OSError as exc:
        raise SheetError(f"{path}: cannot be read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return csv_table(path, raw)
    if suffix == ".xlsx":
        return _xlsx(path, raw)
    raise SheetError(f"{path}: a {suffix or 'suffix-less'} file; give a .csv or .xlsx")


def _decode(path: Path | str, raw: bytes) -> str:
    """UTF-8 (with or without Excel's BOM) first: GB18030 decodes almost any bytes, so it
    is only the fallback, and only for text it decodes completely."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise SheetError(
                f"{path}: byte {utf8.start} is neither UTF-8 nor GB18030; save it as CSV UTF-8"
            ) from None


def csv_table(path: Path | str, raw: bytes) -> Table:
    """A CSV's bytes as a table; `path` names it in errors (a file, or an upload's name)."""
    text = _decode(path, raw)
    if "\x00" in text:
        raise SheetError(f"{path}: holds NUL bytes; is it really a CSV?")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise SheetError(f"{path}: not a readable CSV ({exc})") from None
    return _table(path, rows)


def _xlsx(path: Path, raw: bytes) -> Table:
    from openpyxl import load_workbook  # the CLI's dependency, not the functions'

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors
        raise SheetError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table(path, rows)


def _cell(value: Any) -> str:
    """A cell as the text a CSV would hold: dates as ISO dates, 35.0 as 35."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(path: Path | str, rows: list[list[str]]) -> Table:
    while rows and not any(rows[-1]):
        rows.pop()  # trailing blank lines and formatted-but-empty rows
    if not rows:
        raise SheetError(f"{path}: empty; the first row must name the columns")
    header = [h.strip() for h in rows[0]]
    blank = [n for n, h in enumerate(header, start=1) if not h]
    if blank and any(any(r[n - 1 : n]) for r in rows[1:] for n in blank):
        raise SheetError(f"{path}: column {blank[0]} has values but no name in row 1")
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise SheetError(f"{path}: column {repeated[0]!r} appears twice in row 1")
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > len(header) and any(row[len(header) :]):
            raise SheetError(f"{path}: row {number} has more cells than row 1 has columns")
        records.append({h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h})
    return Table(columns=[h for h in header if h], rows=records)
