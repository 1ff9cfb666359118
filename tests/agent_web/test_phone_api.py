"""The console's phone, pause-code and agent-grid API through the ASGI app (no CTI running)."""

from __future__ import annotations

from typing import Any

from agent_web.console_settings import ConsoleSettings
from core.services import Services
from tests.conftest import LoginFactory


async def test_pause_codes_are_stored_and_only_supervisors_edit_them(
        login: LoginFactory) -> None:
    agent = await login("agent", extension="1001")
    r = await agent.get("/api/console/pause-codes")
    assert r.status_code == 200
    codes = [p["code"] for p in r.json()["items"]]
    assert "lunch" in codes and "break" in codes  # the defaults, stored on first read
    new = {"code": "coaching", "label": "Coaching"}
    assert (await agent.put("/api/console/pause-codes/coaching", json=new)).status_code == 403
    assert (await agent.delete("/api/console/pause-codes/lunch")).status_code == 403

    boss = await login("supervisor")
    r = await boss.put("/api/console/pause-codes/coaching", json=new)
    assert r.status_code == 200 and r.json()["label"] == "Coaching"
    r = await boss.put("/api/console/pause-codes/coaching", json={**new, "label": "Coaching 1:1"})
    assert r.status_code == 200
    assert (await boss.delete("/api/console/pause-codes/lunch")).status_code == 200
    assert (await boss.delete("/api/console/pause-codes/lunch")).status_code == 404
    bad = await boss.put("/api/console/pause-codes/x y", json={"code": "x y", "label": "X"})
    assert bad.status_code == 422

    items = {p["code"]: p["label"] for p in (await agent.get("/api/console/pause-codes"))
             .json()["items"]}
    assert items["coaching"] == "Coaching 1:1" and "lunch" not in items


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
