"""Console pages and the language preference, through the ASGI app."""

from __future__ import annotations

import httpx

from tests.conftest import TEST_PASSWORD, LoginFactory


async def test_pages_need_a_login_and_the_right_role(client: httpx.AsyncClient,
                                                     login: LoginFactory) -> None:
    r = await client.get("/console")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/console"
    agent = await login("agent", extension="1001")
    page = await agent.get("/console")
    assert page.status_code == 200
    assert 'id="alarm-rows"' in page.text and 'id="live"' in page.text
    assert (await agent.get("/incidents/42")).status_code == 200
    for path in ("/wallboard", "/agents", "/admin"):
        assert (await agent.get(path)).status_code == 403, path
    boss = await login("supervisor")
    assert (await boss.get("/wallboard")).status_code == 200
    assert (await boss.get("/agents")).status_code == 200
    assert (await boss.get("/admin")).status_code == 403
    admin = await login("admin")
    assert (await admin.get("/admin")).status_code == 200


async def test_navigation_offers_only_what_the_role_may_open(login: LoginFactory) -> None:
    agent = await login("agent")
    text = (await agent.get("/console")).text
    assert 'href="/console"' in text and 'href="/wallboard"' not in text
    admin = await login("admin")
    text = (await admin.get("/console")).text
    assert 'href="/wallboard"' in text and 'href="/admin"' in text


async def test_user_switches_own_language(client: httpx.AsyncClient,
                                          login: LoginFactory) -> None:
    r = await client.patch("/api/me/language", json={"language": "en"})
    assert r.status_code == 401
    agent = await login("agent", language="zh-CN")
    assert "警情队列" in (await agent.get("/console")).text
    r = await agent.patch("/api/me/language", json={"language": "en"})
    assert r.status_code == 200 and r.json()["language"] == "en"
    page = (await agent.get("/console")).text
    assert "Alarm queue" in page and '<html lang="en">' in page
    assert (await agent.get("/api/auth/me")).json()["user"]["language"] == "en"
    bad = await agent.patch("/api/me/language", json={"language": "fr"})
    assert bad.status_code == 422
    admin = await login("admin")
    audit = (await admin.get("/api/audit", params={"entity": "user"})).json()["items"]
    assert any(e["actor"] == "agent" and e["after"]["language"] == "en" for e in audit)


async def test_login_returns_to_the_page_asked_for(client: httpx.AsyncClient,
                                                   login: LoginFactory) -> None:
    await login("agent")  # creates the user
    form = await client.get("/login?next=/incidents/9")
    assert 'name="next" value="/incidents/9"' in form.text
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post("/login", data={"username": "agent", "password": TEST_PASSWORD,
                                          "csrf_token": csrf, "next": "/incidents/9"})
    assert r.status_code == 303 and r.headers["location"] == "/incidents/9"
    form = await client.get("/login")
    csrf = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post("/login", data={"username": "agent", "password": TEST_PASSWORD,
                                          "csrf_token": csrf, "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_console_helpers_and_pages_refuse_the_roles_they_should(
        login: LoginFactory) -> None:
    """Agents read the console options and tickets; the blacklist and reports are for
    supervisors, who may add a number (refused again by the IVR)."""
    agent = await login("agent")
    options = (await agent.get("/api/console/options")).json()
    assert "false_alarm" in options["dispositions"] and "user_error" in options[
        "false_alarm_causes"]
    assert (await agent.get("/api/console/blacklist")).status_code == 403
    assert (await agent.get("/tickets")).status_code == 200
    assert (await agent.get("/reports")).status_code == 403
    boss = await login("supervisor")
    assert (await boss.get("/reports")).status_code == 200
    r = await boss.post("/api/console/blacklist", json={"number": "13800000009",
                                                        "reason": "nuisance"})
    assert r.status_code == 201, r.text
    listed = (await boss.get("/api/console/blacklist")).json()["items"]
    assert [e["reason"] for e in listed] == ["nuisance"]
    assert (await boss.delete("/api/console/blacklist",
                              params={"number": "13800000009"})).status_code == 200
    assert (await boss.get("/api/console/blacklist")).json()["items"] == []


async def test_admin_and_report_routes_refuse_the_wrong_role(login: LoginFactory) -> None:
    agent = await login("agent", extension="1001")
    boss = await login("supervisor")
    admin = await login("admin")
    for path in ("/admin",):
        assert (await agent.get(path)).status_code == 403
        assert (await boss.get(path)).status_code == 403
        assert (await admin.get(path)).status_code == 200
    assert (await agent.get("/reports")).status_code == 403
    assert (await boss.get("/reports")).status_code == 200

    # the backing admin APIs the page uses
    new_user = {"username": "x1", "password": "long-enough", "role": "agent"}
    plan = {"match": "fire", "steps": ["call_list"]}
    key = {"account": "1234", "kind": "hex", "value": "00112233445566778899AABBCCDDEEFF"}
    for who in (agent, boss):
        assert (await who.post("/api/users", json=new_user)).status_code == 403
        assert (await who.patch("/api/users/1", json={"role": "admin"})).status_code == 403
        assert (await who.post("/api/users/1/archive")).status_code == 403
        assert (await who.post("/api/action-plans", json=plan)).status_code == 403
        assert (await who.get("/api/receivers/dc09-keys")).status_code == 403
        assert (await who.post("/api/receivers/dc09-keys", json=key)).status_code == 403
        assert (await who.get("/api/receivers")).status_code == 403
    assert (await admin.post("/api/users", json=new_user)).status_code == 201
    assert (await admin.post("/api/action-plans", json=plan)).status_code == 201
    assert (await admin.post("/api/receivers/dc09-keys", json=key)).status_code == 201
    # supervisors' reports; not agents'
    for path in ("/api/console/reports/alarms-per-day",
                 "/api/stats/calls", "/api/alarm-stats/false-alarms", "/api/alarm-stats/handling"):
        assert (await agent.get(path)).status_code == 403, path
    assert (await boss.get("/api/console/reports/alarms-per-day")).status_code == 200
    # the transfer picker is the agent's own; without a CTI the transfer itself is refused
    r = await agent.get("/api/console/transfer-targets")
    assert r.status_code == 200 and r.json()["cti"] is False
    assert {q["name"] for q in r.json()["queues"]} >= {"support", "emergency"}
    r = await agent.post("/api/console/phone/transfer", json={"kind": "queue",
                                                              "target": "support"})
    assert r.status_code == 503


def test_every_alarm_kind_and_step_has_words_in_both_languages() -> None:
    """The console names every kind the engine can raise and every plan step in Chinese and
    English (a code on screen is an untranslated string)."""
    from agent_web.i18n import CATALOGUE
    from alarms import plans

    keys = {f"class.{k}" for k in plans.DEFAULT_STEPS} | {f"step.{s}" for s in plans.STEP_KINDS}
    missing = sorted(k for k in keys if k not in CATALOGUE)
    assert not missing, missing
