"""The bus events the console publishes (topic names in one place, with their payloads).

- ``console.agent_away`` {user_id, username, extension, reason, node}: nobody is at this
  agent's console any more — ``signed_out`` (sign-out), ``session_expired`` (the session ended
  while a console was open) or ``tab_closed`` (the last console closed and did not come back
  within the grace for reloads). The CTI takes the agent out of its queues or pauses it, so no
  caller rings an empty seat.
- ``console.choices_changed`` {kind, code}: a configured list changed (every console reloads
  it).
"""

from __future__ import annotations

from typing import Final, Literal

AGENT_AWAY: Final = "console.agent_away"  # core.http.SIGNED_OUT_TOPIC publishes the same
CHOICES_CHANGED: Final = "console.choices_changed"

AwayReason = Literal["signed_out", "session_expired", "tab_closed"]
