"""Export the knowledge base as JSON lines or YAML (parsed fields, staff data, source text)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

import yaml

from knowledge import fees
from knowledge.types import FaqInfo, ProcedureInfo, channel_row, document_row


def procedure_to_dict(p: ProcedureInfo, with_sources: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": p.code,
        "name": p.name,
        "levels": sorted(p.levels),
        "kind": p.kind,
        "field": p.field,
        "ministry": p.ministry,
        "subjects": p.subjects,
        "agency": p.agency,
        "address": p.address,
        "decision": p.decision,
        "source_url": p.source_url,
        "active": p.active,
        "popularity": p.popularity,
        "aliases": list(p.aliases),
        "documents": [document_row(d) | {"section": d.section, "role": d.role.value} for d in p.documents],
        "channels": [channel_row(c) | {"fee_parts": fees.to_json(c.fee)} for c in p.channels],
        "receiver": p.receiver.value,
        "steps": list(p.steps),
        "legal_basis": [{"title": lb.title, "number": lb.number} for lb in p.legal_basis],
        "requirements": p.requirements,
        "result": p.result,
    }
    if with_sources:
        data["sources"] = dict(p.sources)
    return data


def faq_to_dict(f: FaqInfo) -> dict[str, Any]:
    return {
        "id": f.id,
        "questions": list(f.questions),
        "answer": f.answer,
        "procedure": f.procedure_code,
        "active": f.active,
    }


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_yaml(key: str, rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    items = list(rows)
    yaml.safe_dump({key: items}, out, allow_unicode=True, sort_keys=False, width=100)
    return len(items)
