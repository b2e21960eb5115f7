"""Sending answers to a messaging platform in the background, retried with backoff.

The question is stored and the webhook answered before anything goes out: a platform API that is
down, slow or answering 5xx delays the answer, never the webhook (which would make the platform
redeliver and hammer the server) and never loses the question."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class Transient(Exception):
    """A send that may work if tried again later (network error, timeout, HTTP 5xx, 429)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        """Seconds the platform asked us to wait, when it said so."""


class Refused(Exception):
    """A send the platform refused for good (bad request, blocked by the user): not retried."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently one send is tried."""

    attempts: int = 6
    """Tries in all, the first included."""
    first_delay: float = 1.0
    """Seconds before the second try; each later wait is `factor` times longer."""
    factor: float = 2.0
    max_delay: float = 30.0
    """No wait is longer, whatever the platform asks (1+2+4+8+16 s: about half a minute in all)."""

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Seconds to wait after the failed try number `attempt` (1-based)."""
        wait = self.first_delay * self.factor ** (attempt - 1)
        if asked is not None:
            wait = max(wait, asked)
        return min(wait, self.max_delay)


MAX_PENDING = 1000
"""Turns waiting to be sent per adapter; beyond it a new answer is dropped (and logged): the
question is stored whatever happens, and memory stays bounded while a platform is down."""

Send = Callable[[], Awaitable[None]]


class Outbox:
    """Background sends for one platform, in order per recipient. Each job is a list of sends
    (the replies of one turn); a send that fails transiently is retried with backoff, one that
    is refused, or still fails after the last try, is logged and the job goes on."""

    def __init__(self, platform: str, policy: RetryPolicy | None = None, limit: int = MAX_PENDING) -> None:
        self.platform = platform
        self.policy = policy or RetryPolicy()
        self.limit = limit
        self.pending: set[asyncio.Task[None]] = set()
        self._last: dict[str, asyncio.Task[None]] = {}
        self.failed = 0
        """Sends given up on since start (for tests and logs)."""

    def submit(self, recipient: str, sends: list[Send], what: str = "answer") -> bool:
        """Queue the sends for `recipient` behind whatever is still on its way to them.
        False when the outbox is full and the job was dropped."""
        if not sends:
            return True
        if len(self.pending) >= self.limit:
            log.error("%s: %d answers waiting; %s for %s dropped", self.platform, self.limit, what, recipient)
            self.failed += len(sends)
            return False
        before = self._last.get(recipient)
        task = asyncio.get_running_loop().create_task(self._run(recipient, sends, what, before))
        self.pending.add(task)
        self._last[recipient] = task
        task.add_done_callback(lambda t: self._done(recipient, t))
        return True

    def _done(self, recipient: str, task: asyncio.Task[None]) -> None:
        self.pending.discard(task)
        if self._last.get(recipient) is task:
            del self._last[recipient]

    async def _run(self, recipient: str, sends: list[Send], what: str, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # keep a recipient's answers in the order they were given
        for i, send in enumerate(sends, 1):
            if not await self._try(send, f"{what} {i}/{len(sends)} for {recipient}"):
                self.failed += 1

    async def _try(self, send: Send, label: str) -> bool:
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                await send()
                if attempt > 1:
                    log.info("%s: %s sent at try %d", self.platform, label, attempt)
                return True
            except Refused as exc:
                log.warning("%s refused %s: %s", self.platform, label, exc)
                return False
            except Transient as exc:
                if attempt == policy.attempts:
                    log.error("%s: %s not sent after %d tries: %s", self.platform, label, attempt, exc)
                    return False
                wait = policy.delay(attempt, exc.retry_after)
                log.warning("%s: %s failed (%s); try %d in %.1f s", self.platform, label, exc, attempt + 1, wait)
                await asyncio.sleep(wait)
            except Exception:
                log.exception("%s: %s failed unexpectedly", self.platform, label)
                return False
        return False

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait for every queued send (at shutdown, and in tests); False if some were still
        on their way after `timeout` seconds."""
        if not self.pending:
            return True
        _done, waiting = await asyncio.wait(set(self.pending), timeout=timeout)
        return not waiting
