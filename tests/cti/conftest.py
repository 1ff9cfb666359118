"""Fixtures for the CTI tests: the real Asterisk captures in ../shared/asterisk-captures."""

from __future__ import annotations

from pathlib import Path

import pytest

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "asterisk-captures"


@pytest.fixture(scope="session")
def captures() -> Path:
    if not (CAPTURES / "queue_answered.ami").exists():
        pytest.skip(f"Asterisk captures not found at {CAPTURES}")
    return CAPTURES
