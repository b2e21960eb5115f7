"""Training data: Rasa 3 NLU YAML files, plus examples generated from procedure names."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import TrainingDataError
from bot.nlu.types import CatalogEntry
from knowledge.text import fold

DATA = Path(__file__).parent / "data"
TEMPLATES = DATA / "templates.yml"
# "[text](entity)" and "[text]{...}" annotations keep only their text.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled utterance."""

    text: str
    intent: str


def _rasa_files(path: Path) -> list[Path]:
    if not path.exists():
        raise TrainingDataError(f"Không tìm thấy dữ liệu huấn luyện: {path}")
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())


def load_rasa(path: Path) -> list[Example]:
    """Examples from a Rasa 3 NLU file or a folder of them (files without `nlu:` are skipped)."""
    examples: list[Example] = []
    files = _rasa_files(path)
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise TrainingDataError(f"{file}: không phải văn bản UTF-8.") from exc
        except yaml.YAMLError as exc:
            raise TrainingDataError(f"{file}: YAML không hợp lệ: {exc}") from exc
        if not isinstance(data, dict) or "nlu" not in data:
            if path.is_file():
                raise TrainingDataError(f"{file}: không có khóa 'nlu:' (định dạng Rasa 3).")
            continue
        examples.extend(_parse_nlu(file, data["nlu"]))
    if not examples:
        raise TrainingDataError(f"Không có ví dụ huấn luyện nào trong {path}.")
    return examples


def _parse_nlu(file: Path, items: Any) -> Iterable[Example]:
    if not isinstance(items, list):
        raise TrainingDataError(f"{file}: 'nlu:' phải là một danh sách.")
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise TrainingDataError(f"{file}: mục thứ {n} trong 'nlu:' không hợp lệ.")
        if "intent" not in item:
            continue  # synonym, regex, lookup: not intent examples
        intent = str(item["intent"]).strip()
        block = item.get("examples")
        if not intent or not isinstance(block, str):
            raise TrainingDataError(f"{file}: ý định '{intent}' cần 'examples: |' với các dòng '- ...'.")
        for line in block.splitlines():
            line = line.strip()
            if not line:
                continue
            if not line.startswith("- "):
                raise TrainingDataError(f"{file}: ý định '{intent}': dòng ví dụ phải bắt đầu bằng '- ': {line[:60]!r}")
            text = _ANNOTATION.sub(r"\1", line[2:]).strip()
            if text:
                yield Example(text, intent)


def load_templates(path: Path = TEMPLATES) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    templates = data.get("templates")
    if not isinstance(templates, dict):
        raise TrainingDataError(f"{path}: cần bảng 'templates:'.")
    return {str(k): [str(t) for t in v if "{procedure}" in str(t)] for k, v in templates.items()}


def _has_diacritics(text: str) -> bool:
    return fold(text) != re.sub(r"[^\w]+", " ", text.lower()).strip()


def procedure_phrases(entries: Sequence[CatalogEntry], rng: random.Random, sample: int = 400) -> list[str]:
    """Names citizens would type: aliases of common procedures and short official names."""
    phrases: list[str] = []
    for e in entries:
        phrases.extend(a for a in e.aliases if len(a.split()) >= 2)
    plain = [e for e in entries if len(e.name.split()) <= 14]
    for e in rng.sample(plain, min(sample, len(plain))):
        name = re.sub(r"^(thủ tục|tthc)\s+", "", e.name.strip().lower())
        phrases.append(name.rstrip(". "))
    return phrases


def generate(
    templates: dict[str, list[str]],
    entries: Sequence[CatalogEntry],
    per_template: int = 6,
    seed: int = 13,
) -> list[Example]:
    """Fill every template with procedure names: accented templates get accented names,
    unaccented templates get the names without diacritics."""
    rng = random.Random(seed)
    phrases = procedure_phrases(entries, rng)
    accented = [p for p in phrases if _has_diacritics(p)]
    out: list[Example] = []
    for intent, items in templates.items():
        for template in items:
            unaccented = not _has_diacritics(template.replace("{procedure}", ""))
            for phrase in rng.sample(accented, min(per_template, len(accented))):
                out.append(Example(template.replace("{procedure}", fold(phrase) if unaccented else phrase), intent))
    return out
