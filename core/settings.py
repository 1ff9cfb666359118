"""Settings from the environment (``VIGIL_*``) and an optional ``.env`` file.

One flat settings object keeps every knob discoverable; the README lists each with its default.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Language = Literal["zh-CN", "en"]


class Settings(BaseSettings):
    """All runtime configuration. Field names map to ``VIGIL_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./vigil.db",
        description="SQLAlchemy async URL; SQLite file in the working directory by default.",
    )
    database_echo: bool = False
    secret_key: str = Field(
        "insecure-dev-key-change-me",
        description="Signs session cookies; set a long random value in production.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    cookie_secure: bool = False
    session_max_age: int = Field(12 * 3600, description="Seconds a console login stays valid.")
    default_region: str = Field("CN", description="Region for phone numbers without a prefix.")
    default_language: Language = "zh-CN"
    login_max_failures: int = Field(5, description="Failed logins before a user is locked.")
    login_lockout_seconds: int = Field(300, description="How long a locked login stays locked.")
    bus_queue_size: int = Field(10_000, description="Events buffered per bus subscriber.")
    node_name: str = "vigil-1"

    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "vigil"
    ami_secret: str = "vigil"
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    outbound_context: str = "outbound"
    agent_phone_context: str = "agent-phones"

    dc09_host: str = "127.0.0.1"
    dc09_port: int = 12000

    bus_backend: Literal["auto", "local", "postgres"] = Field(
        "auto",
        description="Cross-node bus: auto = PostgreSQL LISTEN/NOTIFY when the database is "
        "PostgreSQL and cluster_nodes > 1, else in-process only.",
    )
    cluster_nodes: int = Field(
        1, description="How many Vigil nodes share the database (each with its own node_name).")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
