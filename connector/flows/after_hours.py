"""Outside working hours (pure): what a routed lead does when nobody eligible is working now.

It applies only when working hours are the lead's ONLY obstacle: with the flow's filters and
`working_hours` among them (and `allow_outside_hours` off), no rep is kept, but ranking the same reps
again ignoring the hours keeps some (the "waiting" reps). Then the flow's `offer.outside_hours` says:

- hold (default): offer nobody now; the lead waits until the earliest next working start of a waiting
  rep, in that rep's own time zone (`Hold.until`, UTC), and the routing use case offers it then;
- offer_anyway: the waiting reps are kept (in their order), each marked as offered outside hours;
- escalate: nobody is kept, and the routing use case escalates as it does when nobody is eligible.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from connector.flows.routing_strategies import local_label, next_working_start, starts_day

if TYPE_CHECKING:
    from connector.flows.routing import Candidate, RepView

OUTSIDE_HOURS_NOTE = "outside working hours, offered anyway"


@dataclass(frozen=True)
class Hold:
    """Hold the lead until `until` (UTC), when rep `rep_id`'s working hours start; `note` says so."""

    until: datetime
    rep_id: int
    note: str


def applies(filters: tuple[str, ...], allow_outside_hours: bool) -> bool:
    """True when the route's filters can turn a rep away for working hours at all."""
    return "working_hours" in filters and not allow_outside_hours


def hold_for(waiting: Sequence[RepView], now: datetime) -> Hold | None:
    """The hold until the first of the waiting reps (RepViews) is at work, or None when none of them has
    a working day ahead."""
    starts = [(at, rep) for rep in waiting if (at := next_working_start(rep, now)) is not None]
    if not starts:
        return None
    at, rep = min(starts, key=lambda pair: (pair[0], pair[1].id))
    why = "day starts" if starts_day(rep, at) else "working hours resume"
    return Hold(at, rep.id, f"held until {local_label(at, rep.timezone)} ({rep.name}'s {why})")


def resolve(mode: str, candidates: tuple[Candidate, ...], waiting: tuple[Candidate, ...],
            reps: Mapping[int, RepView], now: datetime) -> tuple[tuple[Candidate, ...], Hold | None, str | None]:
    """(candidates, hold, reason) for a lead none of whose `candidates` is kept, under `mode` (the flow's
    offer.outside_hours). `waiting`: the same reps ranked ignoring working hours; `reps`: RepViews by id.
    Without a kept waiting rep the hours were not the only obstacle: the candidates come back unchanged,
    with no hold and no reason.
    """
    kept = [c for c in waiting if c.kept]
    if not kept:
        return candidates, None, None
    if mode == "offer_anyway":
        ids = {c.rep_id for c in kept}
        anyway = tuple(replace(c, reason=f"{c.reason}; {OUTSIDE_HOURS_NOTE}") for c in kept)
        return (anyway + tuple(c for c in candidates if c.rep_id not in ids), None,
                f"nobody eligible is working now; offered anyway to {len(kept)} reps (outside_hours: offer_anyway)")
    if mode == "hold":
        hold = hold_for([reps[c.rep_id] for c in kept if c.rep_id in reps], now)
        if hold is not None:
            return candidates, hold, f"nobody eligible is working now; {hold.note} (outside_hours: hold)"
        return candidates, None, "nobody eligible is working now and none has working hours ahead; escalated"
    return candidates, None, "nobody eligible is working now; escalated (outside_hours: escalate)"
