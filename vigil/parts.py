"""Which background parts run in ``vigil demo`` and ``vigil serve``."""

from __future__ import annotations

from vigil.runtime import Part


def collect(demo: bool) -> list[Part]:
    """Parts are added here as the packages that provide them land."""
    parts: list[Part] = []
    return parts
