"""Reading files of records people hand us (lead exports, badge scans, rep lists): CSV or JSON lines.

Each reader yields (row number, record) for the rows it could read and reports each row it could not to
`on_error` as a RowError, then goes on with the next row: one bad row never stops a file, and nothing
here raises a traceback at a person. A file that cannot be read at all (empty, no header, duplicate
column names) raises FileError, one problem naming the file.

Row numbers are what a spreadsheet shows: in a CSV the header is row 1 and every record after it counts,
blank ones too (a quoted cell may span lines: the record still counts once); in JSON lines the row
number is the line number. Text must be UTF-8 (a leading byte-order mark is dropped); a row holding
other bytes is reported with the first such byte and its position (1-based, in bytes, within the row).
"""
from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.core.errors import ConfigError, Problem

_SAVE_AS_UTF8 = "save the file as UTF-8"


@dataclass(frozen=True)
class RowError:
    """A row that could not be read: its row number and what is wrong, e.g. "row 7: 2 cells more ..."."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"row {self.line}: {self.message}"


class FileError(ConfigError):
    """The file as a whole cannot be read (empty, no header, ...): one problem naming the file."""

    def __init__(self, path: Path | str, message: str, line: int = 0):
        self.path, self.message = str(path), message
        super().__init__([Problem(str(path), line, message)])


OnError = Callable[[RowError], None]


def read_records(path: Path, on_error: OnError) -> Iterator[tuple[int, dict[str, Any]]]:
    """A .csv file with read_csv, anything else as JSON lines with read_json_lines."""
    if path.suffix.lower() == ".csv":
        yield from read_csv(path, on_error)
    else:
        yield from read_json_lines(path, on_error)


def read_csv(path: Path, on_error: OnError) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: cell}) per CSV record after the header; a short row's missing cells are ""."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")  # undecodable bytes survive, to be reported
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise FileError(path, "the file is empty: expected a header row of column names, then one row per record")
    source = _Lines(text)
    rows = csv.reader(source)
    try:
        first = next(rows)
    except csv.Error as exc:
        raise FileError(path, f"row 1 (the header) is not valid CSV ({exc})", line=1) from None
    header = _header(path, first, source.take())
    number = 1
    while True:
        number += 1
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            on_error(RowError(number, f"not valid CSV ({exc}); the rows after it were not read"))
            return
        raw = source.take()
        if not cells:
            continue  # a blank line: nothing to read, but it keeps its row number
        problem = _not_utf8(raw) or _too_many(cells, header)
        if problem:
            on_error(RowError(number, problem))
            continue
        yield number, dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))


def read_json_lines(path: Path, on_error: OnError) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line; a line that is not a JSON object is reported."""
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    if not data.strip():
        raise FileError(path, "the file is empty: expected one JSON object per line")
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            on_error(RowError(number, _utf8_message(line[exc.start], exc.start + 1)))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            on_error(RowError(number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if isinstance(value, dict):
            yield number, value
        else:
            on_error(RowError(number, f"not a JSON object (got {type(value).__name__})"))


class _Lines:
    """The text's lines as csv.reader pulls them, remembering the raw text of the current record."""

    def __init__(self, text: str):
        self._lines = iter(io.StringIO(text, newline=""))
        self._taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self) -> str:
        """The raw text read since the last call (the record csv.reader just returned)."""
        raw, self._taken = "".join(self._taken), []
        return raw


def _header(path: Path, cells: list[str], raw: str) -> list[str]:
    """The column names of row 1, or FileError when row 1 is not a usable header."""
    problem = _not_utf8(raw)
    if problem:
        raise FileError(path, f"row 1 (the header): {problem}", line=1)
    if not any(c.strip() for c in cells):
        raise FileError(path, "row 1 is blank: the first row must be the header of column names", line=1)
    seen: dict[str, int] = {}
    for column, name in enumerate(cells, start=1):
        if name in seen:
            raise FileError(path, f"column {name!r} appears twice in the header (columns {seen[name]} and {column})",
                            line=1)
        seen[name] = column
    return cells


def _too_many(cells: list[str], header: list[str]) -> str | None:
    extra = len(cells) - len(header)
    if extra <= 0:
        return None
    return f"{extra} cell{'s' if extra != 1 else ''} more than the {len(header)} columns of the header"


def _not_utf8(raw: str) -> str | None:
    """What to say about the first byte that was not UTF-8 (decoded as a lone surrogate), if any."""
    for index, char in enumerate(raw):
        if "\udc80" <= char <= "\udcff":
            position = len(raw[:index].encode("utf-8", "surrogateescape")) + 1
            return _utf8_message(ord(char) - 0xDC00, position)
    return None


def _utf8_message(byte: int, position: int) -> str:
    return f"not UTF-8 text (byte 0x{byte:02x} at position {position}); {_SAVE_AS_UTF8}"
