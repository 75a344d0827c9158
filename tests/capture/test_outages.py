"""Outages at the web edge: Redis unreachable after the inbox commit still answers 202 (the tick's
retake_stalled queues the row), and a stopped PostgreSQL answers 503 with Retry-After (JSON for the API
and hooks, a page for the dashboard)."""
from __future__ import annotations

from contextlib import ExitStack

from sqlalchemy import create_engine, select, text

from connector.capture import inbox
from connector.store import Database
from connector.store.models import InboxItem, Lead
from connector.web import create_app
from tests.capture.test_form_hook import ADA, AUTH
from tests.support.dashboard import post_login
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET
from tests.support.servers import free_port, postgresql_server


def test_a_form_post_committed_while_redis_is_unreachable_is_202_and_the_tick_takes_it(make_runtime, pg_url,
                                                                                     clock):
    web = make_runtime(pg_url, queue="rq", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(runtime=web).test_client()
    resp = post_form(client, FORM_SECRET, ADA)
    assert resp.status_code == 202 and resp.json["status"] == "accepted"
    again = post_form(client, FORM_SECRET, ADA)  # the sender's retry finds the same row
    assert again.status_code == 202 and again.json["id"] == resp.json["id"]
    worker = make_runtime(pg_url)  # the tick of a worker whose queue works
    assert inbox.retake_stalled(worker, clock.now()) == 0  # within the grace: its job may still come
    clock.advance(seconds=inbox.STALL_GRACE.total_seconds() + 1)
    assert inbox.retake_stalled(worker, clock.now()) == 1
    with worker.db.session() as s:
        item = s.get(InboxItem, resp.json["id"])
        assert item is not None and item.status == "processed"
        assert s.scalar(select(Lead.email).where(Lead.id == item.lead_id)) == "ada.lovelace@example.com"


def test_with_postgresql_stopped_every_edge_answers_503_with_retry_after(make_runtime):
    with ExitStack() as stack:
        server = stack.enter_context(postgresql_server())
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE outage"))
        admin.dispose()
        db = Database(f"{server}/outage")
        db.upgrade()
        db.dispose()
        rt = make_runtime(f"{server}/outage", LEADWIRE_ADMIN_PASSWORD="open-sesame-0123")
        client = create_app(runtime=rt).test_client()
        assert post_form(client, FORM_SECRET, ADA).status_code == 202
        assert post_login(client, "open-sesame-0123").status_code == 302
        stack.close()  # PostgreSQL stops (immediate shutdown)
        rt.db.engine.dispose()
        for resp in (post_form(client, FORM_SECRET, {**ADA, "email": "b@acme.example"}),
                     client.post("/api/leads", json=ADA, headers=AUTH), client.get("/api/leads", headers=AUTH),
                     client.get("/api/inbox/1", headers=AUTH)):
            assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
            assert resp.is_json and "database is unavailable" in resp.json["error"]
        for path in ("/dashboard", "/dashboard/search?q=ada", "/dashboard/leads/1"):
            page = client.get(path)
            assert page.status_code == 503 and page.headers["Retry-After"] == "5", path
            assert page.mimetype == "text/html" and "Try again in a moment" in page.get_data(as_text=True)
