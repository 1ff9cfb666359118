"""Apply Alembic migrations (every package branch) to the configured database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from core.db import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(url: str, target: str = "heads") -> None:
    """Bring the database at ``url`` to ``target`` (all branch heads by default)."""
    engine = make_engine(url)
    cfg = alembic_config(url)

    def _do(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(_do)
    finally:
        await engine.dispose()


async def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            def _heads(c: Connection) -> set[str]:
                return set(MigrationContext.configure(c).get_current_heads())
            return await conn.run_sync(_heads)
    finally:
        await engine.dispose()
