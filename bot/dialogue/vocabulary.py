"""The conversation's own words (switch phrases, typed choices), read from
`bot/nlu/data/dialogue.yml` and matched on whole words."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.errors import TrainingDataError
from knowledge.text import fold

DIALOGUE = Path(__file__).resolve().parent.parent / "nlu" / "data" / "dialogue.yml"

Phrase = tuple[str, ...]
NEGATED_WORDS = 2
"""How many words after "không phải" / "chứ không" a denial covers ("xe mới", "xây mới")."""


def _phrases(items: object) -> tuple[Phrase, ...]:
    """Lower-case word tuples, longest first (so "thế còn" is tried before "còn")."""
    if not isinstance(items, list):
        return ()
    found = {tuple(str(i).lower().split()) for i in items if str(i).strip()}
    return tuple(sorted(found, key=len, reverse=True))


def _folded(phrases: tuple[Phrase, ...]) -> tuple[Phrase, ...]:
    return tuple(sorted({tuple(fold(" ".join(p)).split()) for p in phrases}, key=len, reverse=True))


def _starts(words: list[str], phrases: tuple[Phrase, ...]) -> Phrase | None:
    for p in phrases:
        if tuple(words[: len(p)]) == p:
            return p
    return None


def _contains(words: list[str], phrases: tuple[Phrase, ...]) -> bool:
    by_first: dict[str, list[Phrase]] = {}
    for p in phrases:
        if not p:
            return True
        by_first.setdefault(p[0], []).append(p)
    for i, w in enumerate(words):
        for p in by_first.get(w, ()):
            if tuple(words[i : i + len(p)]) == p:
                return True
    return False


@dataclass(frozen=True, slots=True)
class Switch:
    """What the switch phrases of a turn say."""

    leading: bool
    """The turn opens with "còn", "thế còn", "vậy còn"..."""
    trailing: bool
    """The turn has "thì sao", "thì thế nào"..."""
    ambiguous: bool
    """It opens with an unaccented "con" that may be "còn" or "con" (a child)."""
    rest: str
    """The folded turn without its opening phrase."""


@dataclass(frozen=True, slots=True)
class DialogueVocabulary:
    """Loaded once per process; `switch` and `choice` are per turn."""

    leading: tuple[Phrase, ...]
    leading_folded: tuple[Phrase, ...]
    trailing: tuple[Phrase, ...]
    trailing_folded: tuple[Phrase, ...]
    unaccented_leading: tuple[Phrase, ...]
    prefixes: tuple[Phrase, ...]
    positions: dict[Phrase, int]
    """Folded phrase -> position (1-based; -1 for the last)."""
    fillers: frozenset[str]
    desk: frozenset[str]
    """Folded word pairs of the desk's own words ("cong an", "dich vu")."""
    papers: tuple[Phrase, ...]
    papers_folded: tuple[Phrase, ...]
    negators: tuple[Phrase, ...] = ()
    """Folded phrases that deny what follows ("khong phai", "chu khong")."""

    def switch(self, words: str, key: str) -> Switch:
        """Read the switch phrases of a normalized turn (`words` with diacritics, `key` without).
        A turn typed with diacritics is read with them, so "con tôi" (my child) is no "còn"."""
        accented = words != key
        w, k = words.split(), key.split()
        lead = _starts(w, self.leading) if accented else _starts(k, self.leading_folded)
        trailing = _contains(w, self.trailing) if accented else _contains(k, self.trailing_folded)
        ambiguous = False
        if lead is None and not accented:
            amb = _starts(k, self.unaccented_leading)
            if amb is not None:
                ambiguous, lead = True, amb
        rest = " ".join(k[len(lead) :]) if lead else key
        return Switch(leading=lead is not None and not ambiguous, trailing=trailing, ambiguous=ambiguous, rest=rest)

    def without_negated(self, key: str) -> str:
        """The folded turn without what it denies: the words right after "không phải", "chứ
        không"... up to NEGATED_WORDS of them ("không phải xe mới, em mua xe cũ" -> "em mua xe cũ")."""
        words = key.split()
        out: list[str] = []
        i = 0
        while i < len(words):
            p = _starts(words[i:], self.negators)
            if p is None:
                out.append(words[i])
                i += 1
            else:
                i += len(p) + NEGATED_WORDS
        return " ".join(out)

    def mentions_paper(self, words: str, key: str) -> bool:
        """The turn speaks of bringing or copying a paper ("mang", "bản sao", "xuất trình")."""
        if words != key:
            return _contains(words.split(), self.papers)
        return _contains(key.split(), self.papers_folded)

    def choice(self, key: str) -> int | None:
        """The position a short typed answer picks ("cái thứ 2" -> 2, "cái cuối" -> -1)."""
        words = [w for w in key.split() if w not in self.fillers]
        if not words or len(words) > 6:
            return None
        stripped = True
        while stripped and words:
            stripped = False
            p = _starts(words, self.prefixes)
            if p is not None and len(p) < len(words):
                words, stripped = words[len(p) :], True
        return self.positions.get(tuple(words))


def load_vocabulary(path: Path = DIALOGUE) -> DialogueVocabulary:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"Không đọc được từ vựng hội thoại {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TrainingDataError(f"{path}: cần các bảng 'switch:' và 'choices:'.")
    switch = data.get("switch") or {}
    choices = data.get("choices") or {}
    leading, trailing = _phrases(switch.get("leading")), _phrases(switch.get("trailing"))
    # without diacritics "còn" is "con": that reading is decided per turn (`Switch.ambiguous`)
    ambiguous = _folded(_phrases(switch.get("unaccented_leading")))
    positions: dict[Phrase, int] = {}
    for position, items in (choices.get("positions") or {}).items():
        for p in _folded(_phrases(items)):
            positions[p] = int(position)
    return DialogueVocabulary(
        leading=leading,
        leading_folded=tuple(p for p in _folded(leading) if p not in ambiguous),
        trailing=trailing,
        trailing_folded=_folded(trailing),
        unaccented_leading=ambiguous,
        prefixes=_folded(_phrases(choices.get("prefixes"))),
        positions=positions,
        fillers=frozenset(w for p in _folded(_phrases(choices.get("fillers"))) for w in p),
        desk=frozenset(f"{a} {b}" for p in _folded(_phrases(data.get("desk"))) for a, b in itertools.pairwise(p)),
        papers=_phrases(data.get("papers")),
        papers_folded=_folded(_phrases(data.get("papers"))),
        negators=_folded(_phrases(data.get("negators"))),
    )
