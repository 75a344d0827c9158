"""Building small flows.yaml specs in a temporary folder for tests."""
from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

from connector.core.errors import ConfigError
from connector.flows import load_spec

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday afternoon

FORM_MAPPING = """\
fields:
  email: {from: email, normalize: email}
  phone: {from: phone, normalize: phone}
  first_name: {from: first_name, normalize: title}
  last_name: {from: last_name, normalize: title}
  company: {from: company}
  company_domain: {from: [website, email], normalize: company_domain}
  country: {from: country, normalize: country}
  region: {from: state, normalize: subdivision}
  product: {from: product, normalize: lower}
  campaign: {from: campaign, normalize: lower}
  budget: {from: budget}
  timing: {from: timing}
  attributes.role: {from: role, normalize: lower}
  attributes.employees: {from: employees, type: int}
  attributes.form: {from: form, normalize: lower}
  attributes.events: {from: events, normalize: events}
"""

BASE = """\
version: 1
sources:
  web:
    kind: form
    mapping: form.yaml
    default_country: US
nurture:
  streams: [mainline, cold]
scoring:
  demographic:
    weight: 40
    attributes:
      role: {field: attributes.role, weight: 60, choices: {executive: 10, manager: 5, student: -10}}
      size:
        field: attributes.employees
        weight: 40
        ranges: [{max: 49, priority: -5}, {min: 50, max: 999, priority: 5}, {min: 1000, priority: 10}]
  behavioural:
    weight: 60
    attributes:
      form: {field: attributes.form, weight: 50, choices: {demo_request: 10, newsletter: 2}}
    events:
      weight: 50
      types:
        webinar_attended: {points: 6, half_life: 10d}
        email_opened: {points: 1, max_count: 3}
  thresholds: {mql1: 20, mql2: 45, mql3: 70}
"""

FLOWS = """\
flows:
  - name: hot
    when: {mql_level: {gte: 2}}
    qualify:
      - when: {field: attributes.role, eq: student}
        outcome: rejected
        reason: student
      - {outcome: routed}
    route:
      teams:
        - when: {country: [DE, FR]}
          team: emea
        - team: na
      filters: [territory, capacity]
  - name: cold
    qualify:
      - when: {product: widgets}
        outcome: nurture
        stream: cold
      - {outcome: nurture}
"""


def write(tmp_path: Path, flows: str, files: dict[str, str] | None = None) -> Path:
    """Write flows.yaml (dedented) and extra files; return the flows.yaml path."""
    for name, text in {"form.yaml": FORM_MAPPING, **(files or {})}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    path = tmp_path / "flows.yaml"
    path.write_text(textwrap.dedent(flows))
    return path


def spec(tmp_path: Path, flows: str = BASE + FLOWS, files: dict[str, str] | None = None):
    return load_spec(write(tmp_path, flows, files), env={})


def problems(tmp_path: Path, flows: str, files: dict[str, str] | None = None) -> list[str]:
    """Every problem load_spec reports, as 'file:line: message' strings."""
    try:
        load_spec(write(tmp_path, flows, files), env={})
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    raise AssertionError("the spec loaded without problems")


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line containing needle."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")
