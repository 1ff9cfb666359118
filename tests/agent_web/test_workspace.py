"""The operator's workspace, as a person uses it, on the demo's own assembly.

A panel's DC-09 frame raises the alarm, pbxsim (the demo's dialplan and phones) carries the
calls, the CTI and the alarm engine do their work, and the console in Chromium is driven only
through its own buttons. Nothing here answers a phone through pbxsim or posts to the API what a
button should do: the operator's own phone leg answers by itself because the operator asked for
the call (the auto-answer every console-placed call carries), and the premises behave as the
scenario says (answer, busy, no answer). Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cti.service import dial_string
from receivers.simulate.panels import Panel, PanelReport
from tests.agent_web.conftest import LiveServer, session_cookie
from vigil.demo_users import DEMO_PASSWORD

ACCOUNT = "100777"
PREMISES = "+862164350001"   # the premises line, called first
KEYHOLDER = "+8613900139001"  # the first keyholder, with passcode 4321 (duress 94321)
COLLEAGUE = "+8613900139002"  # the second keyholder


def subscriber(server: LiveServer) -> int:
    """An account with a premises line and two keyholders, entered as an administrator does
    when the subscriber joins (the back office is not what these tests are about)."""
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/api/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        h = {"X-CSRF-Token": r.json()["csrf_token"]}
        r = c.post("/api/accounts", headers=h, json={"number": ACCOUNT, "name": "滨江药房"})
        assert r.status_code == 201, r.text
        acct = int(r.json()["id"])
        for path, body in (
                ("premises", {"name": "门店", "address": "滨江路12号", "type": "shop"}),
                ("phones", {"number": PREMISES, "kind": "premises"}),
                ("contacts", {"name": "张伟", "role": "keyholder", "passcode": "4321",
                              "duress_code": "94321",
                              "phones": [{"number": KEYHOLDER, "kind": "mobile"}]}),
                ("contacts", {"name": "李娜", "role": "keyholder", "passcode": "8765",
                              "phones": [{"number": COLLEAGUE, "kind": "mobile"}]})):
            r = c.post(f"/api/accounts/{acct}/{path}", headers=h, json=body)
            assert r.status_code == 201, r.text
    return acct


def premises_behave(server: LiveServer, number: str, outcome: str, after: float = 1.0,
                    talk: float = 120.0) -> None:
    """What the phone at ``number`` does when called (the world, not the operator)."""
    async def script() -> None:
        server.sim.engine.phones.script_number(dial_string(number), outcome, after, talk)
    server.call(script())


def panel_sends(server: LiveServer, data: str = "1130 01 003") -> None:
    """The subscriber's panel reports over DC-09 (Contact ID 130: burglary, zone 3)."""
    async def send() -> bool:
        panel = Panel(ACCOUNT, "127.0.0.1", server.dc09_port, PanelReport())
        try:
            return await panel.send("ADM-CID", data, "alarm")
        finally:
            await panel.close()
    assert server.call(send()), "the receiver did not ACK the panel's frame"


@pytest.fixture
def browse(browser: Any, workspace_server: LiveServer) -> Iterator[Any]:
    made: list[Any] = []

    def new(username: str) -> Any:
        ctx = browser.new_context(viewport={"width": 1500, "height": 1000},
                                  base_url=workspace_server.url)
        made.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: print(f"{username} page error:", exc))
        page.on("console", lambda m: print(f"{username} console:", m.text)
                if m.type in ("error", "warning") else None)
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#live[data-state=connected]")
        if username != "admin":  # the administrator has no phone
            page.wait_for_selector("#phone-ready[data-ready='1']")
        page.evaluate("window.__sameDocument = true")
        return page

    yield new
    for ctx in made:
        ctx.close()


def take_the_alarm(page: Any) -> str:
    row = page.locator("#alarm-rows tr", has_text=ACCOUNT)
    row.wait_for()
    row.locator("button[data-take]").click()
    page.wait_for_url("**/incidents/*")
    page.wait_for_selector("#incident-owner .ok")
    return str(page.url.rsplit("/", 1)[1])


def calls_of(server: LiveServer, incident_id: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.url,
                      headers={"Cookie": session_cookie(server, "super1")}) as c:
        calls: list[dict[str, Any]] = c.get(f"/api/incidents/{incident_id}").json()["calls"]
        return calls


@pytest.mark.parametrize(("premises", "result"), [
    ("answer", "answered"), ("busy", "busy"), ("noanswer", "no_answer")])
def test_a_verification_call_from_the_plan_connects_and_its_outcome_comes_from_the_call(
        browse: Any, workspace_server: LiveServer, shot: Any, premises: str,
        result: str) -> None:
    subscriber(workspace_server)
    premises_behave(workspace_server, PREMISES, premises)
    page = browse("agent1")  # 中文, extension 1001
    panel_sends(workspace_server)
    incident = take_the_alarm(page)

    page.click("#incident-plan button[data-plan-call=premises]")
    # the operator's own leg answers by itself; then the premises ring
    page.wait_for_selector("#call-line[data-kind=verification]")
    page.wait_for_selector("#call-line:is([data-stage=ringing], [data-stage=answered], "
                           "[data-stage=busy], [data-stage=no_answer])")
    assert "1001" not in workspace_server.ringing()  # nobody had to pick up the own leg
    card = page.locator(f"#incident-calls .call-card[data-result={result}]")
    card.wait_for(timeout=40_000)
    shot(page, f"call-{premises}")
    words = {"answered": "已接听", "busy": "忙", "no_answer": "无人接听"}[result]
    assert words in card.inner_text()

    if result != "answered":
        # nothing to type: no form offers "answered" for a call that never connected
        assert card.locator("form.check-form").count() == 0
        assert [c["result"] for c in calls_of(workspace_server, incident)] == [result]
        return

    form = card.locator("form.check-form")
    form.locator("input[name=code]").fill("4321")
    form.locator("button[value=check]").click()
    page.locator("#incident-calls .code-valid").wait_for()
    assert "密码正确" in page.locator("#incident-calls").inner_text()
    shot(page, "passcode-correct")
    page.click("button[data-action=hangup]")
    page.wait_for_selector("#call-line[data-state=idle]")

    close = page.locator("#close-form")
    close.locator("select[name=disposition]").select_option("false_alarm")
    close.locator("select[name=cause]").select_option("user_error")
    close.locator("button[type=submit]").click()
    page.locator("#incident-summary .status-closed").wait_for()
    (call,) = calls_of(workspace_server, incident)
    assert (call["result"], call["code_result"]) == ("answered", "valid")
    assert page.evaluate("window.__sameDocument") is True


def test_a_call_survives_moving_between_views_and_a_reload(
        browse: Any, workspace_server: LiveServer, shot: Any) -> None:
    acct = subscriber(workspace_server)
    premises_behave(workspace_server, PREMISES, "answer")
    page = browse("agent2")  # English, extension 1002
    panel_sends(workspace_server)
    take_the_alarm(page)
    page.click("#incident-plan button[data-plan-call=premises]")
    page.wait_for_selector("#call-line[data-state=connected][data-stage=answered]",
                           timeout=20_000)

    page.click("#nav a[data-nav=console]")  # the alarm queue
    page.wait_for_selector("#view[data-view=console] #alarm-table")
    assert page.locator("#call-line").get_attribute("data-state") == "connected"
    page.click(f"#screenpop a[href='/subscribers/{acct}']")  # the subscriber
    page.wait_for_selector("#view[data-view=subscriber]")
    assert page.locator("#call-line").get_attribute("data-state") == "connected"
    shot(page, "subscriber-during-call")
    page.go_back()  # the back button, twice: the alarm queue, then the incident again
    page.wait_for_selector("#view[data-view=console][data-mounted]")
    page.go_back()
    page.wait_for_selector("#view[data-view=incident][data-mounted]")
    assert page.evaluate("window.__sameDocument") is True  # never a page load
    assert page.locator("button[data-action=hangup]").is_enabled()
    assert page.locator("button[data-action=hold]").is_enabled()

    page.reload()  # the server is the truth: the call and its pop come back
    page.wait_for_selector("#call-line[data-state=connected]")
    page.locator("#screenpop .pop-card", has_text="滨江药房").wait_for()
    page.click("button[data-action=hangup]")
    page.wait_for_selector("#call-line[data-state=idle]")
    page.wait_for_selector("#screenpop[data-state=idle]")


def test_reload_while_a_queue_call_rings_and_while_it_is_connected(
        browse: Any, workspace_server: LiveServer, shot: Any) -> None:
    subscriber(workspace_server)
    page = browse("agent2")
    page.click("button[data-action=join]")
    page.wait_for_selector("#agent-state[data-state=ready]")
    workspace_server.place_call(KEYHOLDER)  # 张伟 rings the support line
    page.wait_for_selector("#call-line[data-state=ringing]")
    page.reload()
    page.wait_for_selector("#call-line[data-state=ringing]")
    page.locator("#screenpop .pop-card", has_text="滨江药房").wait_for()
    page.click("button[data-action=answer]")
    page.wait_for_selector("#call-line[data-state=connected]")
    page.reload()
    page.wait_for_selector("#call-line[data-state=connected]")
    page.locator("#screenpop .pop-card", has_text="滨江药房").wait_for()
    shot(page, "after-reload")
    page.click("button[data-action=hangup]")
    page.wait_for_selector("#screenpop[data-state=idle]")
    page.locator("#recent-calls li", has_text=KEYHOLDER).wait_for()


def test_signing_out_leaves_the_queues_so_the_next_caller_rings_someone_else(
        browse: Any, workspace_server: LiveServer, shot: Any) -> None:
    first, second = browse("agent1"), browse("agent2")
    for page in (first, second):
        page.click("button[data-action=join]")
        page.wait_for_selector("#agent-state[data-state=ready]")
    first.click("#logout-form button[type=submit]")
    first.wait_for_url("**/login")
    row = None
    boss = browse("super1")
    boss.click("#nav a[data-nav=agents]")
    row = boss.locator("#agent-rows tr[data-ext='1002']")
    row.wait_for()
    boss.wait_for_function("() => !document.querySelector(\"#agent-rows tr[data-ext='1001']\")")
    shot(boss, "grid-after-sign-out")
    for _ in range(3):  # whatever the queue's rotation, the empty seat never rings
        workspace_server.place_call(KEYHOLDER)
        second.wait_for_selector("#call-line[data-state=ringing]")
        assert "1001" not in workspace_server.ringing()
        second.click("button[data-action=answer]")
        second.wait_for_selector("#call-line[data-state=connected]")
        second.click("button[data-action=hangup]")
        second.wait_for_selector("#call-line[data-state=idle]")
        second.wait_for_selector("#agent-state[data-state=ready]", timeout=20_000)


def test_wrap_up_counts_down_and_the_disposition_goes_on_the_call_record(
        browse: Any, workspace_server: LiveServer, shot: Any) -> None:
    page = browse("agent2")
    page.click("button[data-action=join]")
    page.wait_for_selector("#agent-state[data-state=ready]")
    workspace_server.place_call(KEYHOLDER)
    page.wait_for_selector("#call-line[data-state=ringing]")
    page.click("button[data-action=answer]")
    page.wait_for_selector("#call-line[data-state=connected]")
    page.click("button[data-action=hangup]")
    page.wait_for_selector("#agent-state[data-state=wrapup]")
    left = page.locator("#agent-since").inner_text()
    assert re.search(r"\d+ s", left), left  # the countdown
    form = page.locator("#wrapup-form")
    form.wait_for()
    shot(page, "wrap-up")
    form.locator("select[name=disposition]").select_option("info_given")
    form.locator("button[type=submit]").click()
    page.locator("#recent-calls li", has_text="Information given").wait_for()
    with httpx.Client(base_url=workspace_server.url,
                      headers={"Cookie": session_cookie(workspace_server, "super1")}) as c:
        (record,) = [r for r in c.get("/api/calls?limit=5").json()["items"]
                     if r["queue"] == "support"]
    assert record["disposition"] == "info_given"
    boss = browse("super1")  # and the reports count it, in the supervisor's words
    boss.click("#nav a[data-nav=reports]")
    boss.wait_for_selector("#rep-dispositions[data-state=ready]")
    assert boss.locator("#rep-dispositions tbody tr").first.locator("td").all_text_contents() \
        == ["已答复咨询", "1"]


def test_click_to_dial_a_keyholder_hold_retrieve_and_a_three_way_call(
        browse: Any, workspace_server: LiveServer, shot: Any) -> None:
    acct = subscriber(workspace_server)
    premises_behave(workspace_server, KEYHOLDER, "answer")
    premises_behave(workspace_server, COLLEAGUE, "answer")
    page = browse("agent1")
    page.click("button[data-action=join]")
    page.wait_for_selector("#agent-state[data-state=ready]")
    page.goto(f"/subscribers/{acct}")
    page.click(f"#sub-calllist a[data-dial='{KEYHOLDER}']")  # click-to-dial
    page.wait_for_selector("#call-line[data-kind=dial]")
    page.wait_for_selector("#call-line[data-state=connected][data-stage=answered]",
                           timeout=20_000)
    assert "1001" not in workspace_server.ringing()  # the own leg answered by itself
    page.wait_for_selector("#agent-state[data-state=in_call]")

    page.click("button[data-action=hold]")  # the keyholder hears music; I stay busy
    page.wait_for_selector("#call-line[data-state=held]")
    assert page.locator("#agent-state").get_attribute("data-state") == "in_call"
    shot(page, "held")
    page.click("button[data-action=hold]")  # one click back
    page.wait_for_selector("#call-line[data-state=connected]")
    assert page.locator("#agent-state").get_attribute("data-state") == "in_call"

    # the second keyholder joins: a three-way call
    page.select_option("#transfer-target", "number:")
    page.fill("#transfer-form input[name=exten]", COLLEAGUE)
    page.click("#transfer-form button[value=conference]")
    page.wait_for_selector("#call-conference:not([hidden])", timeout=20_000)
    page.wait_for_function("(n) => document.querySelector('#call-conference').textContent"
                           ".includes(n.slice(-8))", arg=COLLEAGUE)
    shot(page, "three-way")
    page.click("button[data-action=hangup]")
    page.wait_for_selector("#call-line[data-state=idle]", timeout=20_000)


def test_a_supervisor_listens_then_whispers_then_barges(
        browse: Any, workspace_server: LiveServer, shot: Any) -> None:
    agent = browse("agent2")
    agent.click("button[data-action=join]")
    agent.wait_for_selector("#agent-state[data-state=ready]")
    workspace_server.place_call(KEYHOLDER, talk=120)
    agent.wait_for_selector("#call-line[data-state=ringing]")
    agent.click("button[data-action=answer]")
    agent.wait_for_selector("#call-line[data-state=connected]")

    boss = browse("super1")  # 中文, extension 2001
    boss.click("#nav a[data-nav=agents]")
    row = boss.locator("#agent-rows tr[data-ext='1002']")
    row.locator("button[data-spy=listen]:not([disabled])").wait_for()
    row.locator("button[data-spy=listen]").click()
    # the supervisor's own phone connects by itself into the spy
    boss.wait_for_selector("#call-line[data-kind=spy][data-stage=answered]", timeout=20_000)
    row.locator(".spy[data-spy-mode=listen]").wait_for()
    assert "2001" not in workspace_server.ringing()
    shot(boss, "listening")
    row.locator("button[data-spy=whisper]").click()
    row.locator(".spy[data-spy-mode=whisper]").wait_for()
    row.locator("button[data-spy=barge]").click()
    row.locator(".spy[data-spy-mode=barge]").wait_for()
    assert "已强插" in row.inner_text()
    shot(boss, "barged")

    agent.click("button[data-action=hangup]")  # the spy ends with the call
    row.locator(".spy").wait_for(state="detached")
    boss.wait_for_selector("#call-line[data-state=idle]", timeout=20_000)


def test_every_page_speaks_chinese(browse: Any, workspace_server: LiveServer,
                                   shot: Any) -> None:
    """Each page in Chinese, as agent1, super1 and admin (who switches the language with the
    button): no catalogue key is missing, no English console text and no raw code
    (``panel_open_close_exception``) is on screen."""
    subscriber(workspace_server)
    panel_sends(workspace_server)
    english = workspace_server.call(_english_strings())
    for user, paths in (("agent1", ["/console", "/tickets"]),
                        ("super1", ["/wallboard", "/agents", "/reports"]),
                        ("admin", ["/admin"])):
        page = browse(user)
        if page.locator("html").get_attribute("lang") != "zh-CN":  # admin works in English
            page.click("#lang-switch")
            page.wait_for_selector("html[lang=zh-CN]")
            page.wait_for_selector("#live[data-state=connected]")
        for path in paths + (["/incidents/1", "/subscribers/1"] if user == "agent1" else []):
            page.goto(path)
            page.wait_for_selector("#live[data-state=connected]")
            page.wait_for_timeout(1500)  # the view's data has arrived
            texts: list[str] = page.evaluate(VISIBLE_TEXT)
            bad = sorted({t for t in texts if t in english or CODE.fullmatch(t)})
            missing = page.evaluate("[...window.vigil.missing]")
            shot(page, f"zh{path.replace('/', '-')}")
            assert not missing, f"{path}: keys without words: {missing}"
            assert not bad, f"{path}: untranslated: {bad}"


CODE = re.compile(r"[a-z]+(?:_[a-z0-9]+)+")
VISIBLE_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const el = walk.currentNode.parentElement;
    const text = walk.currentNode.textContent.trim();
    // what is not console text: codes shown as codes, and text marked as another language
    // (an item's English name next to its Chinese one)
    if (!text || !el || el.closest("script, style, template, [hidden], code, [lang=en]")) continue;
    if (el.closest("option") || el.offsetParent !== null) out.push(text);
  }
  return out;
}"""


async def _english_strings() -> set[str]:
    """The console's English words that are not also its Chinese ones (``Vigil``, ``P1``), nor
    a person's name that happens to be one (the demo's "Administrator" is a display name)."""
    from agent_web.i18n import CATALOGUE
    from crm.seed import DEMO_USERS

    names = {u[1] for u in DEMO_USERS}
    return {v["en"] for v in CATALOGUE.values()
            if v["en"] != v["zh-CN"] and len(v["en"]) > 3 and v["en"] not in names}
