"""The issue's check: after `leadwire demo`, a real headless Chromium logs in, opens the dashboard,
applies a filter, saves a screenshot to test-output/analytics/, and the charts render."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analytics.browser import OUTPUT, chart_shapes, logged_in_page, summary_figure
from tests.support.analytics import PASSWORD

LEADWIRE = Path(sys.executable).parent / "leadwire"


@pytest.fixture
def demo(tmp_path):
    """Run the real `leadwire demo --json` in a scratch folder; (database URL, its summary figures)."""
    done = subprocess.run([str(LEADWIRE), "demo", "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return f"sqlite:///{tmp_path / 'leadwire-demo.db'}", json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def app(analytics_app, demo):
    """Overrides the shared `app`: the dashboard on the demo's database, with an admin password."""
    url, _ = demo
    app, _ = analytics_app(url, LEADWIRE_ADMIN_PASSWORD=PASSWORD)
    return app


def test_dashboard_after_leadwire_demo(live_server, demo):
    _, figures = demo
    with logged_in_page(live_server) as page:
        shapes = chart_shapes(page)
        assert {"captured", "mql_levels", "offer_rates", "funnel", "conversion", "reps"} <= set(shapes), shapes
        assert all(shapes.values()), shapes
        # the dashboard agrees with the demo's own summary
        assert summary_figure(page, "captured", "leads") == figures["leads_at_end"]
        accepted = page.locator("#offer_rates tbody tr", has_text="accepted").first.inner_text().split()
        assert int(accepted[1]) == figures["accepted_at_end"]
        assert summary_figure(page, "missed", "escalated") == figures["escalated_at_end"]

        campaign = page.eval_on_selector("select[name=campaign] option:nth-child(2)", "o => o.value")
        page.select_option("select[name=campaign]", campaign)
        page.click("form#filters button[type=submit]")
        page.wait_for_url(f"**campaign={campaign}**")
        assert page.locator("select[name=campaign]").input_value() == campaign
        filtered = summary_figure(page, "captured", "leads")
        assert 0 < filtered < figures["leads"]
        assert chart_shapes(page)["captured"] > 0
        page.screenshot(path=str(OUTPUT / "dashboard-after-demo.png"), full_page=True)
    assert (OUTPUT / "dashboard-after-demo.png").stat().st_size > 10_000
