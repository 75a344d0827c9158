"""Helpers for the Chromium tests: launch arguments, logging in, counting drawn chart shapes."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.analytics import PASSWORD
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "analytics"


@contextmanager
def logged_in_page(base: str) -> Iterator:
    """A headless Chromium page logged in to the dashboard at `base` (after a refused wrong password)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            log_in(page, base)
            yield page
        finally:
            browser.close()


def log_in(page, base: str) -> None:
    """Open the dashboard, get sent to the login, be refused a wrong password, then log in."""
    page.goto(f"{base}/dashboard")
    assert "/dashboard/login" in page.url
    page.fill("input[name=password]", "not it")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Wrong password."
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("svg.chart")


def chart_shapes(page) -> dict[str, int]:
    """Per measure on the page: how many data shapes (bars) its chart draws with a visible size."""
    return page.eval_on_selector_all(
        "section[data-measure]:has(svg.chart)",
        "els => Object.fromEntries(els.map(s => [s.dataset.measure, [...s.querySelectorAll('svg.chart rect.bar')]"
        ".filter(r => r.getBBox().width > 0 && r.getBBox().height > 0).length]))")


def summary_figure(page, measure: str, name: str) -> int:
    """A whole-number figure from a measure's summary chips, e.g. ('captured', 'leads')."""
    text = page.locator(f"#{measure} .summary span", has_text=f"{name}:").first.inner_text()
    return int(text.split(":")[1].strip().replace(",", ""))
