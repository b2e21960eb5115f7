"""Webhook events already taken in: platforms redeliver (Telegram after a slow or failed answer,
Zalo when it saw no 200), and each event must be answered and stored once, whichever worker
receives which copy."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from knowledge.db import Database
from knowledge.models import WebhookEvent

log = logging.getLogger(__name__)

_EVENT = cast(Table, WebhookEvent.__table__)

KEEP = timedelta(days=2)
"""Telegram keeps an undelivered update for 24 hours; Zalo retries for minutes. Two days covers
both with room to spare."""
SWEEP_EVERY = 600.0
"""Seconds between two sweeps of expired rows by one process (each worker sweeps on its own)."""
MAX_ID = 200
"""Longer ids are cut: the column's width (no platform sends ids anywhere near it)."""
STALE = timedelta(seconds=60)
"""A claim still unanswered after this long belongs to a worker that died before storing the
question (answering takes milliseconds): a redelivery then takes it over."""

_TAKE_OVER = (
    update(_EVENT)
    .where(
        _EVENT.c.source == bindparam("b_source"),
        _EVENT.c.event_id == bindparam("b_event_id"),
        _EVENT.c.answered_at.is_(None),
        _EVENT.c.received_at < bindparam("b_stale"),
    )
    .values(received_at=bindparam("received_at"))
    .returning(_EVENT.c.event_id)
)
_ANSWERED = (
    update(_EVENT)
    .where(_EVENT.c.source == bindparam("b_source"), _EVENT.c.event_id == bindparam("b_event_id"))
    .values(answered_at=bindparam("answered_at"))
)


def _claim_statement(dialect: str) -> Any:
    """An insert that does nothing when the (source, event_id) pair is already there, so two
    workers racing on one event see one row inserted between them, never an error."""
    # RETURNING tells whether a row went in (the drivers' rowcount is not reliable for this).
    if dialect == "postgresql":
        upsert = postgresql.insert(_EVENT).on_conflict_do_nothing(index_elements=["source", "event_id"])
        return upsert.returning(_EVENT.c.event_id)
    if dialect == "sqlite":
        lite = sqlite.insert(_EVENT).on_conflict_do_nothing(index_elements=["source", "event_id"])
        return lite.returning(_EVENT.c.event_id)
    return insert(_EVENT).returning(_EVENT.c.event_id)  # elsewhere the primary key refuses a second


class SeenEvents:
    """Claims event ids for one database: `first_time` before answering, `answered` after."""

    def __init__(
        self, db: Database, keep: timedelta = KEEP, sweep_every: float = SWEEP_EVERY, stale: timedelta = STALE
    ) -> None:
        self.db = db
        self.keep = keep
        self.sweep_every = sweep_every
        self.stale = stale
        self._claim = _claim_statement(db.engine.dialect.name)
        self._last_sweep = 0.0
        self._sweep_lock = threading.Lock()

    def first_time(self, source: str, event_id: str) -> bool:
        """True for the first delivery of the event (it is now claimed), False for a
        redelivery. The unique key decides, inside the database, so two workers receiving the
        same event at once cannot both get True. A claim that was never answered (its worker
        died) is handed to a redelivery once it is `stale`."""
        now = datetime.now(UTC)
        source, event_id = source[:80], event_id[:MAX_ID]
        with self.db.writing(), self.db.engine.begin() as conn:
            try:
                claimed = conn.execute(self._claim, {"source": source, "event_id": event_id, "received_at": now})
                inserted = claimed.first() is not None
            except IntegrityError:
                return False
            if not inserted:
                values = {"b_source": source, "b_event_id": event_id, "b_stale": now - self.stale, "received_at": now}
                inserted = conn.execute(_TAKE_OVER, values).first() is not None
                if inserted:
                    log.warning("%s event %s was claimed but never answered: answering it now", source, event_id)
            if self._sweep_due():
                swept = conn.execute(delete(_EVENT).where(_EVENT.c.received_at < now - self.keep)).rowcount
                if swept:
                    log.info("forgot %d webhook events older than %s", swept, self.keep)
        return inserted

    def answered(self, source: str, event_id: str) -> None:
        """The event's question is stored (and its answer on its way): no redelivery takes it."""
        values = {"b_source": source[:80], "b_event_id": event_id[:MAX_ID], "answered_at": datetime.now(UTC)}
        with self.db.writing(), self.db.engine.begin() as conn:
            conn.execute(_ANSWERED, values)

    def _sweep_due(self) -> bool:
        """Whether this call sweeps expired rows: at most once per `sweep_every` per process."""
        with self._sweep_lock:
            clock = time.monotonic()
            if self._last_sweep and clock - self._last_sweep < self.sweep_every:
                return False
            self._last_sweep = clock
            return True
