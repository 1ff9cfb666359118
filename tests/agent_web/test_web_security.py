"""Issue 13 over a real server (uvicorn as `vigil serve` configures it): a logged-out session
loses its websocket; a page of another site cannot open /ws; X-Forwarded-For is believed only
from trusted proxies; security headers; the API docs only when switched on."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.agent_web.conftest import LiveServer, session_cookie
from vigil.demo_users import DEMO_PASSWORD


@pytest.fixture
def quick_server(tmp_path: Path, console_template: Path) -> Iterator[LiveServer]:
    """A live server whose websocket rechecks sessions every 0.3 s."""
    db = tmp_path / "live.db"
    shutil.copy(console_template, db)
    server = LiveServer(db, heartbeat=0.3).start()
    yield server
    server.stop()


def _logged_in(server: LiveServer, username: str) -> httpx.Client:
    c = httpx.Client(base_url=server.url)
    r = c.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


async def test_logout_closes_the_open_websocket_and_refuses_the_old_cookie(
        quick_server: LiveServer) -> None:
    browser = _logged_in(quick_server, "agent1")
    cookie = f"vigil_session={browser.cookies['vigil_session']}"
    ws = await websockets.connect(quick_server.ws_url, additional_headers={"Cookie": cookie},
                                  open_timeout=5)
    assert "hello" in await ws.recv()
    quick_server.wait_for_connections(1)
    assert browser.post("/api/auth/logout").status_code == 204

    async def closed() -> int | None:
        while True:
            await ws.recv()  # pings until the hub notices the session is gone

    with pytest.raises(websockets.ConnectionClosed) as gone:
        await asyncio.wait_for(closed(), 5)
    assert gone.value.rcvd is not None and gone.value.rcvd.code == 4401
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(quick_server.ws_url, additional_headers={"Cookie": cookie},
                                 open_timeout=5)
    browser.close()


async def test_busy_websocket_is_rechecked_too(quick_server: LiveServer) -> None:
    browser = _logged_in(quick_server, "super1")
    cookie = f"vigil_session={browser.cookies['vigil_session']}"
    ws = await websockets.connect(quick_server.ws_url, additional_headers={"Cookie": cookie},
                                  open_timeout=5)
    quick_server.wait_for_connections(1)
    browser.post("/api/auth/logout")
    stop = asyncio.Event()

    async def chatter() -> None:  # events faster than the heartbeat: never idle
        while not stop.is_set():
            await asyncio.to_thread(quick_server.publish, "queue.stats", {"queue": "x"})
            await asyncio.sleep(0.05)

    feeder = asyncio.create_task(chatter())
    try:
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
    finally:
        stop.set()
        await feeder
    browser.close()


async def test_websocket_from_another_sites_page_is_refused(live_server: LiveServer) -> None:
    cookie = session_cookie(live_server, "agent1")
    with pytest.raises(websockets.InvalidStatus) as foreign:
        await websockets.connect(live_server.ws_url, open_timeout=5, additional_headers={
            "Cookie": cookie, "Origin": "https://evil.example"})
    assert foreign.value.response.status_code == 403
    own = await websockets.connect(live_server.ws_url, open_timeout=5, additional_headers={
        "Cookie": cookie, "Origin": live_server.url})
    assert "hello" in await own.recv()
    await own.close()


def test_forwarded_for_is_not_believed_from_an_untrusted_peer(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as c:
        codes = [c.post("/api/auth/login", json={"username": f"ghost{i}", "password": "x"},
                        headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
                 for i in range(21)]
    # One peer whatever it claims: the address throttle refuses the 21st guess.
    assert codes[:20] == [401] * 20 and codes[20] == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path,
                                                             console_template: Path) -> None:
    db = tmp_path / "proxied.db"
    shutil.copy(console_template, db)
    server = LiveServer(db, trusted_proxies=["127.0.0.1"]).start()
    try:
        with httpx.Client(base_url=server.url) as c:
            for _ in range(5):  # the pair (admin, 192.0.2.7) locks after 5
                c.post("/api/auth/login", json={"username": "admin", "password": "x"},
                       headers={"X-Forwarded-For": "192.0.2.7"})
            right = {"username": "admin", "password": DEMO_PASSWORD}
            assert c.post("/api/auth/login", json=right,
                          headers={"X-Forwarded-For": "192.0.2.7"}).status_code == 429
            assert c.post("/api/auth/login", json=right,
                          headers={"X-Forwarded-For": "192.0.2.8"}).status_code == 200
    finally:
        server.stop()


def test_every_answer_carries_the_security_headers(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as c:
        for path in ("/login", "/api/auth/me", "/static/console.js", "/nowhere"):
            h = c.get(path).headers
            assert h["x-content-type-options"] == "nosniff", path
            assert h["referrer-policy"] == "same-origin", path
            csp = h["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
            assert "server" not in h, path  # no "uvicorn" banner
        assert c.get("/docs").status_code == 404
        assert c.get("/openapi.json").status_code == 404


def test_api_docs_when_switched_on(tmp_path: Path, console_template: Path) -> None:
    db = tmp_path / "docs.db"
    shutil.copy(console_template, db)
    server = LiveServer(db, api_docs=True).start()
    try:
        with httpx.Client(base_url=server.url) as c:
            assert c.get("/openapi.json").json()["info"]["title"] == "Vigil"
            assert c.get("/docs").status_code == 200
    finally:
        server.stop()


def test_line_breaks_in_a_pause_reason_are_refused_at_once(telephony_server: LiveServer) -> None:
    agent = _logged_in(telephony_server, "agent1")
    boss = _logged_in(telephony_server, "super1")
    injected = {"reason": "lunch\r\nAction: Originate\r\nChannel: Local/110@outbound"}
    started = time.monotonic()
    for client, path in ((agent, "/api/cti/pause"), (boss, "/api/console/agents/1/pause")):
        r = client.post(path, json=injected)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["detail"]] == ["reason"]
    assert time.monotonic() - started < 3  # not a 5 s wait for a 503
    # The AMI client itself refuses a header value with a line break, whatever the caller.
    with pytest.raises(ValueError, match="line break"):
        telephony_server.call(telephony_server.cti.client.send_action(
            {"Action": "QueuePause", "Interface": "PJSIP/1001", "Reason": "a\r\nb"}))
    agent.close()
    boss.close()


def test_admin_page_lists_accounts_reporting_unencrypted(browser: Any,
                                                         live_server: LiveServer) -> None:
    from receivers import dc09
    from receivers.dc09 import Dc09Config, Dc09Receiver
    from receivers.journal import SignalJournal
    from tests.agent_web.test_alarm_flow import log_in

    async def receive_plain() -> None:
        assert live_server.services is not None
        now = live_server.services.clock.now()
        out = Dc09Receiver(Dc09Config()).handle(
            dc09.build_message("SIA-DCS", 7, "8642", "#8642|NBA03"), now)
        journal = SignalJournal(live_server.services.db, None, live_server.services.clock)
        await journal.store(list(out.signals))  # type: ignore[union-attr]
        await journal.close()

    live_server.call(receive_plain())
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=live_server.url)
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        log_in(page, "admin")
        page.goto("/admin#receivers")
        row = page.locator("#rx-plaintext tbody tr", has_text="8642")
        row.wait_for()
        assert "1" in row.inner_text()
    finally:
        ctx.close()


def test_supervisor_console_shows_a_passcode_lock(browser: Any, live_server: LiveServer) -> None:
    from tests.agent_web.test_alarm_flow import log_in

    admin = _logged_in(live_server, "admin")
    account = admin.post("/api/accounts", json={"number": "7788", "name": "Zhou"}).json()["id"]
    contact = admin.post(f"/api/accounts/{account}/contacts", json={
        "name": "Zhou Li", "role": "owner", "passcode": "2580"}).json()["id"]
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=live_server.url)
    try:
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        log_in(page, "super1")
        guesser = _logged_in(live_server, "agent2")
        for n in range(5):
            guesser.post(f"/api/contacts/{contact}/verify-code", json={"code": f"{n:04d}"})
        page.locator("#toast", has_text="密码核对错误过多").wait_for()
        assert "agent2" in page.inner_text("#toast")
        guesser.close()
    finally:
        ctx.close()
        admin.close()
