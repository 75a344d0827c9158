"""Reps import/list (CLI and API), `leadwire tick --at`, and e-mail failures that never lose the offer."""
import subprocess
import sys
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from connector.cli import cli
from connector.jobs.tick import run_tick
from connector.notify import Mailer
from connector.store.models import Email, Rep
from tests.support import runtime as root
from tests.support.routing import AUTH, DATA, NA_REPS, add_reps, capture, offers_of

REPO = root.REPO


def _env(url, **extra):
    return root.deployment_env(url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), **extra)


def test_reps_import_yaml_then_list(sqlite_url):
    runner = CliRunner()
    done = runner.invoke(cli, ["reps", "import", str(REPO / "examples" / "reps.yaml")], env=_env(sqlite_url))
    assert done.exit_code == 0, done.output
    assert "14 reps created, 0 updated" in done.output
    again = runner.invoke(cli, ["reps", "import", str(REPO / "examples" / "reps.yaml")], env=_env(sqlite_url))
    assert "0 reps created, 14 updated" in again.output
    listed = runner.invoke(cli, ["reps", "list"], env=_env(sqlite_url))
    assert listed.exit_code == 0 and "14 reps" in listed.output
    sofia = next(line for line in listed.output.splitlines() if "Sofia" in line)
    assert "absent" in sofia and "emea" in sofia
    team = runner.invoke(cli, ["reps", "list", "--team", "apac_partners"], env=_env(sqlite_url))
    assert "4 reps" in team.output and "Harbour Data" in team.output


def test_reps_import_csv_reports_every_bad_row_with_its_line(sqlite_url, tmp_path):
    bad = tmp_path / "reps.csv"
    bad.write_text("email,name,team,countries,timezone,working_hours,max_open_offers\n"
                   "ann@x.example,Ann,na,US;CA,America/New_York,mon-fri 09:00-17:00,3\n"
                   "not-an-email,Bob,na,USA,Mars/Olympus,weekdays,lots\n")
    proc = subprocess.run([sys.executable, "-m", "connector", "reps", "import", str(bad)], capture_output=True,
                          text=True, env=_env(sqlite_url), cwd=REPO, timeout=60)
    assert proc.returncode == 1
    for problem in ("reps.csv:3: email: not-an-email is not an e-mail address",
                    "reps.csv:3: countries: 'USA' is not a two-letter country code",
                    "reps.csv:3: timezone: 'Mars/Olympus' is not an IANA time zone",
                    "reps.csv:3: working_hours: 'weekdays' is not like 'mon-fri 09:00-17:00'",
                    "reps.csv:3: max_open_offers: 'lots' must be a number"):
        assert problem in proc.stderr, proc.stderr
    good = tmp_path / "good.csv"
    good.write_text(bad.read_text().splitlines()[0] + "\n" + bad.read_text().splitlines()[1] + "\n")
    assert CliRunner().invoke(cli, ["reps", "import", str(good)], env=_env(sqlite_url)).exit_code == 0


def test_tick_at_a_given_time_expires_offers_and_moves_leads_on(make_runtime, sqlite_url):
    rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))
    add_reps(rt, *NA_REPS)
    lead_id = capture(rt, email="jo@acme.example", country="US", campaign="seq")
    offered = offers_of(rt, lead_id)[0].offered_at
    runner = CliRunner()
    early = runner.invoke(cli, ["tick", "--at", (offered + timedelta(minutes=4)).isoformat()], env=_env(sqlite_url))
    assert early.exit_code == 0 and "offers.expire_step 0" in early.output
    late = runner.invoke(cli, ["tick", "--at", (offered + timedelta(minutes=5)).isoformat()], env=_env(sqlite_url))
    assert "offers.expire_step 1" in late.output
    assert [o.status for o in offers_of(rt, lead_id)] == ["expired", "pending"]
    bad = runner.invoke(cli, ["tick", "--at", "yesterday"], env=_env(sqlite_url))
    assert bad.exit_code == 2 and "is not an ISO date-time" in bad.output


def test_api_reps_create_list_and_validate(routing_rt, client_for):
    client = client_for(routing_rt)
    made = client.post("/api/reps", json=[{"email": "Ann@NA.example", "name": "Ann", "team": "na",
                                           "territory": {"countries": ["US"]}, "working_hours": "mon-fri 09:00-17:00",
                                           "timezone": "America/Chicago"}], headers=AUTH)
    assert made.status_code == 201 and made.get_json()["created"] == 1
    listed = client.get("/api/reps?team=na", headers=AUTH).get_json()
    [ann] = listed["items"]
    assert ann["email"] == "ann@na.example" and ann["countries"] == ["US"]
    assert ann["working_hours"]["fri"] == ["09:00", "17:00"] and "sat" not in ann["working_hours"]
    bad = client.post("/api/reps", json={"email": "x@y.example", "weight": -1, "colour": "red"}, headers=AUTH)
    assert bad.status_code == 422
    problems = [e["problem"] for e in bad.get_json()["errors"]]
    assert "colour: unknown field" in problems and any(p.startswith("weight:") for p in problems)
    assert client.get("/api/reps").status_code == 401
    with routing_rt.db.session() as s:
        assert s.scalar(select(Rep.email).where(Rep.email == "x@y.example")) is None


def test_a_failed_offer_email_stays_visible_is_retried_and_never_loses_the_offer(make_runtime, sqlite_url, smtp, clock):
    from tests.support.servers import free_port

    rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    add_reps(rt, *NA_REPS)
    lead_id = capture(rt, email="jo@acme.example", country="US", campaign="seq")
    [offer] = offers_of(rt, lead_id)
    with rt.db.session() as s:
        [email] = s.scalars(select(Email)).all()
    assert (email.status, email.attempts) == ("queued", 1) and "ConnectionRefusedError" in email.last_error
    assert email.next_attempt_at == clock.now() + timedelta(seconds=30) and offer.status == "pending"
    assert run_tick(rt)["outbox.retry_step"] == 0                     # not due yet
    rt.mailer = Mailer.from_url(smtp[0], "leadwire@example.com")      # the SMTP server is back
    clock.advance(seconds=30)
    assert run_tick(rt)["outbox.retry_step"] == 1
    [mail] = smtp[1].wait_for(1)
    assert "/o/" in smtp[1].text(mail)
    with rt.db.session() as s:
        assert s.get(Email, email.id).status == "sent"


def test_an_email_that_keeps_failing_ends_failed_and_visible(make_runtime, sqlite_url, clock):
    from connector.notify import MAX_ATTEMPTS
    from tests.support.servers import free_port

    rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"), SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    add_reps(rt, *NA_REPS)
    lead_id = capture(rt, email="jo@acme.example", country="US", campaign="seq")
    for _ in range(MAX_ATTEMPTS):
        clock.advance(hours=7)
        run_tick(rt)
    with rt.db.session() as s:
        first = s.scalars(select(Email).order_by(Email.id)).first()
    assert (first.status, first.attempts) == ("failed", MAX_ATTEMPTS) and first.last_error
    assert offers_of(rt, lead_id)[0].status == "expired"               # the lead moved on regardless


# --- reps import on CSV files with rows it cannot read (connector/capture/files.py) ---------------

REPS_HEADER = b"email,name,team,countries,timezone\n"
REP_ANN = b"ann@x.example,Ann,na,US,America/New_York\n"
REP_DAN = b"dan@x.example,Dan,na,US,UTC\n"


def _reps_import(sqlite_url, path):
    return subprocess.run([sys.executable, "-m", "connector", "reps", "import", str(path)], capture_output=True,
                          text=True, env=_env(sqlite_url), cwd=REPO, timeout=60)


def _rep_emails(make_runtime, sqlite_url):
    rt = make_runtime(sqlite_url, LEADWIRE_FLOWS=str(DATA / "flows.yaml"))
    with rt.db.session() as s:
        return sorted(s.scalars(select(Rep.email)))


def test_reps_import_lists_extra_cells_and_non_utf8_rows_with_the_other_rows_problems(sqlite_url, tmp_path,
                                                                                       make_runtime):
    bad = tmp_path / "reps.csv"
    bad.write_bytes(REPS_HEADER + REP_ANN + b"bob@x.example,Bob,na,US,UTC,oops\n"
                    + b"cat@x.example,Caf\xe9,na,US,UTC\n" + b"eve@x.example,Eve,na,USA,UTC\n" + REP_DAN)
    proc = _reps_import(sqlite_url, bad)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"{bad}:3: 1 cell more than the 5 columns of the header",
        f"{bad}:4: not UTF-8 text (byte 0xe9 at position 18); save the file as UTF-8",
        f"{bad}:5: countries: 'USA' is not a two-letter country code"]     # the rows after still read
    assert _rep_emails(make_runtime, sqlite_url) == []                     # all or nothing, as for bad values
    good = tmp_path / "good.csv"
    good.write_bytes(REPS_HEADER + REP_ANN + REP_DAN)
    assert _reps_import(sqlite_url, good).returncode == 0
    assert _rep_emails(make_runtime, sqlite_url) == ["ann@x.example", "dan@x.example"]


def test_reps_import_reads_a_bom_prefixed_csv_header(sqlite_url, tmp_path, make_runtime):
    path = tmp_path / "reps.csv"
    path.write_bytes(b"\xef\xbb\xbf" + REPS_HEADER + REP_ANN + REP_DAN)
    done = CliRunner().invoke(cli, ["reps", "import", str(path)], env=_env(sqlite_url))
    assert done.exit_code == 0, done.output
    assert "2 reps created, 0 updated" in done.output
    assert _rep_emails(make_runtime, sqlite_url) == ["ann@x.example", "dan@x.example"]


def test_reps_import_of_an_empty_csv_or_a_non_utf8_yaml_file_is_one_error(sqlite_url, tmp_path):
    empty = tmp_path / "reps.csv"
    empty.write_bytes(b"")
    proc = _reps_import(sqlite_url, empty)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"{empty}: the file is empty: expected a header row of column names, "
                                   "then one row per record")
    latin = tmp_path / "reps.yaml"
    latin.write_bytes(b"reps:\n  - email: ann@x.example\n    name: Ren\xe9e\n")
    proc = _reps_import(sqlite_url, latin)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"{latin}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8"
