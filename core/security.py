"""Secret hashing (passwords, passcodes, PINs) with argon2."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Passcodes and PINs are checked on hot paths (IVR, verification calls); a lighter cost keeps
# them fast while still salted and slow to brute-force offline.
_code_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def hash_code(code: str) -> str:
    """Hash a passcode, duress code or PIN."""
    return _code_hasher.hash(code)


def verify_code(stored: str | None, code: str) -> bool:
    if not stored:
        return False
    try:
        return _code_hasher.verify(stored, code)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_code_async(stored: str | None, code: str) -> bool:
    """:func:`verify_code` off the event loop: an argon2 check costs ~20 ms of CPU, which would
    otherwise stall every IVR session and screen pop running on the same loop."""
    if not stored:
        return False
    return await asyncio.to_thread(verify_code, stored, code)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
