"""When a lead's score could next change by itself: the `rescore_at` timer of decaying event points. Pure.

The rule, kept simple on purpose (the tick re-decides the lead then, and sets the next time):

- an event whose points halve with age (`half_life`) and still contribute at least MIN_POINTS to the
  score asks to be scored again a quarter of its half-life from now: a level crossing caused by decay is
  seen within half_life / 4 of happening;
- an event counted only `within` a window asks to be scored again the moment it leaves that window;
- events without a time, without decay or below MIN_POINTS ask nothing; None when nothing asks.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connector.flows.scoring import Scorer, counted_events

MIN_POINTS = 0.5  # below half a point an event's decay can no longer move a rounded score by itself
STEP = 4  # rescore every half_life / STEP while an event decays


def next_rescore(scorer: Scorer, attributes: dict[str, Any] | None, now: datetime) -> datetime | None:
    """The next time (> now) the lead's decaying event points should be scored again, or None."""
    plan = scorer.event_plan
    if plan is None:
        return None
    rules, factor = plan
    times: list[datetime] = []
    for rule, age, decay in counted_events((attributes or {}).get("events"), rules, now):
        if age is None:
            continue
        if rule.half_life and abs(factor * rule.points * decay) >= MIN_POINTS:
            times.append(now + rule.half_life / STEP)
        if rule.within is not None:
            left = rule.within - timedelta(seconds=age)  # counted while age <= within: gone a second later
            if left >= timedelta(0):
                times.append(now + left + timedelta(seconds=1))
    return min(times) if times else None
