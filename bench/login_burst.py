"""Receiver ACK latency during a login burst, with password hashing in its bounded pool (now)
and on the event loop (before issue 13). Prints one JSON object.

    .venv/bin/python bench/login_burst.py [--logins 24] [--seconds 4] [--quiet 1.5]

The node (console and DC-09 listener on one event loop, as `vigil serve --role all`) runs in a
child process; ``--logins`` attackers, each from its own loopback address, send wrong
passwords as fast as answers come, while one panel sends a DC-09 frame every 10 ms and times
each ACK. Figures: ACK p50/p99/max in the quiet phase and during the burst, logins answered.
Both sides share this machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.production import login_burst_rig  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--logins", type=int, default=24)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--quiet", type=float, default=1.5)
    args = p.parse_args()
    kw = {"quiet": args.quiet, "burst": args.seconds, "logins": args.logins}
    print(json.dumps({
        "bench": "login_burst",
        "now": login_burst_rig.run(on_loop=False, **kw),
        "before": login_burst_rig.run(on_loop=True, **kw),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load": os.getloadavg()},
    }, indent=2))


if __name__ == "__main__":
    main()
