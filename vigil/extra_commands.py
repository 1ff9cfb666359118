"""Sub-commands contributed by the packages (replay, import, simulate, ingest, users)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:  # argparse's _SubParsersAction is private
    """Add each package's sub-commands; kept apart so cli.py stays small."""
    from cti import cli as cti_cli

    cti_cli.register(sub)  # replay-ami, import-queue-log

    from receivers import ingest as rx_ingest
    from receivers.simulate import cli as rx_simulate

    rx_ingest.register(sub)  # ingest-alarmreceiver
    rx_simulate.register(sub)  # simulate panels, simulate serial-receiver

    from vigil import simulate_calls

    simulate_calls.register(rx_simulate.simulate_group(sub))  # simulate calls

    from vigil import user_commands

    user_commands.register(sub)  # create-user, rotate-sip-password
