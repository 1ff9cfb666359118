"""Screen pop: the caller's subscriber record on the agent's console while the phone rings.

On ``AgentCalled`` (app_queue starts ringing a member, before any answer) the caller is looked up
by the account id the IVR put on the channel (``VIGIL_ACCOUNT_ID``, read from the event's
``ChanVariable`` headers or from what the model saw in VarSet), else by caller number through
``crm.lookup_by_phone``; a ``screenpop`` event goes on the bus for that agent with crm's account
summary, or an empty card with the number and ``new_subscriber: true``. Verification calls the
CTI places pop the same card for the operator (:meth:`ScreenPop.pop_outbound`).

This is the hot path (target p99 < 20 ms from the event on the socket to the bus event, measured
by ``bench/ami_events.py``), so the pop comes in two steps. ``screenpop`` carries what one indexed
query finds (``crm.lookup_by_phone``: the account's id, number, name and status, the calling
contact); ``screenpop.detail`` follows with crm's full ``account_summary`` (premises, panels, call
list, contract, tickets, completeness), which takes tens of milliseconds of ORM work on 100,000
accounts; it is built by a :class:`cti.popdetail.DetailSource`, in production a worker process
with its own engine (:class:`cti.popdetail.ProcessDetail`), so that CPU time never sits on the
event loop in front of the next ring's first step. A summary built in
the last ``cache_seconds`` goes out in the first event (``detail: true``) — ``ringall`` queues ring
every agent with the same caller at once. The event stream never waits for any of this (each ring
is its own task), and users come from :class:`cti.agents.AgentDirectory`'s cache. ``received_at``
in the payload is the time the AgentCalled arrived on the AMI socket.

The last payload published for each user's live call is kept (:meth:`ScreenPop.current`) so a
console that reloads or signs in during a ringing or connected call gets its card back; it is
dropped when the user's part of the call ends (:meth:`ScreenPop.clear`: the call ended, the ring
went elsewhere, the call was transferred away). The account the pop identified by caller number
is remembered for the call's record (:meth:`ScreenPop.enrich`): a direct line sets no
``VIGIL_ACCOUNT_ID``, yet the record should carry the account the agent saw.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.bus import Bus
from core.clock import Clock
from core.db import Database
from core.ttl import TTLCache
from crm import services as crm
from cti.agents import AgentDirectory, extension_of
from cti.callview import user_channels
from cti.model import CtiModel
from cti.popdetail import DetailSource, InlineDetail

log = logging.getLogger(__name__)

Json = dict[str, Any]
ACCOUNT_VAR = "VIGIL_ACCOUNT_ID"
PATH_VAR = "VIGIL_IVR_PATH"
WARMUP_NUMBER = "+15550100000"  # any valid number: the lookup's statement is compiled once


@dataclass(frozen=True, slots=True)
class Ringing:
    """What an AgentCalled event (and the model's view of its call) says about the ring."""

    interface: str
    member: str
    queue: str | None
    caller_number: str | None
    caller_name: str | None
    call_id: str | None
    uniqueid: str | None
    ring_id: str | None
    account_id: str | None
    ivr_path: str | None


def _clean(value: str | None) -> str | None:
    return None if value in (None, "", "<unknown>") else value


def _var(msg: Mapping[str, str], name: str) -> str | None:
    for key in (f"ChanVariable({name})", f"ChanVariable(_{name})", f"ChanVariable(__{name})"):
        value = msg.get(key)
        if value:
            return value
    return None


def ringing_of(msg: Mapping[str, str], model: CtiModel | None) -> Ringing:
    """Pure: the ring described by an AgentCalled event, completed from the model's call."""
    call_id = msg.get("Linkedid") or None
    call = model.calls.get(call_id) if model is not None and call_id else None
    account = _var(msg, ACCOUNT_VAR) or (call.account_id if call is not None else None)
    path = _var(msg, PATH_VAR) or (call.ivr_path if call is not None else None)
    return Ringing(
        interface=msg.get("Interface", ""), member=msg.get("MemberName", ""),
        queue=msg.get("Queue") or None, caller_number=_clean(msg.get("CallerIDNum")),
        caller_name=_clean(msg.get("CallerIDName")), call_id=call_id,
        uniqueid=msg.get("Uniqueid") or None, ring_id=msg.get("DestUniqueid") or None,
        account_id=account or None, ivr_path=path or None)


def _light_account(owner: crm.PhoneOwner) -> Json:
    return {"id": owner.account_id, "number": owner.account_number,
            "receiver_prefix": owner.receiver_prefix, "name": owner.account_name,
            "status": owner.account_status, "language": owner.language}


async def quick_card(session: AsyncSession, account_id: str | int | None,
                     number: str | None, region: str) -> Json:
    """The card from one indexed query (crm.lookup_by_phone): ``account`` (its identity: id,
    number, name, status; ``{"id": ...}`` alone when only the channel variable names it),
    the number's ``owners``, the calling ``contact`` when the number is a person's, ``lookup``
    (``channel_variable``, ``caller_number`` or None) and ``new_subscriber``."""
    owners = await crm.lookup_by_phone(session, number, region) if number else []
    account: Json | None = None
    how: str | None = None
    text = str(account_id).strip() if account_id is not None else ""
    if text.isdigit():
        wanted = int(text)
        how = "channel_variable"
        same = next((o for o in owners if o.account_id == wanted), None)
        account = _light_account(same) if same is not None else {"id": wanted}
    elif owners:
        how = "caller_number"
        account = _light_account(owners[0])
    contact = None
    if account is not None:
        contact = next((o.to_dict() for o in owners
                        if o.account_id == account["id"] and o.contact_id is not None), None)
    return {"account": account, "owners": [o.to_dict() for o in owners[:10]],
            "contact": contact, "new_subscriber": account is None, "lookup": how}


async def lookup_card(session: AsyncSession, account_id: str | int | None,
                      number: str | None, region: str, today: Any) -> Json:
    """:func:`quick_card` with crm's full ``account_summary`` as ``account`` (None when the
    account does not exist)."""
    card = await quick_card(session, account_id, number, region)
    if card["account"] is not None:
        try:
            card["account"] = await crm.account_summary(session, card["account"]["id"], today)
        except crm.NotFound:
            card.update(account=None, new_subscriber=True, lookup=None, contact=None)
    return card


class ScreenPop:
    """Publishes ``screenpop`` bus events; :meth:`handle` is an :class:`AmiClient` handler."""

    def __init__(self, db: Database, bus: Bus, clock: Clock, directory: AgentDirectory,
                 model: CtiModel | None = None, region: str = "CN",
                 cache_seconds: float = 30.0, detail: DetailSource | None = None) -> None:
        self.db, self.bus, self.clock = db, bus, clock
        self.directory = directory
        self.model = model
        self.region = region
        self._cache: TTLCache[Any, Json] = TTLCache(cache_seconds, size=512)  # recent summaries
        self.detail: DetailSource = detail or InlineDetail(db)
        self._building: dict[int, asyncio.Future[Json | None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._current: dict[int, Json] = {}  # user id -> last pop of their live call
        self._accounts: OrderedDict[str, str] = OrderedDict()  # call id -> account id found
        self.published = 0
        self.failed = 0

    def handle(self, msg: Mapping[str, str], t: float) -> None:
        """On AgentCalled, start the lookup in its own task (the event stream goes on)."""
        if msg.get("Event") != "AgentCalled":
            return
        ring = ringing_of(msg, self.model)
        task = asyncio.get_running_loop().create_task(self._pop_safely(ring, t))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for lookups in flight (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def start(self) -> None:
        """Start the detail source's workers (when it has any) and warm the quick path (the
        directory's users, the lookup's compiled statement), so the first ring after a start
        costs what every other ring costs."""
        await self.detail.start()
        await self.directory.refresh()
        async with self.db.session() as s:
            await crm.lookup_by_phone(s, WARMUP_NUMBER, self.region)

    async def close(self) -> None:
        await self.drain()
        await self.detail.close()

    async def _pop_safely(self, ring: Ringing, received_at: float) -> None:
        try:
            await self.pop(ring, received_at)
        except Exception:
            self.failed += 1
            log.exception("screen pop failed for %s", ring)

    async def _quick(self, account_id: str | int | None, number: str | None) -> Json:
        async with self.db.session() as s:
            card = await quick_card(s, account_id, number, self.region)
        account = card["account"]
        if account is not None:
            cached = self._cache.value(account["id"], self.clock.monotonic())
            if cached is not None:
                card["account"] = cached
                card["detail"] = True
            else:
                card["detail"] = False
        return card

    async def _summary(self, account_id: int) -> Json | None:
        """The cached summary, else the one being built for an earlier ring (ringall rings
        every agent with the same caller), else a new one from the detail source."""
        now = self.clock.monotonic()
        cached = self._cache.value(account_id, now)
        if cached is not None:
            return dict(cached)
        building = self._building.get(account_id)
        if building is None:
            building = asyncio.ensure_future(
                self.detail.summary(account_id, self.clock.now().date()))
            self._building[account_id] = building
            try:
                summary = await asyncio.shield(building)
            finally:
                self._building.pop(account_id, None)
            if summary is not None:
                self._cache.put(account_id, summary, now)
        else:
            summary = await asyncio.shield(building)
        return None if summary is None else dict(summary)

    # ------------------------------------------------------------------ the live call's pop

    def current(self, user_id: int) -> Json | None:
        """The last pop (with its detail once built) of the user's live call, or None."""
        return self._current.get(user_id)

    def clear(self, user_id: int, call_id: str | None = None) -> bool:
        """Forget the user's pop (only if it is of ``call_id`` when given)."""
        pop = self._current.get(user_id)
        if pop is None or (call_id is not None and pop.get("call_id") != call_id):
            return False
        del self._current[user_id]
        return True

    def clear_call(self, call_id: str, originate_action_id: str | None = None) -> list[int]:
        """A call ended: forget every pop of it (an outbound pop of an Originate that never
        made a channel is known by its ActionID, ``<call id>-orig``). Returns the users."""
        gone = [uid for uid, pop in self._current.items()
                if pop.get("call_id") == call_id or (
                    originate_action_id and f"{pop.get('call_id')}-orig" == originate_action_id)]
        for uid in gone:
            del self._current[uid]
        return gone

    def _keep(self, payload: Json) -> None:
        user_id = payload.get("user_id")
        if not isinstance(user_id, int):
            return
        if payload.get("direction") == "inbound" and self.model is not None:
            ext, call_id = payload.get("extension"), payload.get("call_id")
            if not ext or not call_id or not user_channels(self.model, str(ext), str(call_id)):
                return  # the ring ended while the lookup ran: no live call to restore
        current = self._current.get(user_id)
        if (current is not None and current.get("call_id") == payload.get("call_id")
                and current.get("detail") and not payload.get("detail")):
            return  # the detail of this call is already kept
        self._current[user_id] = payload

    def _remember_account(self, payload: Json) -> None:
        account, call_id = payload.get("account"), payload.get("call_id")
        if account is None or not call_id:
            return
        self._accounts[str(call_id)] = str(account["id"])
        self._accounts.move_to_end(str(call_id))
        while len(self._accounts) > 10_000:
            self._accounts.popitem(last=False)

    def enrich(self, record: Json) -> None:
        """Give a finished call's record the account its pop identified, when the channel
        variables named none (``account_lookup`` says how it was found)."""
        found = self._accounts.pop(str(record.get("call_id")), None)
        if record.get("account_id") is None and found is not None:
            record["account_id"] = found
            record["account_lookup"] = "caller_number"
        elif record.get("account_id") is not None:
            record.setdefault("account_lookup", "channel_variable")

    async def _publish(self, payload: Json) -> Json:
        """``screenpop`` now; ``screenpop.detail`` with crm's full summary when it is built."""
        self.bus.publish_nowait("screenpop", payload)
        self.published += 1
        self._keep(payload)
        self._remember_account(payload)
        account = payload.get("account")
        if account is not None and not payload.get("detail"):
            summary = await self._summary(int(account["id"]))
            detail = {**payload, "detail": True}
            if summary is None:
                detail.update(account=None, new_subscriber=True, lookup=None, contact=None)
            else:
                detail["account"] = summary
            self.bus.publish_nowait("screenpop.detail", detail)
            self._keep(detail)
        return payload

    async def pop(self, ring: Ringing, received_at: float | None = None) -> Json:
        """Look the caller up and publish the inbound ``screenpop``; returns its payload."""
        ext = extension_of(ring.interface)
        user = await self.directory.by_extension(ext)
        card = await self._quick(ring.account_id, ring.caller_number)
        payload: Json = {
            "direction": "inbound", "interface": ring.interface, "member": ring.member,
            "agent": ring.member, "extension": ext,
            "user_id": user.id if user else None, "username": user.username if user else None,
            "caller_id": ring.caller_number, "caller_number": ring.caller_number,
            "caller_name": ring.caller_name, "queue": ring.queue, "ivr_path": ring.ivr_path,
            "call_id": ring.call_id, "uniqueid": ring.uniqueid, "ring_id": ring.ring_id,
            "account_id": ring.account_id, **card,
            "received_at": received_at if received_at is not None else time.time(),
        }
        return await self._publish(payload)

    async def pop_outbound(self, *, user_id: int | None, username: str | None,
                           extension: str | None, number: str, account_id: int | str | None,
                           incident_id: int | str | None, call_id: str | None,
                           contact_id: int | None = None,
                           contact_name: str | None = None) -> Json:
        """The card for a verification call the CTI is placing for an operator."""
        card = await self._quick(account_id, number)
        payload: Json = {
            "direction": "outbound", "extension": extension, "user_id": user_id,
            "username": username, "operator_id": user_id, "caller_id": number,
            "called_number": number, "incident_id": incident_id, "call_id": call_id,
            "contact_id": contact_id, "contact_name": contact_name,
            "account_id": account_id, **card, "received_at": time.time(),
        }
        return await self._publish(payload)
