"""Reports, admin pages and their role checks, in Chromium on the real APIs.

Calls are stored through the CTI's own store (as its recorder does), incidents come from a panel
signal through the alarm engine and are closed through the alarms API, so every chart is drawn
from the field names the backing APIs really return. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.agent_web.conftest import LiveServer
from tests.agent_web.test_alarm_flow import ACCOUNT, burglary_signal, log_in, seed_account
from vigil.demo_users import DEMO_PASSWORD

AGENT_NAME = "Wang Operator"


@contextlib.contextmanager
def api_client(server: LiveServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield c


def store_calls(server: LiveServer) -> None:
    """Three queue calls an hour ago: two answered by one agent (one late), one abandoned."""
    from cti.store import store_many

    start = time.time() - 3600
    records = [
        {"call_id": f"c{i}", "direction": "inbound", "queue": "support", "started_at": start + i,
         "enter_queue_at": start + i, "end_at": start + i + 200, "caller_number": f"13800{i}",
         **extra}
        for i, extra in enumerate([
            {"outcome": "answered", "agent": AGENT_NAME, "answer_at": start + 5,
             "wait_seconds": 5.0, "talk_seconds": 100.0},
            {"outcome": "answered", "agent": AGENT_NAME, "answer_at": start + 61,
             "wait_seconds": 60.0, "talk_seconds": 140.0},
            {"outcome": "abandoned", "wait_seconds": 30.0},
        ])]

    async def put() -> None:
        assert server.services is not None
        async with server.services.db.session() as s:
            await store_many(s, server.services.clock, records, source="test")
            await s.commit()

    server.call(put())


def false_alarm_incident(server: LiveServer) -> int:
    """A burglary from the panel, taken and closed as a false alarm by an agent."""
    server.publish("signal.received", burglary_signal())
    with api_client(server, "agent2") as c:
        for _ in range(100):
            items = c.get("/api/incidents").json()["items"]
            if items:
                break
            time.sleep(0.05)
        inc = items[0]["id"]
        assert c.post(f"/api/incidents/{inc}/take").status_code == 200
        call = c.post(f"/api/incidents/{inc}/calls", json={"number": "13800138001",
                                                          "contact_name": "Zhang Wei"})
        assert call.status_code == 201, call.text
        call_id = call.json()["id"]
        # the CTI reports that the premises answered (no telephony runs in this server)
        server.publish("verification.call_result", {"call_id": call_id, "incident_id": inc,
                                                    "result": "answered"})
        for _ in range(100):
            found = c.get(f"/api/incidents/{inc}").json()["calls"]
            if found[0]["result"] == "answered":
                break
            time.sleep(0.05)
        r = c.post(f"/api/calls/{call_id}/result", json={"code": "4321"})
        assert r.status_code == 200, r.text
        r = c.post(f"/api/incidents/{inc}/close", json={"disposition": "false_alarm",
                                                       "cause": "user_error"})
        assert r.status_code == 200, r.text
    return int(inc)


@pytest.fixture
def page_of(browser: Any, alarm_server: LiveServer) -> Iterator[Any]:
    made: list[Any] = []

    def new(username: str) -> Any:
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000},
                                  base_url=alarm_server.url, accept_downloads=True)
        made.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: print("page error:", exc))
        log_in(page, username)
        return page

    yield new
    for ctx in made:
        ctx.close()


def csv_rows(page: Any, section: str) -> list[list[str]]:
    with page.expect_download() as dl:
        page.click(f"#rep-{section} button.csv")
    text = open(dl.value.path(), encoding="utf-8-sig").read()
    return list(csv.reader(io.StringIO(text)))


def test_reports_draw_every_chart_from_the_real_apis_and_export_its_rows(
        page_of: Any, alarm_server: LiveServer, shot: Any) -> None:
    account_id = seed_account(alarm_server)
    store_calls(alarm_server)
    false_alarm_incident(alarm_server)

    page = page_of("super1")  # Chinese
    page.goto("/reports")
    for section in ("calls-hour", "sl-time", "aht-agent", "alarms-day", "false-account",
                    "false-model", "handling"):
        page.wait_for_selector(f"#rep-{section}:is([data-state=ready], [data-state=empty], "
                               "[data-state=error])")
        assert page.get_attribute(f"#rep-{section}", "data-state") == "ready", section
        assert page.locator(f"#rep-{section} canvas").is_visible(), section

    hours = csv_rows(page, "calls-hour")
    assert hours[0] == ["时段", "呼入", "接听", "放弃"]  # the columns in the user's words
    assert sum(int(r[1]) for r in hours[1:]) == 3 and sum(int(r[3]) for r in hours[1:]) == 1
    with api_client(alarm_server, "super1") as c:
        cfg = c.get("/api/stats/calls").json()["settings"]
    within = sum(1 for wait in (5.0, 60.0) if wait <= cfg["threshold_seconds"])
    sl = csv_rows(page, "sl-time")
    assert [float(r[1]) for r in sl[1:] if r[2] != "0"] == [round(within / 3 * 100, 1)]
    aht = csv_rows(page, "aht-agent")
    assert aht[1:] == [[AGENT_NAME, f"{(100 + 140) / 2 + cfg['wrapup_seconds']:g}", "2"]]
    per_day = csv_rows(page, "alarms-day")
    assert per_day[1:] == [[datetime.now(UTC).date().isoformat(), "burglary", "1"]]
    by_account = csv_rows(page, "false-account")
    assert by_account[1][0].startswith(ACCOUNT) and by_account[1][1:3] == ["1", "1"]
    by_model = csv_rows(page, "false-model")
    assert by_model[1][1] == "1"
    handling = dict((r[0], float(r[1])) for r in csv_rows(page, "handling")[1:])
    assert {"taken", "first_call", "closed"} <= set(handling)
    assert handling["taken"] <= handling["first_call"] <= handling["closed"]
    shot(page, "reports-zh")

    month = datetime.now(UTC).strftime("%Y-%m")
    page.fill("#monthly-form input[name=account]", ACCOUNT)
    page.wait_for_selector(f"#monthly-accounts option[value^='{ACCOUNT}']", state="attached")
    page.fill("#monthly-form input[name=month]", month)
    page.click("#monthly-form button[type=submit]")
    page.wait_for_selector("#rep-monthly[data-state=ready]")
    assert page.inner_text("#monthly-sheet b[data-field=alarms]") == "1"
    assert page.inner_text("#monthly-sheet b[data-field=false_alarms]") == "1"
    monthly = dict((r[0], r[1]) for r in csv_rows(page, "monthly"))  # in Chinese, as shown
    assert (monthly["用户"], monthly["月份"], monthly["误报"]) == (ACCOUNT, month, "1")
    assert int(monthly["信号总数"]) >= 1
    page.locator("#rep-monthly").scroll_into_view_if_needed()
    shot(page, "monthly-zh")
    assert account_id > 0

    page.click("#lang-switch")  # the same supervisor in English
    page.wait_for_selector("html[lang=en]")
    en = page
    en.goto("/reports")
    en.wait_for_selector("#rep-aht-agent[data-state=ready]")
    assert "AHT per agent" in en.inner_text("#rep-aht-agent h2")
    shot(en, "reports-en")


def test_admin_manages_users_plans_and_receivers(page_of: Any, alarm_server: LiveServer,
                                                shot: Any) -> None:
    page = page_of("admin")
    page.goto("/admin")
    page.wait_for_selector("#user-rows tr[data-user]")

    # a new agent, then a new role, language, extension and SIP password
    form = page.locator("#user-new")
    form.locator("input[name=username]").fill("nightagent")
    form.locator("input[name=display_name]").fill("Night Agent")
    form.locator("input[name=password]").fill("a-long-password")
    form.locator("input[name=extension]").fill("1009")
    form.locator("button[type=submit]").click()
    row = page.locator("#user-rows tr:has(td:text-is('nightagent'))")
    row.wait_for()
    row.locator("select[name=role]").select_option("supervisor")
    row.locator("select[name=language]").select_option("en")
    row.locator("input[name=extension]").fill("1010")
    row.locator("input[name=sip_password]").fill("sip-secret-1")
    row.locator("button[data-save]").click()
    page.wait_for_function("""() => [...document.querySelectorAll('#user-rows tr')].some((tr) =>
        tr.textContent.includes('nightagent')
        && tr.querySelector('[name=extension]').value === '1010'
        && tr.querySelector('[name=role]').value === 'supervisor')""")
    with api_client(alarm_server, "admin") as c:
        users = {u["username"]: u for u in c.get("/api/users").json()["items"]}
        assert (users["nightagent"]["role"], users["nightagent"]["language"],
                users["nightagent"]["extension"]) == ("supervisor", "en", "1010")
        uid = users["nightagent"]["id"]

    # action plan: create, then edit (saved as a new plan, the old one archived)
    plan = page.locator("#plan-form")
    plan.locator("input[name=match]").fill("fire")
    plan.locator("input[name=steps][value=notify_police]").check()
    plan.locator("input[name=steps][value=call_list]").check()
    plan.locator("button[type=submit]").click()
    page.locator("#plans tbody tr[data-plan]").wait_for()
    page.click("#plans tbody tr[data-plan] button[data-edit]")
    plan.locator("input[name=steps][value=notify_sms]").check()
    plan.locator("button[type=submit]").click()
    page.wait_for_function("() => document.querySelectorAll('#plans tbody tr[data-plan] li')"
                           ".length === 3")
    with api_client(alarm_server, "admin") as c:
        plans = c.get("/api/action-plans").json()["items"]
    assert [(p["match"], p["steps"]) for p in plans] == [
        ("fire", ["call_list", "notify_police", "notify_sms"])]

    # a DC-09 key: stored, shown only as a fingerprint
    secret = "0123456789ABCDEF0123456789ABCDEF"
    keys = page.locator("#rx-key-new")
    keys.locator("input[name=account]").fill("1234")
    keys.locator("input[name=value]").fill(secret)
    keys.locator("button[type=submit]").click()
    page.locator("#rx-keys tr[data-key]").wait_for()
    assert secret not in page.content() and "•••• " in page.inner_text("#rx-keys")
    endpoint = page.locator("#rx-endpoints tbody tr", has_text="dc09").inner_text()
    assert endpoint.startswith("dc09\tdc09 · tcp+udp")
    # no CTI in this server: the queues section says so instead of staying empty
    assert page.inner_text("#queues .state") == "Telephony not running"  # admin reads English
    shot(page, "admin")

    page.on("dialog", lambda d: d.accept())
    page.locator(f"#user-rows tr[data-user='{uid}'] button[data-archive]").click()
    page.wait_for_function("() => ![...document.querySelectorAll('#user-rows td')].some("
                           "(td) => td.textContent === 'nightagent')")
