"""Subscriber records (accounts, premises, panels, contacts, schedules, tickets, knowledge base).

Other packages use :mod:`crm.services`; the caller-ID lookup is also here as
``crm.lookup_by_phone`` for the screen pop and the IVR.
"""

from crm.phones import lookup_by_phone, normalize

__all__ = ["lookup_by_phone", "normalize"]
