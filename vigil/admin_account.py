"""``vigil create-admin``: the first administrator of a fresh database (or another one later).

The password is asked twice on a terminal, or read from standard input (``--password-stdin``,
for scripts and containers), never taken from the command line where ``ps`` shows it.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import sys

from core import audit
from core.models import Role
from core.services import Services
from core.settings import Settings
from core.users import create_user, get_user_by_name

MIN_PASSWORD = 12
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


async def create(settings: Settings, username: str, display_name: str | None,
                 password: str) -> int:
    from vigil import migrate

    await migrate.upgrade(settings.database_url)
    services = Services.create(settings)
    try:
        async with services.db.transaction() as s:
            if await get_user_by_name(s, username) is not None:
                raise ValueError(f"user {username!r} exists")
            user = await create_user(s, services.clock, audit.Actor.system("cli"),
                                     username=username, password=password, role=Role.admin,
                                     display_name=display_name, language="zh-CN")
            return user.id
    finally:
        await services.close()


def run(settings: Settings, username: str, display_name: str | None, from_stdin: bool) -> int:
    try:
        if not USERNAME.match(username):
            raise ValueError("a username is 2-64 letters, digits, '_', '.' or '-'")
        password = read_password(from_stdin)
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password must be at least {MIN_PASSWORD} characters")
        user_id = asyncio.run(create(settings, username, display_name, password))
    except (ValueError, EOFError, KeyboardInterrupt) as exc:
        print(f"create-admin: {exc}", file=sys.stderr)
        return 1
    print(f"administrator {username!r} created (id {user_id})")
    return 0
