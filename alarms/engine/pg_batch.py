"""A batch's writes on PostgreSQL in one statement and one round trip.

The engine's batch writes new incidents, the changed open incidents (each guarded by the
version it read), one row per signal and the audit entries. Sent apart, as COPYs and an
executemany UPDATE, they were nine messages and six round trips a batch, most of the batch's
time at 2,000 signals/s. Here each goes in as column arrays expanded by ``unnest`` inside one
statement of data-modifying CTEs; its text never changes, so it is prepared once. The foreign
keys from signal rows to incidents opened by the same statement hold: PostgreSQL checks them
at the end of the statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import JSON, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from core.db import json_text

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _pg_type(table: Table, name: str) -> str:
    return str(table.c[name].type.compile(dialect=_PG))


def _q(name: str) -> str:
    """An identifier as PostgreSQL needs it (a signal row has a column named ``user``)."""
    return str(_PG.identifier_preparer.quote(name))


Upsert = tuple[Table, Sequence[str], str, Sequence[str]]  # table, columns, key, columns set


class BatchStatement:
    """The statement for tables of new rows (``inserts``, each with its columns), tables of
    rows inserted or, when their key exists, updated (``upserts``: only the columns named are
    set then) and one table of versioned updates; it answers the number of rows the UPDATE
    matched."""

    def __init__(self, inserts: Sequence[tuple[Table, Sequence[str]]], updated: Table,
                 update_columns: Sequence[str], upserts: Sequence[Upsert] = ()) -> None:
        self.inserts = [(t, tuple(cols)) for t, cols in inserts]
        self.inserts += [(t, tuple(cols)) for t, cols, _key, _set in upserts]
        self.update_columns = tuple(update_columns)
        conflicts = [""] * len(inserts) + [
            f" ON CONFLICT ({_q(key)}) DO UPDATE SET "
            + ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in set_cols)
            for _t, _cols, key, set_cols in upserts]
        n = 0
        parts: list[str] = []
        for k, (table, cols) in enumerate(self.inserts):
            arrays = []
            for name in cols:
                n += 1
                arrays.append(f"${n}::{_pg_type(table, name)}[]")
            parts.append(f"ins{k} AS (INSERT INTO {_q(table.name)} "
                         f"({', '.join(_q(c) for c in cols)}) "
                         f"SELECT * FROM unnest({', '.join(arrays)}){conflicts[k]})")
        keys = ("id", "version")
        u_arrays, u_names = [], []
        for name in keys + self.update_columns:
            n += 1
            u_arrays.append(f"${n}::{_pg_type(updated, name)}[]")
            u_names.append(f"u_{name}")
        sets = ", ".join(f"{_q(c)} = u.u_{c}" for c in self.update_columns)
        parts.append(f"upd AS (UPDATE {_q(updated.name)} AS t SET {sets}, "
                     "version = t.version + 1 "
                     f"FROM unnest({', '.join(u_arrays)}) AS u({', '.join(u_names)}) "
                     "WHERE t.id = u.u_id AND t.version = u.u_version RETURNING 1)")
        self.sql = "WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM upd"
        self._json = [frozenset(c for c in cols if isinstance(t.c[c].type, JSON))
                      for t, cols in self.inserts]
        self._update_json = frozenset(c for c in self.update_columns
                                      if isinstance(updated.c[c].type, JSON))

    def arguments(self, inserts: Sequence[Sequence[dict[str, Any]]],
                  updates: Sequence[dict[str, Any]]) -> list[list[Any]]:
        """One array per column: the rows of each inserted table (the upserted ones last),
        then the updates (dicts with ``id``, ``version`` read, and the update columns)."""
        args: list[list[Any]] = []
        for (_table, cols), json_cols, rows in zip(self.inserts, self._json, inserts,
                                                   strict=True):
            for name in cols:
                if name in json_cols:
                    args.append([json_text(r[name]) for r in rows])
                else:
                    args.append([r[name] for r in rows])
        for name in ("id", "version") + self.update_columns:
            if name in self._update_json:
                args.append([json_text(u[name]) for u in updates])
            else:
                args.append([u[name] for u in updates])
        return args

    async def run(self, raw: Any, inserts: Sequence[Sequence[dict[str, Any]]],
                  updates: Sequence[dict[str, Any]]) -> int:
        """Execute on the asyncpg connection ``raw`` (inside the caller's transaction); the
        number of updates whose version still matched. A broken constraint raises
        :class:`IntegrityError`, as SQLAlchemy would, so the batch is retried."""
        try:
            return int(await raw.fetchval(self.sql, *self.arguments(inserts, updates)))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError("alarm batch", None, exc) from exc

