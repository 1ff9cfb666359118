"""Which parts run in which role."""

from __future__ import annotations

import asyncio

import pytest

from core.services import Services
from core.settings import Settings
from vigil import roles


async def _noop(services: Services) -> None:
    return None


def _part(name: str) -> roles.Part:
    async def part(services: Services) -> None:
        return None

    part.__name__ = name
    return part


def test_parts_run_in_their_role_and_all() -> None:
    dc09 = roles.tag(_part("dc09"), "receivers")
    ami = roles.tag(_part("ami"), "cti", lease="cti")
    agi = roles.tag(_part("agi"), "cti")
    hub = roles.tag(_part("ws_hub"), "web")
    untagged = _part("metrics")
    parts = [dc09, ami, agi, hub, untagged]
    names = {role: [s.name for s in roles.select(parts, role)] for role in roles.ROLES}
    assert names == {
        "receivers": ["dc09", "metrics"],
        "cti": ["ami", "agi", "metrics"],
        "web": ["ws_hub", "metrics"],
        "all": ["dc09", "ami", "agi", "ws_hub", "metrics"],
    }


def test_lease_names() -> None:
    settings = Settings(_env_file=None, ami_host="pbx1", ami_port=5038)  # type: ignore[call-arg]
    ami = roles.spec_of(roles.tag(_part("ami"), "cti", lease="cti"))
    timers = roles.spec_of(roles.tag(_part("timers"), "receivers", lease="alarm-timers"))
    plain = roles.spec_of(_part("plain"))
    assert roles.lease_name(ami, settings) == "cti:pbx1:5038"
    assert roles.lease_name(timers, settings) == "alarm-timers"
    assert roles.lease_name(plain, settings) is None


def test_unknown_roles_are_refused() -> None:
    with pytest.raises(ValueError):
        roles.select([], "everything")
    with pytest.raises(ValueError):
        roles.tag(_part("x"), "all")


def test_serve_command_takes_a_role() -> None:
    from vigil.cli import build_parser

    args = build_parser().parse_args(["serve", "--role", "cti"])
    assert args.role == "cti"
    assert build_parser().parse_args(["serve"]).role == "all"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--role", "pbx"])


def test_the_real_parts_run_where_the_cluster_needs_them() -> None:
    """``vigil serve``'s parts: the AMI connection once per Asterisk (the CTI lease), FastAGI on
    every cti node, the receivers on receiver nodes, and the alarm engine on every node (it
    handles the signals and verification results published on its own node)."""
    from vigil.parts import collect

    specs = {s.name: s for s in roles.select(collect(demo=False), "all")}
    assert (specs["run_cti"].role, specs["run_cti"].lease) == ("cti", "cti")
    assert (specs["run_ivr"].role, specs["run_ivr"].lease) == ("cti", None)
    assert (specs["receivers"].role, specs["receivers"].lease) == ("receivers", None)
    assert (specs["run_alarms"].role, specs["run_alarms"].lease) == (roles.ANY, None)
    by_role = {role: sorted(s.name for s in roles.select(collect(demo=False), role))
               for role in ("receivers", "cti", "web")}
    assert by_role == {"receivers": ["receivers", "run_alarms"],
                       "cti": ["run_alarms", "run_cti", "run_ivr"],
                       "web": ["run_alarms"]}


def test_long_lived_commands_run_on_uvloop_unless_told_otherwise() -> None:
    import uvloop

    from vigil.cli import run_main

    async def loop_kind() -> bool:
        return isinstance(asyncio.get_running_loop(), uvloop.Loop)

    assert run_main(loop_kind(), "uvloop") is True
    assert run_main(loop_kind(), "asyncio") is False
