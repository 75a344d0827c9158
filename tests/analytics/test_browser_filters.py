"""Chromium on a month of varied data: a filter from the form changes the figures and every chart redraws."""
from __future__ import annotations

import pytest

from tests.analytics.browser import OUTPUT, chart_shapes, logged_in_page, summary_figure
from tests.analytics.demo_data import populate
from tests.support.analytics import PASSWORD


@pytest.fixture
def app(analytics_app, sqlite_url):
    """Overrides the shared `app` so the shared `live_server` serves the dashboard on demo-sized data."""
    app, rt = analytics_app(sqlite_url, LEADWIRE_ADMIN_PASSWORD=PASSWORD)
    populate(rt.db)
    return app


def test_source_filter_narrows_every_chart(live_server):
    with logged_in_page(live_server) as page:
        shapes = chart_shapes(page)
        assert len(shapes) >= 12 and all(shapes.values()), shapes
        assert summary_figure(page, "captured", "leads") == 240

        page.select_option("select[name=source]", "hubspot")
        page.click("form#filters button[type=submit]")
        page.wait_for_url("**source=hubspot**")
        assert page.locator("select[name=source]").input_value() == "hubspot"
        assert 0 < summary_figure(page, "captured", "leads") < 240
        assert summary_figure(page, "conversion", "leads") == summary_figure(page, "captured", "leads")
        assert chart_shapes(page)["captured"] > 0
        page.screenshot(path=str(OUTPUT / "dashboard-month-hubspot.png"), full_page=True)
