"""``vigil simulate panels`` and ``vigil simulate serial-receiver``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from typing import Any

from receivers.config import parse_key
from receivers.simulate.panels import panel_accounts, run_panels
from receivers.simulate.serial_receiver import PtyPair, SerialReceiverSim

DEMO_KEY = "text:VigilDemoKey-128"


def simulate_group(sub: Any) -> Any:
    """The ``simulate`` command's sub-commands, shared with other packages' simulators."""
    if "simulate" in sub.choices:
        return sub.choices["simulate"].vigil_sub
    p = sub.add_parser("simulate", help="simulators: alarm panels, receivers, ...")
    p.vigil_sub = p.add_subparsers(dest="simulator", required=True)
    return p.vigil_sub


def register(sub: Any) -> None:
    group = simulate_group(sub)
    p = group.add_parser("panels", help="DC-09 panels sending a mix of events, checking ACKs")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=12000)
    p.add_argument("--count", type=int, default=10, help="panels (connections)")
    p.add_argument("--rate", type=float, default=5.0,
                   help="messages per second in total (0 = as fast as ACKs come)")
    p.add_argument("--protocol", choices=("tcp", "udp"), default="tcp")
    p.add_argument("--encrypted", action="store_true", help="AES-encrypt with --key")
    p.add_argument("--key", default=DEMO_KEY,
                   help='"hex:<32/48/64 digits>" or "text:<16/24/32 chars>" (with --encrypted)')
    p.add_argument("--messages", type=int, default=None, help="stop after this many in total")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--first-account", type=int, default=100001)
    p.add_argument("--ack-timeout", type=float, default=10.0)
    p.set_defaults(func=cmd_panels)

    s = group.add_parser("serial-receiver",
                         help="a Sur-Gard / Ademco 685 receiver on a pseudo-terminal")
    s.add_argument("--format", choices=("surgard", "ademco685"), default="surgard")
    s.add_argument("--rate", type=float, default=0.5, help="event lines per second")
    s.add_argument("--count", type=int, default=None, help="stop after this many lines")
    s.add_argument("--duration", type=float, default=None)
    s.add_argument("--heartbeat", type=float, default=30.0, help="seconds between heartbeats")
    s.add_argument("--ack-timeout", type=float, default=4.0)
    s.add_argument("--tries", type=int, default=4)
    s.add_argument("--accounts", default="1234,5678,1002",
                   help="comma-separated 4-digit accounts to report for")
    s.set_defaults(func=cmd_serial_receiver)


def cmd_panels(args: argparse.Namespace) -> int:
    key = parse_key(args.key) if args.encrypted else None
    report = None

    async def go() -> None:
        nonlocal report
        task = asyncio.ensure_future(run_panels(
            args.host, args.port, count=args.count, rate=args.rate, messages=args.messages,
            duration=args.duration, transport=args.protocol, key=key,
            accounts=panel_accounts(args.count, args.first_account),
            ack_timeout=args.ack_timeout))
        try:
            report = await task
        finally:
            task.cancel()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())
    if report is not None:
        print(json.dumps(report.summary()))
    return 0 if report is not None and report.acked_messages == report.sent else 1


def cmd_serial_receiver(args: argparse.Namespace) -> int:
    pair = PtyPair()
    print(json.dumps({"device": pair.path, "format": args.format}), flush=True)
    summary: dict[str, Any] = {}

    async def go() -> None:
        sim = SerialReceiverSim(pair.master, args.format, ack_timeout=args.ack_timeout,
                                tries=args.tries, heartbeat=args.heartbeat)
        try:
            await sim.run(args.accounts.split(","), rate=args.rate, count=args.count,
                          duration=args.duration)
        finally:
            sim.close()
            summary.update(sim.report.summary())

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(go())
    finally:
        pair.close()
    print(json.dumps(summary))
    return 0
