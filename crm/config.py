"""Settings of the crm package (``VIGIL_CRM_*``), apart from core's so crm can evolve alone.

``VIGIL_CRM_TICKET_YELLOW_HOURS``: a ticket turns yellow this many hours before it is due.
``VIGIL_CRM_TICKET_DUE_HOURS``: JSON map of ticket kind to hours until due for new tickets.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CrmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_CRM_", env_file=".env", extra="ignore")

    ticket_yellow_hours: float = Field(4.0, gt=0)
    ticket_due_hours: dict[str, float] = Field(
        default_factory=lambda: {"consultation": 24.0, "complaint": 48.0, "repair": 72.0,
                                 "other": 72.0})


@lru_cache(maxsize=1)
def get_crm_settings() -> CrmSettings:
    return CrmSettings()
