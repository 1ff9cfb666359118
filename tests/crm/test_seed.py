"""The demo/benchmark generator: deterministic, realistic, loadable more than once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core.db import Database
from core.models import User
from core.security import verify_code, verify_password
from core.services import Services
from core.sip_credentials import for_secret
from crm import records
from crm.completeness import assess
from crm.models import Account, Contact, Phone, Premises, Zone
from crm.phones import lookup_by_phone, normalize
from crm.seed import DEMO_DURESS, DEMO_PASSCODES, DEMO_PASSWORD, _code_pool, seed

SIP = for_secret("test-secret")
TABLES = [Account, Premises, Zone, Contact, Phone]


async def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with db.session() as s:
        for model in TABLES:
            cols = [c for c in model.__table__.columns if c.name not in ("passcode_hash",
                                                                          "duress_hash")]
            rows = (await s.execute(select(*cols).order_by(model.__table__.c.id))).all()
            out[model.__tablename__] = [tuple(r) for r in rows]
    return out


async def seeded_copy(template: Path, tmp: Path, name: str, n: int, seed_no: int) -> Database:
    path = tmp / f"{name}.db"
    shutil.copy(template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    await seed(db, accounts=n, seed=seed_no, users=False)
    return db


async def test_same_seed_same_subscribers(sqlite_template: Path, tmp_path: Path) -> None:
    a = await seeded_copy(sqlite_template, tmp_path, "a", 60, 3)
    b = await seeded_copy(sqlite_template, tmp_path, "b", 60, 3)
    c = await seeded_copy(sqlite_template, tmp_path, "c", 60, 4)
    try:
        first, second, other = await dump(a), await dump(b), await dump(c)
        assert len(first["crm_accounts"]) == 60
        assert first == second
        assert first["crm_accounts"] != other["crm_accounts"]
    finally:
        for db in (a, b, c):
            await db.dispose()


async def test_seed_gives_users_realistic_and_incomplete_data(services: Services) -> None:
    result = await seed(services.db, accounts=80, seed=1, sip=SIP)
    assert result["accounts"] == 80 and result["users"] == 4
    assert 2.5 <= result["phones"] / 80 <= 3.5
    async with services.db.session() as s:
        users = {u.username: u for u in (await s.execute(select(User))).scalars()}
        assert {(u.username, u.role, u.extension) for u in users.values()} == {
            ("agent1", "agent", "1001"), ("agent2", "agent", "1002"),
            ("super1", "supervisor", "2001"), ("admin", "admin", None)}
        assert verify_password(users["agent1"].password_hash, DEMO_PASSWORD)
        # every phone user can register at once: a generated SIP password, sealed at rest
        passwords = {name: SIP.open(name, users[name].sip_password)
                     for name in ("agent1", "agent2", "super1")}
        assert all(p and len(p) >= 20 for p in passwords.values())
        assert len(set(passwords.values())) == 3
        assert all(p not in (users[n].sip_password or "") for n, p in passwords.items())
        assert users["admin"].sip_password is None

        phones = (await s.execute(select(Phone).limit(200))).scalars().all()
        for p in phones:  # the generator's E.164 agrees with phonenumbers
            assert normalize(p.raw, "CN") == p.e164, p.raw
        owners = await lookup_by_phone(s, phones[0].raw)
        assert phones[0].account_id in {o.account_id for o in owners}

        names = (await s.execute(select(Account.name))).scalars().all()
        assert any(n.isascii() for n in names) and any(not n.isascii() for n in names)
        contact = (await s.execute(select(Contact).where(
            Contact.passcode_hash.is_not(None)).limit(1))).scalar_one()
        passcodes, duress = _code_pool()  # demo codes are hashed once and reused
        assert contact.passcode_hash in passcodes and contact.passcode_hash not in duress
        code = DEMO_PASSCODES[passcodes.index(contact.passcode_hash)]
        assert verify_code(contact.passcode_hash, code)
        assert not verify_code(contact.passcode_hash, DEMO_DURESS[0])

        ids = (await s.execute(select(Account.id))).scalars().all()
        today = services.clock.now().date()
        scores = [assess(await records.load_account(s, i), today) for i in ids]
    assert any(sc.complete for sc in scores)
    missing = {m.code for sc in scores for m in sc.missing}
    assert {"no_passcode", "no_schedule", "zones_without_description"} <= missing

    again = await seed(services.db, accounts=20, seed=1, sip=SIP)
    assert again["users"] == 0 and again["accounts"] == 20
    async with services.db.session() as s:
        total = await s.scalar(select(func.count()).select_from(Account))
        pairs = await s.scalar(select(func.count()).select_from(
            select(Account.receiver_prefix, Account.number).distinct().subquery()))
    assert total == pairs == 100
