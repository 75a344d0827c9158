"""The same capture on PostgreSQL, and through RQ on a real Redis with a real worker."""
from __future__ import annotations

from sqlalchemy import func, select

from connector.store.models import InboxItem, Lead
from connector.web import create_app
from tests.capture.test_form_hook import ADA
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET, deployment_env


def test_capture_and_dedupe_on_postgresql(make_runtime, pg_url):
    rt = make_runtime(pg_url)
    client = create_app(runtime=rt).test_client()
    ids = {post_form(client, FORM_SECRET, ADA).json["id"] for _ in range(3)}
    assert len(ids) == 1
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
        assert s.scalar(select(InboxItem.status)) == "processed"


def test_rq_backend_runs_the_job_in_a_real_worker(make_runtime, pg_url, redis_url, monkeypatch):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from connector.jobs import worker as worker_module

    rt = make_runtime(pg_url, queue="rq", REDIS_URL=redis_url)
    client = create_app(runtime=rt).test_client()
    inbox_id = post_form(client, FORM_SECRET, ADA).json["id"]
    assert rt.queue.rq.count == 1  # queued in Redis, not yet processed
    with rt.db.session() as s:
        assert s.get(InboxItem, inbox_id).status == "received"
    # the worker builds its own runtime from the environment, as `leadwire worker` does
    for key, value in deployment_env(pg_url, REDIS_URL=redis_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(worker_module, "_runtime", None)
    SimpleWorker([rt.queue.rq], connection=rt.queue.connection, serializer=JSONSerializer).work(burst=True)
    with rt.db.session() as s:
        assert s.get(InboxItem, inbox_id).status == "processed"
        assert s.scalar(select(func.count()).select_from(Lead)) == 1
    worker_module._runtime.close()
    monkeypatch.setattr(worker_module, "_runtime", None)
