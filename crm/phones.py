"""The phone index: every stored number in E.164, and the caller-ID lookup of the screen pop.

Numbers are normalized with ``phonenumbers`` so ``138 0013 8000``, ``+86-138-0013-8000`` and
``008613800138000`` are one key. :func:`lookup_by_phone` is on the screen-pop hot path: it runs
one statement that starts from the ``ix_crm_phones_e164`` index (target p99 < 2 ms with
300,000 numbers; ``bench/crm_lookup.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import Account, Contact, Phone


class InvalidPhone(ValueError):
    """A number that cannot be a phone number in the given region; the message says why."""


@lru_cache(maxsize=65_536)
def normalize(raw: str, region: str = "CN") -> str:
    """The E.164 form of ``raw``; numbers without a country prefix are read in ``region``."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("phone number is empty")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone(f"not a possible phone number for region {region.upper()}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(raw: str, region: str = "CN") -> str | None:
    """Like :func:`normalize` but None for anything that is not a possible number."""
    try:
        return normalize(raw, region)
    except InvalidPhone:
        return None


@dataclass(frozen=True, slots=True)
class PhoneOwner:
    """An account (and the contact, if the number is a person's) that owns a number."""

    e164: str
    kind: str
    phone_id: int
    account_id: int
    account_number: str
    receiver_prefix: str
    account_name: str
    account_status: str
    language: str
    contact_id: int | None
    contact_name: str | None
    contact_role: str | None
    call_order: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_LOOKUP = (
    select(
        Phone.e164, Phone.kind, Phone.id, Account.id, Account.number, Account.receiver_prefix,
        Account.name, Account.status, Account.language, Contact.id, Contact.name, Contact.role,
        Contact.call_order,
    )
    .select_from(Phone)
    .join(Account, Account.id == Phone.account_id)
    .outerjoin(Contact, Contact.id == Phone.contact_id)
    .where(
        Phone.e164 == bindparam("e164"),
        Phone.archived_at.is_(None),
        Account.archived_at.is_(None),
        or_(Phone.contact_id.is_(None), Contact.archived_at.is_(None)),
    )
    .order_by(Account.id, Contact.call_order, Phone.id)
)


async def lookup_by_phone(session: AsyncSession, raw: str, region: str = "CN") -> list[PhoneOwner]:
    """Accounts and contacts owning the number ``raw`` in any common written form; empty for
    unknown or unparseable numbers (a withheld caller ID is not an error)."""
    e164 = try_normalize(raw, region)
    if e164 is None:
        return []
    return [PhoneOwner(*row) for row in await _fetch(session, e164)]  # type: ignore[call-arg]


_COMPILED: dict[str, str] = {}


async def _fetch(session: AsyncSession, e164: str) -> Sequence[Any]:
    """Run the lookup on the session's own connection.

    With aiosqlite and asyncpg the statement, compiled once from :data:`_LOOKUP`, goes straight
    to the driver: one hop to the SQLite thread (instead of three or four through the adapter)
    or one round trip on a prepared statement. That keeps p99 low when the event loop is busy.
    The columns are text and integers, so no SQLAlchemy type conversion is skipped.
    """
    if session.new or session.dirty or session.deleted:
        await session.flush()  # what the ORM would autoflush before a query
    conn = await session.connection()
    dialect = conn.dialect
    if dialect.driver not in ("aiosqlite", "asyncpg"):
        return (await conn.execute(_LOOKUP, {"e164": e164})).all()
    sql = _COMPILED.get(dialect.driver)
    if sql is None:
        compiled = _LOOKUP.compile(dialect=dialect)
        if list(compiled.positiontup or ()) != ["e164"]:  # pragma: no cover - a changed query
            raise RuntimeError("the phone lookup must take exactly one parameter")
        sql = _COMPILED[dialect.driver] = compiled.string
    # the connection is checked out already, so this reaches the driver without waiting
    driver: Any = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    if dialect.driver == "aiosqlite":
        rows: Sequence[Any] = await driver.execute_fetchall(sql, (e164,))
    else:
        rows = await driver.fetch(sql, e164)
    return rows
