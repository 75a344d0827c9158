"""The demo stage: simulated reps answer some requests at each level from the received e-mails."""
from sqlalchemy import select

from connector.demo.feedback_players import play_feedback
from connector.store.models import Lead
from tests.support.pursuit import accept_lead, add_rep


def test_play_feedback_answers_at_each_level_and_ignores_some(fb_rt, clock, smtp_inbox):
    inbox = smtp_inbox[0]
    reps = [add_rep(fb_rt, f"rep{i}@example.com") for i in range(2)]
    lead_ids = [accept_lead(fb_rt, reps[i % 2]) for i in range(5)]
    assert lead_ids == [1, 2, 3, 4, 5]       # the playbook picks each lead's behaviour by its id
    got = play_feedback(fb_rt, clock, inbox, days=40)
    # lead 1: level 2 then lost; 2: one-click visit on the 2nd request only; 3: silent;
    # 4: level 2 then won without an amount (partial); 5: one-click call, level 2, won with amount
    assert got == {"feedback_requests": 16, "feedback_level1": 2, "feedback_level2": 3, "feedback_level3": 3,
                   "won": 2, "lost": 1}
    with fb_rt.db.session() as s:
        status = {lead.id: (lead.status, lead.nurture_stream, lead.won_amount) for lead in s.scalars(select(Lead))}
    assert status == {1: ("nurture", "recycle", None), 2: ("accepted", None, None), 3: ("accepted", None, None),
                      4: ("won", None, None), 5: ("won", None, 24000.0)}
    assert inbox.to("boss@example.com")      # the silent rep's manager heard about it
