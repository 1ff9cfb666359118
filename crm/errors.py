"""Domain errors of the crm services; the HTTP layer turns them into 404 and 422 answers."""

from __future__ import annotations


class NotFound(LookupError):
    """No such record (archived records are still found)."""

    def __init__(self, entity: str, record_id: object) -> None:
        super().__init__(f"{entity} {record_id} not found")
        self.entity = entity
        self.record_id = record_id


class FieldError(ValueError):
    """A value that breaks a rule of the subscriber data; ``field`` names it, ``msg`` says why."""

    def __init__(self, field: str | list[str | int], msg: str) -> None:
        super().__init__(f"{field}: {msg}")
        self.loc: list[str | int] = [field] if isinstance(field, str) else list(field)
        self.msg = msg


class CodeLocked(RuntimeError):
    """Passcode checks refused for now: too many wrong codes for this contact or by this
    operator (``scope``). Nothing was checked; ``retry_after`` is in seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"too many wrong codes ({scope}); checks resume in {retry_after} s")
        self.scope = scope
        self.retry_after = retry_after
