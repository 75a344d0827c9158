"""What a value must be for the store to keep it: text without control characters, ids in the database's
integer range, JSON no deeper than MAX_DEPTH. Every input path (JSON API, web forms, CSV rows, CRM hooks)
checks with these before it answers 2xx.

    problems = text_problems(payload)        # [FieldError(field="name", problem="...")]; [] = storable
"""
from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

from connector.core.errors import FieldError, InvalidLead

MAX_ID = 2**31 - 1        # PostgreSQL `integer`, the type of every id column
MAX_DEPTH = 32            # nesting of objects and lists in a JSON body
FREE_TEXT_CONTROLS = frozenset("\t\r\n")  # allowed inside values, never inside names


def id_in_range(value: Any) -> bool:
    """True for an int (not a bool) the id columns can hold: 1..MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def bad_character(text: str, *, free_text: bool = True) -> str | None:
    """A description of the first character the store cannot keep (NUL, another control character, a lone
    surrogate), or None. Tab, CR and LF are kept in free text."""
    for i, ch in enumerate(text):
        if free_text and ch in FREE_TEXT_CONTROLS:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"contains the control character U+{ord(ch):04X} at position {i + 1}; remove it"
        if category == "Cs":
            return f"contains a lone surrogate U+{ord(ch):04X} at position {i + 1}; send valid UTF-8"
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """(field path, text, is a value) for every name and string in `value`, without recursion."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            yield where, item, True
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    yield name, key, False
                stack.append((inner, name))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))


def text_problems(value: Any, path: str = "") -> list[FieldError]:
    """One FieldError per field name or text value in `value` (nested dicts and lists too) that the store
    cannot keep, named by its path (`name`, `attributes.role`, `tags[2]`); [] when all can be stored."""
    found = []
    for where, text, is_value in _walk(value, path):
        problem = bad_character(text, free_text=is_value)
        if problem:
            found.append(FieldError(where or "body", ("the field name " if not is_value else "") + problem))
    return sorted(found, key=lambda e: e.field)


def check_text(value: Any, path: str = "") -> None:
    """Raise InvalidLead naming every field `text_problems` finds."""
    problems = text_problems(value, path)
    if problems:
        raise InvalidLead(problems)


def depth(value: Any) -> int:
    """How deeply objects and lists nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            stack.extend((inner, level + 1) for inner in item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, level + 1) for inner in item)
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


def load_json(raw: bytes | str) -> Any:
    """Parse JSON no deeper than MAX_DEPTH; ValueError (never RecursionError) says what is wrong."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError(f"JSON nests more than {MAX_DEPTH} levels deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from exc
    if depth(value) > MAX_DEPTH:
        raise ValueError(f"JSON nests more than {MAX_DEPTH} levels deep")
    return value
