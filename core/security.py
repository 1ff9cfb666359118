"""Secret hashing (passwords, passcodes, PINs) with argon2, off the event loop.

An argon2 password check costs a few hundred milliseconds of CPU on several threads. Run on the
event loop, a burst of logins stalled every receiver, AMI and FastAGI session sharing it (a
panel waited 2.6 s for its ACK); on the default thread pool it could still take every core. So
hashing has its own small pools (``HASH_WORKERS`` threads each for passwords and for passcodes,
queued beyond that); password threads run at a lower CPU priority: a login waits a little
longer in a burst, the alarm path does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Passcodes and PINs are checked on hot paths (IVR, verification calls); a lighter cost keeps
# them fast while still salted and slow to brute-force offline.
_code_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

HASH_WORKERS = max(1, min(2, (os.cpu_count() or 2) - 1))
# Logins wait behind the alarm path; passcode and PIN checks are part of it (an operator verifying
# a caller in an alarm storm), so they keep the normal priority in their own pool.
PASSWORD_NICE = 10
T = TypeVar("T")


def _lower_priority() -> None:
    """Runs in each password-hashing thread: on Linux niceness is per thread and inherited by
    the threads argon2 starts for its lanes, so the event loop's thread wins the CPU."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PASSWORD_NICE)


# Passwords and codes queue apart: a burst of logins must not hold up a caller's PIN.
_pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="vigil-hash",
                           initializer=_lower_priority)
_code_pool = ThreadPoolExecutor(max_workers=HASH_WORKERS, thread_name_prefix="vigil-code")


async def _off_loop(fn: Callable[..., T], *args: object, pool: ThreadPoolExecutor = _pool) -> T:
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(fn, *args))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await _off_loop(hash_password, password)


async def verify_password_async(stored: str, password: str) -> bool:
    return await _off_loop(verify_password, stored, password)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


async def verify_nobody_async(password: str) -> bool:
    """Spend what a real check costs when there is no user to check, so the answer's timing
    does not tell whether a username exists. Always False."""
    await _off_loop(verify_password, await _off_loop(_dummy_hash), password)
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
    """:func:`verify_code` off the event loop (an argon2 check costs ~20 ms of CPU)."""
    if not stored:
        return False
    return await _off_loop(verify_code, stored, code, pool=_code_pool)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
