"""Demo logins for each role (the README lists them); the list lives with crm's seed."""

from __future__ import annotations

from core.services import Services
from core.sip_credentials import for_secret
from crm.seed import DEMO_PASSWORD, DEMO_USERS
from crm.seed import create_demo_users as _create

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "create_demo_users"]


async def create_demo_users(services: Services) -> int:
    """Create the demo users unless any user exists; returns how many were created."""
    return await _create(services.db, for_secret(services.settings.secret_key))
