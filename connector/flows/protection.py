"""Parsing the data-protection sections of flows.yaml: `retention:` (how long each kind of personal data
is kept) and `consent:` (who has opted out, and what Leadwire then withholds)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from connector.flows.conditions import compile_when
from connector.flows.model import CONSENT_STEPS, RETENTION_KINDS, Consent, Retention
from connector.flows.yamlsrc import LDict, Problems, check_keys, did_you_mean, duration, expect

RETENTION_MIN, RETENTION_MAX = timedelta(days=1), timedelta(days=3653)


def parse_retention(node: Any, top: LDict, problems: Problems) -> Retention:
    """retention: {inbox_payloads: 90d, rejected_payloads: 30d, timelines: 104w, emails: 26w, closed_leads: 156w}."""
    if node is None or not expect(node, LDict, top, "retention", "retention", problems):
        return Retention()
    check_keys(node, RETENTION_KINDS, "retention", problems)
    ages = {kind: duration(node, kind, problems, low=RETENTION_MIN, high=RETENTION_MAX, what=f"retention.{kind}")
            for kind in RETENTION_KINDS}
    return Retention(**ages)


def parse_consent(node: Any, top: LDict, problems: Problems) -> Consent:
    """consent: {opted_out: <a when condition>, withhold: [crm, feedback]}."""
    if node is None or not expect(node, LDict, top, "consent", "consent", problems):
        return Consent()
    check_keys(node, ("opted_out", "withhold"), "consent", problems, required=("opted_out",))
    opted_out = compile_when(node["opted_out"], node, "opted_out", problems) if "opted_out" in node else None
    raw = node.get("withhold", list(CONSENT_STEPS))
    if not isinstance(raw, list):
        problems.at(node, "withhold", f"consent.withhold must be a list of steps from {', '.join(CONSENT_STEPS)}")
        return Consent(opted_out)
    for i, step in enumerate(raw):
        if step not in CONSENT_STEPS:
            problems.at(node["withhold"], i, f"consent.withhold: unknown step {step!r}; known: "
                        f"{', '.join(CONSENT_STEPS)}{did_you_mean(str(step), CONSENT_STEPS)}")
    return Consent(opted_out, tuple(s for s in raw if s in CONSENT_STEPS))
