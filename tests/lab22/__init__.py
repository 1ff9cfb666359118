"""Real Asterisk 22 traffic recorded with asterisk-config (see README.md in this folder)."""

from __future__ import annotations

from pathlib import Path

LAB22 = Path(__file__).resolve().parent
VERIFY = ("verify_answered", "verify_busy", "verify_no_answer", "verify_carrier_silent",
          "verify_unavailable", "verify_unavailable_404", "verify_unavailable_480")
