"""The ``vigil`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from core.settings import Settings


def run_main(main: Coroutine[Any, Any, Any], loop: str) -> Any:
    """Run a long-lived command on uvloop where it is installed (uvicorn[standard] brings it on
    Linux): asyncpg and the sockets of receivers, AMI and FastAGI take less CPU per message
    there, which the alarm engine's latency at 2,000 signals/s needs."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not on this platform: the standard loop is correct, only slower
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def _settings() -> Settings:
    return Settings()


def cmd_migrate(args: argparse.Namespace) -> int:
    from vigil import migrate

    asyncio.run(migrate.upgrade(_settings().database_url))
    print("database is up to date")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from core.services import Services
    from core.sip_credentials import for_secret
    from crm.seed import seed
    from vigil import migrate

    async def go() -> None:
        settings = _settings()
        await migrate.upgrade(settings.database_url)
        services = Services.create(settings)
        try:
            result = await seed(services.db, accounts=args.accounts, seed=args.seed,
                                sip=for_secret(settings.secret_key))
            print(json.dumps(result))
        finally:
            await services.close()

    asyncio.run(go())
    return 0


def _parts(demo: bool) -> list:  # type: ignore[type-arg]
    """The background parts of the system; each package contributes its own when present."""
    from vigil import parts

    return parts.collect(demo=demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from vigil import runtime

    settings = _settings()
    run_main(runtime.run(settings, _parts(demo=True), demo=True, seed_accounts=args.accounts),
         settings.event_loop)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from vigil import roles

    settings = _settings()
    run_main(roles.serve(settings, args.role, _parts(demo=False)), settings.event_loop)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vigil", description="Vigil alarm-monitoring call center")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    s = sub.add_parser("seed", help="create demo users and generated subscribers")
    s.add_argument("--accounts", type=int, default=500)
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(func=cmd_seed)

    d = sub.add_parser("demo", help="run everything on 127.0.0.1 with SQLite and pbxsim")
    d.add_argument("--accounts", type=int, default=500, help="subscribers to seed when empty")
    d.set_defaults(func=cmd_demo)

    sv = sub.add_parser("serve", help="run against the configured Asterisk and database")
    sv.add_argument("--role", choices=("receivers", "cti", "web", "all"), default="all",
                    help="the parts this node runs (default: all); see docs/production.md")
    sv.set_defaults(func=cmd_serve)

    from vigil import extra_commands

    extra_commands.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
