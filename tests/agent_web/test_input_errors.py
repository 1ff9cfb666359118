"""Issue 13, finding 10: inputs that answered 500 now answer 422 naming the field (ids beyond
what the database holds, in paths, queries and bodies; null for a user's required fields), and
validation errors of rules between fields name the field that breaks them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LoginFactory


def fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, (r.status_code, r.text)
    return {e["field"] for e in r.json()["detail"]}


@pytest.mark.parametrize("big", [2**63, 2**64 + 7, 10**30])
async def test_ids_the_database_cannot_hold_are_a_422(login: LoginFactory, big: int) -> None:
    admin = await login("admin")
    # Beyond 32 bits a database may still answer (PostgreSQL widens the parameter): a 404 or
    # an empty page is right, a 500 is not.
    for path in (f"/api/accounts/{2**31}", f"/api/audit?offset={2**31}",
                 f"/api/console/incidents/{2**31}/avs-preview"):
        assert (await admin.get(path)).status_code in (200, 404, 422), path
    assert fields(await admin.get(f"/api/accounts/{big}")) == {"account_id"}
    assert fields(await admin.patch(f"/api/users/{big}", json={"role": "agent"})) == {"user_id"}
    assert fields(await admin.post(f"/api/users/{big}/archive")) == {"user_id"}
    assert fields(await admin.get(f"/api/console/incidents/{big}/avs-preview")) == \
        {"incident_id"}
    assert fields(await admin.get("/api/audit", params={"offset": big})) == {"offset"}
    assert fields(await admin.post("/api/incidents/1/hand-over",
                                   json={"user_id": big})) >= {"user_id"}


async def test_null_for_a_users_required_field_is_a_422(login: LoginFactory) -> None:
    admin = await login("admin")
    uid = (await admin.post("/api/users", json={"username": "dora", "password": "long-enough-1",
                                                "role": "agent"})).json()["id"]
    for name in ("role", "display_name", "language", "password"):
        assert fields(await admin.patch(f"/api/users/{uid}", json={name: None})) == {name}
    r = await admin.patch(f"/api/users/{uid}", json={"extension": None, "sip_password": None})
    assert r.status_code == 200  # these two may be cleared


async def test_rules_between_fields_name_the_field(login: LoginFactory) -> None:
    admin = await login("admin")
    assert fields(await admin.post("/api/receivers/dc09-keys", json={
        "account": "1234", "kind": "hex", "value": "0" * 16})) == {"value"}
    assert fields(await admin.post("/api/receivers", json={
        "name": "rx", "kind": "dc09", "transport": "tcp"})) == {"port"}
    assert fields(await admin.post("/api/receivers", json={
        "name": "rx", "kind": "surgard", "transport": "serial"})) == {"device"}
    assert fields(await admin.post("/api/receivers", json={
        "name": "rx", "kind": "dc09", "transport": "serial", "device": "/dev/x"})) == \
        {"transport"}
    r = await admin.post("/api/incidents/1/hand-over", json={"user_id": 99})
    assert r.status_code in (404, 422)
    if r.status_code == 422:
        assert fields(r) == {"user_id"}


async def test_a_nul_character_is_refused_by_name_on_every_database(
        login: LoginFactory) -> None:
    admin = await login("admin")
    r = await admin.post("/api/accounts", json={"number": "5555", "name": "a\x00b"})
    if r.status_code == 201:  # SQLite stores it; PostgreSQL cannot, and must say which field
        body: dict[str, Any] = r.json()
        assert body["name"] == "a\x00b"
    else:
        assert fields(r) == {"name"}
