"""Security alerts for the supervisors: a bus event every console of a supervisor receives
(``security.alert``) and a warning in the log. Published after the change that caused it has
committed, so an alert never describes something that was rolled back."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.bus import Bus

log = logging.getLogger("vigil.security")
TOPIC = "security.alert"


async def publish(bus: Bus, alert: dict[str, Any] | None) -> None:
    if not alert:
        return
    log.warning("security alert %s: %s", alert.get("kind"),
                {k: v for k, v in alert.items() if k != "kind"})
    await bus.publish(TOPIC, alert)


def queue(session: AsyncSession, alert: dict[str, Any]) -> None:
    """Keep an alert with the transaction that caused it; :func:`publish_queued` sends it
    after the commit."""
    session.info.setdefault("vigil.alerts", []).append(alert)


async def publish_queued(session: AsyncSession, bus: Bus) -> None:
    """Send (and forget) the alerts queued on ``session``; call after it committed."""
    for alert in session.info.pop("vigil.alerts", []):
        await publish(bus, alert)
