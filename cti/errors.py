"""Errors the console shows: a stable machine ``code`` it translates, and an English message.

:class:`CtiError` is a command the rules refuse (no phone, no call to act on, a bad mode). The
AMI client's errors (:mod:`cti.ami_client`) carry codes too; what Asterisk answers in English
(``Unable to add interface: Already there``) is mapped to a code by :func:`asterisk_code`, so
no Asterisk sentence has to reach a Chinese console.

Codes (docs/cti.md lists them with their HTTP status):

* the rules: ``no_extension``, ``no_call``, ``not_connected``, ``agent_no_call``,
  ``already_spying``, ``no_spy``, ``already_in_call``, ``invalid_mode``, ``invalid_number``,
  ``refused``;
* Asterisk refused the action: ``already_in_queue``, ``not_in_queue``, ``no_such_queue``,
  ``member_not_dynamic``, ``no_such_channel``, ``no_such_extension``, ``originate_failed``,
  ``transfer_failed``, ``park_failed``, ``recording_failed``, ``permission_denied``,
  ``ami_auth_failed``, ``refused`` (anything else);
* the link to Asterisk: ``ami_timeout`` (no answer in time), ``ami_unavailable`` (not
  connected, or the connection dropped), ``ami_error``.
"""

from __future__ import annotations


class CtiError(Exception):
    """A console command that cannot be carried out: ``code`` for the console to translate,
    the message in English for logs and the API, ``status`` the HTTP status it maps to."""

    def __init__(self, message: str, *, code: str = "refused", status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


#: Asterisk's error messages (a prefix, lower case) -> code; the first match wins
ASTERISK_MESSAGES: tuple[tuple[str, str], ...] = (
    ("unable to add interface: already there", "already_in_queue"),
    ("unable to remove interface: not there", "not_in_queue"),
    ("interface not found", "not_in_queue"),
    ("unable to add interface to queue: no such queue", "no_such_queue"),
    ("unable to remove interface from queue: no such queue", "no_such_queue"),
    ("member not dynamic", "member_not_dynamic"),
    ("no such channel", "no_such_channel"),
    ("channel not found", "no_such_channel"),
    ("channel specified does not exist", "no_such_channel"),
    ("channel does not exist", "no_such_channel"),
    ("redirect failed, channel not up", "no_such_channel"),
    ("extension does not exist", "no_such_extension"),
    ("originate failed", "originate_failed"),
    ("invalid channel", "originate_failed"),
    ("originate access forbidden", "permission_denied"),
    ("transfer", "transfer_failed"),  # not permitted / invalid / failed, no atxfer feature
    ("no attended transfer feature code", "transfer_failed"),
    ("park action failed", "park_failed"),
    ("requested parking lot could not be found", "park_failed"),
    ("could not start monitoring channel", "recording_failed"),
    ("could not stop monitoring channel", "recording_failed"),
    ("permission denied", "permission_denied"),
    ("authentication failed", "ami_auth_failed"),
)


def asterisk_code(message: str | None) -> str:
    """The code of an Asterisk ``Response: Error`` message (``refused`` when unknown)."""
    text = (message or "").strip().lower()
    for prefix, code in ASTERISK_MESSAGES:
        if text.startswith(prefix):
            return code
    return "refused"
