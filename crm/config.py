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
    code_max_failures: int = Field(
        5, ge=1, description="Wrong passcodes for one contact (by anyone, within "
                             "code_window_minutes) before its codes cannot be checked for a while.")
    code_operator_max_failures: int = Field(
        10, ge=1, description="Wrong passcodes one operator may give (any contacts, within "
                              "code_window_minutes) before their checks are refused for a while.")
    code_window_minutes: float = Field(15.0, gt=0, description="Window of both counts.")
    code_lockout_minutes: float = Field(
        15.0, gt=0, description="How long a contact's or an operator's checks stay refused.")


@lru_cache(maxsize=1)
def get_crm_settings() -> CrmSettings:
    return CrmSettings()
