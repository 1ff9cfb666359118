"""AMI events per second through the decoder and the CTI state model (prints JSON).

All captures in ../shared/asterisk-captures are concatenated and repeated; each repetition's
Uniqueids/Linkedids are made distinct so the model keeps building and finishing calls instead of
piling up duplicates. Run: ``.venv/bin/python bench/ami_events.py [repeats]``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cti.ami_codec import AmiDecoder
from cti.model import CtiModel

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "asterisk-captures"


def build_stream(repeats: int) -> bytes:
    base = b"".join(p.read_bytes() for p in sorted(CAPTURES.glob("*.ami")))
    parts = []
    for i in range(repeats):
        # a distinct id prefix per repetition keeps calls distinct (same length, same work)
        parts.append(base.replace(b": 1795", b": %04d" % (1795 + i + 1))
                     .replace(b": verif-42", b": v%04d-42" % i))
    return b"".join(parts)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    stream = build_stream(repeats)
    chunk = 4096
    chunks = [stream[i:i + chunk] for i in range(0, len(stream), chunk)]
    decoder = AmiDecoder()
    model = CtiModel()
    events = 0
    records = 0
    t0 = time.perf_counter()
    t = 0.0
    for data in chunks:
        t += 0.001
        for msg in decoder.feed(data):
            model.feed(msg, t)
            if "Event" in msg:
                events += 1
        records += len(model.take_records())
    elapsed = time.perf_counter() - t0
    decode_only = AmiDecoder()
    t1 = time.perf_counter()
    for data in chunks:
        decode_only.feed(data)
    decode_elapsed = time.perf_counter() - t1
    print(json.dumps({
        "bench": "ami_events",
        "bytes": len(stream),
        "events": events,
        "records": records,
        "seconds": round(elapsed, 3),
        "events_per_second": round(events / elapsed),
        "decode_only_events_per_second": round(events / decode_elapsed),
        "target_events_per_second": 20000,
        "screen_pop_latency": "not measured here (screen pop is not part of cti phase 1)",
    }))


if __name__ == "__main__":
    main()
