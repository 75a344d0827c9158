"""YAML with a line number for every key and item, plus the problem list every loader writes to."""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, overload

import yaml

from connector.core.errors import ConfigError, Problem


class LDict(dict):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    file: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LList(list):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int = 0
    file: str = ""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (so country code NO stays "NO") and located containers."""

    lw_file: str  # the file name shown in problems, set by load_yaml
    lw_problems: list[Problem]  # where the constructors report problems


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LDict:
    out = LDict()
    out.line, out.file = node.start_mark.line + 1, loader.lw_file
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) or key is None:
            loader.lw_problems.append(Problem(loader.lw_file, line, "a key must be a plain name"))
            continue
        if key in out:
            loader.lw_problems.append(Problem(loader.lw_file, line,
                                              f"duplicate key {key!r} (first at line {out.lines[key]})"))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = line
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LList:
    out = LList()
    out.line, out.file = node.start_mark.line + 1, loader.lw_file
    for item in node.value:
        out.append(loader.construct_object(item, deep=True))
        out.lines.append(item.start_mark.line + 1)
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


class Problems:
    """Collects every problem found while loading; `raise_if_any` turns them into a ConfigError."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, line: int, message: str) -> None:
        self.items.append(Problem(file, line, message))

    def at(self, node: LDict | LList | None, key: Any, message: str) -> None:
        """A problem at `key` of a located container (its own line when key is None)."""
        if node is None:
            self.add("?", 0, message)
        elif key is None:
            self.add(node.file, node.line, message)
        else:
            self.add(node.file, node.line_of(key), message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(sorted(self.items, key=lambda p: (p.file, p.line)))


_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


def load_yaml(path: Path, display: str, problems: Problems, env: Mapping[str, str] | None) -> Any:
    """Parse one YAML file into LDict/LList/scalars; syntax errors become problems (returns None)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.add(display, 0, f"cannot read file: {exc.strerror or exc}")
        return None
    loader = _Loader(text)
    loader.lw_file, loader.lw_problems = display, problems.items
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(display, (mark.line + 1) if mark else 0, f"YAML syntax: {exc.problem or exc}")
        return None
    finally:
        loader.dispose()
    return _interpolate(data, env if env is not None else dict(os.environ), problems)


def _interpolate(node: Any, env: Mapping[str, str], problems: Problems, parent: Any = None, key: Any = None) -> Any:
    """Replace ${NAME} / ${NAME:-default} in string values from `env`."""
    if isinstance(node, LDict):
        for k in list(node):
            node[k] = _interpolate(node[k], env, problems, node, k)
    elif isinstance(node, LList):
        for i in range(len(node)):
            node[i] = _interpolate(node[i], env, problems, node, i)
    elif isinstance(node, str) and "${" in node:
        def sub(m: re.Match[str]) -> str:
            if m.group(1) in env:
                return str(env[m.group(1)])
            if m.group(2) is not None:
                return m.group(2)
            problems.at(parent, key, f"environment variable {m.group(1)} is not set "
                                     f"(write ${{{m.group(1)}:-default}} for a default)")
            return ""
        return _ENV_REF.sub(sub, node)
    return node


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' when a close choice exists, else ''."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def check_keys(node: LDict, allowed: Iterable[str], what: str, problems: Problems,
               required: Iterable[str] = ()) -> None:
    """Report unknown keys (with a did-you-mean) and missing required keys of a mapping."""
    allowed = list(allowed)
    for key in node:
        if key not in allowed:
            problems.at(node, key, f"unknown key {key!r} in {what}{did_you_mean(key, allowed)}")
    for key in required:
        if key not in node:
            problems.at(node, None, f"{what} needs {key!r}")


def expect(node: Any, kind: type | tuple[type, ...], parent: LDict | LList, key: Any, what: str,
           problems: Problems) -> bool:
    """True if `node` has the type; otherwise report '<what> must be a <type>' at parent[key]."""
    if isinstance(node, kind) and not (isinstance(node, bool) and kind in (int, float, (int, float))):
        return True
    names = {dict: "mapping", LDict: "mapping", list: "list", LList: "list", str: "string", int: "whole number",
             bool: "true or false", float: "number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    wanted = " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))
    problems.at(parent, key, f"{what} must be a {wanted}, not {_describe(node)}")
    return False


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta | None:
    """'90s', '5m', '2h', '3d', '2w' → timedelta; None if not a duration."""
    if isinstance(value, bool) or not isinstance(value, str):
        return None
    m = _DURATION.match(value)
    if not m:
        return None
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


@overload
def duration(node: LDict, key: str, problems: Problems, *, default: timedelta,
             low: timedelta | None = None, high: timedelta | None = None, what: str = "") -> timedelta: ...
@overload
def duration(node: LDict, key: str, problems: Problems, *, default: None = None,
             low: timedelta | None = None, high: timedelta | None = None, what: str = "") -> timedelta | None: ...
def duration(node: LDict, key: str, problems: Problems, *, default: timedelta | None = None,
             low: timedelta | None = None, high: timedelta | None = None, what: str = "") -> timedelta | None:
    """Read a duration key, reporting a bad form or a value outside [low, high] at its line."""
    if key not in node or node[key] is None:
        return default
    value = parse_duration(node[key])
    label = what or key
    if value is None:
        problems.at(node, key, f"{label} must be a duration like 90s, 5m, 2h, 3d or 2w, not {node[key]!r}")
        return default
    if (low is not None and value < low) or (high is not None and value > high):
        problems.at(node, key, f"{label} {node[key]} is outside the allowed range "
                               f"{fmt_duration(low)} to {fmt_duration(high)}")
        return default
    return value


def fmt_duration(value: timedelta | None) -> str:
    """A timedelta in the shortest unit that expresses it exactly ('5m', '2w')."""
    if value is None:
        return "-"
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"
