"""load_spec: flows.yaml (and the mapping files it names) → a validated Spec, or every problem at once."""
from __future__ import annotations

import hashlib
from collections import abc  # abc.Mapping: the bare name `Mapping` is flows.model.Mapping (a mapping file)
from pathlib import Path
from typing import Any

from connector.flows import normalize as norm
from connector.flows.conditions import compile_when, relation
from connector.flows.mapping import is_target, parse_mapping
from connector.flows.model import (
    DEFAULT_REQUIRED,
    SOURCE_KINDS,
    Condition,
    CrmMapping,
    Flow,
    Mapping,
    SourceSpec,
    Spec,
)
from connector.flows.protection import parse_consent, parse_retention
from connector.flows.scoring import Scorer, parse_scoring
from connector.flows.sections import (
    parse_account,
    parse_crm,
    parse_crm_mapping,
    parse_duplicates,
    parse_feedback,
    parse_offer,
    parse_qualify,
    parse_route,
)
from connector.flows.yamlsrc import LDict, LList, Problems, check_keys, did_you_mean, expect, load_yaml

TOP_KEYS = ("version", "sources", "nurture", "scoring", "defaults", "flows", "retention", "consent")
FLOW_KEYS = ("name", "when", "qualify", "duplicates", "account_match", "route", "offer", "feedback", "crm", "account")
DEFAULTABLE = ("duplicates", "route", "offer", "feedback", "crm", "account")
SOURCE_KEYS = ("kind", "mapping", "secret_env", "default_country", "required")


class _Files:
    """Mapping files named by flows.yaml, each parsed once, paths relative to flows.yaml's folder."""

    def __init__(self, base: Path, problems: Problems, env: abc.Mapping[str, str] | None):
        self.base, self.problems, self.env = base, problems, env
        self.cache: dict[tuple[str, str], Any] = {}
        self.read: list[Path] = []

    def digest(self, flows: Path) -> str:
        """A short hash of flows.yaml and every file it names: which rules a decision was made under."""
        sha = hashlib.sha256(flows.read_bytes())
        for path in sorted(set(self.read)):
            sha.update(path.name.encode() + b"\0" + path.read_bytes())
        return sha.hexdigest()[:12]

    def _path(self, name: str, node: LDict, key: str) -> Path | None:
        path = self.base / name
        if not path.is_file():
            self.problems.at(node, key, f"mapping file {name!r} not found (looked in {path.parent})")
            return None
        self.read.append(path)
        return path

    def source(self, name: str, node: LDict, key: str) -> Mapping | None:
        if ("source", name) not in self.cache:
            path = self._path(name, node, key)
            self.cache[("source", name)] = path and parse_mapping(path, name, self.problems, self.env)
        return self.cache[("source", name)]

    def crm(self, name: str, node: LDict, key: str) -> CrmMapping | None:
        if ("crm", name) not in self.cache:
            path = self._path(name, node, key)
            self.cache[("crm", name)] = path and parse_crm_mapping(path, name, self.problems, self.env)
        return self.cache[("crm", name)]


def load_spec(path: str | Path, env: abc.Mapping[str, str] | None = None) -> Spec:
    """Load and validate flows.yaml; raise ConfigError listing every problem as file:line: message.

    `env` resolves ${NAME} / ${NAME:-default} references in string values (default: os.environ).
    """
    path = Path(path)
    problems = Problems()
    display = path.name if path.parent == Path(".") else str(path)
    data = load_yaml(path, display, problems, env)
    if data is None:
        problems.raise_if_any()
    if not isinstance(data, LDict):
        problems.add(display, 1, "flows.yaml must be a mapping with version, sources, scoring and flows")
        problems.raise_if_any()
    check_keys(data, TOP_KEYS, "flows.yaml", problems, required=("version", "sources", "flows"))
    if data.get("version", 1) != 1:
        problems.at(data, "version",
                    f"version {data.get('version')!r} is not supported (this Leadwire reads version 1)")
    files = _Files(path.parent, problems, env)
    sources = _sources(data.get("sources"), data, files, problems)
    streams, default_stream = _nurture(data.get("nurture"), data, problems)
    scoring = parse_scoring(data.get("scoring"), data, problems)
    flows = _flows(data.get("flows"), data, streams, default_stream, files, problems)
    retention = parse_retention(data.get("retention"), data, problems)
    consent = parse_consent(data.get("consent"), data, problems)
    problems.raise_if_any()
    return Spec(display, 1, sources, scoring, tuple(flows), streams, default_stream, Scorer(scoring),
                hash=files.digest(path), retention=retention, consent=consent)


def _sources(node: Any, top: LDict, files: _Files, problems: Problems) -> dict[str, SourceSpec]:
    out: dict[str, SourceSpec] = {}
    if node is None or not expect(node, LDict, top, "sources", "sources", problems):
        return out
    for name, spec in node.items():
        if not expect(spec, LDict, node, name, f"source {name}", problems):
            continue
        check_keys(spec, SOURCE_KEYS, f"source {name}", problems, required=("kind", "mapping"))
        kind = spec.get("kind")
        if kind not in SOURCE_KINDS:
            problems.at(spec, "kind" if "kind" in spec else None,
                        f"source {name}: kind must be one of {', '.join(SOURCE_KINDS)}"
                        f"{did_you_mean(kind, SOURCE_KINDS)}")
        mapping = files.source(spec["mapping"], spec, "mapping") if isinstance(spec.get("mapping"), str) else None
        if "mapping" in spec and not isinstance(spec.get("mapping"), str):
            problems.at(spec, "mapping", f"source {name}: mapping must be a file name like mappings/{name}.yaml")
        country = spec.get("default_country")
        if country is not None:
            try:
                country = norm.country(str(country))
            except ValueError as exc:
                problems.at(spec, "default_country", f"source {name}: default_country {exc}")
        secret = spec.get("secret_env")
        if secret is not None and not isinstance(secret, str):
            problems.at(spec, "secret_env", f"source {name}: secret_env must be the name of an environment variable")
            secret = None
        required = spec.get("required", list(DEFAULT_REQUIRED))
        if not isinstance(required, list):
            problems.at(spec, "required", f"source {name}: required must be a list of lead fields")
            required = list(DEFAULT_REQUIRED)
        for i, field in enumerate(required):
            if field != "name" and not is_target(field):
                # the default list is all known fields, so an unknown one comes from the file (an LList)
                problems.at(required if isinstance(required, LList) else None, i,
                            f"source {name}: unknown required field {field!r}"
                            f"{did_you_mean(field, ('name', 'company', 'email', 'phone', 'country', 'product'))}")
        if mapping is not None and kind in SOURCE_KINDS:
            out[name] = SourceSpec(name, kind, mapping, spec["mapping"], secret, country, [str(f) for f in required])
    return out


def _nurture(node: Any, top: LDict, problems: Problems) -> tuple[tuple[str, ...], str]:
    if node is None:
        return ("mainline",), "mainline"
    if not expect(node, LDict, top, "nurture", "nurture", problems):
        return ("mainline",), "mainline"
    check_keys(node, ("streams", "default"), "nurture", problems, required=("streams",))
    streams = node.get("streams")
    if not isinstance(streams, list) or not streams or not all(isinstance(s, str) for s in streams):
        problems.at(node, "streams", "nurture.streams must be a non-empty list of stream names")
        return ("mainline",), "mainline"
    default = node.get("default", streams[0])
    if default not in streams:
        problems.at(node, "default",
                    f"nurture.default {default!r} is not one of the streams{did_you_mean(default, streams)}")
        default = streams[0]
    return tuple(streams), default


def _with_defaults(flow: LDict, defaults: LDict | None) -> LDict:
    """The flow with `defaults` sections filled in (a flow's own keys win, key by key)."""
    if not defaults:
        return flow
    for section in DEFAULTABLE:
        base = defaults.get(section)
        if not isinstance(base, LDict):
            continue
        own = flow.get(section)
        if own is None:
            flow[section], flow.lines[section] = base, defaults.line_of(section)
        elif isinstance(own, LDict):
            for key, value in base.items():
                if key not in own:
                    own[key], own.lines[key] = value, base.line_of(key)
    return flow


def _flows(node: Any, top: LDict, streams: tuple[str, ...], default_stream: str, files: _Files,
           problems: Problems) -> list[Flow]:
    flows: list[Flow] = []
    if node is None or not expect(node, LList, top, "flows", "flows", problems):
        return flows
    defaults = top.get("defaults")
    if defaults is not None:
        if expect(defaults, LDict, top, "defaults", "defaults", problems):
            check_keys(defaults, DEFAULTABLE, "defaults", problems)
        else:
            defaults = None
    seen: dict[str, int] = {}
    for i, item in enumerate(node):
        if not expect(item, LDict, node, i, "a flow", problems):
            continue
        check_keys(item, FLOW_KEYS, "a flow", problems, required=("name",))
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.at(item, "name", f"flow name {name!r} is used twice (first at line {seen[name]})")
        seen[name] = item.line
        item = _with_defaults(item, defaults)
        when = compile_when(item["when"], item, "when", problems) if "when" in item else None
        if "when" in item and when is None:
            continue
        account_match = item.get("account_match", True)
        if not isinstance(account_match, bool):
            problems.at(item, "account_match", "account_match must be true or false")
        flows.append(Flow(
            name, when, parse_qualify(item.get("qualify"), item, streams, default_stream, problems),
            parse_duplicates(item.get("duplicates"), item, problems), account_match is not False,
            parse_route(item.get("route"), item, problems), parse_offer(item.get("offer"), item, problems),
            parse_feedback(item.get("feedback"), item, streams, problems),
            parse_crm(item.get("crm"), item, problems, files.crm), item.line_of("when"),
            parse_account(item.get("account"), item, problems)))
    _reachability(flows, node, problems)
    return flows


def _reachability(flows: list[Flow], node: LList, problems: Problems) -> None:
    """Unreachable flows (an earlier one takes all their leads) and ambiguous overlaps."""
    always = Condition(lambda f: True, "always", {}, True)
    for j, later in enumerate(flows):
        for earlier in flows[:j]:
            later_when = later.when or always
            rel = relation(earlier.when or always, later_when)
            if rel == "shadowed":
                every = earlier.when is None or earlier.when.always
                why = "matches every lead" if every else "takes every lead it would match"
                problems.add(node.file, later.line, f"flow {later.name!r} is unreachable: the earlier flow "
                             f"{earlier.name!r} (line {earlier.line}) {why}")
                break
            if rel == "overlap":
                # an overlap is only found between two conditions that both constrain the same fields
                fields = ", ".join(sorted(later_when.constraints or {}))
                problems.add(node.file, later.line, f"flow {later.name!r} overlaps flow {earlier.name!r} (line "
                             f"{earlier.line}) on {fields}: a lead can match both"
                             " — make the conditions disjoint, or list the narrower one first")
