"""Real Asterisk 22.10.1 captures of hold and three-way calls (tests/cti/asterisk22/README.md)
replayed through the state model: what the console and the call records get from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cti.callview import call_view
from cti.live import queues_view
from cti.model import CtiModel, ModelConfig
from cti.replay import load_capture

HERE = Path(__file__).resolve().parent / "asterisk22"
CONFIG = ModelConfig(queue_wrapup={"support": 5}, shared_lastcall=True)


def replay(name: str, until: str | None = None,
           before: bool = False) -> tuple[CtiModel, list[dict[str, Any]]]:
    """Feed the capture up to the first ``until`` event (included, or not with ``before``);
    the model and the records it gave."""
    model = CtiModel(CONFIG)
    for msg, t in load_capture(HERE / f"{name}.ami"):
        if before and msg.get("Event") == until:
            return model, model.take_records()
        model.feed(msg, t)
        if until is not None and not before and msg.get("Event") == until:
            return model, model.take_records()
    model.flush()
    return model, model.take_records()


def test_hold_on_the_phone_shows_held_and_is_timed_on_the_record() -> None:
    model, _ = replay("hold_conference_keyholder", until="Hold")
    view = call_view(model, "1001")
    assert view is not None and (view["state"], view["kind"]) == ("held", "queue")
    member = model.queues["support"].members["Local/1001@agent-phones/n"]
    assert member.status == 2 and not member.paused  # still in use: no other caller
    _, records = replay("hold_conference_keyholder")
    host = next(r for r in records if r["queue"] == "support")
    [hold] = host["holds"]
    assert hold["channel"].startswith("PJSIP/1001-") and hold["music_class"] == "default"
    assert hold["ended_at"] - hold["started_at"] == pytest.approx(4.2, abs=0.3)
    assert host["hold_seconds"] == pytest.approx(4.2, abs=0.3)


def test_the_keyholder_joins_the_call_and_everyone_leaves_with_the_agent() -> None:
    _, records = replay("hold_conference_keyholder")
    host = next(r for r in records if r["queue"] == "support")
    invite = next(r for r in records if r["call_id"].startswith("conf-"))
    parties = host["conference"]["participants"]
    assert [(p["role"], p["number"]) for p in parties] == [
        ("agent", None), ("party", "carrier"), ("external", "13900000002")]
    assert host["conference"]["room"] == "vigil-" + host["call_id"].replace(".", "")
    assert all(p["left_at"] is not None for p in parties)
    assert (host["outcome"], host["ended_by"], host["talk_seconds"]) == ("answered", "agent", 17)
    assert host["agent_devices"] == ["Local/1001@agent-phones"]
    assert (invite["conference_call_id"], invite["called_number"]) == (host["call_id"],
                                                                      "13900000002")


def test_the_caller_leaving_first_completes_the_queue_call_and_the_room_goes_on() -> None:
    model, _ = replay("conference_colleague_caller_leaves", until="AgentComplete")
    view = call_view(model, "1001")
    assert view is not None and view["state"] == "connected"
    colleague = call_view(model, "1002")
    assert colleague is not None and colleague["conference"] is view["conference"]
    _, records = replay("conference_colleague_caller_leaves")
    host = next(r for r in records if r["queue"] == "support")
    assert [(p["role"], p["number"]) for p in host["conference"]["participants"]] == [
        ("party", "carrier"), ("agent", None), ("colleague", "1002")]
    assert (host["ended_by"], host["talk_seconds"]) == ("caller", 10)
    # app_queue's wrap-up began at the caller's hangup (LastCall), not when the agent left
    model, _ = replay("conference_colleague_caller_leaves", "QueueMemberRemoved", before=True)
    member = queues_view(model, model.now)["queues"]["support"]["members"][
        "Local/1001@agent-phones/n"]
    assert member["last_call"] == 1796493206
    assert (member["wrapup_until"], member["wrapup_call_id"]) == (1796493211.0, host["call_id"])


def test_a_withdrawn_invitation_never_joined() -> None:
    _, records = replay("conference_invite_withdrawn")
    host = next(r for r in records if r["queue"] == "support")
    invite = next(r for r in records if r["call_id"].startswith("conf-"))
    assert [p["role"] for p in host["conference"]["participants"]] == ["party", "agent"]
    assert invite["answer_at"] is None and invite["conference_call_id"] == host["call_id"]
