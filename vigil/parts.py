"""Which background parts run in ``vigil demo`` and ``vigil serve``."""

from __future__ import annotations

from vigil.runtime import Part


def collect(demo: bool) -> list[Part]:
    """Parts are added here as the packages that provide them land."""
    parts: list[Part] = []
    from vigil.cti_parts import cti_parts  # the CTI (and pbxsim with traffic in the demo)

    parts += cti_parts(demo)
    return parts
