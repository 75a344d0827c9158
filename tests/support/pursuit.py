"""Feedback (pursuit) helpers: a feedback-focused spec, a runtime on it, reps and accepted leads."""
from __future__ import annotations

from datetime import timedelta

from connector.core.config import load_settings
from connector.core.runtime import Runtime
from connector.demo.mailbox import Mailbox
from connector.flows.model import Cadence, DuplicateSpec, FeedbackSpec, Flow, Scoring, Spec
from connector.jobs.backends import InlineQueue
from connector.pursuit import schedule
from connector.store import Database
from connector.store.models import Lead, Rep
from tests.support.runtime import deployment_env

STATUSES = ("attempting_contact", "in_discussion", "quote_sent", "nurturing", "not_interested")
LOST = ("price", "competitor", "no_budget", "no_response")


def feedback_spec(**overrides) -> FeedbackSpec:
    values = dict(first_after=timedelta(days=2), every=timedelta(days=7), max_requests=4, until_level=3,
                  escalate_after=2, statuses=STATUSES, lost_reasons=LOST, lost_to_nurture="recycle",
                  per_product={"solar": Cadence(timedelta(weeks=1), timedelta(days=30), 3)})
    values.update(overrides)
    return FeedbackSpec(**values)


FLOWS = {
    "inbound": feedback_spec(),
    "once": feedback_spec(max_requests=1, until_level=1, escalate_after=0),
    "until2": feedback_spec(until_level=2, lost_to_nurture=None),
}


def make_spec() -> Spec:
    flows = tuple(Flow(name=name, when=None, qualify=(), duplicates=DuplicateSpec(), feedback=fb)
                  for name, fb in FLOWS.items())
    return Spec(file="test-flows.yaml", version=1, sources={}, scoring=Scoring((), (0, 0, 0)), flows=flows,
                nurture_streams=("recycle",), default_stream="recycle")


def build(db_url: str, clock, smtp_url: str, **env) -> Runtime:
    """A runtime on `db_url` with the feedback test spec, inline jobs and the fake clock."""
    settings = load_settings(deployment_env(db_url, SMTP_URL=smtp_url, **env))
    db = Database(db_url)
    queue = InlineQueue()
    rt = Runtime(settings=settings, db=db, queue=queue, clock=clock, spec=make_spec())
    queue.runtime = rt
    return rt


def add_rep(rt, email_addr: str, *, manager: str | None = "boss@example.com") -> int:
    with rt.db.session() as s:
        rep = Rep(email=email_addr, name=email_addr.split("@")[0].title(), manager_email=manager,
                  created_at=rt.clock.now())
        s.add(rep)
        s.flush()
        return rep.id


def accept_lead(rt, rep_id: int, *, flow: str = "inbound", product: str | None = "hvac") -> int:
    """A lead accepted by `rep_id` now, with feedback started as the offers use case does."""
    now = rt.clock.now()
    with rt.db.session() as s:
        lead = Lead(source="website", email="ann@acme.example", first_name="Ann", last_name="Lee",
                    company="Acme", product=product, flow=flow, outcome="routed", status="accepted",
                    owner_rep_id=rep_id, captured_at=now, accepted_at=now, updated_at=now)
        s.add(lead)
        s.flush()
        schedule.on_accepted(s, rt, lead, now)
        return lead.id


def first_link(inbox: Mailbox, to: str, index: int = -1) -> str:
    """The form link (path only) in the `index`-th feedback e-mail received by `to`."""
    return "/f/" + inbox.links(inbox.to(to)[index], "/f/")[0].split("/f/", 1)[1]
