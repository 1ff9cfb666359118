"""How complete an account's data is, and what is missing.

Incomplete subscriber data is what makes alarm handling fail (nobody to call, no passcode to
check, no schedule to judge an opening by), so the console shows this score next to every
account. :func:`assess` is pure: it reads an :class:`~crm.models.Account` whose relationships
are already loaded (:func:`crm.services.load_account`) and ignores archived rows.

Each check has a weight; the score is the share of weight passed, 0..100 (an empty account
scores 0). Owners count as key
holders (they have keys); a call list needs at least one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crm.models import Account, ContactRole

KEY_ROLES = {ContactRole.owner.value, ContactRole.keyholder.value}

# code -> (weight, message). The codes are stable: the console translates them.
CHECKS: dict[str, tuple[int, str]] = {
    "no_premises": (10, "no premises"),
    "no_address": (10, "premises without an address"),
    "no_location": (5, "premises without latitude/longitude"),
    "no_panel": (10, "no alarm panel"),
    "no_zones": (5, "panel without zones"),
    "zones_without_description": (5, "zones without a description"),
    "no_test_interval": (3, "panel without a test-report interval"),
    "no_contacts": (10, "empty call list"),
    "no_keyholder": (10, "no keyholder or owner on the call list"),
    "contacts_without_phone": (7, "contacts without a phone number"),
    "no_passcode": (10, "no contact has a passcode"),
    "no_schedule": (7, "no open/close schedule"),
    "no_contract": (8, "no current contract"),
}

# Checks that cannot pass without their parent: a missing parent costs their weight too (an
# empty account scores 0), but only the parent is listed.
DEPENDENTS: dict[str, tuple[str, ...]] = {
    "no_premises": ("no_address", "no_location"),
    "no_panel": ("no_zones", "zones_without_description", "no_test_interval"),
    "no_contacts": ("contacts_without_phone",),
}


@dataclass(frozen=True, slots=True)
class Missing:
    code: str
    message: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class Completeness:
    score: int
    missing: list[Missing] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "complete": self.complete,
                "missing": [{"code": m.code, "message": m.message, "count": m.count}
                            for m in self.missing]}


def _live(items: list[Any]) -> list[Any]:
    return [i for i in items if getattr(i, "archived_at", None) is None]


def assess(account: Account, today: date) -> Completeness:
    """Score ``account`` (relationships loaded); ``today`` decides which contract is current."""
    found: dict[str, int] = {}

    premises = _live(account.premises)
    if not premises:
        found["no_premises"] = 1
    else:
        if n := sum(1 for p in premises if not (p.address or "").strip()):
            found["no_address"] = n
        if n := sum(1 for p in premises if p.latitude is None or p.longitude is None):
            found["no_location"] = n

    panels = _live(account.panels)
    if not panels:
        found["no_panel"] = 1
    for panel in panels:
        zones = _live(panel.zones)
        if not zones:
            found["no_zones"] = found.get("no_zones", 0) + 1
        if n := sum(1 for z in zones if not (z.description or "").strip()):
            found["zones_without_description"] = found.get("zones_without_description", 0) + n
        if not panel.test_interval_minutes:
            found["no_test_interval"] = found.get("no_test_interval", 0) + 1

    contacts = _live(account.contacts)
    if not contacts:
        found["no_contacts"] = 1
    if not any(c.role in KEY_ROLES for c in contacts):
        found["no_keyholder"] = 1
    if n := sum(1 for c in contacts if not _live(c.phones)):
        found["contacts_without_phone"] = n
    if not any(c.passcode_hash for c in contacts):
        found["no_passcode"] = 1

    if not _live(account.windows):
        found["no_schedule"] = 1

    current = [c for c in _live(account.contracts)
               if c.starts_on <= today and (c.ends_on is None or c.ends_on >= today)]
    if not current:
        found["no_contract"] = 1

    total = sum(w for w, _ in CHECKS.values())
    lost_codes = set(found)
    for parent, children in DEPENDENTS.items():
        if parent in found:
            lost_codes.update(children)
    lost = sum(CHECKS[code][0] for code in lost_codes)
    missing = [Missing(code, CHECKS[code][1], found[code]) for code in CHECKS if code in found]
    return Completeness(score=round(100 * (total - lost) / total), missing=missing)
