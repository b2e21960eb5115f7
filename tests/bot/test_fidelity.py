"""Fidelity over all 2,642 records: every amount, time value and paper a record states reaches
the citizen — in the whole answer or on the procedure page — and no answer states a number or
a paper the record does not. The counts are printed and written to var/test-artifacts."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from bot.actions import ACTIONS, ActionContext
from bot.render import fit, full_text
from bot.responses import load as load_responses
from channels.web.app import create_app
from knowledge.repository import Repository
from knowledge.types import ProcedureInfo
from tests.bot.fidelity import (
    money,
    numbers,
    page_text,
    record_money,
    record_numbers,
    reduced_money,
    words_from,
)

ASPECTS = ("ask_documents", "ask_fee", "ask_processing_time", "ask_methods", "ask_where")
PORTAL = "https://dichvucong.gov.vn"
_COUNTS = re.compile(r"… và \d+ mục nữa\.|Có \d+ trường hợp riêng")
"""Counts the answer itself adds ("… và 3 mục nữa."), not facts of the record."""


@pytest.fixture(scope="module")
def everything(full_sqlite) -> list[ProcedureInfo]:
    return Repository(full_sqlite).all_procedures()


def _answers(p: ProcedureInfo, unit, responses) -> dict[str, tuple[str, str]]:
    """(whole answer, first answer in the widget) per aspect."""
    page = f"http://127.0.0.1:8000/thu-tuc/{p.code}"
    ctx = ActionContext(p, unit, responses, PORTAL, page)
    out = {}
    for intent in ASPECTS:
        reply = replace(ACTIONS[intent](ctx)[0], link=page)
        out[intent] = (full_text(reply), fit(reply, "web", responses).text)
    return out


def test_every_record_reaches_the_citizen_and_nothing_else(
    everything, assistant, settings_for, kb_copy, artifacts
) -> None:
    responses = load_responses()
    unit = assistant.unit(None)
    allowed = numbers(" ".join([unit.hotline, unit.address, unit.hours])) | {
        n for o in unit.offices for n in numbers(f"{o.address} {o.hours} {o.hotline}")
    }
    counts = {"records": 0, "stated facts": 0, "missing": 0, "answer facts": 0, "unstated": 0}
    missing: list[str] = []
    unstated: list[str] = []
    app = create_app(settings_for(kb_copy), assistant)
    with TestClient(app) as client:
        for p in everything:
            counts["records"] += 1
            answers = _answers(p, unit, responses)
            page = page_text(client.get(f"/thu-tuc/{p.code}").text)
            page_numbers = numbers(page)
            # 1. What the record states reaches the citizen.
            docs_full = " ".join(answers["ask_documents"][0].split())
            for d in p.documents:
                if d.is_note:
                    continue
                name = " ".join(d.name.rstrip(" ;.").split())
                counts["stated facts"] += 1
                if name not in docs_full and name not in page:
                    missing.append(f"{p.code} paper {name[:60]}")
            fee_numbers = numbers(answers["ask_fee"][0])
            for amount in sorted(record_money(p)):
                counts["stated facts"] += 1
                if amount not in fee_numbers and amount not in page_numbers:
                    missing.append(f"{p.code} amount {amount}")
            time_numbers = numbers(answers["ask_processing_time"][0])
            for c in p.channels:
                if c.time_value is None:
                    continue
                counts["stated facts"] += 1
                if int(c.time_value) not in time_numbers and int(c.time_value) not in page_numbers:
                    missing.append(f"{p.code} time {c.time_value:g}")
            # 2. Nothing the record does not state.
            stated_numbers = record_numbers(p) | allowed | numbers(f"{p.code} {p.name} {p.address} {p.agency}")
            stated_money = record_money(p) | reduced_money(p)
            for intent in ("ask_fee", "ask_processing_time", "ask_methods", "ask_where"):
                for text in answers[intent]:
                    body = _COUNTS.sub(" ", re.sub(r"https?://\S+", " ", text))
                    counts["answer facts"] += 1
                    extra = numbers(body) - stated_numbers
                    extra_money = money(body) - stated_money
                    if extra or extra_money:
                        unstated.append(f"{p.code} {intent} {sorted(extra | extra_money)[:5]}")
            # The papers, and where an identity paper is asked for outside them (the steps,
            # the conditions, the notes).
            sources = [f"{d.name} {d.condition or ''}" for d in p.documents if not d.is_note]
            sources += [*p.steps, p.requirements or "", *(d.name for d in p.documents if d.is_note)]
            for line in answers["ask_documents"][1].splitlines():
                m = re.match(r"^(\d+\. |Trường hợp riêng cần thêm giấy tờ: )(.*)$", line)
                if not m:
                    continue
                parts = m.group(2).rstrip(".…").split("; ") if not m.group(1)[0].isdigit() else [m.group(2)]
                for part in parts:
                    counts["answer facts"] += 1
                    if not words_from(part, sources):
                        unstated.append(f"{p.code} paper {part[:60]}")
    counts["missing"] = len(missing)
    counts["unstated"] = len(unstated)
    report = {**counts, "missing examples": missing[:30], "unstated examples": unstated[:30]}
    (artifacts / "fidelity.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print("fidelity:", json.dumps(counts, ensure_ascii=False))
    assert counts["records"] == 2642
    assert missing == [], missing[:20]
    assert unstated == [], unstated[:20]
