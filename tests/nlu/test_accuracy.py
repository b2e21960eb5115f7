"""Floors on the evaluation sets written for this purpose (separate from the training data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.nlu.evaluate import evaluate
from bot.nlu.training import load_rasa
from bot.nlu.types import INTENTS

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def report(nlu_engine) -> dict:
    return evaluate(nlu_engine, load("eval_questions.jsonl"))


def test_eval_set_is_what_it_claims() -> None:
    items = load("eval_questions.jsonl")
    assert len(items) >= 400
    assert {it["intent"] for it in items} == set(INTENTS)
    from bot.nlu.evaluate import has_diacritics

    assert sum(not has_diacritics(it["text"]) for it in items) >= len(items) / 3
    train = {ex.text.lower() for ex in load_rasa(Path("bot/nlu/data"))}
    assert not [it["text"] for it in items if it["text"].lower() in train], "evaluation questions leaked into training"


def test_intent_accuracy_floor(report: dict) -> None:
    assert report["accuracy"] >= 0.92, report["accuracy"]
    assert report["accuracy_by_style"]["unaccented"] >= 0.88


def test_out_of_scope_recall_floor(report: dict) -> None:
    assert report["out_of_scope_recall"] >= 0.9


def test_procedure_top1_floor(report: dict) -> None:
    assert report["procedure_top1"] >= 0.88, report["procedure_top1"]
    assert report["procedure_top5"] >= 0.93


def test_abstention_floor(report: dict) -> None:
    assert report["abstention"] >= 0.88


def test_portal_style_floor(nlu_engine) -> None:
    portal = evaluate(nlu_engine, load("eval_portal.jsonl"))
    assert portal["procedure_top1"] >= 0.85
    assert portal["abstention"] >= 0.88
