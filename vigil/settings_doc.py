"""Every ``VIGIL_*`` setting of every package, rendered as the README's tables.

``vigil settings`` prints them; a test keeps the README in step with the code.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

# (module, class) of each package's settings, in the order the README shows them.
SETTINGS_CLASSES = [
    ("core.settings", "Settings"),
    ("crm.config", "CrmSettings"),
    ("receivers.config", "ReceiverSettings"),
    ("alarms.config", "AlarmSettings"),
    ("cti.config", "CtiSettings"),
    ("ivr.config", "IvrSettings"),
    ("agent_web.console_settings", "ConsoleSettings"),
]


def settings_classes() -> list[type[BaseSettings]]:
    out = []
    for module, name in SETTINGS_CLASSES:
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ModuleNotFoundError, AttributeError):
            continue
        out.append(cls)
    return out


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None:
        return "(unset)"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def rows() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting."""
    out = []
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        for name, field in cls.model_fields.items():
            out.append((f"{prefix}{name.upper()}", _default(field),
                        (field.description or "").replace("|", "\\|")))
    return out


def markdown() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for var, default, meaning in rows():
        lines.append(f"| `{var}` | `{default}` | {meaning} |")
    return "\n".join(lines)


BEGIN = "<!-- settings:begin -->"
END = "<!-- settings:end -->"


def update_readme(path: str) -> None:
    """Replace the README's settings table (between the markers) with the current one."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{head}{BEGIN}\n{markdown()}\n{END}{tail}")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--readme":
        update_readme(sys.argv[2])
    else:
        print(markdown())
