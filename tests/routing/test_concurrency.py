"""On PostgreSQL with concurrent threads and processes: round robin stays fair, exactly one accept wins."""
import multiprocessing
import threading
from collections import Counter

from connector.routing import offers
from tests.routing import workers
from tests.support.routing import DATA, add_reps, capture, offers_of
from tests.support.runtime import deployment_env

POOL = [{"email": f"rr{i}@pool.example", "team": "pool", "max_open_offers": 1000} for i in range(5)]


def _env(pg_url):
    return deployment_env(pg_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))


def _first_offer_counts(rt) -> Counter:
    from sqlalchemy import func, select

    from connector.store.models import Offer

    with rt.db.session() as s:
        return Counter(dict(s.execute(select(Offer.rep_id, func.count()).group_by(Offer.rep_id)).all()))


def test_round_robin_is_fair_across_threads_and_processes(make_runtime, pg_url):
    rt = make_runtime(pg_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))
    add_reps(rt, *POOL)
    spawn = multiprocessing.get_context("spawn")
    n_threads, n_procs, each = 4, 3, 12
    barrier = spawn.Barrier(n_procs + 1)
    procs = [spawn.Process(target=workers.capture_many, args=(_env(pg_url), f"p{p}-", each, barrier))
             for p in range(n_procs)]
    for proc in procs:
        proc.start()
    thread_barrier = threading.Barrier(n_threads)
    errors = []

    def run(t):
        try:
            thread_barrier.wait(30)
            for i in range(each):
                capture(rt, email=f"t{t}-{i}@t{t}x{i}.example", campaign="rr")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(n_threads)]
    barrier.wait(60)
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert not errors
    counts = _first_offer_counts(rt)
    assert sum(counts.values()) == (n_threads + n_procs) * each
    assert len(counts) == len(POOL)
    assert max(counts.values()) - min(counts.values()) <= 1, counts


PARTNERS = [{"email": f"p{i}@partner{i}.example", "team": "partners", "partner": f"P{i}"} for i in range(6)]


def test_exactly_one_of_simultaneous_accepts_wins_across_processes_and_threads(make_runtime, pg_url):
    rt = make_runtime(pg_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))
    add_reps(rt, *PARTNERS)
    lead_id = capture(rt, email="jo@acme.example", campaign="bcast")
    made = [o.id for o in offers_of(rt, lead_id)]
    assert len(made) == 6
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(6), spawn.Queue()
    procs = [spawn.Process(target=workers.accept, args=(_env(pg_url), oid, barrier, results)) for oid in made[:3]]
    for proc in procs:
        proc.start()
    thread_results = []

    def click(oid):
        barrier.wait(60)
        thread_results.append((oid, offers.accept(rt, oid).status))

    threads = [threading.Thread(target=click, args=(oid,)) for oid in made[3:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for proc in procs:
        proc.join(60)
    answers = thread_results + [results.get(timeout=10) for _ in procs]
    statuses = Counter(status for _, status in answers)
    assert statuses == {"accepted": 1, "taken": 5}, answers
    winner = next(oid for oid, status in answers if status == "accepted")
    final = {o.id: o.status for o in offers_of(rt, lead_id)}
    assert final[winner] == "accepted" and Counter(final.values()) == {"accepted": 1, "lost": 5}


def test_the_same_offer_clicked_many_times_at_once_is_accepted_once(make_runtime, pg_url):
    rt = make_runtime(pg_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))
    add_reps(rt, *PARTNERS[:1])
    lead_id = capture(rt, email="jo@acme.example", campaign="bcast")
    [offer] = offers_of(rt, lead_id)
    barrier, answers = threading.Barrier(8), []

    def click():
        barrier.wait(30)
        answers.append(offers.accept(rt, offer.id).status)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert Counter(answers) == {"accepted": 1, "answered": 7}


def test_rep_load_and_performance_come_from_offers_and_closed_leads(make_runtime, pg_url, clock):
    from datetime import timedelta

    from connector.routing.candidates import load_and_stats
    from connector.store.models import Lead, Offer

    rt = make_runtime(pg_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))
    ids = add_reps(rt, *PARTNERS[:2])
    a, b = ids["p0@partner0.example"], ids["p1@partner1.example"]
    now = clock.now()
    with rt.db.session() as s:
        def lead(status, owner=None, closed=None):
            row = Lead(source="api", status=status, owner_rep_id=owner, closed_at=closed, captured_at=now,
                       updated_at=now)
            s.add(row)
            s.flush()
            return row.id
        lead("won", a, now - timedelta(days=3))
        lead("lost", a, now - timedelta(days=2))
        lead("won", a, now - timedelta(days=200))          # outside the 90-day window
        lead("accepted", b)
        for status, rep, age in (("accepted", a, 1), ("declined", a, 1), ("expired", a, 1), ("accepted", a, 1),
                                 ("pending", b, 0), ("pending", b, 0), ("accepted", b, 400)):
            s.add(Offer(lead_id=lead("offered"), rep_id=rep, mode="exclusive", status=status, offered_at=now - timedelta(days=age),
                        expires_at=now + timedelta(minutes=5)))
    with rt.db.session() as s:
        stats = load_and_stats(s, None, now)
    assert stats[a] == {"open_offers": 0, "open_leads": 0, "acceptance_rate": 0.5, "win_rate": 0.5}
    assert stats[b] == {"open_offers": 2, "open_leads": 1, "acceptance_rate": None, "win_rate": None}
