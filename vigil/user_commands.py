"""``vigil create-user`` and ``vigil rotate-sip-password``: users and their phones from a shell.

A user with an extension gets a generated SIP password (sealed with ``VIGIL_SECRET_KEY``);
neither command prints it: the user's console receives it over its signed-in session, Asterisk
when its PJSIP include is rendered again. Both are audited as ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

ASTERISK_HINT = ("Asterisk learns phones and SIP passwords when its PJSIP include is rendered "
                 "again: docker compose run --rm asterisk-init && docker compose exec asterisk "
                 "asterisk -rx 'module reload res_pjsip.so'")
MIN_PASSWORD = 8


def _actor() -> Any:
    from core.audit import Actor

    return Actor(f"cli:{getpass.getuser()}")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("console password: ")
        if getpass.getpass("again: ") != password:
            raise SystemExit("the passwords differ")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"the password must have at least {MIN_PASSWORD} characters")
    return password


async def _with_session(job: Any) -> Any:
    from core.services import Services
    from core.settings import Settings
    from core.sip_credentials import for_secret
    from vigil import migrate

    settings = Settings()
    await migrate.upgrade(settings.database_url)
    services = Services.create(settings)
    try:
        async with services.db.transaction() as session:
            return await job(session, services.clock, for_secret(settings.secret_key))
    finally:
        await services.close()


def cmd_create_user(args: argparse.Namespace) -> int:
    from core import users

    password = _read_password(args.password_stdin)

    async def job(session: Any, clock: Any, sip: Any) -> dict[str, Any]:
        if await users.get_user_by_name(session, args.username) is not None:
            raise SystemExit(f"user {args.username} already exists")
        user = await users.create_user(
            session, clock, _actor(), username=args.username, password=password, role=args.role,
            display_name=args.display_name, language=args.language, extension=args.extension,
            sip=sip)
        return dict(user.public())

    print(json.dumps({"user": asyncio.run(_with_session(job))}, ensure_ascii=False))
    if args.extension:
        print(ASTERISK_HINT, file=sys.stderr)
    return 0


def cmd_rotate_sip_password(args: argparse.Namespace) -> int:
    from core import users

    if not args.usernames and not (args.all or args.missing):
        raise SystemExit("name the users, or give --all or --missing")

    async def job(session: Any, clock: Any, sip: Any) -> list[str]:
        if args.missing:
            return list(await users.fill_in_sip_passwords(session, clock, _actor(), sip))
        targets = await users.phone_users(session) if args.all else []
        for name in args.usernames:
            user = await users.get_user_by_name(session, name)
            if user is None or not user.extension:
                raise SystemExit(f"user {name} does not exist or has no phone extension")
            targets.append(user)
        for user in targets:
            await users.rotate_sip_password(session, clock, _actor(), user, sip)
        return [u.username for u in targets]

    done = asyncio.run(_with_session(job))
    print(json.dumps({"rotated": done}))
    if done:
        print(ASTERISK_HINT, file=sys.stderr)
    return 0


def register(sub: Any) -> None:  # argparse's _SubParsersAction is private
    c = sub.add_parser("create-user", help="create a console user (with a phone: SIP password)")
    c.add_argument("username")
    c.add_argument("--role", choices=("agent", "supervisor", "admin"), required=True)
    c.add_argument("--display-name")
    c.add_argument("--language", choices=("zh-CN", "en"), default="zh-CN")
    c.add_argument("--extension", help="phone extension (digits); a SIP password is generated")
    c.add_argument("--password-stdin", action="store_true",
                   help="read the console password from standard input instead of a prompt")
    c.set_defaults(func=cmd_create_user)

    r = sub.add_parser("rotate-sip-password", help="new SIP passwords for users' phones")
    r.add_argument("usernames", nargs="*")
    r.add_argument("--all", action="store_true", help="every user with an extension")
    r.add_argument("--missing", action="store_true",
                   help="only users whose SIP password is missing or unreadable (after a "
                        "change of VIGIL_SECRET_KEY)")
    r.set_defaults(func=cmd_rotate_sip_password)
