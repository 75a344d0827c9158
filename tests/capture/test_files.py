"""One reader for the files people hand us (connector/capture/files.py), and `leadwire import FILE.csv`
on files with bad rows: each bad row is reported with the file and its row number, the others load."""
from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from connector.capture.files import FileError, RowError, read_csv, read_json_lines, read_records
from connector.cli import cli
from connector.store import Database
from connector.store.models import InboxItem, Lead
from tests.support.runtime import REPO, deployment_env

HEADER = b"First Name,Last Name,Email,Company,Country\n"
ADA = b"Ada,Lovelace,ada@acme.example,Acme Inc.,US\n"
KAT = b"Kat,Lamarr,kat@stark.example,Stark Industries,US\n"


def _read(path, reader=read_csv):
    errors: list[RowError] = []
    rows = list(reader(path, errors.append))
    return rows, [str(e) for e in errors]


# --- the reader ----------------------------------------------------------------------------------

def test_a_row_with_more_cells_than_the_header_is_reported_and_skipped(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5,6,7\n1,2,3,4,5,6\n1,2\n")
    rows, errors = _read(path)
    assert errors == ["row 3: 2 cells more than the 5 columns of the header",
                      "row 4: 1 cell more than the 5 columns of the header"]
    assert rows == [(2, dict(zip("abcde", "12345", strict=True))),
                    (5, {"a": "1", "b": "2", "c": "", "d": "", "e": ""})]  # a short row's missing cells are ""


def test_a_row_that_is_not_utf8_is_reported_with_the_byte_and_the_other_rows_still_load(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(HEADER + ADA + b"Bob,Caf\xe9,bob@cafe.example,Cafe,FR\n" + KAT)
    rows, errors = _read(path)
    assert errors == ["row 3: not UTF-8 text (byte 0xe9 at position 8); save the file as UTF-8"]
    assert [(n, r["Email"]) for n, r in rows] == [(2, "ada@acme.example"), (4, "kat@stark.example")]


def test_an_empty_file_or_a_missing_header_is_one_error_naming_the_file(tmp_path):
    for data, message in ((b"", "the file is empty"), (b"\xef\xbb\xbf \n", "the file is empty"),
                          (b"\n" + ADA, "row 1 is blank: the first row must be the header"),
                          (b"Email,Email\n", "column 'Email' appears twice in the header (columns 1 and 2)"),
                          (b"Caf\xe9,Email\n", "row 1 (the header): not UTF-8 text (byte 0xe9 at position 4)")):
        path = tmp_path / "leads.csv"
        path.write_bytes(data)
        with pytest.raises(FileError) as caught:
            _read(path)
        assert str(caught.value).startswith(f"{path}") and message in str(caught.value), data


def test_a_bom_before_the_header_is_not_part_of_the_first_column_name(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + ADA)
    rows, errors = _read(path)
    assert errors == [] and rows == [(2, {"First Name": "Ada", "Last Name": "Lovelace", "Email": "ada@acme.example",
                                          "Company": "Acme Inc.", "Country": "US"})]


def test_row_numbers_are_spreadsheet_rows_across_blank_lines_and_multi_line_cells(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(b'a,b\n1,"two\nlines"\n\n3,4\r\n5,6,7\n')
    rows, errors = _read(path)
    assert rows == [(2, {"a": "1", "b": "two\nlines"}), (4, {"a": "3", "b": "4"})]
    assert errors == ["row 5: 1 cell more than the 2 columns of the header"]


def test_json_lines_report_each_bad_line_and_read_the_others(tmp_path):
    path = tmp_path / "leads.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"email": "ada@acme.example"}\n\n{"email": "caf\xe9"}\n[1, 2]\n{oops\n'
                     b'{"email": "kat@stark.example"}\n')
    rows, errors = _read(path, read_json_lines)
    assert rows == [(1, {"email": "ada@acme.example"}), (6, {"email": "kat@stark.example"})]
    assert errors == ["row 3: not UTF-8 text (byte 0xe9 at position 15); save the file as UTF-8",
                      "row 4: not a JSON object (got list)",
                      "row 5: not valid JSON (Expecting property name enclosed in double quotes at column 2)"]
    assert _read(path, read_records) == (rows, errors)  # anything but .csv is JSON lines
    path.write_bytes(b"\n\n")
    with pytest.raises(FileError, match="the file is empty"):
        _read(path, read_json_lines)


# --- leadwire import FILE.csv --source NAME ------------------------------------------------------

def _import(sqlite_url, path, *extra):
    return CliRunner().invoke(cli, ["import", str(path), "--source", "tradeshow", *extra],
                              env=deployment_env(sqlite_url), catch_exceptions=False)


def _captured(sqlite_url) -> tuple[list[str], int]:
    db = Database(sqlite_url)
    try:
        with db.session() as s:
            return sorted(s.scalars(select(Lead.email))), len(s.scalars(select(InboxItem.id)).all())
    finally:
        db.dispose()


def test_import_reports_extra_cells_by_file_and_row_and_captures_the_other_rows(sqlite_url, tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(HEADER + ADA + b"Bob,Cerf,bob@wayne.example,Wayne,US,extra,cells\n" + KAT)
    report = tmp_path / "errors.csv"
    result = _import(sqlite_url, path, "--errors", str(report))
    assert result.exit_code == 1
    assert f"{path}: row 3: 2 cells more than the 5 columns of the header" in result.stderr
    assert "3 rows: 2 captured, 0 already imported, 0 rejected, 1 unreadable" in result.stdout
    assert _captured(sqlite_url) == (["ada@acme.example", "kat@stark.example"], 2)
    assert report.read_text().splitlines() == ["row,field,problem",
                                               "3,,2 cells more than the 5 columns of the header"]


def test_import_reports_a_row_that_is_not_utf8_and_still_imports_the_others(sqlite_url, tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(HEADER + ADA + b"Bob,Cerf,bob@cafe.example,Caf\xe9 Noir,FR\n" + KAT
                     + b"Tim,Torvalds,not-an-email,Vandelay,US\n")
    result = _import(sqlite_url, path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"{path}: row 3: not UTF-8 text (byte 0xe9 at position 30); save the file as UTF-8" in lines
    assert any(line.startswith(f"{path}: row 5: email: ") for line in lines), lines
    assert "4 rows: 2 captured, 0 already imported, 1 rejected, 1 unreadable" in result.stdout
    assert _captured(sqlite_url) == (["ada@acme.example", "kat@stark.example"], 3)  # the invalid row is kept too


def test_import_reads_a_bom_prefixed_header_and_exits_0_when_every_row_is_good(sqlite_url, tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER + ADA + KAT)
    result = _import(sqlite_url, path)
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 captured, 0 already imported, 0 rejected" in result.stdout
    db = Database(sqlite_url)
    with db.session() as s:
        assert {lead.first_name for lead in s.scalars(select(Lead))} == {"Ada", "Kat"}
    db.dispose()
    again = _import(sqlite_url, path)
    assert again.exit_code == 0 and "0 captured, 2 already imported" in again.stdout


def test_import_of_an_empty_file_is_one_error_and_exit_1(sqlite_url, tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "connector", "import", str(path), "--source", "tradeshow"],
                          capture_output=True, text=True, env=deployment_env(sqlite_url), cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"{path}: the file is empty: expected a header row of column names, "
                                   "then one row per record")
