"""The web-form signature covers the Idempotency-Key (a captured post replayed under a new key adds no
row) and refuses timestamps more than a minute in the future."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from connector.core.signing import sign
from connector.store.models import InboxItem
from tests.capture.test_form_hook import ADA
from tests.support.forms import post_form
from tests.support.runtime import FORM_SECRET


def _rows(runtime) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(InboxItem))


def test_a_replay_under_a_new_idempotency_key_is_refused(client, runtime):
    body = json.dumps(ADA).encode()
    signed = {"X-Leadwire-Signature": sign(FORM_SECRET, body, int(time.time()), "evt-1"),
              "Content-Type": "application/json", "Idempotency-Key": "evt-1"}
    assert client.post("/hooks/forms/website", data=body, headers=signed).status_code == 202
    replay = client.post("/hooks/forms/website", data=body, headers={**signed, "Idempotency-Key": "evt-2"})
    assert replay.status_code == 401 and "Idempotency-Key" in replay.json["error"]
    unkeyed = {**signed, "X-Leadwire-Signature": sign(FORM_SECRET, body, int(time.time()))}
    assert client.post("/hooks/forms/website", data=body, headers={**unkeyed, "Idempotency-Key": "evt-3"}
                       ).status_code == 401  # a body-only signature does not cover a key
    assert _rows(runtime) == 1


def test_a_timestamp_more_than_a_minute_ahead_is_refused(client, runtime):
    ahead = post_form(client, FORM_SECRET, ADA, at=time.time() + 290)
    assert ahead.status_code == 401 and "future" in ahead.json["error"]
    assert post_form(client, FORM_SECRET, ADA, at=time.time() + 30).status_code == 202
    assert _rows(runtime) == 1
