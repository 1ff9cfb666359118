"""The console's phone, pause-code and agent-grid API through the ASGI app (no CTI running)."""

from __future__ import annotations

from typing import Any

from agent_web.console_settings import ConsoleSettings
from core.services import Services
from tests.conftest import LoginFactory


async def test_configured_lists_have_both_languages_and_only_their_editors_change_them(
        login: LoginFactory, services: Services) -> None:
    agent = await login("agent", extension="1001")
    r = await agent.get("/api/console/choices/pause_code")
    assert r.status_code == 200
    names = {p["code"]: p["names"] for p in r.json()["items"]}
    # the defaults, stored on first read, with a name in each language
    assert names["lunch"] == {"zh-CN": "用餐", "en": "Lunch"} and "break" in names
    dispositions = (await agent.get("/api/console/choices/disposition")).json()["items"]
    assert dispositions and all(d["names"]["zh-CN"] and d["names"]["en"] for d in dispositions)
    new = {"names": {"zh-CN": "辅导", "en": "Coaching"}}
    assert (await agent.put("/api/console/choices/pause_code/coaching",
                            json=new)).status_code == 403
    assert (await agent.delete("/api/console/choices/pause_code/lunch")).status_code == 403

    boss = await login("supervisor")
    r = await boss.put("/api/console/choices/pause_code/coaching", json=new)
    assert r.status_code == 200 and r.json()["names"]["en"] == "Coaching"
    r = await boss.put("/api/console/choices/pause_code/coaching",
                       json={"names": {"zh-CN": "一对一辅导", "en": "Coaching 1:1"}})
    assert r.status_code == 200
    assert (await boss.delete("/api/console/choices/pause_code/lunch")).status_code == 200
    assert (await boss.delete("/api/console/choices/pause_code/lunch")).status_code == 404
    bad = await boss.put("/api/console/choices/pause_code/x y", json=new)
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "bad_code"
    missing = await boss.put("/api/console/choices/pause_code/x",
                             json={"names": {"en": "X"}})
    assert missing.status_code == 422
    # fee plans are the administrators'
    assert (await boss.put("/api/console/choices/fee_plan/gold", json=new)).status_code == 403
    admin = await login("admin")
    assert (await admin.put("/api/console/choices/fee_plan/gold", json=new)).status_code == 200

    items = {p["code"]: p["names"] for p in (await agent.get(
        "/api/console/choices/pause_code")).json()["items"]}
    assert items["coaching"]["zh-CN"] == "一对一辅导" and "lunch" not in items
    # every change is audited, with the names before and after
    trail = (await admin.get("/api/audit?entity=pause_code")).json()["items"]
    assert {(e["action"], e["entity_id"]) for e in trail} >= {
        ("create", "coaching"), ("update", "coaching"), ("archive", "lunch")}


async def test_phone_panel_without_the_cti_says_so_and_keeps_credentials_private(
        login: LoginFactory, services: Services) -> None:
    services.extra["console_settings"] = ConsoleSettings(  # type: ignore[call-arg]
        _env_file=None, webrtc_wss_url="wss://pbx.example.com:8089/ws")
    agent = await login("agent", extension="1001", sip_password="s3cret-1001")
    r = await agent.get("/api/console/phone")
    assert r.status_code == 200
    d: dict[str, Any] = r.json()
    assert d["cti"] is False and d["mode"] == "webrtc"
    assert d["agent"]["state"] == "logged_out"
    assert d["sip"] == {"ws_url": "wss://pbx.example.com:8089/ws",
                        "uri": "sip:1001@pbx.example.com", "authorization_user": "1001",
                        "password": "s3cret-1001", "display_name": d["sip"]["display_name"]}
    # answering needs the demo phone (or a real one); nothing here pretends it worked
    assert (await agent.post("/api/console/phone/answer", json={})).status_code == 409
    assert (await agent.post("/api/console/phone/hangup", json={})).status_code == 503


async def test_agent_grid_and_forcing_need_a_supervisor(login: LoginFactory) -> None:
    agent = await login("agent", extension="1001")
    assert (await agent.get("/api/console/agents")).status_code == 403
    for what in ("pause", "unpause", "logout"):
        r = await agent.post(f"/api/console/agents/1/{what}", json={})
        assert r.status_code == 403, what
    boss = await login("supervisor")
    assert (await boss.get("/api/console/agents")).status_code == 503  # no CTI in this app
