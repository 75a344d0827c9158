"""Demo stage: reps answer (or ignore) the feedback e-mails on a simulated clock, at every level."""
from __future__ import annotations

import time
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import ColumnElement, func, select

from connector.core.clock import FakeClock
from connector.core.errors import TokenError
from connector.core.runtime import Runtime
from connector.demo.mailbox import Mailbox
from connector.flows.model import FeedbackSpec
from connector.jobs.tick import run_tick
from connector.pursuit import answers, links
from connector.store.models import Email, FeedbackRequest, FeedbackResponse
from connector.store.statuses import EmailStatus

# What each simulated rep does with request n (1-based) about a lead, chosen by lead id: a form answer,
# a one-click action ("quick:<action>"), or None to ignore it. Some reps never answer (escalation).
Plan = str | dict[str, Any]
PLAYBOOK: tuple[dict[int, Plan], ...] = (
    {1: "quick:call", 2: {"pursuit_status": 1}, 3: {"outcome": "won", "amount": "24,000"}},
    {1: {"contacted": "yes", "action": "email", "pursuit_status": 0}, 3: {"outcome": "lost", "lost_reason": 0}},
    {2: "quick:visit"},
    {},
    {1: {"pursuit_status": 2}, 2: {"outcome": "won"}},   # won, amount not given yet: a partial level 3
)


def _links(msg: EmailMessage) -> dict[str, str]:
    """The form link ("form") and one-click links ("call", "email", ...) of a feedback e-mail."""
    out = {}
    for word in Mailbox.text(msg).split():
        if "/f/" in word:
            token_part = word.split("/f/", 1)[1]
            out[token_part.split("/quick/")[1] if "/quick/" in token_part else "form"] = token_part.split("/")[0]
    return out


def _wait_delivered(rt: Runtime, timeout: float = 20.0) -> None:
    """Until no feedback e-mail is still queued (the thread queue sends them in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.db.session() as s:
            queued = s.scalar(select(func.count()).select_from(Email).where(
                Email.kind.in_(("feedback", "feedback_escalation")), Email.status == EmailStatus.QUEUED))
        if not queued:
            return
        time.sleep(0.05)


def _form(plan: dict[str, Any], spec: FeedbackSpec, now: datetime) -> dict[str, Any]:
    form = dict(plan)
    if isinstance(form.get("pursuit_status"), int):
        form["pursuit_status"] = spec.statuses[form["pursuit_status"] % len(spec.statuses)]
    if isinstance(form.get("lost_reason"), int):
        form["lost_reason"] = spec.lost_reasons[form["lost_reason"] % len(spec.lost_reasons)]
    if form.get("contacted") == "yes":
        form.setdefault("action_at", now.date().isoformat())
    if form.get("outcome") == "won" and form.get("amount"):
        form.setdefault("close_date", now.date().isoformat())
    if form.get("outcome") == "lost":
        form.setdefault("close_date", now.date().isoformat())
    return form


def _answer(rt: Runtime, urls: dict[str, str], now: datetime) -> None:
    with rt.db.session() as s:
        try:
            opened = links.open_request(s, rt, urls["form"], now)
        except TokenError:  # e.g. a reassigned lead's old e-mail: the rep just ignores it
            return
        plan = PLAYBOOK[opened.lead.id % len(PLAYBOOK)].get(opened.request.seq)
        if plan is None:
            return
        if isinstance(plan, str):
            action = plan.split(":", 1)[1]
            opened = links.open_request(s, rt, urls[action], now)
            answers.record(s, rt, opened.lead, opened.request.rep_id, answers.quick_answers(action, now), now,
                           request=opened.request, via="email")
        else:
            answers.answer(s, rt, opened, _form(plan, opened.spec, now), now)


def play_feedback(rt: Runtime, clock: FakeClock, mailbox: Mailbox, *, days: int = 60) -> dict[str, int]:
    """Advance `clock` a day at a time for `days`, ticking; reps answer some feedback e-mails at each level
    (form and one-click) and ignore others. `mailbox` is the SMTP server the e-mails reach. Returns the
    demo's feedback figures."""
    seen = 0
    for _ in range(days):
        clock.advance(days=1)
        run_tick(rt, clock.now())
        _wait_delivered(rt)
        messages = list(mailbox.messages)
        for msg in messages[seen:]:
            urls = _links(msg)
            if "form" in urls and "feedback" in str(msg["Subject"]).lower():
                _answer(rt, urls, clock.now())
        seen = len(messages)
    with rt.db.session() as s:

        def responses(*where: ColumnElement[bool]) -> int:
            return s.scalar(select(func.count()).select_from(FeedbackResponse).where(*where)) or 0

        def leads(outcome: str) -> int:
            return s.scalar(select(func.count(func.distinct(FeedbackResponse.lead_id)))
                            .where(FeedbackResponse.outcome == outcome)) or 0

        return {
            "feedback_requests": s.scalar(select(func.count()).select_from(FeedbackRequest)
                                          .where(FeedbackRequest.sent_at.is_not(None))) or 0,
            "feedback_level1": responses(FeedbackResponse.level == 1),
            "feedback_level2": responses(FeedbackResponse.level == 2),
            "feedback_level3": responses(FeedbackResponse.level == 3),
            "won": leads("won"),
            "lost": leads("lost"),
        }
