"""The softphone, agent state, supervisor grid and wallboard against pbxsim and the real CTI.

pbxsim runs in real time inside the live server with the demo dialplan; the agents' phones ring
until the console answers them. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.agent_web.conftest import LiveServer, session_cookie
from tests.agent_web.test_browser import log_in


@pytest.fixture
def context(browser: Any, telephony_server: LiveServer) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000},
                              base_url=telephony_server.url)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def premises_phone(server: LiveServer) -> tuple[str, str]:
    """(E.164, account name) of a generated subscriber's premises line."""
    from crm.models import Account, Phone

    async def read() -> tuple[str, str]:
        assert server.services is not None
        async with server.services.db.session() as s:
            row = (await s.execute(select(Phone.e164, Account.name)
                                   .join(Account, Account.id == Phone.account_id)
                                   .where(Phone.contact_id.is_(None)).order_by(Phone.id)
                                   .limit(1))).one()
        return str(row[0]), str(row[1])

    result: tuple[str, str] = server.call(read())
    return result


def until_tile(page: Any, queue: str, index: int, text: str) -> None:
    """Wait until tile ``index`` of the queue's wallboard card shows ``text`` (the card is
    re-rendered on every update, so it is looked up afresh each time)."""
    page.wait_for_function(
        """([q, i, want]) => {
          const card = [...document.querySelectorAll('.queue-card')]
            .find((c) => c.querySelector('h3')?.textContent === q);
          return card?.querySelectorAll('.tile b')[i]?.textContent === want;
        }""", arg=[queue, index, text])


def join_queues(page: Any) -> None:
    page.click("button[data-action=join]")
    page.wait_for_selector("#agent-state[data-state=ready]")


def test_ringing_call_pops_the_caller_then_answer_and_hang_up(context: Any,
                                                             telephony_server: LiveServer,
                                                             shot: Any) -> None:
    page = context.new_page()
    log_in(page, "agent2")  # English, extension 1002
    page.wait_for_selector("#phone[data-mode=pbxsim]")
    assert page.locator("#agent-state").inner_text() == "Not in queues"
    assert page.locator("#phone-notice").inner_text() == "Join your queues to take calls"
    shot(page, "logged-out")
    join_queues(page)
    assert "support ✓" in page.locator("#queue-boxes").text_content()

    number, account = premises_phone(telephony_server)
    telephony_server.place_call(number)
    page.wait_for_selector("#call-line[data-state=ringing]")
    page.wait_for_selector(f"#screenpop .pop-card:has-text('{account}')")
    # the card is there while the phone still rings: nobody has answered yet
    assert telephony_server.ringing() == ["1002"]
    assert number in page.locator("#call-party").inner_text()
    assert page.locator("button[data-action=answer]").is_enabled()
    shot(page, "ringing-with-pop")

    page.click("button[data-action=answer]")
    page.wait_for_selector("#agent-state[data-state=in_call]")
    page.wait_for_selector("#call-line[data-state=connected]")
    assert telephony_server.ringing() == []
    assert page.locator("[data-dtmf='5']").is_enabled()
    assert page.locator("button[data-action=answer]").is_disabled()
    shot(page, "connected")

    page.click("button[data-action=hangup]")
    page.wait_for_selector("#call-line[data-state=idle]")
    page.wait_for_selector("#agent-state:is([data-state=wrapup], [data-state=ready])")
    assert page.locator("button[data-action=hangup]").is_disabled()
    shot(page, "after-hangup")


def test_pause_with_a_reason_shows_on_the_supervisor_grid(context: Any,
                                                          telephony_server: LiveServer,
                                                          shot: Any) -> None:
    agent = context.new_page()
    log_in(agent, "agent2")
    join_queues(agent)
    agent.select_option("#pause-reason", "lunch")
    agent.click("button[data-action=pause]")
    agent.wait_for_selector("#agent-state[data-state=paused]")
    assert agent.locator("#agent-reason").inner_text() == "Lunch"
    shot(agent, "agent-paused")

    boss_ctx = context.browser.new_context(viewport={"width": 1440, "height": 900},
                                           base_url=telephony_server.url)
    try:
        boss = boss_ctx.new_page()
        boss.set_default_timeout(10_000)
        log_in(boss, "super1")
        boss.goto("/agents")
        row = boss.locator("#agent-rows tr[data-ext='1002']")
        row.wait_for()
        assert row.get_attribute("data-state") == "paused"
        assert "用餐" in row.inner_text()  # the reason in the supervisor's language
        shot(boss, "grid-paused")

        # the agent makes themself ready again: the grid follows Asterisk without a reload
        agent.click("button[data-action=ready]")
        boss.wait_for_selector("#agent-rows tr[data-ext='1002'][data-state=ready]")
        # and the supervisor can force a pause
        boss.click("#agent-rows tr[data-ext='1002'] button[data-force=pause]")
        agent.wait_for_selector("#agent-state[data-state=paused]")
        boss.wait_for_selector("#agent-rows tr[data-ext='1002'][data-state=paused]")
        shot(boss, "grid-forced-pause")
    finally:
        boss_ctx.close()


def test_wallboard_numbers_follow_calls_arriving_and_answered(context: Any,
                                                              telephony_server: LiveServer,
                                                              shot: Any) -> None:
    cookie = session_cookie(telephony_server, "agent2")
    headers = {"Cookie": cookie}
    with httpx.Client(base_url=telephony_server.url, headers=headers) as c:
        r = c.post("/api/cti/login", json={"queues": ["support"]})
        assert r.status_code == 200, r.text

        page = context.new_page()
        log_in(page, "super1")
        page.goto("/wallboard")
        page.locator(".queue-card:has(h3:text-is('support'))").wait_for()
        until_tile(page, "support", 5, "1")  # agents free
        until_tile(page, "support", 0, "0")  # callers waiting
        shot(page, "quiet")

        number, _ = premises_phone(telephony_server)
        telephony_server.place_call(number, talk=60)
        telephony_server.place_call("+8613900000099", talk=60)  # a second caller waits
        until_tile(page, "support", 0, "2")
        # the longest wait keeps counting while the callers wait, without new events
        page.wait_for_function(
            """() => [...document.querySelectorAll('.queue-card')]
                 .find((c) => c.querySelector('h3')?.textContent === 'support')
                 ?.querySelectorAll('.tile b')[1]?.textContent !== '0:00'""", timeout=5000)
        shot(page, "callers-waiting")
        r = c.post("/api/console/phone/answer", json={})
        assert r.status_code == 200, r.text
        until_tile(page, "support", 0, "1")  # the answered caller left the queue
        until_tile(page, "support", 5, "0")  # and the agent is busy
        until_tile(page, "support", 6, "1")  # counted among agents on a call
        shot(page, "answered")


def ringing_calls(server: LiveServer) -> list[Any]:
    async def read() -> list[Any]:
        return list(server.sim.engine.phones.ringing())
    result: list[Any] = server.call(read())
    return result


def test_transfer_to_an_agent_picked_from_the_list_hold_and_park(
        context: Any, telephony_server: LiveServer, shot: Any) -> None:
    with httpx.Client(base_url=telephony_server.url,
                      headers={"Cookie": session_cookie(telephony_server, "agent1")}) as c:
        r = c.post("/api/cti/login", json={"queues": ["emergency"]})  # 1001, not on support
        assert r.status_code == 200, r.text
    page = context.new_page()
    log_in(page, "agent2")
    page.wait_for_selector("#phone[data-mode=pbxsim]")
    join_queues(page)

    number, _ = premises_phone(telephony_server)
    telephony_server.place_call(number)
    page.wait_for_selector("#call-line[data-state=ringing]")
    page.click("button[data-action=answer]")
    page.wait_for_selector("#call-line[data-state=connected]")
    picker = page.locator("#transfer-target")
    page.wait_for_selector("#transfer-target option[value='agent:1001']", state="attached")
    options = picker.locator("option").all_inner_texts()
    assert any("1001" in o for o in options)  # the other agent, with extension and state
    assert "queue:support" in [o.get_attribute("value") for o in picker.locator("option").all()]
    assert page.locator("#transfer-target option[value='agent:1002']").count() == 0  # not me
    # the caller goes to the emergency queue, where only 1001 is: 1001's phone rings
    picker.select_option("queue:emergency")
    shot(page, "transfer-picker")
    page.click("#transfer-form button[value=blind]")
    for _ in range(100):
        if telephony_server.ringing() == ["1001"]:
            break
        page.wait_for_timeout(50)
    assert [r.exten for r in ringing_calls(telephony_server)] == ["1001"]
    page.wait_for_selector("#call-line[data-state=idle]")

    # a second caller: answered, then held: the caller hears music, the agent stays busy, and
    # one click takes the call back
    page.wait_for_selector("#agent-state:is([data-state=ready], [data-state=wrapup])")
    telephony_server.place_call("+8613900000077")
    page.wait_for_selector("#call-line[data-state=ringing]", timeout=15_000)
    page.click("button[data-action=answer]")
    page.wait_for_selector("#call-line[data-state=connected]")
    page.click("button[data-action=hold]")
    page.wait_for_selector("#call-line[data-state=held]")
    assert page.locator("#agent-state").get_attribute("data-state") == "in_call"
    assert page.locator("button[data-action=hold]").inner_text() == "Retrieve"
    shot(page, "held")
    page.click("button[data-action=hold]")
    page.wait_for_selector("#call-line[data-state=connected]")
    assert page.locator("#agent-state").get_attribute("data-state") == "in_call"

    # park is still there for what it is: the caller waits in the lot for anyone to pick up
    page.click("button[data-action=park]")
    page.wait_for_selector("#parked:not([hidden]) #parked-list button[data-space]")
    space = page.get_attribute("#parked-list button[data-space]", "data-space")
    assert space and space.isdigit()
    assert "+8613900000077" in page.inner_text("#parked-list")
    shot(page, "parked")
    page.click("#parked-list button[data-space]")
    for _ in range(100):
        if "1002" in telephony_server.ringing():
            break
        page.wait_for_timeout(50)
    assert "1002" in telephony_server.ringing()  # retrieving rings my phone with the caller


def test_admin_sees_the_queues_and_who_is_in_them(context: Any,
                                                  telephony_server: LiveServer,
                                                  shot: Any) -> None:
    with httpx.Client(base_url=telephony_server.url,
                      headers={"Cookie": session_cookie(telephony_server, "agent2")}) as c:
        assert c.post("/api/cti/login", json={"queues": ["support"]}).status_code == 200
    page = context.new_page()
    log_in(page, "admin")
    page.goto("/admin")
    row = page.locator("#queues tr[data-queue=support]")
    row.wait_for()
    page.wait_for_function("() => document.querySelector('#queues tr[data-queue=support]')"
                           ".textContent.includes('Alice Chen')")
    assert "4000" in row.inner_text()  # the line that reaches it
    assert "Alice Chen" not in page.inner_text("#queues tr[data-queue=emergency]")
    shot(page, "admin-queues")
