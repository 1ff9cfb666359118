"""Sub-commands contributed by the packages (replay, import, simulate, ingest)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:  # argparse's _SubParsersAction is private
    """Add each package's sub-commands; kept apart so cli.py stays small."""
    from cti import cli as cti_cli

    cti_cli.register(sub)  # replay-ami, import-queue-log
