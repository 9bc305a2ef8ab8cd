"""`siyu import`: files as Excel saves them (GB18030 CSV, .xlsx), rows checked one by one,
each failure one line naming file, row or column, and resumable writes."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from siyu.adapters.spreadsheets import SheetError, read_table
from siyu.domain.imports import CustomerRow, GroupRow, RowError, Table, parse
from siyu.services.imports import run_import

GROUPS = "chat_id,name,owner_userid,city,kind,lat,lng,coord_system,tags"
GOOD_GROUP = "wr1,静安福利群,zhangsan,上海,food,31.22,121.44,gcj02,美食|早餐"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def xlsx(tmp_path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return write(tmp_path, "customers.xlsx", out.getvalue())


# -- reading files ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_reads_the_same_in_utf8_with_or_without_bom_and_in_gb18030(
    tmp_path: Path, encoding: str
) -> None:
    path = write(tmp_path, "groups.csv", f"{GROUPS}\r\n{GOOD_GROUP}\r\n".encode(encoding))
    table = read_table(path)
    assert table.columns == GROUPS.split(",")
    assert table.rows[0]["name"] == "静安福利群" and table.rows[0]["tags"] == "美食|早餐"


def test_an_xlsx_reads_dates_and_whole_numbers_as_a_csv_would_hold_them(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        [
            ["bank_customer_id", "age", "birthday", "aum_band"],
            ["bc1", 35.0, datetime(1990, 3, 8), "0-10万"],
            ["bc2", 41, date(1985, 12, 1), None],
            [None, None, None, None],  # a formatted but empty row
        ],
    )
    table = read_table(path)
    assert table.rows == [
        {"bank_customer_id": "bc1", "age": "35", "birthday": "1990-03-08", "aum_band": "0-10万"},
        {"bank_customer_id": "bc2", "age": "41", "birthday": "1985-12-01", "aum_band": ""},
    ]
    [(_, first), (_, second)] = parse("customers", table)
    assert isinstance(first, CustomerRow) and first.birthday == date(1990, 3, 8)
    assert isinstance(second, CustomerRow) and second.aum_band is None


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("missing.csv", None, "no such file"),
        ("groups.txt", b"a,b\n", "give a .csv or .xlsx"),
        ("groups.csv", b"", "empty"),
        ("groups.csv", b"\n\n", "empty"),
        ("groups.csv", b"a,b\n\xff\xff\xff\n", "neither UTF-8 nor GB18030"),
        ("groups.csv", b"a,a\n1,2\n", "'a' appears twice"),
        ("groups.csv", b"a,,b\n1,2,3\n", "column 2 has values but no name"),
        ("groups.csv", b"a,b\n1,2,3\n", "row 2 has more cells"),
        ("groups.csv", b"a,b\n\x00\x01\n", "NUL"),
        ("groups.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
        ("groups.xlsx", b"a,b\n1,2\n", "not a readable .xlsx"),
    ],
)
def test_a_file_that_is_not_a_table_is_one_line_naming_it(
    tmp_path: Path, name: str, data: bytes | None, says: str
) -> None:
    path = tmp_path / name if data is None else write(tmp_path, name, data)
    with pytest.raises(SheetError) as err:
        read_table(path)
    message = str(err.value)
    assert message.startswith(str(path)) and says in message and "\n" not in message


# -- checking rows -----------------------------------------------------------------------------


def table(*lines: str) -> Table:
    header, *rows = [line.split(",") for line in lines]
    return Table(columns=header, rows=[dict(zip(header, r, strict=True)) for r in rows])


def test_each_row_is_a_model_or_its_first_error_naming_row_and_column() -> None:
    parsed = dict(
        parse(
            "groups",
            table(
                GROUPS,
                GOOD_GROUP,
                "wr2,坏纬度群,zhangsan,上海,food,91,121.44,wgs84,",
                "bad id,空格群,lisi,上海,food,31.23,121.50,wgs84,",
            ),
        )
    )
    assert isinstance(parsed[2], GroupRow) and parsed[2].tags == ["美食", "早餐"]
    assert isinstance(parsed[3], RowError) and str(parsed[3]).startswith("row 3, column lat:")
    assert isinstance(parsed[4], RowError) and str(parsed[4]).startswith("row 4, column chat_id:")


def test_an_unknown_column_refuses_every_row_naming_it() -> None:
    parsed = list(parse("customers", table("bank_customer_id,nickname", "bc1,x", "bc2,y")))
    assert [str(e) for _, e in parsed] == [
        "row 2, column nickname: unknown column",
        "row 3, column nickname: unknown column",
    ]


def test_blank_cells_are_absent_not_empty_strings() -> None:
    [(_, row)] = parse("customers", table("bank_customer_id,age,aum_band", "bc1,  , "))
    assert isinstance(row, CustomerRow) and row.age is None and row.aum_band is None


# -- writing: only the good rows, resumable ----------------------------------------------------


class Writer:
    def __init__(self, fail_after: int | None = None) -> None:
        self.written: list[Any] = []
        self.fail_after = fail_after

    def write(self, rows: list[Any], after_batch: Callable[[int], None], batch_size: int) -> None:
        for start in range(0, len(rows), batch_size):
            if self.fail_after is not None and len(self.written) >= self.fail_after:
                raise ConnectionError("firestore unreachable")
            self.written += rows[start : start + batch_size]
            after_batch(start + len(rows[start : start + batch_size]))


class Saved:
    def __init__(self) -> None:
        self.rows_done = 0
        self.finished = False

    def done(self) -> int:
        return self.rows_done

    def save(self, rows_done: int) -> None:
        self.rows_done = rows_done

    def finish(self) -> None:
        self.finished = True


def customers(n: int, bad: int = 0) -> Table:
    lines = ["bank_customer_id,age"] + [f"bc{i},{30 + i % 40}" for i in range(n)]
    lines += [f"bad id {i},1" for i in range(bad)]
    return table(*lines)


def test_bad_rows_are_reported_and_the_good_ones_written_in_batches() -> None:
    writer, saved, seen = Writer(), Saved(), []
    result = run_import(
        "customers", customers(7, bad=2), writer, saved, lambda d, t: seen.append((d, t)), 3
    )
    assert (result.rows, result.written, result.skipped_as_done) == (9, 7, 0)
    assert len(result.errors) == 2 and all(
        "column bank_customer_id" in str(e) for e in result.errors
    )
    assert [r.bank_customer_id for r in writer.written] == [f"bc{i}" for i in range(7)]
    assert seen == [(0, 7), (3, 7), (6, 7), (7, 7)] and saved.finished


def test_an_interrupted_import_resumes_after_the_last_saved_batch() -> None:
    saved = Saved()
    with pytest.raises(ConnectionError):
        run_import("customers", customers(10), Writer(fail_after=4), saved, lambda d, t: None, 2)
    assert saved.rows_done == 4 and not saved.finished
    again = Writer()
    result = run_import("customers", customers(10), again, saved, lambda d, t: None, 2)
    assert (result.written, result.skipped_as_done) == (6, 4)
    assert [r.bank_customer_id for r in again.written] == [f"bc{i}" for i in range(4, 10)]


def test_the_command_ends_a_bad_file_in_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from siyu import cli

    monkeypatch.setenv("SIYU_STATE_DIR", str(tmp_path / "state"))
    bad = write(tmp_path, "groups.csv", b"chat_id,chat_id\nwr1,wr2\n")
    assert cli.main(["import", "groups", str(bad)]) == 2
    out = capsys.readouterr()
    assert out.err == f"siyu: {bad}: column 'chat_id' appears twice in row 1\n" and out.out == ""
