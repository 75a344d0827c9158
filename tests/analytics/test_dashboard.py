"""The dashboard: never open by default, login, filters in the URL, CSV export, queue, lead search."""
from __future__ import annotations

import csv
import io

from tests.support.analytics import PASSWORD
from tests.support.dashboard import logout, post_login
from tests.support.runtime import API_KEY


def test_disabled_when_no_password_or_api_key_is_configured(analytics_app, sqlite_url):
    app, _ = analytics_app(sqlite_url, LEADWIRE_API_KEY="")
    client = app.test_client()
    resp = client.get("/dashboard")
    assert resp.status_code == 503
    page = resp.get_data(as_text=True)
    assert "LEADWIRE_ADMIN_PASSWORD" in page and "<svg" not in page
    assert client.post("/dashboard/login", data={"password": ""}).status_code == 503
    assert client.get("/dashboard/export/captured.csv").status_code == 503


def test_pages_redirect_to_login_and_exports_answer_401(seeded):
    app, _ = seeded
    client = app.test_client()
    resp = client.get("/dashboard?source=web")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/dashboard/login?next=")
    assert client.get("/dashboard/leads/1").status_code == 302
    export = client.get("/dashboard/export/captured.csv")
    assert export.status_code == 401 and "Day" not in export.get_data(as_text=True)


def test_wrong_password_is_refused(seeded):
    app, _ = seeded
    client = app.test_client()
    resp = post_login(client, "hunter2")
    assert resp.status_code == 401
    assert "Wrong password" in resp.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_login_returns_to_the_shared_view_and_the_cookie_hides_the_password(seeded):
    app, _ = seeded
    client = app.test_client()
    resp = post_login(client, PASSWORD, "/dashboard?source=hubspot")
    assert resp.headers["Location"] == "/dashboard?source=hubspot"
    cookie = client.get_cookie("session")
    held = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert PASSWORD not in str(held)
    assert client.get("/dashboard").status_code == 200
    logout(client)
    assert client.get("/dashboard").status_code == 302


def test_login_ignores_an_offsite_next(seeded):
    app, _ = seeded
    resp = post_login(app.test_client(), PASSWORD, "//evil.example/x")
    assert resp.headers["Location"] == "/dashboard"


def test_the_api_key_does_not_open_the_dashboard(seeded):
    app, _ = seeded
    client = app.test_client()
    assert post_login(client, API_KEY).status_code == 401
    assert client.get("/dashboard").status_code == 302


def test_dashboard_shows_every_measure_with_a_chart_and_csv_link(dash):
    client, _ = dash
    page = client.get("/dashboard").get_data(as_text=True)
    for name in ("captured", "rejected", "speed_to_lead", "offer_rates", "missed", "feedback_compliance",
                 "funnel", "conversion", "time_to_close", "reps", "partners", "queue"):
        assert f'data-measure="{name}"' in page
        assert f"/dashboard/export/{name}.csv" in page
    assert page.count('<rect class="bar"') >= 20
    assert "Ana Alder" in page and "1,000.00" in page


def test_filters_live_in_the_url_and_carry_into_exports(dash):
    client, _ = dash
    page = client.get("/dashboard?source=hubspot&from=2026-01-05&to=2026-01-09").get_data(as_text=True)
    assert '<option value="hubspot" selected>' in page
    assert "/dashboard/export/captured.csv?from=2026-01-05&amp;to=2026-01-09&amp;source=hubspot" in page
    assert "leads: <b>3</b>" in page  # L5 L6 L7


def test_bad_filter_is_named_on_the_page(dash):
    client, _ = dash
    page = client.get("/dashboard?from=last-week").get_data(as_text=True)
    assert "<b>from</b>" in page and "YYYY-MM-DD" in page


def test_csv_export_of_conversion_by_source_and_campaign(dash):
    client, _ = dash
    resp = client.get("/dashboard/export/conversion.csv")
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["Source", "Campaign", "Leads", "Accepted", "Won", "Conversion", "Won amount"]
    assert rows[1] == ["web", "spring", "7", "3", "1", str(round(1 / 7, 4)), "1000.0"]
    assert rows[2] == ["hubspot", "fall", "3", "1", "1", str(round(1 / 3, 4)), "500.0"]
    filtered = list(csv.reader(io.StringIO(client.get("/dashboard/export/conversion.csv?source=hubspot").get_data(as_text=True))))
    assert [r[:3] for r in filtered[1:]] == [["hubspot", "fall", "3"]]


def test_csv_export_of_the_queue_and_bearer_access(seeded):
    app, ids = seeded
    resp = app.test_client().get("/dashboard/export/queue.csv", headers={"Authorization": f"Bearer {API_KEY}"})
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [int(r["Lead"]) for r in rows] == [ids["L4"], ids["L12"]]
    assert [r["Status"] for r in rows] == ["escalated", "new"]


def test_unknown_export_is_404(dash):
    client, _ = dash
    assert client.get("/dashboard/export/nope.csv").status_code == 404


def test_search_opens_a_lead_timeline_with_explanations(dash):
    client, ids = dash
    results = client.get("/dashboard/search?q=L1%20Corp").get_data(as_text=True)
    assert f'href="/dashboard/leads/{ids["L1"]}"' in results
    assert f'href="/dashboard/leads/{ids["L2"]}"' not in results
    by_mail = client.get("/dashboard/search?q=L5@BUYER").get_data(as_text=True)
    assert f'href="/dashboard/leads/{ids["L5"]}"' in by_mail
    page = client.get(f"/dashboard/leads/{ids['L1']}").get_data(as_text=True)
    assert "Offered to Ben Birch" in page and "Cy Cedar passed over: territory NA only" in page
    assert "Ana Alder" in page  # the owner


def test_csv_cells_that_would_run_as_formulas_open_as_text(analytics_app, sqlite_url):
    from connector.store.models import Lead
    from tests.analytics.seed import DAY1

    app, rt = analytics_app(sqlite_url)
    with rt.db.session() as s:
        s.add(Lead(source="web", outcome="routed", status="escalated", captured_at=DAY1, updated_at=DAY1,
                   first_name='=HYPERLINK("http://evil.example")', company="@SUM(A1)", email="x@y.example"))
    resp = app.test_client().get("/dashboard/export/queue.csv", headers={"Authorization": f"Bearer {API_KEY}"})
    (row,) = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert row["Name"] == "'=HYPERLINK(\"http://evil.example\")"
    assert row["Company"] == "'@SUM(A1)"
