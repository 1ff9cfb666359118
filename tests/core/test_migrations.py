from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from core.db import Base, make_engine
from vigil import migrate
from vigil.models import import_all_models


async def test_migrations_from_empty_create_every_table(db_url: str, tmp_path: Path) -> None:
    # db_url is already migrated by the fixture; migrate a brand-new SQLite file too, and check
    # both carry every table the models declare and that a second upgrade is a no-op.
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    await migrate.upgrade(fresh)
    import_all_models()
    expected = set(Base.metadata.tables)
    script_heads = set(ScriptDirectory.from_config(migrate.alembic_config(fresh)).get_heads())
    assert "core" in {lbl for h in script_heads for lbl in
                      ScriptDirectory.from_config(migrate.alembic_config(fresh)).get_revision(h)
                      .branch_labels} or "core_0001" in script_heads
    for url in (fresh, db_url):
        await migrate.upgrade(url)
        engine = make_engine(url, nullpool=True)
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        await engine.dispose()
        assert expected <= tables, expected - tables
        assert await migrate.current_heads(url) == script_heads
