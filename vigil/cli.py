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


def demo_settings() -> Settings:
    """The demo shows its API docs unless ``VIGIL_API_DOCS`` says otherwise."""
    settings = _settings()
    if "api_docs" not in settings.model_fields_set:
        settings = settings.model_copy(update={"api_docs": True})
    return settings


def cmd_demo(args: argparse.Namespace) -> int:
    from vigil import runtime

    settings = demo_settings()
    run_main(runtime.run(settings, _parts(demo=True), demo=True, seed_accounts=args.accounts),
         settings.event_loop)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from vigil import roles, startup_checks

    settings = _settings()
    found = asyncio.run(startup_checks.problems(settings, roles.runs_web(args.role),
                                                roles.runs_cti(args.role)))
    if found:
        print("vigil serve refuses to start:\n" + "\n".join(f"  - {p}" for p in found)
              + "\nSee docs/production.md and docs/security.md (`vigil demo` runs on the "
              "defaults).", file=sys.stderr)
        return 2
    run_main(roles.serve(settings, args.role, _parts(demo=False)), settings.event_loop)
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from vigil import admin_account

    return admin_account.run(_settings(), args.username, args.display_name,
                             args.password_stdin)


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

    ca = sub.add_parser("create-admin", help="create an administrator (the first one of a "
                                             "fresh database); asks for the password")
    ca.add_argument("username")
    ca.add_argument("--display-name", default=None)
    ca.add_argument("--password-stdin", action="store_true",
                    help="read the password from standard input instead of asking")
    ca.set_defaults(func=cmd_create_admin)

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
