"""Screen pop on its own: who rings, which account pops, the two steps, the detail worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from core.audit import Actor
from core.bus import Event, Subscription
from core.security import hash_password
from core.services import Services
from crm import records
from cti.agents import AgentDirectory
from cti.model import CtiModel
from cti.popdetail import InlineDetail, ProcessDetail, detail_source
from cti.screenpop import ScreenPop, ringing_of
from tests.conftest import ensure_user

ACTOR = Actor.system("test")


@dataclass
class Crm:
    account_id: int
    other_id: int
    contact_id: int
    agent_id: int
    supervisor_id: int


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password("not-used-here")


@pytest.fixture
async def crm_data(services: Services, monkeypatch: pytest.MonkeyPatch,
                   password_hash: str) -> Crm:
    # these users never log in: one argon2 hash for all keeps the many cases fast
    async def same_hash(_password: str) -> str:
        return password_hash

    monkeypatch.setattr("core.users.hash_password_async", same_hash)
    clock = services.clock
    async with services.db.transaction() as s:
        a = await records.create_account(s, clock, ACTOR, number="SP-1001", name="Li Lei Shop")
        b = await records.create_account(s, clock, ACTOR, number="SP-1002", name="Han Mei Flat")
        await records.add_phone(s, clock, ACTOR, account_id=a.id, number="021 6123 4567",
                                kind="premises")
        c = await records.create_contact(s, clock, ACTOR, account_id=a.id, name="Zhang Wei",
                                         phones=[{"number": "13800000001", "kind": "mobile"}])
        await records.add_phone(s, clock, ACTOR, account_id=b.id, number="13900000009")
        ids = (a.id, b.id, c.id)
    agent = await ensure_user(services, "agent1", "agent", extension="1001",
                              display_name="Wang Fang")
    sup = await ensure_user(services, "sup1", "supervisor", extension="1002",
                            display_name="Chen Jie")
    return Crm(*ids, agent, sup)


class BlockedDetail:
    """A detail source that holds every summary until released (and counts the asks)."""

    def __init__(self, inner: InlineDetail) -> None:
        self.inner = inner
        self.release = asyncio.Event()
        self.asked: list[int] = []

    async def start(self) -> None:
        return None

    async def summary(self, account_id: int, today: date) -> dict[str, Any] | None:
        self.asked.append(account_id)
        await self.release.wait()
        return await self.inner.summary(account_id, today)

    async def close(self) -> None:
        return None


def make_pop(services: Services, **kw: Any) -> ScreenPop:
    directory = AgentDirectory(services.db, services.clock.monotonic)
    return ScreenPop(services.db, services.bus, services.clock, directory, **kw)


def agent_called(number: str | None, *, interface: str = "Local/1001@agent-phones/n",
                 account: str | None = None, var_name: str = "VIGIL_ACCOUNT_ID",
                 linkedid: str = "1795300000.1") -> dict[str, str]:
    msg = {"Event": "AgentCalled", "Channel": "PJSIP/trunk-00000001",
           "CallerIDNum": number or "<unknown>", "CallerIDName": "Caller",
           "Uniqueid": linkedid, "Linkedid": linkedid, "DestUniqueid": linkedid + "1",
           "Queue": "support", "Interface": interface, "MemberName": "Agent One"}
    if account is not None:
        msg[f"ChanVariable({var_name})"] = account
    return msg


def events(sub: Subscription) -> list[Event]:
    out = []
    while (ev := sub.get_nowait()) is not None:
        out.append(ev)
    return out


async def ring(pop: ScreenPop, msg: dict[str, str]) -> list[Event]:
    sub = pop.bus.subscribe("screenpop", "screenpop.detail", name="test")
    pop.handle(msg, 123.0)
    await pop.drain()
    got = events(sub)
    sub.close()
    return got


@pytest.mark.parametrize("var_name", ["VIGIL_ACCOUNT_ID", "_VIGIL_ACCOUNT_ID",
                                      "__VIGIL_ACCOUNT_ID"])
async def test_account_from_the_channel_variable_wins_over_the_number(
        services: Services, crm_data: Crm, var_name: str) -> None:
    pop = make_pop(services)
    # the number is the other account's: the IVR's verified account id decides
    got = await ring(pop, agent_called("13900000009", account=str(crm_data.account_id),
                                       var_name=var_name))
    [first, detail] = got
    assert first.topic == "screenpop" and detail.topic == "screenpop.detail"
    assert first.data["lookup"] == "channel_variable"
    assert first.data["account"]["id"] == crm_data.account_id
    assert first.data["new_subscriber"] is False and first.data["detail"] is False
    assert first.data["received_at"] == 123.0
    assert detail.data["account"]["name"] == "Li Lei Shop"
    assert "Zhang Wei" in [e["name"] for e in detail.data["account"]["call_list"]]
    assert detail.data["detail"] is True


async def test_account_id_known_only_from_the_model(services: Services, crm_data: Crm) -> None:
    """A VarSet seen earlier on the caller's channel counts when AgentCalled lacks the
    variable."""
    model = CtiModel()
    chan = {"Channel": "PJSIP/trunk-00000001", "Uniqueid": "1795300000.1",
            "Linkedid": "1795300000.1", "CallerIDNum": "+8613111112222",
            "ChannelState": "4", "Context": "from-pstn", "Exten": "4000"}
    model.feed({"Event": "Newchannel", **chan}, 1.0)
    model.feed({"Event": "VarSet", **chan, "Variable": "VIGIL_ACCOUNT_ID",
                "Value": str(crm_data.other_id)}, 2.0)
    msg = agent_called("+8613111112222")
    assert ringing_of(msg, model).account_id == str(crm_data.other_id)
    [first, _detail] = await ring(make_pop(services, model=model), msg)
    assert first.data["account"]["id"] == crm_data.other_id
    assert first.data["lookup"] == "channel_variable"


@pytest.mark.parametrize("number", [
    "13800000001", "+8613800000001", "8613800000001", "008613800000001", "138 0000 0001",
    "138-0000-0001", "+86 138-0000-0001"])
async def test_contact_mobile_in_any_written_form(services: Services, crm_data: Crm,
                                                  number: str) -> None:
    [first, detail] = await ring(make_pop(services), agent_called(number))
    assert first.data["lookup"] == "caller_number"
    assert first.data["account"]["id"] == crm_data.account_id
    assert first.data["account"]["name"] == "Li Lei Shop"
    assert first.data["contact"]["contact_id"] == crm_data.contact_id
    assert first.data["caller_number"] == number
    assert detail.data["account"]["number"] == "SP-1001"


@pytest.mark.parametrize("number", ["02161234567", "+862161234567", "(021) 6123-4567",
                                    "00862161234567"])
async def test_premises_landline_in_any_written_form(services: Services, crm_data: Crm,
                                                     number: str) -> None:
    [first, _] = await ring(make_pop(services), agent_called(number))
    assert first.data["account"]["id"] == crm_data.account_id
    assert first.data["contact"] is None  # the premises' own line, not a person


@pytest.mark.parametrize("number", ["+8613111112222", "13111112222", None, "anonymous"])
async def test_unknown_or_withheld_number_pops_a_new_subscriber_card(
        services: Services, crm_data: Crm, number: str | None) -> None:
    got = await ring(make_pop(services), agent_called(number))
    assert [e.topic for e in got] == ["screenpop"]  # nothing to detail
    data = got[0].data
    assert data["new_subscriber"] is True and data["account"] is None
    assert data["owners"] == [] and data["lookup"] is None
    assert data["caller_number"] == number and data["user_id"] == crm_data.agent_id


async def test_unknown_account_id_in_the_variable_becomes_a_new_subscriber_in_the_detail(
        services: Services, crm_data: Crm) -> None:
    [first, detail] = await ring(make_pop(services),
                                 agent_called("+8613111112222", account="999999"))
    assert first.data["account"] == {"id": 999999}
    assert detail.data["account"] is None and detail.data["new_subscriber"] is True


@pytest.mark.parametrize(("interface", "who"), [
    ("Local/1001@agent-phones/n", "agent"), ("PJSIP/1002", "supervisor"),
    ("SIP/1002", "supervisor"), ("Local/1003@agent-phones/n", None)])
async def test_agent_is_mapped_by_the_interface_extension(
        services: Services, crm_data: Crm, interface: str, who: str | None) -> None:
    [first, *_] = await ring(make_pop(services), agent_called("13800000001",
                                                               interface=interface))
    expected = {"agent": (crm_data.agent_id, "agent1"),
                "supervisor": (crm_data.supervisor_id, "sup1"), None: (None, None)}[who]
    assert (first.data["user_id"], first.data["username"]) == expected
    assert first.data["extension"] == interface.split("/")[1].split("@")[0]
    assert first.data["interface"] == interface and first.data["member"] == "Agent One"


async def test_other_events_pop_nothing(services: Services, crm_data: Crm) -> None:
    msg = {**agent_called("13800000001"), "Event": "AgentConnect"}
    assert await ring(make_pop(services), msg) == []


async def test_outbound_verification_call_pops_for_the_operator(services: Services,
                                                                crm_data: Crm) -> None:
    pop = make_pop(services)
    sub = services.bus.subscribe("screenpop", "screenpop.detail", name="test")
    await pop.pop_outbound(user_id=crm_data.agent_id, username="agent1", extension="1001",
                           number="+8613800000001", account_id=crm_data.account_id,
                           incident_id=42, call_id="verif-42-7-1",
                           contact_id=crm_data.contact_id, contact_name="Zhang Wei")
    [first, detail] = events(sub)
    assert first.data["direction"] == "outbound"
    assert (first.data["user_id"], first.data["incident_id"], first.data["call_id"]) == (
        crm_data.agent_id, 42, "verif-42-7-1")
    assert first.data["called_number"] == "+8613800000001"
    assert first.data["account"]["id"] == crm_data.account_id
    assert first.data["contact"]["contact_id"] == crm_data.contact_id
    assert detail.data["account"]["name"] == "Li Lei Shop"
    sub.close()


async def test_first_pop_does_not_wait_for_the_detail(services: Services,
                                                      crm_data: Crm) -> None:
    blocked = BlockedDetail(InlineDetail(services.db))
    pop = make_pop(services, detail=blocked)
    sub = services.bus.subscribe("screenpop", "screenpop.detail", name="test")
    pop.handle(agent_called("13800000001", linkedid="1.1"), 1.0)
    pop.handle(agent_called("13900000009", linkedid="1.2"), 2.0)
    for _ in range(200):
        if len(blocked.asked) == 2:
            break
        await asyncio.sleep(0.005)
    # both quick cards are out while both details are still being built
    first = events(sub)
    assert sorted((e.topic, e.data["account"]["id"]) for e in first) == [
        ("screenpop", crm_data.account_id), ("screenpop", crm_data.other_id)]
    blocked.release.set()
    await pop.drain()
    details = events(sub)
    assert sorted(e.data["account"]["number"] for e in details) == ["SP-1001", "SP-1002"]
    assert all(e.topic == "screenpop.detail" for e in details)
    # a second ring of the same caller (ringall) gets the cached summary at once
    pop.handle(agent_called("13800000001", interface="PJSIP/1002", linkedid="1.1"), 3.0)
    await pop.drain()
    [again] = events(sub)
    assert again.data["detail"] is True and again.data["account"]["name"] == "Li Lei Shop"
    # each account's detail was built once (the two rings' lookups run concurrently)
    assert sorted(blocked.asked) == sorted([crm_data.account_id, crm_data.other_id])
    sub.close()


async def test_detail_worker_process_builds_the_same_summary(services: Services,
                                                             crm_data: Crm) -> None:
    today = services.clock.now().date()
    inline = InlineDetail(services.db)
    worker = ProcessDetail(services.db.url)
    try:
        await worker.start()
        assert await worker.summary(crm_data.account_id, today) == \
            await inline.summary(crm_data.account_id, today)
        assert await worker.summary(999999, today) is None
        # a worker that dies (killed, out of memory) is replaced on the next ask
        for proc in list(worker._pool._processes.values()):  # type: ignore[union-attr]
            proc.kill()
            await asyncio.to_thread(proc.join, 10)
        again = await worker.summary(crm_data.other_id, today)
        assert again is not None and again["name"] == "Han Mei Flat"
    finally:
        await worker.close()


def test_detail_source_choice(services: Services) -> None:
    assert isinstance(detail_source(services.db, "inline"), InlineDetail)
    memory = type(services.db)("sqlite+aiosqlite:///:memory:")
    assert isinstance(detail_source(memory, "auto"), InlineDetail)
    with pytest.raises(ValueError, match="in-memory"):
        ProcessDetail("sqlite+aiosqlite:///:memory:")
