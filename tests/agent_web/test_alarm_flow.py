"""The alarm side end to end in Chromium, on the real alarm engine and crm records.

A signal from a panel becomes an incident that appears without a reload; one agent takes it and
closes it as a false alarm with a cause; a second agent cannot take it meanwhile and sees who has
it. The verification calls themselves are test_workspace.py's, with the telephony running.
Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from receivers.signal import Signal
from tests.agent_web.conftest import LiveServer
from vigil.demo_users import DEMO_PASSWORD

ACCOUNT = "100234"


def seed_account(server: LiveServer) -> int:
    """An account with premises and a call list, made as an administrator would."""
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        csrf = {"X-CSRF-Token": r.json().get("csrf_token", "")}
        r = c.post("/api/accounts", json={"number": ACCOUNT, "name": "Riverside Pharmacy"},
                   headers=csrf)
        assert r.status_code == 201, r.text
        acct = r.json()["id"]
        r = c.post(f"/api/accounts/{acct}/premises", headers=csrf, json={
            "name": "Shop", "address": "12 River Road", "type": "shop"})
        assert r.status_code == 201, r.text
        for name, phone, code in (("Zhang Wei", "13800138001", "4321"),
                                  ("Li Na", "13800138002", "8765")):
            r = c.post(f"/api/accounts/{acct}/contacts", headers=csrf, json={
                "name": name, "role": "keyholder", "passcode": code, "duress_code": "9" + code,
                "phones": [{"number": phone, "kind": "mobile"}]})
            assert r.status_code == 201, r.text
    return int(acct)


def burglary_signal(zone: str = "003") -> dict[str, Any]:
    """``signal.received`` as the receivers publish it (Contact ID 130, burglary)."""
    signal = Signal(received_at=datetime.now(UTC), receiver="dc09", line="R01L1",
                    protocol="dc09", account=ACCOUNT, event_code="130", event_system="cid",
                    qualifier="new", partition="01", zone=zone, sequence="0001")
    return {**signal.to_dict(), "signal_id": "s-1"}


@pytest.fixture
def contexts(browser: Any, alarm_server: LiveServer) -> Iterator[list[Any]]:
    made: list[Any] = []

    def new() -> Any:
        ctx = browser.new_context(viewport={"width": 1440, "height": 900},
                                  base_url=alarm_server.url)
        made.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: print("page error:", exc))
        page.on("console", lambda msg: print("console:", msg.text) if msg.type == "error"
                else None)
        return page

    yield [new, made]  # type: ignore[list-item]
    for ctx in made:
        ctx.close()


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live[data-state=connected]")


def test_take_and_close_a_burglary_while_a_second_agent_cannot_take_it(
        contexts: list[Any], alarm_server: LiveServer, shot: Any) -> None:
    seed_account(alarm_server)
    new_page = contexts[0]
    alice, wang = new_page(), new_page()
    log_in(alice, "agent2")  # English
    log_in(wang, "agent1")   # Chinese
    alice.evaluate("window.__sameDocument = true")

    alarm_server.publish("signal.received", burglary_signal())
    row = alice.locator("#alarm-rows tr", has_text=ACCOUNT)
    row.wait_for()
    assert alice.evaluate("window.__sameDocument") is True  # no reload
    assert "Riverside Pharmacy" in row.inner_text() and "Burglary" in row.inner_text()
    wang.locator("#alarm-rows tr", has_text=ACCOUNT).wait_for()
    shot(alice, "queue-new-incident")

    # Alice takes it from the queue and lands on the incident view.
    row.locator("button[data-take]").click()
    alice.wait_for_url("**/incidents/*")
    alice.wait_for_selector("#incident-owner .ok")
    incident_id = alice.url.rsplit("/", 1)[1]
    assert alice.locator("#release-btn").is_visible()
    assert alice.locator("#take-btn").is_hidden()

    # Wang sees who has it, has no take button, and the server refuses him too.
    wang_row = wang.locator("#alarm-rows tr", has_text=ACCOUNT)
    wang_row.locator("text=他人处理中").wait_for()
    assert wang_row.locator("button[data-take]").count() == 0
    wang.goto(f"/incidents/{incident_id}")
    wang.wait_for_selector("#incident-owner .warn")
    assert "agent2" in wang.locator("#incident-owner").inner_text()  # who has it
    assert wang.locator("#take-btn").is_hidden()
    assert wang.locator("#incident-calllist button[data-call]").first.is_disabled()
    status = wang.evaluate("""async (id) => (await fetch(`/api/incidents/${id}/take`, {
        method: "POST", headers: {"X-CSRF-Token":
        document.querySelector('meta[name=csrf-token]').content}})).status""", incident_id)
    assert status == 409
    shot(wang, "second-agent-sees-owner")

    # The call list in order: the first keyholder first. (Placing the call and its outcome are
    # test_workspace.py's, on the telephony this server does not run.)
    calls = alice.locator("#incident-calllist button[data-call]")
    assert calls.first.get_attribute("data-name") == "Zhang Wei"
    assert calls.first.is_enabled()
    timers = alice.locator("#incident-timers li.done")
    assert timers.count() >= 2  # received, shown and taken so far

    # Close as a false alarm with its cause.
    close = alice.locator("#close-form")
    close.locator("select[name=disposition]").select_option("false_alarm")
    assert close.locator("#cause-label").is_visible()
    close.locator("select[name=cause]").select_option("user_error")
    shot(alice, "closing")
    close.locator("button[type=submit]").click()
    alice.wait_for_selector("body[data-closed='1']")
    alice.locator("#incident-summary .status-closed").wait_for()
    shot(alice, "closed")

    with httpx.Client(base_url=alarm_server.url) as c:
        c.post("/api/auth/login", json={"username": "super1", "password": DEMO_PASSWORD})
        inc = c.get(f"/api/incidents/{incident_id}").json()
    assert inc["status"] == "closed"
    assert (inc["disposition"], inc["false_alarm_cause"]) == ("false_alarm", "user_error")
    # Gone from everyone's queue without a reload.
    wang.goto("/console")
    wang.wait_for_selector("#live[data-state=connected]")
    assert wang.locator("#alarm-rows tr", has_text=ACCOUNT).count() == 0


def test_screen_pop_shows_the_callers_record_with_its_call_list(
        contexts: list[Any], alarm_server: LiveServer, shot: Any) -> None:
    acct = seed_account(alarm_server)
    page = contexts[0]()
    log_in(page, "agent2")  # extension 1002
    # The CTI's quick card names the ringing agent; the console fetches crm's summary itself.
    alarm_server.publish("screenpop", {"agent": "1002", "extension": "1002",
                                       "caller_number": "13800138001", "queue": "alarm",
                                       "call_id": "1795299810.0", "direction": "inbound",
                                       "account": {"id": acct, "number": ACCOUNT},
                                       "detail": False})
    card = page.locator("#screenpop .pop-card")
    card.locator("text=12 River Road").wait_for()
    assert "Riverside Pharmacy" in card.inner_text()
    assert card.locator("a[data-dial='13800138001']").count() >= 1  # click-to-dial
    assert "Zhang Wei" in card.inner_text() and "Li Na" in card.inner_text()
    card.locator("button[data-pop=ticket]").click()
    page.locator("#toast", has_text="Ticket created").wait_for()
    shot(page, "screen-pop")
    page.goto("/tickets")
    page.locator("#ticket-rows tr", has_text="13800138001").wait_for()
    shot(page, "tickets")


def test_supervisor_switches_disaster_mode_reports_count_alarms_admin_keeps_the_blacklist(
        contexts: list[Any], alarm_server: LiveServer, shot: Any) -> None:
    seed_account(alarm_server)
    alarm_server.publish("signal.received", burglary_signal())
    new_page = contexts[0]
    boss = new_page()
    log_in(boss, "super1")
    boss.on("dialog", lambda dialog: dialog.accept())  # "turn disaster mode on?"

    def disaster_active() -> bool:
        with httpx.Client(base_url=alarm_server.url) as c:
            c.post("/api/auth/login", json={"username": "super1", "password": DEMO_PASSWORD})
            return bool(c.get("/api/alarm-disaster").json()["active"])

    # The wallboard's switch: off, then on (the server agrees), then off again.
    boss.goto("/wallboard")
    switch = boss.locator("#disaster")
    boss.wait_for_selector("#disaster[data-active='0']")  # known once the server said so
    off_text = switch.locator(".state").inner_text()
    switch.locator("button").click()
    boss.wait_for_selector("#disaster[data-active='1']")
    assert switch.locator(".state").inner_text() != off_text
    assert disaster_active() is True
    shot(boss, "wallboard-disaster-on")
    switch.locator("button").click()
    boss.wait_for_selector("#disaster[data-active='0']")
    assert switch.locator(".state").inner_text() == off_text
    assert disaster_active() is False

    # Reports: today's burglary is counted in the alarms-per-day report.
    boss.goto("/reports")
    boss.wait_for_selector("#rep-alarms-day[data-state=ready]")
    today = datetime.now(UTC).date().isoformat()
    cells = boss.locator("#rep-alarms-day tbody tr").first.locator("td").all_text_contents()
    assert cells == [today, "burglary", "1"]
    assert boss.locator("#rep-alarms-day button.csv").is_enabled()
    shot(boss, "reports")
    boss.goto("/agents")
    shot(boss, "agents")

    # The blacklist is the administrator's: a number added in the form is listed, then removed.
    admin = new_page()
    log_in(admin, "admin")
    admin.goto("/admin")
    blacklist = admin.locator("#blacklist")
    blacklist.locator("input[name=number]").fill("139 0000 0099")
    blacklist.locator("input[name=reason]").fill("nuisance calls")
    blacklist.locator("button[type=submit]").click()
    row = blacklist.locator("tbody tr", has_text="+8613900000099")
    row.wait_for()
    assert "nuisance calls" in row.inner_text() and "admin" in row.inner_text()
    shot(admin, "blacklist")
    row.locator("button[data-unblock]").click()
    row.wait_for(state="detached")
    with httpx.Client(base_url=alarm_server.url) as c:
        c.post("/api/auth/login", json={"username": "super1", "password": DEMO_PASSWORD})
        assert c.get("/api/console/blacklist").json()["items"] == []
