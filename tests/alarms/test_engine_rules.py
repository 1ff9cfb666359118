"""The engine's rules without a database: plain values in, effects out (as the CTI model is
tested from AMI events), and the batch applying them to its working set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from alarms import disaster
from alarms.classify import classify
from alarms.engine import rules
from alarms.engine.batch import Batch, IncidentRow
from alarms.engine.effects import (
    CLOSE_FAIL_TO_TEST,
    CLOSE_HELD,
    Flag,
    Join,
    LinkState,
    Log,
    MarkDay,
    MarkZone,
    Open,
    SetState,
    SystemClose,
)
from alarms.engine.rules import Context, Incoming
from alarms.subscriber import AccountInfo
from crm.schedule import Schedule, Window

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)  # a Monday
SHOP = AccountInfo(7, "1234", "Shop 1234")
BURGLARY_STEPS = ("call_premises", "ask_passcode", "call_list", "ecv", "dispatch_guard",
                  "notify_police", "notify_sms")


@dataclass
class State:
    """An account's state as the rules read it."""

    on_test_until: datetime | None = None
    runaway_incident_id: int | None = None
    fail_to_test_incident_id: int | None = None


def ctx(**kw: Any) -> Context:
    return Context(kw.pop("now", NOW), kw.pop("plans", ()), kw.pop("disaster",
                   disaster.DisasterState()), kw.pop("cancel_window_s", 300.0),
                   kw.pop("early_open", timedelta(minutes=60)))


def incoming(code: str, qualifier: str = "new", zone: str = "003",
             account: AccountInfo | None = SHOP, at: datetime = NOW,
             system: str = "cid", number: str = "1234") -> Incoming:
    payload = {"received_at": at.isoformat(), "receiver": "dc09", "line": "R01L1",
               "account": number, "event_code": code, "event_system": system,
               "qualifier": qualifier, "zone": zone, "signal_id": "41"}
    return Incoming(payload, account, classify(payload), rules.account_key(account, number),
                    at, rules.zone_key(zone))


def run(s: Incoming, state: State | None = None, open_: dict[Any, IncidentRow] | None = None,
        *, within_rate: bool = True, schedule: Schedule | None = None,
        marks: frozenset[tuple[int, date, str]] = frozenset(), **kw: Any) -> list[Any]:
    c = ctx(**kw)
    out = rules.screened(s, state, c, open_ or {})
    if out is None:
        out = rules.signal_effects(s, state, c, open_ or {}, schedule, marks, within_rate)
    return out


def open_incident(kind: str = "burglary", desk: str = "operator", status: str = "new",
                  zones: dict[str, Any] | None = None, key: str = "id:7",
                  first: datetime = NOW) -> IncidentRow:
    inc = IncidentRow(account_key=key, desk=desk, kind=kind, event_class="alarm",
                      priority=2, base_priority=2, status=status, zones=zones or {},
                      first_signal_at=first, last_signal_at=first, signal_count=1)
    inc.id = 90
    return inc


def test_a_burglary_opens_an_incident_with_the_default_plan() -> None:
    target = ("id:7", "operator")
    assert run(incoming("130")) == [
        Open("id:7", "operator", "burglary", "alarm", 2, BURGLARY_STEPS, SHOP, "1234", "dc09",
             NOW),
        MarkZone(target, "3", "burglary", "active", NOW), Log(target, None)]


def test_a_second_alarm_joins_the_open_incident_and_a_duress_flags_it() -> None:
    inc = open_incident()
    target = ("id:7", "operator")
    assert run(incoming("121", zone="002"), open_={target: inc}) == [
        Join(target, 1, "duress", hold=False), Flag(target, "duress"),
        MarkZone(target, "2", "duress", "active", NOW), Log(target, None)]


def test_numbers_crm_does_not_know_and_the_receivers_own_line_trouble() -> None:
    fx = run(incoming("130", account=None, number="9999"))
    assert fx == [Open("unknown:9999", "admin", "unknown_account", "supervisory", 2,
                       ("log_only",), None, "9999", "dc09", NOW),
                  Log(("unknown:9999", "admin"), None)]
    line = ("receiver:dc09/R01L1", "technical")
    assert run(incoming("354", account=None, number="0000"))[-1] == Log(line, None)
    assert run(incoming("354", "restore", account=None, number="0000"),
               open_={line: open_incident(key=line[0], desk="technical")}) == [Log(line, None)]
    assert run(incoming("354", "restore", account=None)) == [Log(None, "restore")]


def test_the_accounts_state_settles_some_signals_first() -> None:
    cancelled = AccountInfo(7, "1234", "Shop", "cancelled")
    assert run(incoming("110", account=cancelled)) == [Log(None, "account_cancelled")]
    on_test = State(on_test_until=NOW + timedelta(hours=1))
    assert run(incoming("130"), on_test) == [Log(None, "on_test")]
    on_hold = AccountInfo(7, "1234", "Shop", "on_hold")
    assert run(incoming("130", account=on_hold)) == [Log(None, "on_hold")]
    assert isinstance(run(incoming("110", account=on_hold))[0], Open)  # fire is never held off


def test_a_test_report_sets_the_next_due_time_and_closes_a_late_fail_to_test() -> None:
    supervised = AccountInfo(7, "1234", "Shop", test_interval_minutes=60)
    overdue = open_incident("fail_to_test", desk="technical")
    target = ("id:7", "technical")
    assert run(incoming("602", account=supervised), State(fail_to_test_incident_id=90),
               {target: overdue}) == [
        SetState(7, {"last_test_at": NOW, "test_interval_minutes": 60,
                     "test_due_at": NOW + timedelta(hours=1)}),
        Log(None, "test"), LinkState(7, "fail_to_test_incident_id", None),
        SystemClose(target, *CLOSE_FAIL_TO_TEST)]


def test_runaway_raises_one_incident_then_logs_and_life_safety_goes_through() -> None:
    target = ("id:7", "technical")
    fx = run(incoming("130"), within_rate=False)
    assert fx[0] == Open("id:7", "technical", "runaway", "supervisory", 4,
                         ("call_premises", "notify_email"), SHOP, "1234", "dc09", NOW)
    assert fx[1:] == [LinkState(7, "runaway_incident_id", target), Log(None, "runaway")]
    assert run(incoming("130"), State(runaway_incident_id=5)) == [Log(None, "runaway")]
    assert isinstance(run(incoming("110"), State(runaway_incident_id=5))[0], Open)


def test_a_cancel_marks_a_recent_alarm_cancelled_at_the_panel() -> None:
    target = ("id:7", "operator")
    recent = {target: open_incident(first=NOW - timedelta(minutes=2))}
    assert run(incoming("406"), open_=recent) == [Flag(target, "cancelled_at_panel"),
                                                  Log(target, None)]
    old = {target: open_incident(first=NOW - timedelta(minutes=20))}
    assert run(incoming("406"), open_=old) == [Log(target, None)]
    assert run(incoming("406")) == [Log(None, "cancel")]


def test_restoring_the_last_zone_of_a_held_incident_closes_it() -> None:
    target = ("id:7", "operator")
    zones = {"3": {"kind": "ac_loss", "state": "active", "at": NOW.isoformat()},
             "4": {"kind": "ac_loss", "state": "restored", "at": NOW.isoformat()}}
    held = {target: open_incident("ac_loss", status="held", zones=zones)}
    assert run(incoming("301", "restore"), open_=held) == [
        MarkZone(target, "3", "ac_loss", "restored", NOW), Log(target, None),
        SystemClose(target, *CLOSE_HELD)]
    taken = {target: open_incident("ac_loss", status="taken", zones=zones)}
    assert len(run(incoming("301", "restore"), open_=taken)) == 2  # an operator has it
    assert run(incoming("301", "restore", zone="009"), open_=held) == [Log(target, None)]


def test_disaster_mode_holds_lowers_or_only_logs() -> None:
    def storm(mode: str) -> disaster.DisasterState:
        return disaster.DisasterState(True, {"ac_loss": disaster.Rule(mode, 45, 2)})  # type: ignore[arg-type]

    held = run(incoming("301"), disaster=storm("hold"))[0]
    assert isinstance(held, Open) and held.held_until == NOW + timedelta(minutes=45)
    lowered = run(incoming("301"), disaster=storm("lower"))[0]
    assert isinstance(lowered, Open) and lowered.priority == 5 and lowered.held_until is None
    assert run(incoming("301"), disaster=storm("log")) == [Log(None, "disaster")]
    fire = run(incoming("110"), disaster=storm("log"))[0]
    assert isinstance(fire, Open) and fire.priority == 1


def test_an_early_opening_is_raised_once_a_day() -> None:
    week = Schedule(account_id=7, timezone="UTC",
                    windows=tuple(Window(d, time(12, 0), time(20, 0)) for d in range(5)))
    opening = incoming("401")  # Contact ID 401 new: an opening at 10:00, two hours early
    fx = run(opening, schedule=week)
    assert fx[0] == SetState(7, {"armed": False, "last_open_at": NOW})
    assert isinstance(fx[1], Open) and fx[1].kind == "unscheduled_open"
    assert fx[2:] == [MarkDay(7, NOW.date(), "unscheduled_open", ("id:7", "operator")),
                      Log(("id:7", "operator"), None)]
    again = run(opening, schedule=week, marks=frozenset({(7, NOW.date(), "unscheduled_open")}))
    assert again == [SetState(7, {"armed": False, "last_open_at": NOW}),
                     Log(None, "open_close")]
    closing = run(incoming("401", "restore"))  # no schedule: only the state changes
    assert closing == [SetState(7, {"armed": True, "last_close_at": NOW}),
                       Log(None, "open_close")]


def test_overdue_test_reports() -> None:
    state = State()
    assert rules.overdue_test(7, None, state, ctx(), {}) == [SetState(7, {"test_due_at": None})]
    assert rules.overdue_test(7, SHOP, State(on_test_until=NOW + timedelta(hours=1)), ctx(),
                              {}) == []
    fx = rules.overdue_test(7, SHOP, state, ctx(), {})
    assert isinstance(fx[0], Open) and (fx[0].kind, fx[0].desk) == ("fail_to_test", "technical")
    assert fx[1] == LinkState(7, "fail_to_test_incident_id", ("id:7", "technical"))


def test_the_batch_applies_effects_in_order() -> None:
    b = Batch(NOW, {}, {})
    burglary = incoming("130")
    b.apply(run(burglary), burglary)
    [inc] = b.new
    assert (inc.kind, inc.priority, inc.status, inc.signal_count, inc.id) == (
        "burglary", 2, "new", 1, None)
    assert inc.zones == {"3": {"kind": "burglary", "state": "active", "at": NOW.isoformat()}}
    assert [s["step"] for s in inc.steps] == list(BURGLARY_STEPS)
    fire = incoming("110", zone="004", at=NOW + timedelta(seconds=5))
    b.apply(run(fire, open_=b.open), fire)
    assert (inc.kind, inc.priority, inc.signal_count, inc.last_signal_at) == (
        "fire", 1, 2, NOW + timedelta(seconds=5))
    [(row, linked), _] = b.rows
    assert (row["kind"], row["signal_id"], row["logged_reason"], linked) == ("burglary", "41",
                                                                            None, inc)
    assert b.touched[id(inc)][1] == ["41", "41"]
    runaway = incoming("130", zone="005")
    b.apply(run(runaway, open_=b.open, within_rate=False), runaway)
    st = b.states[7]
    assert st.runaway_incident_id == -1  # until the writer knows the new incident's id
    assert b.links == [(st, "runaway_incident_id", b.open[("id:7", "technical")])]
    assert b.new_states == [st]
