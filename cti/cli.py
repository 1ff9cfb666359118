"""``vigil replay-ami FILE`` and ``vigil import-queue-log FILE`` (registered by vigil's CLI).

``replay-ami`` runs an ``.ami`` capture through the state model and prints the derived call
records, closed agent sessions and final state as JSON (``--store`` also saves the records).
``import-queue-log`` reads Asterisk's queue_log, stores the calls and agent sessions it describes
(source ``queue_log``; importing the same file again adds nothing) and prints the counts.
Both store into the database of ``VIGIL_DATABASE_URL``, which must be migrated (``vigil migrate``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from core.clock import SystemClock
from core.db import Database
from core.settings import Settings
from cti.queue_log import import_file
from cti.replay import replay_file
from cti.store import store_many, store_session


async def _store(url: str, records: list[dict[str, Any]], sessions: list[dict[str, Any]],
                 source: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.transaction() as s:
            created = await store_many(s, SystemClock(), records, source)
            new_sessions = 0
            for sess in sessions:
                _, new = await store_session(s, sess, source)
                new_sessions += int(new)
    finally:
        await db.dispose()
    return {"records_stored": created, "sessions_stored": new_sessions}


def cmd_replay_ami(args: argparse.Namespace) -> int:
    result = replay_file(args.file)
    if args.store:
        result["stored"] = asyncio.run(_store(Settings().database_url, result["records"],
                                              result["sessions"], "ami"))
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def cmd_import_queue_log(args: argparse.Namespace) -> int:
    imported = import_file(args.file)
    out: dict[str, Any] = {"records": len(imported.records), "sessions": len(imported.sessions),
                           "skipped_lines": imported.skipped}
    if not args.dry_run:
        out.update(asyncio.run(_store(Settings().database_url, imported.records,
                                      imported.sessions, "queue_log")))
    else:
        out["items"] = imported.records
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("replay-ami", help="derive call records and state from an AMI capture")
    p.add_argument("file", help="an .ami capture (its .jsonl timeline is used when present)")
    p.add_argument("--store", action="store_true", help="also store the call records")
    p.set_defaults(func=cmd_replay_ami)
    q = sub.add_parser("import-queue-log", help="store the calls of an Asterisk queue_log")
    q.add_argument("file", help="Asterisk's queue_log")
    q.add_argument("--dry-run", action="store_true", help="print the records, store nothing")
    q.set_defaults(func=cmd_import_queue_log)
