"""Analytics API response times with 1,000,000 leads (and their offers and feedback) in PostgreSQL.

Starts its own PostgreSQL, bulk-loads leads with generate_series (100,000 with --quick), then times every
GET /api/analytics/<measure> through the real Flask app, without filters and with each filter.

    .venv/bin/python bench/analytics.py [--quick] [--leads N] [--repeat 3]

Last line: the slowest measure's time (target: every measure under 1 s).
"""
from __future__ import annotations

import argparse
import statistics
import time

from _support import migrated_database, postgresql_server
from sqlalchemy import create_engine, text

from connector.core.config import load_settings
from connector.core.runtime import Runtime
from connector.jobs.backends import InlineQueue
from connector.store import Database

REPS, PARTNER_REPS, TEAMS = 200, 40, 10
LOAD_SQL = [
    "SET session_replication_role = replica",  # bulk load: skip FK triggers (every id below exists)
    "SELECT setseed(0.42)",
    f"""INSERT INTO reps (id, email, name, team, partner, countries, regions, postal_prefixes, products, preferred,
            weight, max_open_offers, max_open_leads, timezone, active, created_at)
        SELECT g, 'rep' || g || '@example.com', 'Rep ' || g, 'team-' || (g % {TEAMS}),
               CASE WHEN g <= {PARTNER_REPS} THEN 'Partner ' || (g % 8) END,
               '[]', '[]', '[]', '[]', false, 1.0, 5, 50, 'UTC', true, '2025-01-01'
        FROM generate_series(1, {REPS}) g""",
    """CREATE UNLOGGED TABLE gen AS SELECT g AS id, random() r1, random() r2, random() r3, random() r4,
            random() r5, random() r6, random() r7, random() r8, random() r9, random() r10, random() r11
       FROM generate_series(1, :n) g""",
    f"""INSERT INTO leads (id, source, campaign, flow, team, email, first_name, last_name, company, attributes,
            outcome, status, mql_level, reject_reason, duplicate_of_id, owner_rep_id, captured_at,
            first_offered_at, accepted_at, closed_at, won_amount, updated_at)
        SELECT id, (ARRAY['website','hubspot','salesforce','csv','api','partner-portal'])[1 + floor(r1 * 6)::int],
               'campaign-' || floor(r2 * 30)::int,
               (ARRAY['inbound','partner','enterprise','smb','nurture'])[1 + floor(r3 * 5)::int],
               'team-' || floor(r4 * {TEAMS})::int, 'lead' || id || '@co' || (id % 50000) || '.example',
               'Pat' || id, 'Buyer', 'Company ' || (id % 50000), '{{}}',
               outcome, status, CASE WHEN outcome = 'rejected' THEN NULL ELSE 1 + floor(r7 * 3)::int END,
               CASE WHEN outcome = 'rejected' THEN (ARRAY['spam','no email','competitor','test'])[1 + floor(r8 * 4)::int] END,
               CASE WHEN outcome = 'duplicate' AND id > 1 THEN id - 1 END,
               CASE WHEN accepted THEN 1 + floor(r9 * {REPS})::int END, captured,
               offered, CASE WHEN accepted THEN offered + (2 + r10 * r10 * 600) * interval '1 minute' END,
               CASE WHEN status IN ('won','lost') THEN offered + (3 + r11 * 90) * interval '1 day' END,
               CASE WHEN status = 'won' THEN 500 * (1 + floor(r10 * 100)) END, captured
        FROM (SELECT *, status IN ('accepted','won','lost') AS accepted,
                     CASE WHEN outcome = 'routed' THEN captured + (1 + r7 * r7 * 120) * interval '1 minute' END AS offered
              FROM (SELECT *, CASE WHEN outcome <> 'routed' THEN outcome WHEN r8 < 0.08 THEN 'escalated'
                                   WHEN r8 < 0.12 THEN 'offered' WHEN r9 < 0.25 THEN 'won' WHEN r9 < 0.45 THEN 'lost'
                                   ELSE 'accepted' END AS status
                    FROM (SELECT *, timestamptz '2025-01-01' + r5 * interval '365 days' AS captured,
                                 CASE WHEN r6 < 0.10 THEN 'rejected' WHEN r6 < 0.17 THEN 'duplicate'
                                      WHEN r6 < 0.25 THEN 'nurture' ELSE 'routed' END AS outcome
                          FROM gen) a) b) c""",
    """INSERT INTO offers (lead_id, rep_id, mode, round, status, offered_at, expires_at, responded_at)
       SELECT id, coalesce(owner_rep_id, 1 + id % 200), 'exclusive', 1,
              CASE status WHEN 'escalated' THEN 'expired' WHEN 'offered' THEN 'pending' ELSE 'accepted' END,
              first_offered_at, first_offered_at + interval '1 hour', accepted_at
       FROM leads WHERE first_offered_at IS NOT NULL""",
    """INSERT INTO offers (lead_id, rep_id, mode, round, status, offered_at, expires_at, responded_at)
       SELECT id, 1 + (id * 7) % 200, 'exclusive', 1, CASE WHEN id % 2 = 0 THEN 'declined' ELSE 'expired' END,
              first_offered_at, first_offered_at + interval '1 hour',
              CASE WHEN id % 2 = 0 THEN first_offered_at + interval '5 minutes' END
       FROM leads WHERE first_offered_at IS NOT NULL AND id % 10 < 3""",
    """INSERT INTO feedback_requests (lead_id, rep_id, seq, due_at, sent_at, answered_at, status)
       SELECT id, owner_rep_id, 1, accepted_at + interval '2 days', accepted_at + interval '2 days',
              CASE WHEN id % 10 < 7 THEN accepted_at + interval '3 days' END,
              CASE WHEN id % 10 < 7 THEN 'answered' ELSE 'sent' END
       FROM leads WHERE accepted_at IS NOT NULL""",
    """INSERT INTO feedback_responses (lead_id, rep_id, request_id, level, complete, contacted, action,
            pursuit_status, outcome, via, received_at)
       SELECT r.lead_id, r.rep_id, r.id, CASE WHEN l.status IN ('won','lost') THEN 3 ELSE 1 + l.id % 2 END,
              l.status IN ('won','lost'), true, 'call', CASE WHEN l.id % 2 = 1 THEN 'in discussion' END,
              CASE WHEN l.status IN ('won','lost') THEN l.status END, 'form', r.answered_at
       FROM feedback_requests r JOIN leads l ON l.id = r.lead_id WHERE r.answered_at IS NOT NULL""",
    "DROP TABLE gen",
    "SET session_replication_role = DEFAULT",
]
TABLES = ("reps", "leads", "offers", "feedback_requests", "feedback_responses")


def load(url: str, n: int) -> dict[str, int]:
    """Fill the database; return the row count per table."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for sql in LOAD_SQL:
            conn.execute(text(sql), {"n": n})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (FREEZE, ANALYZE)"))  # all-visible pages: index-only scans work at once
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    engine.dispose()
    return counts


def filter_sets() -> dict[str, str]:
    return {"none": "", "quarter": "from=2025-04-01&to=2025-06-30", "source": "source=hubspot",
            "campaign": "campaign=campaign-7", "flow": "flow=enterprise", "team": "team=team-3",
            "partner": "partner=Partner%203", "rep": "rep=17",
            "combined": "from=2025-01-01&to=2025-06-30&source=website&team=team-2"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 leads instead of 1,000,000")
    ap.add_argument("--leads", type=int, help="number of leads (overrides --quick)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per request (median reported)")
    args = ap.parse_args()
    n = args.leads or (100_000 if args.quick else 1_000_000)
    from connector.analytics import MEASURES
    from connector.web import create_app

    with postgresql_server() as server:
        url = migrated_database(server)
        t0 = time.perf_counter()
        counts = load(url, n)
        print(f"loaded {', '.join(f'{v:,} {k}' for k, v in counts.items())} in {time.perf_counter() - t0:.1f} s")
        settings = load_settings({"DATABASE_URL": url, "LEADWIRE_API_KEY": "bench-key-0123456789",
                                  "LEADWIRE_SECRET_KEY": "bench-secret-key-0123456789abcdef"})
        rt = Runtime(settings=settings, db=Database(url), queue=InlineQueue(), clock=None, spec=None)
        client = create_app(runtime=rt).test_client()
        auth = {"Authorization": "Bearer bench-key-0123456789"}
        sets = filter_sets()
        print(f"{'measure':<20}" + "".join(f"{k:>10}" for k in sets) + "   (ms, median of %d)" % args.repeat)
        worst = (0.0, "")
        for name in MEASURES:
            cells = []
            for label, query in sets.items():
                path = f"/api/analytics/{name}?{query}"
                client.get(path, headers=auth)  # warm the cache and the plan
                times = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    resp = client.get(path, headers=auth)
                    times.append(time.perf_counter() - t)
                    assert resp.status_code == 200, (path, resp.status_code, resp.get_data(as_text=True)[:300])
                ms = statistics.median(times) * 1000
                cells.append(ms)
                worst = max(worst, (ms, f"{name} [{label}]"))
            print(f"{name:<20}" + "".join(f"{c:>10.0f}" for c in cells), flush=True)
        rt.db.dispose()
    print(f"{n:,} leads: slowest measure {worst[1]} {worst[0]:.0f} ms "
          f"({'every measure under 1 s' if worst[0] < 1000 else 'OVER the 1 s target'})")


if __name__ == "__main__":
    main()
