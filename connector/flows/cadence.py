"""Feedback cadence (pure): when the next pursuit-feedback request is due, or why requests stop.

The schedule is anchored to the acceptance time, not to when the tick happened to run:
request n (1-based) is due at ``accepted_at + first_after + (n - 1) * every``. So a late or repeated
tick never drifts the cadence, and the same inputs always give the same answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.flows.model import Cadence, FeedbackSpec
from connector.flows.yamlsrc import fmt_duration

LEVEL_NAMES = {1: "action taken", 2: "pursuit status", 3: "won/lost"}


@dataclass(frozen=True)
class Due:
    """The next request (`at` and its `seq`), or a stop (`at` is None); `reason` says which and why."""

    at: datetime | None
    seq: int
    reason: str

    @property
    def stop(self) -> bool:
        return self.at is None


def cadence_for(spec: FeedbackSpec, product: str | None) -> Cadence:
    """The cadence that applies to a lead's product: the flow's per-product override, else the flow's.

    Product names match case-insensitively (a lead's "Solar" uses the `solar` override).
    """
    if product:
        for name, cadence in spec.per_product.items():
            if name.lower() == product.strip().lower():
                return cadence
    return spec.cadence(None)


def describe(cadence: Cadence, until_level: int) -> str:
    """The cadence in words, e.g. 'first 2d after acceptance, then every 1w, at most 4, until level 3'."""
    if cadence.max_requests == 1:
        head = f"once, {fmt_duration(cadence.first_after)} after acceptance"
    else:
        head = (f"first {fmt_duration(cadence.first_after)} after acceptance, then every "
                f"{fmt_duration(cadence.every)}, at most {cadence.max_requests}")
    return f"{head}, until level {until_level} ({LEVEL_NAMES[until_level]})"


def next_due(spec: FeedbackSpec, product: str | None, accepted_at: datetime, sent: int,
             highest_level: int) -> Due:
    """When request number `sent + 1` is due, or why no more requests go out.

    `sent` counts the requests already sent to the current owner; `highest_level` is the highest level
    received *completely* so far (0 for none). Stops when the wanted level (`until_level`) has been
    received or `max_requests` have been sent.
    """
    cadence = cadence_for(spec, product)
    seq = sent + 1
    if highest_level >= spec.until_level:
        return Due(None, seq, f"level {highest_level} ({LEVEL_NAMES[highest_level]}) received; "
                              f"the flow asks until level {spec.until_level}")
    if sent >= cadence.max_requests:
        return Due(None, seq, f"all {cadence.max_requests} requests of the cadence were sent")
    at = accepted_at + cadence.first_after + sent * cadence.every
    if sent == 0:
        why = f"request 1, {fmt_duration(cadence.first_after)} after acceptance"
    else:
        why = f"request {seq} of {cadence.max_requests}, every {fmt_duration(cadence.every)}"
    return Due(at, seq, why)


def answer_window(spec: FeedbackSpec, product: str | None) -> timedelta:
    """How long a sent request may stay unanswered before it counts as overdue: one cadence interval."""
    return cadence_for(spec, product).every


def overdue_count(sent_times: list[datetime], window: timedelta, now: datetime) -> int:
    """How many of the unanswered requests sent at `sent_times` are overdue at `now`."""
    return sum(1 for at in sent_times if at + window <= now)


def should_escalate(spec: FeedbackSpec, overdue: int) -> bool:
    """True when `overdue` unanswered requests reach the flow's `escalate_after` (0 turns it off)."""
    return spec.escalate_after > 0 and overdue >= spec.escalate_after
