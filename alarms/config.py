"""Settings of the alarm engine (``VIGIL_ALARMS_*``), apart from core's so alarms can evolve alone.

Every timer and threshold of the rules is here; the README lists them with their defaults.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlarmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_ALARMS_", env_file=".env", extra="ignore")

    escalation_seconds: list[float] = Field(
        default_factory=lambda: [120.0, 300.0, 600.0],
        description="Ages at which an untaken incident becomes one step more urgent.")
    cancel_window_seconds: float = Field(
        300.0, description="A user cancel this soon after the alarm marks it cancelled at "
                           "the panel.")
    runaway_capacity: float = Field(20.0, ge=1, description="Signals an account may burst.")
    runaway_rate_per_minute: float = Field(4.0, ge=0,
                                           description="Signals per minute an account regains.")
    open_grace_minutes: float = Field(30.0, description="Late-to-open after the window opens.")
    close_grace_minutes: float = Field(30.0, description="Late-to-close after it closes.")
    early_open_minutes: float = Field(
        60.0, description="An opening this much before the window is an early open; earlier "
                          "is unscheduled.")
    test_grace_minutes: float = Field(15.0, description="Slack after a test report is due.")
    tick_seconds: float = Field(10.0, description="How often timers are checked.")
    schedule_refresh_seconds: float = Field(600.0, description="How long schedules are cached.")
    directory_ttl_seconds: float = Field(
        60.0, description="How often the engine reloads every account from crm, and how long a "
                          "lookup of one it lacked is cached.")
    batch_size: int = Field(500, ge=1, description="Signals handled per transaction at most.")
    pipeline_depth: int = Field(
        2, ge=1, description="Batches of signals (of different accounts) in flight at once, "
                             "each in its own transaction; 1 on SQLite.")
    database_retry_max_seconds: float = Field(
        5.0, gt=0, description="While the database is unreachable, signals are held and "
                               "retried, waiting at most this long between tries.")
    catch_up_minutes: float = Field(
        60.0, ge=0, description="At start, journaled signals of this many minutes before it "
                                "that no batch applied (a crash) are applied.")
    catch_up_settle_seconds: float = Field(
        30.0, ge=0, description="With several nodes, how long that check waits, so the other "
                                "nodes' signals still in flight are applied by them first.")
    receiver_prefixes: dict[str, str] = Field(
        default_factory=dict, description="Receiver name -> account prefix in crm.")
    false_alarm_threshold: int = Field(
        3, description="False alarms in the window that raise a maintenance work order.")
    false_alarm_window_days: int = Field(30)
    low_arming_per_month: int = Field(
        4, description="Fewer open/close signals in 30 days flags the account for a callback.")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "vigil@localhost"
    sms_gateway_url: str | None = Field(None, description="HTTP SMS gateway (POST JSON).")
    sms_gateway_token: str | None = None
