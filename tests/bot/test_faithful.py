"""Answers are faithful: every document, fee and time shown comes from that procedure's record."""

from __future__ import annotations

import random
import re

import pytest

from bot import payloads
from bot.actions.base import money
from bot.assistant import Assistant
from bot.types import IncomingMessage
from knowledge.repository import Repository
from knowledge.types import ProcedureInfo

SAMPLE = 50


@pytest.fixture(scope="module")
def sample(full_sqlite) -> list[ProcedureInfo]:
    repo = Repository(full_sqlite)
    codes = sorted(p.code for p in repo.catalog())
    rng = random.Random(2025)
    picked = [*rng.sample(codes, SAMPLE - 5), "1.001193", "1.000894", "1.004222", "2.000815", "1.001612"]
    return repo.procedures(picked)


def ask(assistant: Assistant, intent: str, code: str) -> str:
    turn = assistant.respond(IncomingMessage("cli", "faithful", payloads.make(intent, procedure=code)))
    assert turn.procedure == code
    return turn.replies[0].text


def test_documents_fees_and_times_come_from_the_record(assistant: Assistant, sample: list[ProcedureInfo]) -> None:
    checked = {"documents": 0, "fees": 0, "times": 0}
    for p in sample:
        names = {d.name.rstrip(" ;.") for d in p.documents if not d.is_note}
        for line in ask(assistant, "ask_documents", p.code).splitlines():
            m = re.match(r"^\d+\. (.*) — (.*)$", line)
            if m:
                assert m.group(1) in names, (p.code, line)
                same = [d for d in p.documents if d.name.rstrip(" ;.") == m.group(1)]
                assert any(
                    (not d.originals or f"{d.originals} bản chính" in m.group(2))
                    and (not d.copies or f"{d.copies} bản sao" in m.group(2))
                    for d in same
                ), (p.code, line)
                checked["documents"] += 1
        labels = {c.channel.label: c for c in p.channels}
        for line in ask(assistant, "ask_fee", p.code).splitlines():
            m = re.match(r"^• (.*?): (.*)$", line)
            if m:
                assert m.group(1) in labels, (p.code, line)
                rows = [c for c in p.channels if c.channel.label == m.group(1)]
                shown = m.group(2)
                if shown.startswith("Miễn phí"):
                    assert any(c.fee_amount == 0 for c in rows), (p.code, line)
                elif (amount := re.match(r"^([\d.]+) đồng", shown)) is not None:
                    assert any(c.fee_amount is not None and money(c.fee_amount) == amount.group(1) for c in rows)
                else:
                    assert any(shown in (c.fee_text, "dữ liệu không ghi mức phí") for c in rows), (p.code, line)
                checked["fees"] += 1
        for line in ask(assistant, "ask_processing_time", p.code).splitlines():
            m = re.match(r"^• (.*?): (.*)$", line)
            if m:
                rows = [c for c in p.channels if c.channel.label == m.group(1)]
                assert rows, (p.code, line)
                value = re.match(r"^([\d.]+)", m.group(2))
                if value:
                    assert any(c.time_value is not None and f"{c.time_value:g}" == value.group(1) for c in rows)
                    unit = m.group(2)[len(value.group(1)) :].strip()
                    assert any((c.time_unit or "").lower() == unit or c.time_unit is None for c in rows)
                else:
                    assert m.group(2) == "dữ liệu không ghi thời hạn"
                checked["times"] += 1
    assert checked["documents"] >= 100 and checked["fees"] >= 50 and checked["times"] >= 50, checked
