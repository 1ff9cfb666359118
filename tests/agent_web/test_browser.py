"""The console in Debian's Chromium (Playwright): log in, live alarm queue, language, link loss.

Screenshots go to artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.agent_web.conftest import LiveServer
from vigil.demo_users import DEMO_PASSWORD


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#live[data-state=connected]")


def test_agent_logs_in_sees_the_console_and_switches_language(page: Any, shot: Any) -> None:
    page.goto("/login")
    shot(page, "login")
    log_in(page, "agent1")  # a Chinese-speaking agent
    assert page.url.endswith("/")
    assert page.locator("#queue-h").inner_text() == "警情队列"
    assert page.locator("#live").inner_text() == "实时连接正常"
    assert page.locator("#queue-empty").is_visible()
    assert page.locator("#disconnected").is_hidden()
    shot(page, "console-zh")

    page.click("#lang-switch")
    page.wait_for_selector("text=Alarm queue")
    page.wait_for_selector("#live[data-state=connected]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#pop-h").inner_text() == "Screen pop"
    shot(page, "console-en")
    page.reload()  # the choice is saved on the user, not just in this page
    assert page.locator("#queue-h").inner_text() == "Alarm queue"


def test_new_incident_appears_in_the_queue_without_reload(page: Any, live_server: LiveServer,
                                                         shot: Any) -> None:
    log_in(page, "agent2")
    page.evaluate("window.__sameDocument = true")
    # Shaped as the alarm engine publishes them: the incident record under "incident".
    live_server.publish("incident.opened", {"change": "signals", "incident": {
        "id": 501, "priority": 2, "kind": "burglary", "event_class": "alarm",
        "account_number": "100234", "account_name": "Riverside Pharmacy", "status": "new",
        "zones": {"3": {"kind": "burglary", "state": "active", "at": "2025-01-01T03:00:00"}}}})
    live_server.publish("incident.opened", {"change": "signals", "incident": {
        "id": 502, "priority": 1, "kind": "fire", "event_class": "alarm",
        "account_number": "100777", "account_name": "Sunrise Kindergarten", "status": "new",
        "zones": {"7": {"kind": "fire", "state": "active", "at": "2025-01-01T03:00:05"}}}})
    rows = page.locator("#alarm-rows tr")
    rows.nth(1).wait_for()
    # Priority first: the fire sorts above the burglary that came earlier.
    assert "100777 · Sunrise Kindergarten" in rows.nth(0).inner_text()
    assert "100234 · Riverside Pharmacy" in rows.nth(1).inner_text()
    assert "Fire" in rows.nth(0).inner_text() and "Critical" in rows.nth(0).inner_text()
    assert page.locator("#alarm-count").inner_text() == "2"
    assert page.locator("#alarm-strip").get_attribute("data-top") == "1"
    assert page.evaluate("window.__sameDocument") is True
    shot(page, "queue-two-incidents")

    live_server.publish("incident.closed", {"incident": {"id": 502, "status": "closed"}})
    page.wait_for_function("() => document.querySelectorAll('#alarm-rows tr').length === 1")
    assert page.locator("#alarm-count").inner_text() == "1"


def test_console_says_when_it_is_disconnected_and_recovers(page: Any, live_server: LiveServer,
                                                          shot: Any) -> None:
    log_in(page, "agent2")
    live_server.stop()
    page.wait_for_selector("#disconnected", state="visible")
    assert page.locator("#live").get_attribute("data-state") == "disconnected"
    assert "Disconnected" in page.locator("#disconnected").inner_text()
    shot(page, "disconnected")

    live_server.start()  # the node comes back on the same port
    page.wait_for_selector("#live[data-state=connected]", timeout=15_000)
    assert page.locator("#disconnected").is_hidden()
    live_server.publish("incident.opened", {"id": 9, "priority": 3, "event_class": "trouble",
                                            "account_name": "Depot"})
    page.wait_for_selector("#alarm-rows tr[data-id='9']")
