"""`leadwire validate` and `leadwire simulate` as a RevOps person runs them."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from click.testing import CliRunner

from connector.cli import cli
from tests.flows.helpers import BASE, FLOWS, write
from tests.support.runtime import REPO

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
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    assert any(re.search(r"flows\.yaml:4: source web: kind must be one of", line) for line in lines), lines
    assert any("offer window 3w is outside the allowed range 2m to 2w" in line for line in lines), lines


def _json_rows(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


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
    bad = [line for line in result.stderr.splitlines() if line.startswith("examples/webform_leads.jsonl: row ")]
    assert len(bad) == 5 and any("company: is required" in line for line in bad)
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


# --- simulate on files with rows it cannot read: each reported with file and row, the others decided --

SCAN_HEADER = b"First Name,Last Name,Email,Company,Country\n"
SCAN_ADA = b"Ada,Lovelace,ada@acme.example,Acme Inc.,US\n"
SCAN_KAT = b"Kat,Lamarr,kat@stark.example,Stark Industries,US\n"


def _simulate_csv(path):
    return invoke("simulate", str(path), "--source", "tradeshow", "--format", "json", "--now", NOW)


def test_simulate_reports_a_row_with_extra_cells_decides_the_others_and_exits_1(tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(SCAN_HEADER + SCAN_ADA + b"Bob,Cerf,bob@wayne.example,Wayne,US,extra,cells\n" + SCAN_KAT)
    result = _simulate_csv(path)
    assert result.exit_code == 1
    assert f"{path}: row 3: 2 cells more than the 5 columns of the header" in result.stderr.splitlines()
    assert [(r["row"], r["email"]) for r in _json_rows(result.stdout)] == [(2, "ada@acme.example"),
                                                                           (4, "kat@stark.example")]
    assert result.stderr.splitlines()[-1].endswith("; 1 bad row")


def test_simulate_reports_a_row_that_is_not_utf8_and_decides_the_others(tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(SCAN_HEADER + SCAN_ADA + b"Bob,Cerf,bob@cafe.example,Caf\xe9 Noir,FR\n" + SCAN_KAT)
    result = _simulate_csv(path)
    assert result.exit_code == 1
    assert (f"{path}: row 3: not UTF-8 text (byte 0xe9 at position 30); save the file as UTF-8"
            in result.stderr.splitlines())
    assert [r["row"] for r in _json_rows(result.stdout)] == [2, 4]


def test_simulate_json_lines_that_are_not_utf8_or_not_json_are_reported_and_exit_1(tmp_path):
    path = tmp_path / "leads.jsonl"
    path.write_bytes(b'{"email": "caf\xe9@x.example"}\n{not json\n')
    result = invoke("simulate", str(path), "--format", "json", "--now", NOW)
    assert result.exit_code == 1
    assert f"{path}: row 1: not UTF-8 text (byte 0xe9 at position 15); save the file as UTF-8" in result.stderr
    assert f"{path}: row 2: not valid JSON" in result.stderr


def test_simulate_reads_a_bom_prefixed_header_and_exits_0_with_only_invalid_leads(tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(b"\xef\xbb\xbf" + SCAN_HEADER + SCAN_ADA + b"Tim,Torvalds,not-an-email,Vandelay,US\n")
    result = _simulate_csv(path)
    assert result.exit_code == 0, result.output            # an invalid lead is a finding, not a failure
    [ada] = _json_rows(result.stdout)
    assert (ada["row"], ada["email"]) == (2, "ada@acme.example")
    assert any(line.startswith(f"{path}: row 3: email: ") for line in result.stderr.splitlines())


def test_simulate_an_empty_file_is_one_error_and_exit_1(tmp_path):
    path = tmp_path / "scans.csv"
    path.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "connector", "simulate", str(path), "--source", "tradeshow"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"{path}: the file is empty: expected a header row of column names, "
                                   "then one row per record")
