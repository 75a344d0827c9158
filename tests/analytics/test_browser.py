"""A real headless Chromium logs in, opens the dashboard on demo-sized data, filters, and screenshots it."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.analytics.conftest import PASSWORD
from tests.analytics.demo_data import populate

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "analytics"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def app(analytics_app, sqlite_url):
    """Overrides the shared `app` so the shared `live_server` serves the dashboard on demo data."""
    app, rt = analytics_app(sqlite_url, LEADWIRE_ADMIN_PASSWORD=PASSWORD)
    populate(rt.db)
    return app


def chart_shapes(page) -> list[int]:
    """Per chart on the page: how many data shapes (bars) with a positive width it draws."""
    return page.eval_on_selector_all(
        "svg.chart", "els => els.map(svg => [...svg.querySelectorAll('rect.bar')]"
                     ".filter(r => r.getBBox().width > 0 && r.getBBox().height > 0).length)")


def captured_total(page) -> str:
    return page.inner_text("#captured .summary b")


def test_login_dashboard_filter_and_screenshot(live_server):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{live_server}/dashboard")
            assert "/dashboard/login" in page.url
            page.fill("input[name=password]", "not it")
            page.click("button[type=submit]")
            assert page.locator("[role=alert]").inner_text() == "Wrong password."
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("svg.chart")
            shapes = chart_shapes(page)
            assert len(shapes) >= 10 and all(n > 0 for n in shapes), shapes
            everything = int(captured_total(page).replace(",", ""))
            assert everything == 240

            page.select_option("select[name=source]", "hubspot")
            page.click("form#filters button[type=submit]")
            page.wait_for_url("**source=hubspot**")
            assert page.locator("select[name=source]").input_value() == "hubspot"
            filtered = int(captured_total(page).replace(",", ""))
            assert 0 < filtered < everything
            assert all(n > 0 for n in chart_shapes(page)[:4])
            page.screenshot(path=str(OUTPUT / "dashboard-hubspot.png"), full_page=True)
            page.goto(f"{live_server}/dashboard")
            page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=False)
        finally:
            browser.close()
    assert (OUTPUT / "dashboard-hubspot.png").stat().st_size > 10_000
