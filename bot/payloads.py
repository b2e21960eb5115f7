"""Button payloads in Rasa's syntax: "/intent{"entity": "value"}", so Rasa clients and our own
channels send the same strings back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

MAX_PAYLOAD = 1000
"""Our own payloads are a few dozen characters; anything longer is not one of ours."""
MAX_BRACKETS = 8
"""Our entities are one flat object of strings; more brackets than this is not one of ours, and
is refused before the JSON reader could recurse into it."""
_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]{2,40})(?P<entities>\{.*\})?\s*$", re.DOTALL)
_LOOKS_LIKE = re.compile(r"^/[a-z_]{2,40}(?:\{|\s*$)")


@dataclass(frozen=True, slots=True)
class Payload:
    """A button press: the intent and its entities."""

    intent: str
    entities: dict[str, Any]


MALFORMED = Payload("", {})
"""Returned for text that is shaped like a payload but cannot be read."""


def make(intent: str, **entities: Any) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def read(text: str) -> Payload | None:
    """The payload a button sent; None for ordinary text; MALFORMED for a payload-shaped text that
    cannot be read (cut, edited by hand, nested too deep)."""
    stripped = text.strip()
    if not _LOOKS_LIKE.match(stripped):
        return None
    if len(stripped) > MAX_PAYLOAD:
        return MALFORMED
    m = _PAYLOAD.match(stripped)
    if not m:
        return MALFORMED
    entities: dict[str, Any] = {}
    if m.group("entities"):
        raw = m.group("entities")
        if raw.count("{") + raw.count("[") > MAX_BRACKETS:
            return MALFORMED
        try:
            loaded = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            return MALFORMED
        if not isinstance(loaded, dict):
            return MALFORMED
        entities = loaded
    return Payload(m.group("intent"), entities)


def parse(text: str) -> tuple[str, dict[str, Any]] | None:
    """(intent, entities) for a payload string; None for ordinary text or a malformed payload."""
    found = read(text)
    if found is None or found is MALFORMED:
        return None
    return found.intent, found.entities
