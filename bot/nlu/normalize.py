"""Normalize a message once: NFC, case, spacing, stretched letters, abbreviations, folded key."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.errors import TrainingDataError
from knowledge.text import fold, strip_diacritics

DATA = Path(__file__).parent / "data"
ABBREVIATIONS = DATA / "abbreviations.yml"
MAX_CHARS = 1000
"""Longer messages are cut: no question needs more, and it bounds the work per message."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_TAGS = re.compile(r"<[^>]{0,200}>")
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A message in the forms the NLU works on."""

    original: str
    """The message as received."""
    text: str
    """Lower case NFC words, abbreviations expanded, punctuation dropped (keeps diacritics)."""
    key: str
    """`text` without diacritics (đ -> d): the matching key."""

    @property
    def words(self) -> list[str]:
        return self.key.split()

    @property
    def is_empty(self) -> bool:
        return not self.key


@lru_cache(maxsize=4)
def load_abbreviations(path: Path = ABBREVIATIONS) -> dict[str, str]:
    """Token -> expansion, keyed by both the written and the diacritic-free token."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"Không đọc được bảng viết tắt {path}: {exc}") from exc
    table = data.get("abbreviations") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise TrainingDataError(f"{path}: cần bảng 'abbreviations:'.")
    out: dict[str, str] = {}
    for key, value in table.items():
        k = unicodedata.normalize("NFC", str(key)).lower().strip()
        if k and value:
            out[k] = unicodedata.normalize("NFC", str(value)).lower().strip()
    return out


def _collapse_stretch(word: str) -> str:
    return _collapse_cached(word) if len(word) <= 40 else _collapse(word)


@lru_cache(maxsize=65536)
def _collapse_cached(word: str) -> str:
    return _collapse(word)


def _collapse(word: str) -> str:
    """ "ạaaa" -> "ạ", "khongggg" -> "khong": a run of three or more of one letter becomes one."""
    if len(word) < 3:
        return word
    base = strip_diacritics(word)
    out: list[str] = []
    i = 0
    while i < len(word):
        j = i
        while j + 1 < len(word) and base[j + 1] == base[i] and base[i].isalpha():
            j += 1
        out.append(word[i] if j - i >= 2 else word[i : j + 1])
        i = j + 1
    return "".join(out)


class Normalizer:
    """Applies the abbreviation table; one instance is shared by every parse."""

    def __init__(self, abbreviations: dict[str, str] | None = None) -> None:
        self.abbreviations = load_abbreviations() if abbreviations is None else abbreviations

    def __call__(self, text: str) -> Normalized:
        original = text
        text = unicodedata.normalize("NFC", text[:MAX_CHARS])
        text = _CONTROL.sub(" ", text)
        text = _TAGS.sub(" ", text)
        words = []
        tokens = [w for w in (t.strip("_") for t in _WORD.findall(text.lower())) if w]
        skip = False
        for i, word in enumerate(tokens):
            if skip:
                skip = False
                continue
            # two tokens first: "bn trai" is "bạn trai", though a lone "bn" is "bao nhiêu"
            pair = f"{word} {tokens[i + 1]}" if i + 1 < len(tokens) else ""
            if pair in self.abbreviations:
                words.append(self.abbreviations[pair])
                skip = True
                continue
            if word not in self.abbreviations:
                word = _collapse_stretch(word)
            words.append(self.abbreviations.get(word, word))
        joined = _SPACES.sub(" ", " ".join(words)).strip()[:MAX_CHARS]
        return Normalized(original=original, text=joined, key=fold(joined))
