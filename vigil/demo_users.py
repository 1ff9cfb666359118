"""Demo logins for each role (the README lists them)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.audit import Actor
from core.models import User
from core.services import Services
from core.users import create_user

DEMO_PASSWORD = "vigil-demo"
DEMO_USERS = [
    # username, display name, role, extension, language
    ("agent1", "王芳 Wang Fang", "agent", "1001", "zh-CN"),
    ("agent2", "Alice Chen", "agent", "1002", "en"),
    ("super1", "李强 Li Qiang", "supervisor", "2001", "zh-CN"),
    ("admin", "Administrator", "admin", None, "en"),
]


async def create_demo_users(services: Services) -> int:
    """Create the demo users unless any user exists; returns how many were created."""
    async with services.db.transaction() as s:
        if (await s.execute(select(func.count()).select_from(User))).scalar_one():
            return 0
        for username, name, role, ext, lang in DEMO_USERS:
            await create_user(s, services.clock, Actor.system("seed"), username=username,
                              password=DEMO_PASSWORD, role=role, display_name=name,
                              language=lang, extension=ext)
    return len(DEMO_USERS)
