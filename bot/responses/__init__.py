"""Vietnamese reply templates, kept as data in `vi.yml` and looked up by name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATES = Path(__file__).parent / "vi.yml"


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class Responses:
    """`responses("fee_header", procedure=...)` -> the filled Vietnamese sentence."""

    def __init__(self, templates: dict[str, str]) -> None:
        self.templates = templates

    def __call__(self, name: str, **values: Any) -> str:
        template = self.templates.get(name)
        if template is None:
            raise KeyError(f"no reply template {name!r} in {TEMPLATES.name}")
        return template.format_map(_Blank(values)).strip()

    def __contains__(self, name: str) -> bool:
        return name in self.templates


@lru_cache(maxsize=2)
def load(path: Path = TEMPLATES) -> Responses:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Responses({str(k): str(v) for k, v in data.items()})
