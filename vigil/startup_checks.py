"""What ``vigil serve`` refuses to start with: the defaults that make ``vigil demo`` convenient
are known to everyone. A session key anyone can read forges any login; the demo AMI secret
drives the PBX; the demo passwords are in the README. ``vigil demo`` skips these checks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.db import Database
from core.models import User
from core.security import verify_password_async
from core.settings import Settings

MIN_SECRET_KEY = 32
MIN_AMI_SECRET = 12  # the same minimum as the Asterisk side (vigil.asterisk_secrets)
KNOWN_SECRETS = frozenset({"insecure-dev-key-change-me", "vigil", "vigil-demo", "secret",
                           "changeme", "change-me", "password"})


def _weak(value: str, minimum: int) -> str | None:
    if value.strip().lower() in KNOWN_SECRETS or value == Settings.model_fields[
            "secret_key"].default:
        return "is a default value"
    if len(value) < minimum:
        return f"is shorter than {minimum} characters"
    if len(set(value)) < 6:
        return "repeats too few characters"
    return None


def secret_problems(settings: Settings, web: bool, cti: bool) -> list[str]:
    """Settings a node with these parts must not run with."""
    problems = []
    if web and (why := _weak(settings.secret_key, MIN_SECRET_KEY)):
        problems.append(f"VIGIL_SECRET_KEY {why} (it signs the console's session cookies)")
    if cti and (why := _weak(settings.ami_secret, MIN_AMI_SECRET)):
        problems.append(f"VIGIL_AMI_SECRET {why} (it logs in to Asterisk's AMI)")
    return problems


async def demo_password_users(database_url: str) -> list[str]:
    """Users that still have the demo password (``vigil seed`` creates them with it)."""
    from crm.seed import DEMO_PASSWORD, DEMO_USERS

    db = Database(database_url)
    try:
        async with db.session() as s:
            rows = (await s.execute(select(User).where(
                User.username.in_([u[0] for u in DEMO_USERS]),
                User.archived_at.is_(None)))).scalars().all()
    except SQLAlchemyError:  # a database not migrated yet has no users at all
        return []
    finally:
        await db.dispose()
    return [u.username for u in rows if await verify_password_async(u.password_hash,
                                                                    DEMO_PASSWORD)]


async def problems(settings: Settings, web: bool, cti: bool) -> list[str]:
    found = secret_problems(settings, web, cti)
    if web:
        found += [f"user {name!r} still has the demo password (change it, or archive the user)"
                  for name in await demo_password_users(settings.database_url)]
    return found
