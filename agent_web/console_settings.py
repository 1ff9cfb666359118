"""Settings of the console (``VIGIL_CONSOLE_*``), kept apart from core's.

``phone_mode`` picks the agent's softphone: ``webrtc`` (JsSIP in the browser, registered over
``webrtc_wss_url`` with the user's extension and SIP password), ``pbxsim`` (the demo's simulated
phone, answered through the console's own API), ``desk`` (a desk phone: the console only sends
CTI commands) or ``auto`` (pbxsim when the demo telephony runs, else webrtc when a WSS URL is
set, else desk).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.services import Services

PhoneMode = Literal["auto", "webrtc", "pbxsim", "desk"]



class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_CONSOLE_", env_file=".env",
                                      extra="ignore")

    phone_mode: PhoneMode = Field("auto", description="Which softphone the console drives.")
    webrtc_wss_url: str = Field(
        "", description="Asterisk's SIP-over-WebSocket URL for JsSIP, e.g. "
                        "wss://pbx.example.com:8089/ws (plain ws:// only from localhost).")
    sip_domain: str = Field("", description="SIP domain of the agents' URIs; empty: the host "
                                            "of webrtc_wss_url.")
    wrapup_seconds: float = Field(
        5.0, ge=0, description="The queues' wrapuptime, for the wrap-up countdown shown to the "
                               "agent (Asterisk holds the real one).")
    default_queues: tuple[str, ...] = Field(
        ("support", "emergency"), description="Queues offered ticked at login.")
    queue_lines: dict[str, str] = Field(
        default_factory=lambda: {"support": "4000", "emergency": "4001", "billing": "4002"},
        description="The extension that reaches each queue, for transfers to a queue "
                    '(JSON, e.g. {"support": "4000"}).')
    queue_context: str = Field("from-pstn", description="The dialplan context of queue_lines.")
    away_grace_seconds: float = Field(
        20.0, ge=0, description="After an agent's last console closes, how long a reload may "
                                "take before the agent leaves the queues (or is paused).")


@lru_cache(maxsize=1)
def get_console_settings() -> ConsoleSettings:
    return ConsoleSettings()


def console_settings(services: Services) -> ConsoleSettings:
    """``services.extra["console_settings"]`` when set (tests, embedding), else the
    environment's."""
    found = services.extra.get("console_settings")
    return found if isinstance(found, ConsoleSettings) else get_console_settings()


def phone_mode(services: Services) -> str:
    """The softphone in effect now (``auto`` resolved)."""
    s = console_settings(services)
    if s.phone_mode != "auto":
        return s.phone_mode
    if services.extra.get("pbxsim") is not None:
        return "pbxsim"
    return "webrtc" if s.webrtc_wss_url else "desk"
