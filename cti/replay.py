"""Replay a recorded AMI session through the state model (``vigil replay-ami FILE``).

A capture is the raw bytes of an AMI socket (``NAME.ami``). Asterisk only stamps events when
``timestampevents=yes``; the lab captures carry no ``Timestamp`` header, so times come from the
sibling timeline ``NAME.jsonl`` when it exists: each received chunk's ``t`` (seconds since
connect) is the arrival time of every message completed in that chunk. Those relative times are
anchored to the epoch with the first absolute stamp in the stream (``Timestamp``, or the
``EventTV`` of the SuccessfulAuth security event sent right after login); without one they stay
relative to the connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cti.ami_codec import AmiDecoder, Message
from cti.model import CtiModel, ModelConfig

Timed = tuple[Message, float]


def parse_event_tv(value: str) -> float | None:
    """``2026-11-21T22:23:29.728+0000`` -> epoch seconds."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).timestamp()
        except ValueError:
            continue
    return None


def _anchor(msg: Message, t: float) -> float | None:
    stamp = msg.get("Timestamp")
    if stamp:
        try:
            return float(stamp) - t
        except ValueError:
            return None
    tv = msg.get("EventTV")
    if tv:
        epoch = parse_event_tv(tv)
        if epoch is not None:
            return epoch - t
    return None


def timeline_messages(jsonl_lines: Iterable[str]) -> list[tuple[Message, float]]:
    """Messages of a ``.jsonl`` timeline with their relative arrival times (received only)."""
    decoder = AmiDecoder()
    out: list[tuple[Message, float]] = []
    for line in jsonl_lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        if entry.get("dir") != "recv":
            continue
        t = float(entry["t"])
        out.extend((msg, t) for msg in decoder.feed(entry["text"].encode("utf-8")))
    return out


def anchor_times(items: list[tuple[Message, float]]) -> list[Timed]:
    """Shift relative times to epoch using the first absolute stamp found in the stream."""
    base = 0.0
    for msg, t in items:
        found = _anchor(msg, t)
        if found is not None:
            base = found
            break
    return [(msg, base + t) for msg, t in items]


def load_capture(path: str | Path) -> list[Timed]:
    """The messages of an ``.ami`` capture with their times (see the module docstring)."""
    path = Path(path)
    timeline = path.with_suffix(".jsonl")
    if timeline.exists():
        with timeline.open(encoding="utf-8") as fh:
            return anchor_times(timeline_messages(fh))
    messages = AmiDecoder().feed(path.read_bytes())
    out: list[Timed] = []
    last = 0.0
    for msg in messages:
        stamp = msg.get("Timestamp")
        if stamp:
            try:
                last = float(stamp)
            except ValueError:
                pass
        out.append((msg, last))
    return out


def replay(items: Iterable[tuple[Message, float | None]],
           config: ModelConfig | None = None) -> dict[str, Any]:
    """Feed timed messages through a fresh model: records, closed agent sessions, final state."""
    model = CtiModel(config)
    records: list[dict[str, Any]] = []
    for msg, t in items:
        model.feed(msg, t)
    model.flush()
    records.extend(model.take_records())
    return {"records": records, "sessions": model.take_sessions(), "state": model.snapshot()}


def replay_file(path: str | Path, config: ModelConfig | None = None) -> dict[str, Any]:
    """``{"records": [...], "sessions": [...], "state": {...}}`` for one ``.ami`` capture."""
    return replay(load_capture(path), config)


def iter_capture_paths(folder: str | Path) -> Iterator[Path]:
    yield from sorted(Path(folder).glob("*.ami"))


def main(argv: list[str] | None = None) -> int:
    """``python -m cti.replay FILE.ami``: the records and final state as JSON on stdout."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cti.replay FILE.ami", file=sys.stderr)
        return 2
    print(json.dumps(replay_file(args[0]), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
