"""Security alerts for the supervisors: a bus event every console of a supervisor receives
(``security.alert``) and a warning in the log. Published after the change that caused it has
committed, so an alert never describes something that was rolled back."""

from __future__ import annotations

import logging
from typing import Any

from core.bus import Bus

log = logging.getLogger("vigil.security")
TOPIC = "security.alert"


async def publish(bus: Bus, alert: dict[str, Any] | None) -> None:
    if not alert:
        return
    log.warning("security alert %s: %s", alert.get("kind"),
                {k: v for k, v in alert.items() if k != "kind"})
    await bus.publish(TOPIC, alert)
