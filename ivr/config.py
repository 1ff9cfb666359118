"""Settings of the IVR (``VIGIL_IVR_*``), apart from core's so the IVR can evolve alone.

Where the FastAGI server listens is core's ``agi_host``/``agi_port``. The service desk's hours
matter only for menu option 3 (billing and service questions): operators answer emergencies
around the clock.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DeskStatus = Literal["open", "after_hours", "holiday"]


class IvrSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_IVR_", env_file=".env", extra="ignore")

    digit_timeout_ms: int = Field(5000, gt=0, description="Wait for the first/next key press.")
    menu_timeout_ms: int = Field(
        3000, gt=0, description="After a menu prompt, wait this long for a key; at the main "
        "menu a caller who presses nothing is then put through to an operator.")
    menu_attempts: int = Field(3, ge=1, description="Tries at a menu before the fallback.")
    pin_max_failures: int = Field(3, ge=1, description="Wrong PINs in a row before the lock.")
    pin_lockout_minutes: int = Field(30, ge=1, description="How long a PIN lockout lasts.")
    recent_alarm_minutes: int = Field(60, ge=1, description="How old an alarm may be to cancel.")
    max_test_hours: int = Field(72, ge=1, description="Longest on-test period a caller may set.")
    emergency_queue: str = Field("emergency", description="Option 1, silence and every fallback.")
    emergency_priority: int = Field(10, description="QUEUE_PRIO for option 1 (highest first).")
    service_queue: str = Field("billing", description="Option 3, billing and service.")
    callback_offer_after_s: int = Field(
        60, ge=0, description="Offer a callback when the estimated wait is longer than this.")
    voicemail_dir: str = Field("vigil-voicemail", description="Record() path, sounds-relative.")
    voicemail_max_s: int = Field(120, ge=5, description="Longest message a caller may leave.")
    desk_timezone: str = Field("Asia/Shanghai", description="Time zone of the desk hours.")
    desk_opens: time = Field(time(8, 30), description="Service desk opens (after-hours routing).")
    desk_closes: time = Field(time(18, 0), description="Service desk closes.")
    desk_weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5],
                                     description="0 is Monday.")
    desk_holidays: list[date] = Field(default_factory=list,
                                      description="Dates the desk is closed all day.")
    default_language: Literal["zh-CN", "en"] = Field(
        "zh-CN", description="Language for callers with no known preference.")


def desk_status(settings: IvrSettings, at: datetime) -> DeskStatus:
    """Whether the service desk is open at ``at`` (aware), in the desk's own time zone."""
    local = at.astimezone(ZoneInfo(settings.desk_timezone))
    if local.date() in settings.desk_holidays:
        return "holiday"
    if local.weekday() not in settings.desk_weekdays:
        return "after_hours"
    if not settings.desk_opens <= local.time() < settings.desk_closes:
        return "after_hours"
    return "open"


@lru_cache(maxsize=1)
def get_ivr_settings() -> IvrSettings:
    return IvrSettings()
