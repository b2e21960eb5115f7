"""The outbox on its own: backoff, order per recipient, refusals not retried, a bounded queue."""

from __future__ import annotations

import asyncio

import pytest

from bot import payloads
from channels.delivery import Outbox, Refused, RetryPolicy, Transient

FAST = RetryPolicy(attempts=4, first_delay=0.01, factor=2.0, max_delay=0.05)


@pytest.mark.parametrize(
    ("attempt", "asked", "wait"),
    [(1, None, 1.0), (2, None, 2.0), (5, None, 16.0), (6, None, 30.0), (1, 7.0, 7.0), (1, 120.0, 30.0)],
)
def test_backoff_doubles_honours_retry_after_and_is_capped(attempt: int, asked: float | None, wait: float) -> None:
    assert RetryPolicy().delay(attempt, asked) == wait


async def test_transient_failures_are_retried_and_order_is_kept_per_recipient() -> None:
    outbox = Outbox("test", FAST)
    sent: list[str] = []
    failures = {"a1": 2}

    def send(name: str):
        async def go() -> None:
            if failures.get(name, 0) > 0:
                failures[name] -= 1
                raise Transient("down")
            sent.append(name)

        return go

    outbox.submit("a", [send("a1"), send("a2")])
    outbox.submit("a", [send("a3")])
    outbox.submit("b", [send("b1")])
    assert await outbox.drain(5)
    assert [x for x in sent if x.startswith("a")] == ["a1", "a2", "a3"]
    assert "b1" in sent and outbox.failed == 0


async def test_refusals_and_exhausted_retries_are_counted_and_the_job_goes_on() -> None:
    outbox = Outbox("test", FAST)
    calls: list[str] = []

    async def refused() -> None:
        calls.append("refused")
        raise Refused("blocked")

    async def down() -> None:
        calls.append("down")
        raise Transient("down")

    async def ok() -> None:
        calls.append("ok")

    outbox.submit("a", [refused, down, ok])
    assert await outbox.drain(5)
    assert calls == ["refused"] + ["down"] * FAST.attempts + ["ok"]
    assert outbox.failed == 2


async def test_a_full_outbox_drops_and_says_so() -> None:
    outbox = Outbox("test", FAST, limit=2)
    gate = asyncio.Event()

    async def wait() -> None:
        await gate.wait()

    assert outbox.submit("a", [wait]) and outbox.submit("b", [wait])
    assert outbox.submit("c", [wait]) is False
    gate.set()
    assert await outbox.drain(5)
    assert outbox.failed == 1 and not outbox.pending


@pytest.mark.parametrize(
    "text",
    [
        '/ask_fee{"procedure":' + "[" * 1500 + "]" * 1500 + "}",
        '/ask_fee{"procedure":' + "[" * 400 + "]" * 400 + "}",
        '/ask_fee{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}}',
    ],
    ids=["1500", "400", "9"],
)
def test_nested_payloads_are_malformed_without_parsing(text: str) -> None:
    assert payloads.read(text) is payloads.MALFORMED


def test_our_own_payloads_still_read() -> None:
    made = payloads.make("feedback", useful=True, ref="abc123")
    assert payloads.parse(made) == ("feedback", {"useful": True, "ref": "abc123"})
