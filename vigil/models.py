"""Imports every package's ORM models so metadata (and Alembic) sees all tables."""

from __future__ import annotations

import importlib

MODEL_MODULES = [
    "core.models",
    "core.lease",
    "core.bus_pg",
    "crm.models",
    "receivers.models",
    "alarms.models",
    "cti.models",
    "ivr.models",
    "agent_web.models",
]


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside an existing module
                raise
