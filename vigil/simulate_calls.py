"""``vigil simulate calls --rate R``: subscribers calling a running system (pbxsim or Asterisk)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from core.settings import Settings


async def _numbers(settings: Settings, limit: int) -> list[tuple[str, str]]:
    """Subscribers' numbers from the CRM, so the screen pops find them; none if the database
    is not reachable (the simulator then uses its own sample caller)."""
    from core.services import Services
    from vigil.cti_parts import subscriber_numbers

    services = Services.create(settings)
    try:
        return await subscriber_numbers(services, limit)
    except Exception:  # noqa: BLE001 - an empty or unmigrated database is fine here
        return []
    finally:
        await services.close()


def cmd_calls(args: argparse.Namespace) -> int:
    from pbxsim.simulate_calls import run_calls

    settings = Settings()

    async def go() -> dict[str, object]:
        numbers = await _numbers(settings, args.numbers)
        report = await run_calls(args.host or settings.ami_host, args.port or settings.ami_port,
                                 args.user or settings.ami_user,
                                 args.secret or settings.ami_secret, args.rate, args.duration,
                                 numbers, seed=args.seed)
        return {"rate_per_second": args.rate, "duration_s": args.duration, **report.as_dict()}

    result = asyncio.run(go())
    print(json.dumps(result))
    return 0 if not result["errors"] else 1


def register(group: Any) -> None:
    p = group.add_parser("calls", help="subscribers calling in over AMI at a Poisson rate")
    p.add_argument("--rate", type=float, default=1.0, help="calls per second")
    p.add_argument("--duration", type=float, default=60.0, help="seconds to keep calling")
    p.add_argument("--host", help="AMI host (default VIGIL_AMI_HOST)")
    p.add_argument("--port", type=int, help="AMI port (default VIGIL_AMI_PORT)")
    p.add_argument("--user", help="AMI user (default VIGIL_AMI_USER)")
    p.add_argument("--secret", help="AMI secret (default VIGIL_AMI_SECRET)")
    p.add_argument("--numbers", type=int, default=500, help="subscriber numbers to call from")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_calls)
