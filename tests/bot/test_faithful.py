"""Answers are faithful: every paper, fee and time a first answer shows comes from that
procedure's record (50 procedures, as the citizen gets them through the assistant)."""

from __future__ import annotations

import random
import re

import pytest

from bot import payloads
from bot.assistant import Assistant
from bot.types import IncomingMessage
from knowledge.repository import Repository
from knowledge.text import fold
from knowledge.types import ProcedureInfo
from tests.bot.fidelity import channels_of, numbers, record_numbers, words_from

SAMPLE = 50


@pytest.fixture(scope="module")
def sample(full_sqlite) -> list[ProcedureInfo]:
    repo = Repository(full_sqlite)
    codes = sorted(p.code for p in repo.catalog())
    rng = random.Random(2025)
    picked = [*rng.sample(codes, SAMPLE - 5), "1.001193", "1.000894", "1.004222", "2.000815", "1.001612"]
    return repo.procedures(picked)


def ask(assistant: Assistant, intent: str, code: str) -> str:
    turn = assistant.respond(IncomingMessage("web", "faithful", payloads.make(intent, procedure=code)))
    assert turn.procedure == code
    return turn.replies[0].text


def test_documents_fees_and_times_come_from_the_record(assistant: Assistant, sample: list[ProcedureInfo]) -> None:
    checked = {"documents": 0, "fees": 0, "times": 0}
    for p in sample:
        sources = [f"{d.name} {d.condition or ''}" for d in p.documents if not d.is_note]
        for line in ask(assistant, "ask_documents", p.code).splitlines():
            m = re.match(r"^\d+\. (.*)$", line)
            if m:
                assert words_from(m.group(1), sources), (p.code, line)
                checked["documents"] += 1
        stated = record_numbers(p)
        labels = {c.channel for c in p.channels}
        for line in ask(assistant, "ask_fee", p.code).splitlines():
            m = re.match(r"^• (.*?): (.*)$", line)
            if m:
                assert channels_of(m.group(1)) <= labels, (p.code, line)
                assert numbers(m.group(2)) <= stated, (p.code, line)
                checked["fees"] += 1
        times = {f"{c.time_value:g}": (c.time_unit or "").lower() for c in p.channels if c.time_value}
        for line in ask(assistant, "ask_processing_time", p.code).splitlines():
            m = re.match(r"^• (.*?): (.*)$", line)
            if m:
                assert channels_of(m.group(1)) <= labels, (p.code, line)
                value = re.match(r"^([\d.]+)\s*(.*)$", m.group(2))
                if value:
                    assert value.group(1) in times, (p.code, line)
                    unit = times[value.group(1)]
                    # A bare number takes its unit only from the record's own words, saying so.
                    assert (unit and fold(unit) in fold(value.group(2))) or "o thoi han chi ghi" in fold(line)
                elif m.group(2).startswith("thường là "):
                    # A bare number with no words to give it a unit: the number is the record's.
                    assert m.group(2).split()[2] in times, (p.code, line)
                elif "(theo " in m.group(2):
                    # The record's words answer ("trong thời hạn 03 ngày làm việc… (theo trình tự…)").
                    assert numbers(m.group(2)) <= stated | numbers(" ".join(p.steps)), (p.code, line)
                else:
                    assert m.group(2) == "dữ liệu quốc gia chưa ghi thời hạn", (p.code, line)
                checked["times"] += 1
    assert checked["documents"] >= 100 and checked["fees"] >= 50 and checked["times"] >= 50, checked
