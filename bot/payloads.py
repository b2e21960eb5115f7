"""Button payloads in Rasa's syntax: "/intent{"entity": "value"}", so Rasa clients and our own
channels send the same strings back."""

from __future__ import annotations

import json
import re
from typing import Any

_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]{2,40})(?P<entities>\{.*\})?\s*$", re.DOTALL)


def make(intent: str, **entities: Any) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


def parse(text: str) -> tuple[str, dict[str, Any]] | None:
    """(intent, entities) for a payload string; None for ordinary text or a malformed payload."""
    m = _PAYLOAD.match(text.strip())
    if not m:
        return None
    entities: dict[str, Any] = {}
    if m.group("entities"):
        try:
            loaded = json.loads(m.group("entities"))
        except json.JSONDecodeError:
            return None
        if not isinstance(loaded, dict):
            return None
        entities = loaded
    return m.group("intent"), entities
