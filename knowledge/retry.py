"""Turns kept in memory while the database cannot be written, and written when it can again.

One queue per process (each web worker has its own): bounded, so an outage that lasts costs a
known amount of memory, and a message that does not fit is refused out loud (HTTP 503) rather
than dropped."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from knowledge.conversations import ConversationStore, Memory, TurnRecord
from knowledge.errors import RetryQueueFull, StorageUnavailable

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1000
"""Turns a worker keeps while the database is down: a few minutes of a busy ward's traffic,
a few megabytes of memory."""
_LOG_EVERY = 5.0
"""Seconds between log lines about the same outage (every message would flood the log)."""
_NEW = Memory(None, {})
"""Queued turns find their conversation again when written: an id read before the outage may
belong to a file that was replaced since."""


class RetryQueue:
    """`add` a turn that could not be stored; `flush` writes what is kept, oldest first, until the
    database fails again. Thread-safe: a request and the background flusher may both flush."""

    def __init__(self, store: ConversationStore, limit: int = DEFAULT_LIMIT) -> None:
        self.store = store
        self.limit = limit
        self._turns: deque[TurnRecord] = deque()
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._logged = 0.0
        self._kept_since_log = 0

    def __len__(self) -> int:
        return len(self._turns)

    def add(self, turn: TurnRecord, reason: str) -> None:
        """Keep `turn` for a later write; raises `RetryQueueFull` when `limit` turns wait already."""
        with self._lock:
            if len(self._turns) >= self.limit:
                log.error(
                    "database unavailable (%s) and %d messages already kept in memory: refusing a %s message "
                    "(the client gets HTTP 503 and may send it again)",
                    reason,
                    len(self._turns),
                    turn.channel,
                )
                raise RetryQueueFull(
                    "Hệ thống tạm thời không lưu được tin nhắn và hàng đợi đã đầy; vui lòng gửi lại sau ít phút."
                )
            self._turns.append(turn)
            self._kept_since_log += 1
            now = time.monotonic()
            if now - self._logged >= _LOG_EVERY:
                log.warning(
                    "database unavailable (%s): %d message(s) kept in memory since the last report, "
                    "%d waiting in all; they are written when the database is back",
                    reason,
                    self._kept_since_log,
                    len(self._turns),
                )
                self._logged, self._kept_since_log = now, 0

    def flush(self, limit: int | None = None) -> bool:
        """Write kept turns (at most `limit`), oldest first; stops at the first that cannot be
        written yet. True when nothing is left waiting."""
        if not self._turns:
            return True
        if not self._flushing.acquire(blocking=False):
            return False  # another thread is writing them
        written = 0
        try:
            while self._turns and (limit is None or written < limit):
                turn = self._turns[0]
                try:
                    self.store.record(_NEW, turn)
                except StorageUnavailable:
                    break
                except Exception:
                    # Not an outage: this turn would fail every time and hold back the others.
                    log.exception(
                        "a kept %s message could not be written and is dropped (question: %r)",
                        turn.channel,
                        turn.question,
                    )
                with self._lock:
                    self._turns.popleft()
                written += 1
        finally:
            self._flushing.release()
        if written:
            log.warning(
                "database writable again: wrote %d kept message(s), %d still waiting", written, len(self._turns)
            )
        return not self._turns

    def drain(self) -> list[TurnRecord]:
        """Take every kept turn out (a process that stops logs what it could not store)."""
        with self._lock:
            turns = list(self._turns)
            self._turns.clear()
        return turns
