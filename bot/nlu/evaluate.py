"""Evaluation in the manner of `rasa test nlu`: accuracy, per-intent P/R/F1, confused pairs,
plus procedure top-1/top-5 and abstention when the items carry procedure labels."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from bot.nlu.types import OUT_OF_SCOPE, NluResult


class Parser(Protocol):
    def parse_many(self, texts: Sequence[str]) -> list[NluResult]: ...


def has_diacritics(text: str) -> bool:
    return any(unicodedata.decomposition(ch) or ch in "đĐ" for ch in text if ch.isalpha() and ord(ch) > 127)


def _share(hit: int, total: int) -> float:
    return hit / total if total else 0.0


def evaluate(parser: Parser, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    results = parser.parse_many([str(it["text"]) for it in items])
    gold = [str(it["intent"]) for it in items]
    pred = [r.intent for r in results]
    labels = sorted(set(gold) | set(pred))
    per_intent: dict[str, dict[str, float]] = {}
    f1s = []
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        precision, recall = _share(tp, tp + fp), _share(tp, tp + fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {"precision": precision, "recall": recall, "f1-score": f1, "support": tp + fn}
        if tp + fn:
            f1s.append(f1)
    confused = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    report: dict[str, Any] = {
        "accuracy": _share(sum(g == p for g, p in zip(gold, pred, strict=True)), len(items)),
        "macro_f1": sum(f1s) / len(f1s) if f1s else 0.0,
        "per_intent": per_intent,
        "confused": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confused.most_common(10)],
        "count": len(items),
    }
    by_style: dict[str, list[int]] = {}
    for it, p in zip(items, pred, strict=True):
        style = "accented" if has_diacritics(str(it["text"])) else "unaccented"
        pair = by_style.setdefault(style, [0, 0])
        pair[0] += p == it["intent"]
        pair[1] += 1
    report["accuracy_by_style"] = {k: _share(*v) for k, v in by_style.items()}
    named = [(it, r) for it, r in zip(items, results, strict=True) if it.get("procedure")]
    if named:
        top1 = top5 = 0
        style_hits: dict[str, list[int]] = {}
        for it, r in named:
            ok = {it["procedure"], *it.get("acceptable", [])}
            hit = r.procedure is not None and r.procedure.code in ok
            top1 += hit
            top5 += hit or bool(ok & {c.code for c in r.candidates[:5]})
            style = "accented" if has_diacritics(str(it["text"])) else "unaccented"
            pair = style_hits.setdefault(style, [0, 0])
            pair[0] += hit
            pair[1] += 1
        report["procedure_top1"] = _share(top1, len(named))
        report["procedure_top5"] = _share(top5, len(named))
        report["procedure_top1_by_style"] = {k: _share(*v) for k, v in style_hits.items()}
        report["procedure_count"] = len(named)
    abstain = [r for it, r in zip(items, results, strict=True) if it.get("abstain")]
    if abstain:
        report["abstention"] = _share(sum(r.procedure is None for r in abstain), len(abstain))
    oos = [p for it, p in zip(items, pred, strict=True) if it["intent"] == OUT_OF_SCOPE]
    if oos:
        report["out_of_scope_recall"] = _share(sum(p == OUT_OF_SCOPE for p in oos), len(oos))
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"Độ chính xác ý định: {report['accuracy']:.3f}   macro F1: {report['macro_f1']:.3f}   ({report['count']} câu)"
    ]
    for style, acc in sorted(report.get("accuracy_by_style", {}).items()):
        lines.append(f"  {'có dấu' if style == 'accented' else 'không dấu'}: {acc:.3f}")
    if "procedure_top1" in report:
        lines.append(
            f"Thủ tục top-1: {report['procedure_top1']:.3f}   top-5: {report['procedure_top5']:.3f}"
            f"   ({report['procedure_count']} câu có nêu thủ tục)"
        )
    if "abstention" in report:
        lines.append(f"Từ chối đúng (thủ tục không có trong dữ liệu): {report['abstention']:.3f}")
    if "out_of_scope_recall" in report:
        lines.append(f"Nhận ra câu ngoài phạm vi (recall): {report['out_of_scope_recall']:.3f}")
    lines.append("")
    lines.append(f"{'ý định':22s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'số câu':>7s}")
    for label, m in sorted(report["per_intent"].items()):
        lines.append(f"{label:22s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1-score']:6.3f} {m['support']:7d}")
    if report["confused"]:
        lines.append("")
        lines.append("Các cặp hay nhầm (đúng -> đoán):")
        for c in report["confused"]:
            lines.append(f"  {c['gold']} -> {c['predicted']}: {c['count']}")
    return "\n".join(lines)
