"""Agents' SIP passwords: generated, sealed at rest, opened only where they must be used.

A phone's digest password has to exist in clear in two places: Asterisk's PJSIP include
(``vigil.asterisk_secrets``) and the agent's own console, which registers the WebRTC phone
(``GET /api/console/phone``). So it cannot be hashed like a login password; it is sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from ``VIGIL_SECRET_KEY``, bound to the username, so
a database dump or backup alone does not give anyone a phone. Changing ``VIGIL_SECRET_KEY``
makes sealed passwords unreadable: rotate them then (``vigil rotate-sip-password --all``).

Values written before sealing existed (no ``v1:`` prefix) are read as they are.
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1:"
NONCE_BYTES = 12
PASSWORD_BYTES = 18  # 24 characters of [A-Za-z0-9_-]: 144 bits, safe in pjsip.conf and in SIP
MIN_LENGTH = 12  # a password an administrator sets by hand (a desk phone's)


def new_password() -> str:
    """A random SIP password; nobody types it (the console and Asterisk get it from Vigil)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


class SipPasswords:
    """Seals and opens SIP passwords with the key derived from the application's secret."""

    def __init__(self, secret_key: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"vigil sip-password v1").derive(secret_key.encode("utf-8"))
        self._aead = AESGCM(key)

    def seal(self, username: str, password: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, password.encode("utf-8"), username.encode("utf-8"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, username: str, stored: str | None) -> str | None:
        """The password in clear; None when there is none or it cannot be opened with this
        key (sealed under another ``VIGIL_SECRET_KEY``, or for another user)."""
        if not stored:
            return None
        if not stored.startswith(PREFIX):
            return stored  # written before sealing existed
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                       username.encode("utf-8"))
        except (InvalidTag, ValueError):
            return None
        return plain.decode("utf-8")


@lru_cache(maxsize=4)
def for_secret(secret_key: str) -> SipPasswords:
    """The sealer for ``secret_key`` (``Settings.secret_key``), derived once per key."""
    return SipPasswords(secret_key)
