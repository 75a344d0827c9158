"""The e-mail outbox: queue in the caller's transaction, send as a job, retry with backoff from the tick.

A row in `emails` is the truth. `queue_email` writes it and, once the caller's transaction commits,
enqueues task "notify.send" — unless the caller took the sending on itself (`send_after_commit`: a
worker's batch), then the row is born claimed and the caller sends it with `send_claimed` over one
SMTP connection; the tick only retries. A send first claims the row (conditional UPDATE pushing next_attempt_at
forward by a lease), so a job and the tick never hand the same message to SMTP twice at once; a worker
killed mid-send leaves the row to be retried when the lease runs out. Failures keep the row "queued"
with last_error and a later next_attempt_at, until MAX_ATTEMPTS, then "failed" — visible, never dropped.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from connector.core.backoff import EMAILS
from connector.core.runtime import Runtime
from connector.notify.mailer import MailError, mailer_from_settings
from connector.store.models import Email
from connector.store.statuses import EmailStatus

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
MAX_ATTEMPTS = EMAILS.max_attempts
LEASE = timedelta(minutes=2)
_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, context: dict[str, Any]) -> tuple[str, str | None]:
    """Render `<template>.txt` (required) and `<template>.html` (optional) from notify/templates."""
    text = _env.get_template(f"{template}.txt").render(**context)
    try:
        html = _env.get_template(f"{template}.html").render(**context)
    except TemplateNotFound:
        html = None
    return text, html


def _after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run fn() once the session's current transaction has committed (never on rollback)."""
    pending = session.info.setdefault("leadwire_after_commit", [])
    if not pending:
        from sqlalchemy import event

        def run(sess: Session) -> None:
            todo = sess.info.pop("leadwire_after_commit", [])
            for job in todo:
                job()

        def drop(sess: Session) -> None:
            sess.info.pop("leadwire_after_commit", None)

        event.listen(session, "after_commit", run, once=True)
        event.listen(session, "after_rollback", drop, once=True)
    pending.append(fn)


SENDS_KEY = "leadwire_send_after_commit"


def send_after_commit(session: Session) -> list[int]:
    """Take the sending of every e-mail queued in `session` on the caller: the list fills with their
    ids (born claimed for LEASE, so the tick leaves them alone); send them with `send_claimed` after
    the commit. Ids of rows rolled back with a savepoint are skipped there."""
    ids: list[int] = session.info.setdefault(SENDS_KEY, [])
    return ids


def queue_email(session: Session, rt: Runtime, *, kind: str, to: str, subject: str, template: str,
                context: dict[str, Any], lead_id: int | None = None) -> Email:
    """Write an e-mail row in the caller's transaction; task "notify.send" is enqueued after commit
    (or the caller sends it: `send_after_commit`).

    `template` names files in connector/notify/templates (`<template>.txt`, optional `.html`),
    rendered with `context`. Returns the (flushed) Email row.
    """
    text, html = render(template, context)
    now = rt.clock.now()
    sends: list[int] | None = session.info.get(SENDS_KEY)
    email = Email(kind=kind, to=to, subject=subject, body_text=text, body_html=html, lead_id=lead_id,
                  status=EmailStatus.QUEUED, attempts=0 if sends is None else 1,
                  next_attempt_at=now if sends is None else now + LEASE, created_at=now)
    session.add(email)
    session.flush()
    email_id = email.id
    if sends is not None:
        sends.append(email_id)
    else:
        _after_commit(session, lambda: rt.queue.enqueue("notify.send", email_id))
    return email


def send_claimed(rt: Runtime, email_ids: list[int]) -> int:
    """Send e-mails this process claimed (`send_after_commit`, committed) over one SMTP connection;
    failures are recorded on their rows for the tick to retry. Returns how many were sent."""
    if not email_ids:
        return 0
    with rt.db.session() as s:
        emails = list(s.scalars(select(Email).where(Email.id.in_(set(email_ids)), Email.status == EmailStatus.QUEUED,
                                                    Email.sent_at.is_(None)).order_by(Email.id)))
    if not emails:
        return 0
    mailer = getattr(rt, "mailer", None) or mailer_from_settings(rt.settings)
    sent: list[int] = []
    failed: dict[int, str] = {}
    if mailer is None:
        failed = {e.id: "SMTP_URL is not set: no server to send through" for e in emails}
    else:
        with mailer.connection() as conn:
            for email in emails:
                try:
                    conn.send(to=email.to, subject=email.subject, text=email.body_text, html=email.body_html)
                    sent.append(email.id)
                except MailError as exc:
                    failed[email.id] = str(exc)
    now = rt.clock.now()
    with rt.db.session() as s:
        if sent:
            s.execute(update(Email).where(Email.id.in_(sent))
                      .values(status=EmailStatus.SENT, sent_at=now, last_error=None))
        for email in emails:
            if email.id in failed:
                _record_failed(s, email, failed[email.id], now)
    return len(sent)


def _record_failed(s: Session, email: Email, error: str, now: datetime) -> None:
    """Keep the e-mail queued for a later attempt (or failed after the last) with its error."""
    final = EMAILS.exhausted(email.attempts)
    s.execute(update(Email).where(Email.id == email.id).values(
        status=EmailStatus.FAILED if final else EmailStatus.QUEUED, last_error=error[:2000],
        next_attempt_at=now + EMAILS.wait(email.attempts)))
    log.warning("e-mail %s (%s) attempt %s failed: %s", email.id, email.kind, email.attempts, error)


def _claim(rt: Runtime, email_id: int, now: datetime) -> Email | None:
    with rt.db.session() as s:
        # an UPDATE without RETURNING gives a CursorResult; Session.execute is typed as the general Result
        result = cast(CursorResult[Any], s.execute(
            update(Email).where(Email.id == email_id, Email.status == EmailStatus.QUEUED, Email.next_attempt_at <= now)
            .values(attempts=Email.attempts + 1, next_attempt_at=now + LEASE)))
        claimed = result.rowcount
        return s.get(Email, email_id) if claimed == 1 else None


def send_email(rt: Runtime, email_id: int, *, now: datetime | None = None) -> str:
    """Try to send one queued e-mail now; return its status afterwards ("sent", "queued", "failed",
    or "skipped" when it is not due, already sent, or another worker holds it)."""
    now = now or rt.clock.now()
    email = _claim(rt, email_id, now)
    if email is None:
        return "skipped"
    mailer = getattr(rt, "mailer", None) or mailer_from_settings(rt.settings)
    error = None
    try:
        if mailer is None:
            raise MailError("SMTP_URL is not set: no server to send through")
        mailer.send(to=email.to, subject=email.subject, text=email.body_text, html=email.body_html)
    except MailError as exc:
        error = str(exc)
    with rt.db.session() as s:
        if error is None:
            s.execute(update(Email).where(Email.id == email_id)
                      .values(status=EmailStatus.SENT, sent_at=rt.clock.now(), last_error=None))
            return EmailStatus.SENT
        _record_failed(s, email, error, now)
    return EmailStatus.FAILED if EMAILS.exhausted(email.attempts) else EmailStatus.QUEUED


def send_task(rt: Runtime, email_id: int) -> None:
    """Task "notify.send": send one e-mail; failures are recorded on the row, never raised."""
    send_email(rt, int(email_id))


def retry_step(rt: Runtime, now: datetime) -> int:
    """Tick step: send every queued e-mail whose next_attempt_at has come; return how many were sent."""
    with rt.db.session() as s:
        due = s.scalars(select(Email.id).where(Email.status == EmailStatus.QUEUED, Email.next_attempt_at <= now)
                        .order_by(Email.next_attempt_at).limit(200)).all()
    return sum(1 for email_id in due if send_email(rt, email_id, now=now) == EmailStatus.SENT)
