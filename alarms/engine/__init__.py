"""The alarm engine, in pieces (README: "The alarm engine"):

- :mod:`.pipeline` takes ``signal.received`` off the bus in batches, keeps each account's
  signals in order, applies a failing batch in halves and rides out a database outage;
- :mod:`.book` knows which account a number belongs to (every live account in memory);
  :mod:`.facts` keeps schedules, action plans and disaster mode;
- :mod:`.rules` decides, as pure functions returning :mod:`.effects`; :mod:`.runaway` is the
  one piece of state they leave to the engine (a token bucket per account);
- :mod:`.batch` applies the effects to one transaction's working set; :mod:`.store` reads and
  writes it (:mod:`.pg_batch`: one statement on PostgreSQL), audit entries included;
- :mod:`.timers` runs the periodic checks (holds, escalation, fail to test, schedules);
- :mod:`.alarm_engine` puts them together: :class:`AlarmEngine`.
"""

from alarms.engine.alarm_engine import LOCAL_TOPICS, TOPICS, AlarmEngine, JournalReader

__all__ = ["LOCAL_TOPICS", "TOPICS", "AlarmEngine", "JournalReader"]
