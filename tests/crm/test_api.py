"""The crm REST API: role checks on every route, 422s naming the field, audited changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from core.clock import FakeClock
from core.models import AuditEntry
from core.services import Services
from crm.http import router

P = "{parent_id}"
ITEM = "{item_id}"
# (method, path) -> the least role that may use it. Every crm route must be listed here.
ROLES: dict[tuple[str, str], str] = {
    ("GET", "/api/accounts"): "agent",
    ("POST", "/api/accounts"): "admin",
    ("GET", "/api/accounts/{account_id}"): "agent",
    ("PATCH", "/api/accounts/{account_id}"): "admin",
    ("POST", "/api/accounts/{account_id}/archive"): "admin",
    ("GET", "/api/accounts/{account_id}/summary"): "agent",
    ("GET", "/api/accounts/{account_id}/completeness"): "agent",
    ("GET", "/api/accounts/{account_id}/call-list"): "agent",
    ("GET", "/api/accounts/{account_id}/schedule"): "agent",
    ("GET", "/api/phones/lookup"): "agent",
    ("POST", "/api/contacts/{contact_id}/verify-code"): "agent",
    ("GET", "/api/tickets"): "agent",
    ("POST", "/api/tickets"): "agent",
    ("GET", "/api/tickets/{ticket_id}"): "agent",
    ("PATCH", "/api/tickets/{ticket_id}"): "supervisor",
    ("POST", "/api/tickets/{ticket_id}/transition"): "agent",
    ("POST", "/api/tickets/{ticket_id}/archive"): "supervisor",
    ("GET", "/api/work-orders"): "agent",
    ("POST", "/api/work-orders"): "supervisor",
    ("GET", "/api/work-orders/{order_id}"): "agent",
    ("PATCH", "/api/work-orders/{order_id}"): "supervisor",
    ("POST", "/api/work-orders/{order_id}/archive"): "supervisor",
    ("GET", "/api/kb"): "agent",
    ("POST", "/api/kb"): "supervisor",
    ("GET", "/api/kb/{article_id}"): "agent",
    ("PATCH", "/api/kb/{article_id}"): "supervisor",
    ("POST", "/api/kb/{article_id}/archive"): "supervisor",
}
for parent, part in [("accounts", "premises"), ("accounts", "panels"), ("panels", "zones"),
                     ("accounts", "contacts"), ("contacts", "phones"),
                     ("accounts", "schedule-windows"), ("accounts", "holidays"),
                     ("accounts", "schedule-exceptions"), ("accounts", "contracts"),
                     ("accounts", "notes"), ("accounts", "phones")]:
    ROLES[("POST", f"/api/{parent}/{P}/{part}")] = "agent" if part == "notes" else "admin"
    ROLES[("GET", f"/api/{parent}/{P}/{part}")] = "agent"
    if (parent, part) != ("accounts", "phones"):
        ROLES[("GET", f"/api/{part}/{ITEM}")] = "agent"
        if part != "notes":
            ROLES[("PATCH", f"/api/{part}/{ITEM}")] = "admin"
        archiver = "supervisor" if part == "notes" else "admin"
        ROLES[("POST", f"/api/{part}/{ITEM}/archive")] = archiver

RANK = {"agent": 1, "supervisor": 2, "admin": 3}


def crm_routes() -> set[tuple[str, str]]:
    return {(m, r.path) for r in router.routes if isinstance(r, APIRoute)
            for m in r.methods or ()}


def test_every_route_has_a_role_rule() -> None:
    assert crm_routes() == set(ROLES)


def concrete(path: str) -> str:
    for name in ("{parent_id}", "{item_id}", "{account_id}", "{contact_id}", "{ticket_id}",
                 "{order_id}", "{article_id}"):
        path = path.replace(name, "999999")
    return path


async def call(c: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    if method in ("POST", "PATCH"):
        return await c.request(method, concrete(path), json={})
    return await c.request(method, concrete(path), params={"number": "13800138000"})


async def test_role_checks_on_every_route(client: httpx.AsyncClient, login: Any) -> None:
    users = {role: await login(role) for role in RANK}
    for (method, path), needed in sorted(ROLES.items()):
        anonymous = await call(client, method, path)
        assert anonymous.status_code == 401, (method, path)
        for role, c in users.items():
            r = await call(c, method, path)
            if RANK[role] < RANK[needed]:
                assert r.status_code == 403, (role, method, path, r.text)
            else:
                assert r.status_code not in (401, 403), (role, method, path, r.text)


async def agent_ticket(c: httpx.AsyncClient, **kw: Any) -> httpx.Response:
    return await c.post("/api/tickets", json={"kind": "repair", "subject": "x", **kw})


def field_error(r: httpx.Response, field: str) -> str:
    assert r.status_code == 422, r.text
    # loc is ["body" | "query", field, ...]: the request part, then the field's path
    fields = {".".join(str(p) for p in d["loc"][1:]): d["msg"] for d in r.json()["detail"]}
    assert field in fields, fields
    return fields[field]


@pytest.fixture
async def admin(login: Any) -> httpx.AsyncClient:
    c: httpx.AsyncClient = await login("admin")
    return c


async def new_account(admin: httpx.AsyncClient, number: str = "1234", **kw: Any) -> int:
    r = await admin.post("/api/accounts", json={"number": number, "name": "王芳", **kw})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_validation_errors_name_the_field(admin: httpx.AsyncClient, login: Any,
                                               services: Services) -> None:
    sup: httpx.AsyncClient = await login("supervisor")
    account = await new_account(admin)
    a = f"/api/accounts/{account}"
    assert "pattern" in field_error(await admin.post("/api/accounts", json={
        "number": "12-34", "name": "x"}), "number")
    assert "already exists" in field_error(await admin.post("/api/accounts", json={
        "number": "1234", "name": "dup"}), "number")
    field_error(await admin.post("/api/accounts", json={"number": "9"}), "name")
    field_error(await admin.patch(a, json={"status": "gone"}), "status")
    field_error(await admin.patch(a, json={"name": None}), "name")
    assert "time zone" in field_error(await admin.patch(a, json={"timezone": "Mars/Base"}),
                                      "timezone")
    field_error(await admin.post(f"{a}/premises", json={"latitude": 100}), "latitude")
    field_error(await admin.post(f"{a}/premises", json={"type": "castle"}), "type")
    field_error(await admin.post(f"{a}/panels", json={"test_interval_minutes": 0}),
                "test_interval_minutes")
    panel = (await admin.post(f"{a}/panels", json={"make": "DSC"})).json()["id"]
    field_error(await admin.post(f"/api/panels/{panel}/zones", json={"number": -1}), "number")
    assert (await admin.post(f"/api/panels/{panel}/zones", json={"number": 1})).status_code == 201
    assert "already exists" in field_error(
        await admin.post(f"/api/panels/{panel}/zones", json={"number": 1}), "number")
    field_error(await admin.post(f"{a}/contacts", json={"role": "owner"}), "name")
    assert "possible" in field_error(await admin.post(f"{a}/contacts", json={
        "name": "x", "phones": [{"number": "13800138000"}, {"number": "1234"}]}),
        "phones.1.number")
    field_error(await admin.post(f"{a}/contacts", json={
        "name": "x", "passcode": "1111", "duress_code": "1111"}), "duress_code")
    field_error(await admin.post(f"{a}/contacts", json={"name": "x", "passcode": "1"}),
                "passcode")
    contact = (await admin.post(f"{a}/contacts", json={"name": "王芳"})).json()["id"]
    field_error(await admin.post(f"/api/contacts/{contact}/phones", json={"number": "abc"}),
                "number")
    field_error(await admin.post(f"/api/contacts/{contact}/phones", json={
        "number": "13800138000", "kind": "pager"}), "kind")
    field_error(await admin.post(f"{a}/schedule-windows", json={
        "weekday": 7, "opens": "09:00", "closes": "18:00"}), "weekday")
    field_error(await admin.post(f"{a}/schedule-windows", json={
        "weekday": 1, "opens": "09:00", "closes": "09:00"}), "closes")
    field_error(await admin.post(f"{a}/holidays", json={"day": "2026-02-30"}), "day")
    field_error(await admin.post(f"{a}/schedule-exceptions", json={
        "starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}), "ends_at")
    field_error(await admin.post(f"{a}/schedule-exceptions", json={
        "starts_at": "2026-02-01T00:00:00", "ends_at": "2026-03-01T00:00:00Z"}), "starts_at")
    field_error(await admin.post(f"{a}/contracts", json={
        "starts_on": "2026-01-01", "ends_on": "2025-01-01"}), "ends_on")
    field_error(await admin.post(f"{a}/contracts", json={
        "starts_on": "2026-01-01", "monthly_fee": -5}), "monthly_fee")
    field_error(await admin.post(f"{a}/notes", json={"body": ""}), "body")
    field_error(await admin.post("/api/tickets", json={"kind": "wish", "subject": "x"}), "kind")
    ticket = (await admin.post("/api/tickets", json={"kind": "repair", "subject": "x",
                                                     "account_id": account})).json()["id"]
    assert "cannot close" in field_error(await sup.post(
        f"/api/tickets/{ticket}/transition", json={"action": "close"}), "action")
    field_error(await sup.post(f"/api/tickets/{ticket}/transition", json={"action": "assign"}),
                "assignee_id")
    field_error(await sup.post(f"/api/tickets/{ticket}/transition", json={
        "action": "assign", "assignee_id": 999999}), "assignee_id")
    field_error(await sup.post("/api/work-orders", json={"account_id": account}), "summary")
    assert "not found" in field_error(await sup.post("/api/work-orders", json={
        "account_id": 999999, "summary": "x"}), "account_id")
    field_error(await agent_ticket(admin, account_id=999999), "account_id")
    field_error(await sup.patch(f"/api/tickets/{ticket}", json={"status": "closed"}), "status")
    field_error(await sup.post("/api/kb", json={"body": "x"}), "title")
    field_error(await admin.post(f"/api/contacts/{contact}/verify-code", json={"code": ""}),
                "code")
    r = await admin.get("/api/accounts", params={"limit": 0})
    assert r.status_code == 422 and "limit" in r.json()["detail"][0]["loc"]
    assert (await admin.get("/api/accounts/999999")).status_code == 404


async def test_subscriber_record_through_the_api(admin: httpx.AsyncClient, login: Any,
                                                 services: Services, clock: FakeClock) -> None:
    agent: httpx.AsyncClient = await login("agent")
    account = await new_account(admin, "0042", receiver_prefix="01")
    a = f"/api/accounts/{account}"
    premises = (await admin.post(f"{a}/premises", json={
        "address": "上海市浦东新区世纪大道100号", "latitude": 31.23, "longitude": 121.5,
        "type": "shop", "hazard_notes": "有狗"})).json()
    panel = (await admin.post(f"{a}/panels", json={
        "premises_id": premises["id"], "make": "DSC", "account_code": "0042",
        "test_interval_minutes": 1440})).json()
    await admin.post(f"/api/panels/{panel['id']}/zones", json={"number": 1,
                                                              "description": "前门门磁"})
    owner = (await admin.post(f"{a}/contacts", json={
        "name": "王芳", "role": "owner", "passcode": "2580", "duress_code": "9111",
        "phones": [{"number": "138 0013 8000"}]})).json()
    assert owner["has_passcode"] and "passcode_hash" not in owner
    await admin.post(f"{a}/phones", json={"number": "021-6552 9988", "kind": "premises"})
    await admin.post(f"{a}/schedule-windows", json={"weekday": 0, "opens": "09:00",
                                                    "closes": "18:00"})
    await admin.post(f"{a}/contracts", json={"starts_on": "2025-01-01", "fee_plan": "basic",
                                             "monthly_fee": "80.00"})
    assert (await agent.post(f"{a}/notes", json={"body": "钥匙在物业"})).status_code == 201

    for raw in ["138 0013 8000", "+86-138-0013-8000", "008613800138000"]:
        r = await agent.get("/api/phones/lookup", params={"number": raw})
        assert [(i["account_id"], i["contact_id"]) for i in r.json()["items"]] == [
            (account, owner["id"])]
    found = await agent.get("/api/accounts", params={"q": "+86 21 6552 9988"})
    assert [i["id"] for i in found.json()["items"]] == [account]
    assert (await agent.get("/api/accounts", params={"q": "世纪大道"})).json()["total"] == 1
    assert (await agent.get("/api/accounts", params={"q": "0042"})).json()["total"] == 1
    assert (await agent.get("/api/accounts", params={"q": "nobody"})).json()["total"] == 0

    record = (await agent.get(a)).json()
    assert record["completeness"] == {"score": 100, "complete": True, "missing": []}
    calls = (await agent.get(f"{a}/call-list")).json()["items"]
    assert [c["role"] for c in calls] == ["premises", "owner"]
    verify = await agent.post(f"/api/contacts/{owner['id']}/verify-code", json={"code": "9111"})
    assert verify.json() == {"result": "duress"}
    pop = (await agent.get(f"{a}/summary")).json()
    assert pop["premises"]["hazard_notes"] == "有狗" and pop["contract"]["fee_plan"] == "basic"

    # archiving keeps everything readable; an admin can still see the account
    zone_id = record["panels"][0]["zones"][0]["id"]
    assert (await admin.post(f"/api/zones/{zone_id}/archive", json={})).json()["archived"]
    after = (await agent.get(f"{a}/completeness")).json()
    assert [m["code"] for m in after["missing"]] == ["no_zones"]
    archived = await admin.post(f"{a}/archive", json={"reason": "moved away"})
    assert archived.json()["archived"] is True
    assert (await agent.get(a)).json()["name"] == "王芳"
    assert (await agent.get("/api/accounts")).json()["total"] == 0
    listed = await agent.get("/api/accounts", params={"include_archived": True})
    assert listed.json()["total"] == 1
    assert (await agent.get("/api/phones/lookup", params={"number": "13800138000"})
            ).json()["items"] == []

    async with services.db.session() as s:
        rows = (await s.execute(select(AuditEntry.entity, AuditEntry.action, AuditEntry.actor)
                                .where(AuditEntry.entity != "user"))).all()
    kinds = {(e, act) for e, act, _ in rows}
    assert kinds >= {("account", "create"), ("premises", "create"), ("panel", "create"),
                     ("zone", "create"), ("contact", "create"), ("phone", "create"),
                     ("schedule_window", "create"), ("contract", "create"), ("note", "create"),
                     ("contact", "verify_code"), ("zone", "archive"), ("account", "archive")}
    assert {actor for _, _, actor in rows} == {"admin", "agent"}


async def test_patch_changes_are_audited(admin: httpx.AsyncClient, services: Services) -> None:
    account = await new_account(admin)
    contact = (await admin.post(f"/api/accounts/{account}/contacts", json={
        "name": "Li", "phones": [{"number": "13900139000"}]})).json()
    phone_id = (await admin.get(f"/api/contacts/{contact['id']}/phones")).json()["items"][0]["id"]
    r = await admin.patch(f"/api/phones/{phone_id}", json={"number": "+86 139 0013 9001"})
    assert r.json()["e164"] == "+8613900139001"
    r = await admin.patch(f"/api/contacts/{contact['id']}", json={"passcode": "7531"})
    assert r.json()["has_passcode"] is True
    r = await admin.patch(f"/api/accounts/{account}", json={"status": "on_hold"})
    assert r.json()["status"] == "on_hold"
    async with services.db.session() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.action == "update")
                                .order_by(AuditEntry.id))).scalars().all()
    by_entity = {e.entity: e for e in rows}
    assert by_entity["phone"].before == {"raw": "13900139000", "e164": "+8613900139000"}
    assert by_entity["contact"].after == {"passcode_hash": "***"}
    assert by_entity["account"].after and by_entity["account"].after["status"] == "on_hold"


async def test_ticket_api_life_cycle_and_sla(admin: httpx.AsyncClient, login: Any,
                                             services: Services, clock: FakeClock) -> None:
    sup: httpx.AsyncClient = await login("supervisor")
    agent: httpx.AsyncClient = await login("agent")
    other: httpx.AsyncClient = await login("agent", username="agent_b")
    me = (await agent.get("/api/auth/me")).json()["user"]["id"]
    t = (await agent.post("/api/tickets", json={"kind": "complaint", "subject": "误报处理慢"}))
    assert t.status_code == 201 and t.json()["sla"] == "green"
    tid = t.json()["id"]
    assert (await agent.post(f"/api/tickets/{tid}/transition", json={
        "action": "assign", "assignee_id": me})).status_code == 403
    assert (await sup.post(f"/api/tickets/{tid}/transition", json={
        "action": "assign", "assignee_id": me})).json()["status"] == "assigned"
    assert (await other.post(f"/api/tickets/{tid}/transition", json={"action": "start"})
            ).status_code == 403
    assert (await agent.post(f"/api/tickets/{tid}/transition", json={"action": "start"})
            ).json()["status"] == "in_progress"
    clock.advance(45 * 3600)  # complaint due after 48 h: 3 h left
    assert (await agent.get(f"/api/tickets/{tid}")).json()["sla"] == "yellow"
    assert [i["id"] for i in (await agent.get("/api/tickets", params={"sla": "yellow"})
                              ).json()["items"]] == [tid]
    clock.advance(4 * 3600)
    assert (await agent.get("/api/tickets", params={"sla": "red"})).json()["total"] == 1
    assert (await agent.get("/api/tickets", params={"sla": "green"})).json()["total"] == 0
    await agent.post(f"/api/tickets/{tid}/transition", json={"action": "finish"})
    back = await sup.post(f"/api/tickets/{tid}/transition", json={"action": "rework",
                                                                   "note": "call back"})
    assert back.json()["status"] == "rework"
    detail = (await agent.get(f"/api/tickets/{tid}")).json()
    assert [h["to"] for h in detail["history"]] == ["recorded", "assigned", "in_progress",
                                                    "done", "rework"]
    assert (await sup.post(f"/api/tickets/{tid}/archive", json={})).json()["archived"]
    assert (await agent.get(f"/api/tickets/{tid}")).status_code == 200
    async with services.db.session() as s:
        actions = (await s.execute(select(AuditEntry.action).where(
            AuditEntry.entity == "ticket").order_by(AuditEntry.id))).scalars().all()
    assert actions == ["create", "assign", "start", "finish", "rework", "archive"]


async def test_kb_and_work_orders_api(login: Any, admin: httpx.AsyncClient) -> None:
    sup: httpx.AsyncClient = await login("supervisor")
    agent: httpx.AsyncClient = await login("agent")
    art = (await sup.post("/api/kb", json={"title": "交流电断电", "body": "区域停电时启用灾害模式",
                                           "tags": "断电"})).json()
    assert (await agent.get("/api/kb", params={"q": "灾害模式"})).json()["total"] == 1
    assert (await agent.get("/api/kb", params={"q": "地震"})).json()["total"] == 0
    for n in (1, 2):
        assert (await agent.get(f"/api/kb/{art['id']}")).json()["views"] == n
    account = await new_account(admin)
    wo = await sup.post("/api/work-orders", json={"account_id": account, "summary": "换电池"})
    assert wo.status_code == 201 and wo.json()["status"] == "open"
    done = await sup.patch(f"/api/work-orders/{wo.json()['id']}", json={"status": "done"})
    assert done.json()["completed_at"] is not None
    listed = await agent.get("/api/work-orders", params={"account_id": account})
    assert listed.json()["total"] == 1
