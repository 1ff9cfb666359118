"""The IVR and asterisk-config name the same things (ivr may not import vigil; tests may)."""

from __future__ import annotations

from ivr import queue_entry
from ivr.server import ROUTES
from tests.ivr.conftest import settings
from vigil import asterisk_refs as refs


def test_every_fastagi_path_of_the_dialplan_has_a_route() -> None:
    assert set(refs.AGI_PATHS) <= set(ROUTES)


def test_the_queues_the_ivr_names_exist_in_the_dialplan() -> None:
    s = settings()
    assert s.emergency_queue == refs.QUEUE_EMERGENCY and s.service_queue == refs.QUEUE_BILLING
    assert {s.emergency_queue, s.service_queue} <= set(refs.QUEUES)


def test_channel_variables_are_the_dialplans() -> None:
    assert queue_entry.VAR_QUEUE == refs.VAR_QUEUE
    assert queue_entry.VAR_ACCOUNT_ID == refs.VAR_ACCOUNT_ID
    assert queue_entry.VAR_IVR_PATH == refs.VAR_IVR_PATH
    assert (queue_entry.INHERIT + refs.VAR_ACCOUNT_ID).startswith(refs.KEPT_VARSET_PREFIXES)


def test_pbxsim_plays_prompts_for_their_rendered_durations() -> None:
    from ivr.prompts import CATALOGUE, played_seconds, sound_file

    p = CATALOGUE["welcome"]
    for lang in ("en", "zh-CN"):
        assert played_seconds(sound_file("welcome", lang)) == p.seconds(lang)
        assert (p.seconds(lang) or 0) > 0
    assert played_seconds("vigil/en/no-such-prompt") is None
    assert played_seconds("vigil/en/num-10000") is None  # Chinese only: not rendered in English
    assert played_seconds("digits/7") == 0.6
