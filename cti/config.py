"""Settings of the CTI (``VIGIL_CTI_*``), apart from core's so the CTI can evolve alone.

The AMI connection and the dialplan contexts stay in core's settings (``VIGIL_AMI_*``,
``VIGIL_OUTBOUND_CONTEXT``, ``VIGIL_AGENT_PHONE_CONTEXT``), where the rest of the system reads
them. docs/cti.md explains what each figure here changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.services import Services
from cti.stats import StatsConfig

DetailMode = Literal["auto", "process", "inline"]
AwayAction = Literal["logout", "pause"]


class CtiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_CTI_", env_file=".env", extra="ignore")

    sl_threshold_seconds: float = Field(
        20.0, ge=0, description="Service level: answered within this many seconds of queueing.")
    exclude_short_abandons: bool = Field(
        True, description="Leave callers who hang up sooner than short_abandon_seconds out of "
                          "service level and abandon rate.")
    short_abandon_seconds: float = Field(5.0, ge=0)
    wrapup_seconds: float = Field(
        0.0, ge=0, description="After-call work added to AHT per answered call (match the "
                               "queues' wrapuptime).")
    recordings_dir: str = Field(
        "/var/spool/asterisk/monitor",
        description="Where MixMonitor writes; relative recording names resolve here.")
    recording_retention_days: int = Field(
        0, ge=0, description="Delete recordings older than this; 0 keeps them for ever.")
    recording_purge_interval_seconds: float = Field(3600.0, gt=0)
    verification_timeout_seconds: float = Field(
        120.0, gt=0, description="A verification call with no call record after this long "
                                 "is reported failed.")
    screenpop_detail: DetailMode = Field(
        "auto", description="Where the screen pop's account detail is built: a worker process "
                            "with its own database engine, or inline on the event loop; auto "
                            "picks the process unless the database is in memory.")
    screenpop_detail_workers: int = Field(
        2, ge=1, description="Worker processes for the detail (they run at lower priority).")
    screenpop_cache_seconds: float = Field(30.0, ge=0)
    away_action: AwayAction = Field(
        "logout", description="What signing out (or a lost console) does to an agent in "
                              "queues: logout = leave every queue; pause = stay a member, "
                              "paused with the reason away.")
    conference_context: str = Field(
        "vigil-conference", description="Dialplan context of three-way calls (ConfBridge).")
    queues_conf: str = Field(
        "/etc/asterisk/queues.conf",
        description="Asterisk's queues.conf, read for each queue's wrapuptime and "
                    "shared_lastcall (AMI does not report them); the wrap-up countdown "
                    "follows it.")

    def stats_config(self) -> StatsConfig:
        return StatsConfig(threshold_seconds=self.sl_threshold_seconds,
                           exclude_short_abandons=self.exclude_short_abandons,
                           short_abandon_seconds=self.short_abandon_seconds,
                           wrapup_seconds=self.wrapup_seconds)


@lru_cache(maxsize=1)
def get_cti_settings() -> CtiSettings:
    return CtiSettings()


def cti_settings(services: Services) -> CtiSettings:
    """``services.extra["cti_settings"]`` when set (tests, embedding), else the environment's."""
    found = services.extra.get("cti_settings")
    return found if isinstance(found, CtiSettings) else get_cti_settings()
