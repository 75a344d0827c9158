"""`leadwire validate` and `leadwire simulate` as a RevOps person runs them."""
from __future__ import annotations

import json
import re

from click.testing import CliRunner

from connector.cli import cli
from tests.flows.helpers import BASE, FLOWS, write

NOW = "2026-03-30T15:00:00"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_validate_shipped_flows_prints_one_summary_line():
    result = invoke("validate", "flows.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        "flows.yaml: OK — 5 sources, 4 flows, 7 mapping files, scoring 40/60, MQL thresholds 20/45/70"]


def test_validate_the_variant_too():
    assert invoke("validate", "examples/flows_variant.yaml").exit_code == 0


def test_validate_lists_every_problem_with_file_and_line(tmp_path):
    path = write(tmp_path, BASE.replace("kind: form", "kind: fax") + FLOWS + "    offer: {window: 3w}\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    lines = [l for l in result.output.splitlines() if l.startswith(str(path))]
    assert any(re.search(r"flows\.yaml:4: source web: kind must be one of", l) for l in lines), lines
    assert any("offer window 3w is outside the allowed range 2m to 2w" in l for l in lines), lines


def _json_rows(output: str) -> list[dict]:
    return [json.loads(l) for l in output.splitlines() if l.startswith("{")]


def test_simulate_json_one_object_per_lead_with_bad_rows_reported():
    result = invoke("simulate", "examples/webform_leads.jsonl", "--format", "json", "--now", NOW)
    assert result.exit_code == 0
    rows = _json_rows(result.stdout)
    assert len(rows) >= 55
    for row in rows:
        assert {"outcome", "score", "mql_level", "flow", "reasons"} <= set(row)
        assert row["outcome"] in ("routed", "nurture", "rejected", "duplicate") and 0 <= row["score"] <= 100
    outcomes = {r["outcome"] for r in rows}
    assert outcomes == {"routed", "nurture", "rejected", "duplicate"}
    dups = [r for r in rows if r["outcome"] == "duplicate"]
    assert len(dups) >= 5 and {d["duplicate"]["rule"] for d in dups} == {"email", "phone", "name_company"}
    bad = [l for l in result.stderr.splitlines() if l.startswith("row ")]
    assert len(bad) == 5 and any("company: is required" in l for l in bad)
    assert re.search(r"^\d+ leads: .*; 5 bad rows$", result.stderr.splitlines()[-1])


def test_simulate_tradeshow_csv_reports_bad_rows_by_csv_row_number():
    result = invoke("simulate", "examples/tradeshow.csv", "--source", "tradeshow", "--format", "csv", "--now", NOW)
    assert result.exit_code == 0
    assert "row 9: email: is not a valid e-mail address" in result.stderr  # header is row 1
    assert "row 21: company: is required" in result.stderr
    body = result.stdout.splitlines()
    assert body[0].startswith("row,email,outcome,flow,score,mql_level,team") and len(body) == 1 + 28


def test_simulate_against_lists_only_differences_with_both_sides():
    result = invoke("simulate", "examples/webform_leads.jsonl", "--against", "examples/flows_variant.yaml",
                    "--format", "json", "--now", NOW)
    rows = _json_rows(result.stdout)
    assert rows
    for row in rows:
        a, b = row["flows"], row["against"]
        assert (a["outcome"], a["mql_level"], a["team"]) != (b["outcome"], b["mql_level"], b["team"])
    assert any(r["flows"]["team"] == "na_sentinel" and r["against"]["team"] == "na_insight" for r in rows)
    count = result.stderr.strip().splitlines()[-1]
    assert count.startswith(f"{len(rows)} of ") and "decided differently by examples/flows_variant.yaml" in count


def test_simulate_table_is_readable():
    result = invoke("simulate", "examples/webform_leads.jsonl", "--now", NOW)
    assert "outcome" in result.stdout and "qualified" in result.stdout and "leads:" in result.stdout
