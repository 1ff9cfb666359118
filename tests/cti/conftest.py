"""Fixtures for the CTI tests: the real Asterisk captures in tests/fixtures/asterisk-captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CAPTURES


@pytest.fixture(scope="session")
def captures() -> Path:
    return CAPTURES
