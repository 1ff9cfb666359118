"""Assembly of the running system: services, migrations, background parts and the web server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from agent_web.app import create_app
from agent_web.server import uvicorn_config
from core import heap
from core.services import Services
from core.settings import Settings
from vigil import migrate

log = logging.getLogger(__name__)

# A background part: given the services, runs until cancelled.
Part = Callable[[Services], Coroutine[Any, Any, None]]


async def seed_demo_if_empty(services: Services, accounts: int) -> None:
    """The demo needs subscribers and users; seed them once, on an empty database."""
    from sqlalchemy import func, select

    from core.models import User

    async with services.db.session() as s:
        users = (await s.execute(select(func.count()).select_from(User))).scalar_one()
    if users:
        return
    from core.sip_credentials import for_secret
    from crm.seed import seed

    log.info("seeding %d demo accounts", accounts)
    await seed(services.db, accounts=accounts, sip=for_secret(services.settings.secret_key))


async def run(settings: Settings, parts: list[Part], demo: bool, seed_accounts: int = 500) -> None:
    """Migrate, optionally seed, start the background parts and serve the console."""
    await migrate.upgrade(settings.database_url)
    services = Services.create(settings)
    if demo:
        await seed_demo_if_empty(services, seed_accounts)
    app = create_app(services)
    server = uvicorn.Server(uvicorn_config(app, settings))
    tasks = [asyncio.create_task(part(services), name=getattr(part, "__name__", "part"))
             for part in parts]
    log.debug("%d start-up objects frozen out of the collector's way", heap.settle())
    log.info("console on http://%s:%d", settings.http_host, settings.http_port)
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await services.close()
