"""Flow engine throughput: map → match → score → qualify → plan, on one core, with the shipped flows.yaml.

    python bench/engine.py            100,000 leads, 1,000 reps, 200,000 stored leads (InMemoryIndex)
    python bench/engine.py --quick    10,000 leads, 1,000 reps, 20,000 stored leads

The last line is the headline figure (leads/s). Peak memory is the process's maximum resident set size.
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connector.core.errors import InvalidLead  # noqa: E402
from connector.flows import Context, InMemoryIndex, RepView, decide, load_spec, map_payload  # noqa: E402

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Tim", "Radia", "Vint"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Cerf"]
PLACES = [("United States", "CA", "415"), ("US", "NY", "212"), ("USA", "TX", "512"), ("Canada", "ON", "416"),
          ("Germany", "BY", None), ("United Kingdom", None, None), ("France", None, None), ("Australia", "NSW", None)]
INTL = {"Germany": "+49 89 {:07d}", "United Kingdom": "+44 20 7946 {:04d}", "France": "+33 1 42 {:06d}",
        "Australia": "+61 2 9{:03d} {:04d}"}
TEAMS = ["na_insight", "na_sentinel", "emea", "apac_partners", "inside_sales"]

def company_no(i: int, stored: int) -> int:
    """Stored leads share 100,000 companies; new leads work elsewhere unless they repeat a stored lead."""
    return i % 100_000 if i < stored else 100_000 + i % 100_000


def payload(i: int, rng: random.Random, stored: int) -> dict:
    country, state, area = PLACES[i % len(PLACES)]
    if area:
        phone = f"({area}) 2{i % 100:02d}-{(i // 100) % 10000:04d}"
    elif country == "Australia":
        phone = INTL[country].format(i % 1000, (i // 1000) % 10000)
    elif country == "United Kingdom":
        phone = INTL[country].format(i % 10000)
    else:
        phone = INTL[country].format(i % 1000000 + (1000000 if country == "Germany" else 0))
    company = f"Company {company_no(i, stored)}"
    p = {"first_name": FIRST[i % 12], "last_name": LAST[(i // 12) % 10],
         "email": f"user{i}@company{company_no(i, stored)}.com",
         "phone": phone, "company": company, "country": country, "role": rng.choice(["CEO", "VP", "Manager", "Analyst"]),
         "employees": str(rng.choice([8, 40, 300, 2000])), "industry": rng.choice(["Finance", "Software", "Retail"]),
         "form": rng.choice(["demo_request", "contact_sales", "pricing", "whitepaper", "newsletter"]),
         "product_interest": rng.choice(["Insight", "Sentinel", "not sure"]), "utm_campaign": "bench"}
    if state:
        p["state"] = state
    if i % 3 == 0:
        p["timeframe"] = rng.choice(["This quarter", "Next quarter", "Just researching"])
    if i % 4 == 0:
        p["events"] = [{"type": "webinar_attended", "at": "2026-02-20T10:00:00Z"}, {"type": "email_opened"}]
    return p


NA_REGIONS = ["US-CA", "US-NY", "US-TX", "US-WA", "US-IL", "US-MA", "US-FL", "US-GA", "US-CO", "US-OR", "US-AZ",
              "US-NJ", "US-PA", "US-OH", "US-MI", "US-NC", "US-VA", "US-MN", "CA-ON", "CA-QC", "CA-BC", "CA-AB"]
TERRITORIES = {"emea": [("countries", c) for c in ("DE", "GB", "FR", "NL", "ES", "IT", "SE", "PL", "AT", "CH")],
               "apac_partners": [("countries", c) for c in ("AU", "JP", "SG", "IN", "NZ")], "inside_sales": []}


def reps(n: int, rng: random.Random) -> list[RepView]:
    """A network like a real one: NA reps own a state or province, EMEA reps and APAC partners a country."""
    out = []
    for i in range(1, n + 1):
        team = TEAMS[i % len(TEAMS)]
        if team.startswith("na_"):
            territory = {"regions": (NA_REGIONS[(i // len(TEAMS)) % len(NA_REGIONS)],)}
        elif TERRITORIES[team]:
            key, value = TERRITORIES[team][(i // len(TEAMS)) % len(TERRITORIES[team])]
            territory = {key: (value,)}
        else:
            territory = {}
        out.append(RepView(i, f"rep{i}@northwind.example", f"Rep {i}", team=team, **territory,
                           products=(("insight",) if i % 3 == 0 else ("sentinel",) if i % 3 == 1 else ()),
                           open_offers=rng.randint(0, 6), max_open_offers=5, open_leads=rng.randint(0, 40),
                           working_hours={d: ["08:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                           timezone=rng.choice(["America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC"]),
                           preferred=i % 10 == 0, acceptance_rate=rng.random(), win_rate=rng.random()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 leads against 20,000 stored (under a minute)")
    parser.add_argument("--leads", type=int)
    parser.add_argument("--stored", type=int)
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    leads = args.leads or (10_000 if args.quick else 100_000)
    stored = args.stored or (20_000 if args.quick else 200_000)
    rng = random.Random(42)
    spec = load_spec(Path(__file__).resolve().parent.parent / "flows.yaml", env={})

    t0 = time.perf_counter()
    index = InMemoryIndex()
    for i in range(stored):  # stored leads: canonical dicts, as the database would hold them
        index.add({"email": f"user{i}@company{company_no(i, stored)}.com", "phone": f"+1646{2000000 + i:07d}",
                   "first_name": FIRST[i % 12], "last_name": LAST[(i // 12) % 10],
                   "company": f"Company {company_no(i, stored)}", "company_key": f"company {company_no(i, stored)}"})
    ctx = Context(NOW, index, reps(args.reps, rng))
    # one lead in 20 repeats a stored lead (same e-mail): the duplicate path is measured too
    payloads = [payload(stored // 2 + i if i % 20 == 0 else stored + i, rng, stored) for i in range(leads)]
    setup = time.perf_counter() - t0
    print(f"setup: {stored:,} stored leads, {args.reps:,} reps, {leads:,} payloads in {setup:.1f}s")

    outcomes: dict[str, int] = {}
    invalid = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for p in payloads:
        try:
            lead = map_payload(spec, "website", p)
        except InvalidLead:
            invalid += 1
            continue
        decision = decide(spec, lead, ctx)
        outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())) + f", invalid {invalid:,}")
    print(f"decided {leads:,} leads in {elapsed:.2f}s wall, {cpu:.2f}s CPU ({cpu / leads * 1e6:.0f} µs CPU/lead; "
          f"wall rate {leads / elapsed:,.0f} leads/s); peak RSS {peak_mb:.0f} MB")
    # the headline counts CPU time: one core's throughput, not disturbed by other processes on the machine
    print(f"engine: {leads / cpu:,.0f} leads/s per core (map → match → score → qualify → plan; "
          f"{args.reps:,} reps, {stored:,} stored leads)")


if __name__ == "__main__":
    main()
