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
    database_echo: bool = Field(False, description="Log every SQL statement.")
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="uvloop where installed (less CPU per message for the database, "
                              "receivers, AMI and FastAGI), else the standard loop.")
    secret_key: str = Field(
        "insecure-dev-key-change-me",
        description="Signs session cookies; set a long random value in production.",
    )
    http_host: str = Field("127.0.0.1", description="Address the console listens on.")
    http_port: int = Field(8000, description="Port of the console and the REST API.")
    cookie_secure: bool = Field(False, description="Send the session cookie over HTTPS only.")
    session_max_age: int = Field(12 * 3600, description="Seconds a console login stays valid.")
    default_region: str = Field("CN", description="Region for phone numbers without a prefix.")
    default_language: Language = Field(
        "zh-CN", description="Console and IVR language before a user or caller chooses.")
    login_max_failures: int = Field(
        5, description="Wrong passwords for one user from one address before that pair is "
                       "locked (the user can still log in from elsewhere).")
    login_lockout_seconds: int = Field(300, description="How long a locked login stays locked.")
    login_user_max_failures: int = Field(
        50, description="Wrong passwords for one user from all addresses, within "
                        "login_user_window_seconds, before the user is locked everywhere "
                        "(supervisors are alerted).")
    login_user_window_seconds: int = Field(3600, description="Window of that ceiling.")
    login_user_lockout_seconds: int = Field(
        900, description="How long a user locked by the ceiling stays locked.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses (or networks) of reverse proxies whose X-Forwarded-For is "
                    "believed (JSON list); empty: the client address is the peer's.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins besides the console's own that may open /ws (JSON list, e.g. "
                    "[\"https://console.example.com\"]).")
    api_docs: bool = Field(
        False, description="Serve /docs and /openapi.json (vigil demo turns it on).")
    bus_queue_size: int = Field(10_000, description="Events buffered per bus subscriber.")
    node_name: str = Field("vigil-1", description="This node's name on the bus and in leases.")

    ami_host: str = Field("127.0.0.1", description="Asterisk AMI host.")
    ami_port: int = Field(5038, description="Asterisk AMI port.")
    ami_user: str = Field("vigil", description="AMI login (manager.conf).")
    ami_secret: str = Field("vigil", description="AMI secret; set it in production.")
    agi_host: str = Field("127.0.0.1", description="Where Vigil's FastAGI server listens.")
    agi_port: int = Field(4573, description="FastAGI port (Asterisk's default).")
    outbound_context: str = Field(
        "outbound", description="Dialplan context of verification and click-to-dial calls.")
    agent_phone_context: str = Field(
        "agent-phones", description="Dialplan context that rings an agent's phone.")

    dc09_host: str = Field("127.0.0.1", description="SIA DC-09 receiver address (TCP and UDP).")
    dc09_port: int = Field(12000, description="SIA DC-09 receiver port (TCP and UDP).")

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
