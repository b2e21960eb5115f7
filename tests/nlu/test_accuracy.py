"""Floors on the evaluation sets written for this purpose (separate from the training data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.nlu.evaluate import evaluate, has_diacritics
from bot.nlu.training import load_rasa
from bot.nlu.types import INTENTS
from knowledge.text import fold

DATA = Path(__file__).parent / "data"
NLU_DATA = Path(__file__).resolve().parents[2] / "bot" / "nlu" / "data"
EVAL_SETS = ("eval_questions.jsonl", "eval_portal.jsonl", "eval_registers.jsonl")


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def training_texts() -> list[str]:
    """Every text anything is trained on: Rasa examples, templates, written re-ranker questions."""
    texts = [ex.text for ex in load_rasa(NLU_DATA)]
    written = yaml.safe_load((NLU_DATA / "procedure_questions.yml").read_text(encoding="utf-8"))
    texts += [q for item in written["procedures"] for q in item.get("questions") or []]
    lacking = yaml.safe_load((NLU_DATA / "out_of_catalog.yml").read_text(encoding="utf-8"))
    texts += lacking["names"] + lacking["questions"]
    templates = yaml.safe_load((NLU_DATA / "templates.yml").read_text(encoding="utf-8"))["templates"]
    texts += [t for items in templates.values() for t in items]
    return texts


@pytest.fixture(scope="module")
def report(nlu_engine) -> dict:
    return evaluate(nlu_engine, load("eval_questions.jsonl"))


@pytest.fixture(scope="module")
def registers(nlu_engine) -> dict:
    return evaluate(nlu_engine, load("eval_registers.jsonl"))


def test_eval_set_is_what_it_claims() -> None:
    items = load("eval_questions.jsonl")
    assert len(items) >= 400
    assert {it["intent"] for it in items} == set(INTENTS)
    assert sum(not has_diacritics(it["text"]) for it in items) >= len(items) / 3


def test_registers_set_covers_every_register_with_and_without_diacritics() -> None:
    items = load("eval_registers.jsonl")
    assert {it["source"] for it in items} == {"portal", "ward-police", "legal-letter", "chat"}
    assert sum(it["abstain"] for it in items) >= 40 and sum(it["intent"] == "out_of_scope" for it in items) >= 40
    assert sum(not has_diacritics(it["text"]) for it in items) >= len(items) / 3


def test_no_evaluation_question_is_trained_on() -> None:
    """Compared without diacritics, case or punctuation: "le phi bao nhieu" is "Lệ phí bao nhiêu?".
    One- and two-word replies ("có", "không") are the same in any set and are allowed."""
    seen = {fold(t) for t in training_texts()}
    leaked = [
        it["text"]
        for name in EVAL_SETS
        for it in load(name)
        if len(fold(it["text"]).split()) >= 3 and fold(it["text"]) in seen
    ]
    assert leaked == [], "evaluation questions leaked into training"


def test_intent_accuracy_floor(report: dict) -> None:
    assert report["accuracy"] >= 0.92, report["accuracy"]
    assert report["accuracy_by_style"]["unaccented"] >= 0.88


def test_out_of_scope_recall_floor(report: dict) -> None:
    assert report["out_of_scope_recall"] >= 0.85


def test_procedure_top1_floor(report: dict) -> None:
    assert report["procedure_top1"] >= 0.85, report["procedure_top1"]
    assert report["procedure_top5"] >= 0.95


def test_abstention_floor(report: dict) -> None:
    assert report["abstention"] >= 0.88


def test_portal_style_floor(nlu_engine) -> None:
    portal = evaluate(nlu_engine, load("eval_portal.jsonl"))
    assert portal["accuracy"] >= 0.93
    assert portal["procedure_top1"] >= 0.85
    assert portal["abstention"] >= 0.88


def test_registers_floor(registers: dict) -> None:
    assert registers["accuracy"] >= 0.78, registers["accuracy"]
    assert registers["procedure_top1"] >= 0.70 and registers["procedure_top5"] >= 0.95
    assert registers["abstention"] >= 0.80
    assert registers["out_of_scope_recall"] >= 0.70
