"""Candidate abbreviations from the national records' own text, for review.

Two sources:
- a parenthesised short form after the words it stands for: "... phương pháp xác định giá
  tính thuế (APA)", "Giấy chứng nhận lưu hành tự do (CFS)";
- a capitalised initialism in a name ("BHXH", "TNLĐ", "GTGT") whose expansion is written out
  somewhere in the records: a run of words whose first letters spell it.

Prints one line per candidate: the short form, its expansion, how many records use the short
form and where the expansion was found. Nothing is written: each entry is reviewed before it
goes into bot/nlu/data/abbreviations.yml (a token any question may contain) or
knowledge/data/aliases.yml (a name for one procedure).

Run: .venv/bin/python scripts/abbreviation_candidates.py [records.jsonl.gz]
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.normalize import load_abbreviations  # noqa: E402
from knowledge.text import strip_diacritics  # noqa: E402

RECORDS = ROOT / "knowledge" / "data" / "national-procedures.jsonl.gz"
_PAREN = re.compile(r"([^()]{3,120})\(\s*([A-ZĐ][A-ZĐ0-9/&.-]{1,11})\s*\)")
_INITIALISM = re.compile(r"\b([A-ZĐ][A-ZĐ0-9]{1,7})\b")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_FIELDS = ("ten_thu_tuc", "ket_qua_xu_ly", "yeu_cau_dieu_kien", "thanh_phan_ho_so", "trinh_tu_thuc_hien")


def initial(word: str) -> str:
    return strip_diacritics(unicodedata.normalize("NFC", word))[:1].upper()


def letters(short: str) -> str:
    return strip_diacritics(re.sub(r"[^A-Za-zĐđ]", "", short)).upper()


def expansion_before(text: str, short: str) -> str | None:
    """The words just before "(SHORT)" whose initials spell SHORT, if there are such words."""
    target = letters(short)
    words = _WORD.findall(text)
    for start in range(len(words) - 1, -1, -1):
        run = words[start:]
        spelled = "".join(initial(w) for w in run)
        if spelled == target:
            return " ".join(run).lower()
        if len(run) > len(target) + 3:
            break
    return None


class Initials:
    """Every text as one string of word initials, to find runs that spell a short form fast."""

    def __init__(self, texts: list[str]) -> None:
        self.words: list[list[str]] = []
        self.spelled: list[str] = []
        for text in texts:
            words = _WORD.findall(text)
            self.words.append(words)
            self.spelled.append("".join(initial(w) for w in words))

    def runs(self, target: str) -> Counter[str]:
        """Runs of words whose initials spell `target` (lower case), counted."""
        found: Counter[str] = Counter()
        n = len(target)
        for words, spelled in zip(self.words, self.spelled, strict=True):
            start = spelled.find(target)
            while start != -1:
                found[" ".join(words[start : start + n]).lower()] += 1
                start = spelled.find(target, start + 1)
        return found


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RECORDS
    records = [json.loads(line) for line in gzip.open(path, "rt", encoding="utf-8")]
    known = load_abbreviations()
    paren: dict[str, Counter[str]] = defaultdict(Counter)
    unspelled: dict[str, Counter[str]] = defaultdict(Counter)
    in_names: Counter[str] = Counter()
    texts: list[str] = []
    for r in records:
        for f in _FIELDS:
            text = str(r.get(f) or "")
            texts.append(text)
            for before, short in _PAREN.findall(text):
                if (exp := expansion_before(before, short)) is not None:
                    paren[short][exp] += 1
                else:  # a short form of foreign words (APA, CFS): the words before, for review
                    unspelled[short][" ".join(_WORD.findall(before)[-8:]).lower()] += 1
        for short in _INITIALISM.findall(str(r.get("ten_thu_tuc") or "")):
            if len(letters(short)) >= 2 and not short.isdigit():
                in_names[short] += 1
    print("# parenthesised short forms: short | expansion | times seen | already in abbreviations.yml")
    for short, exps in sorted(paren.items()):
        exp, n = exps.most_common(1)[0]
        print(f"{short:10s} | {exp} | {n} | {'yes' if short.lower() in known else 'no'}")
    print()
    print("# parenthesised short forms whose initials do not spell them: short | the eight words before")
    for short, befores in sorted(unspelled.items()):
        if short not in paren:
            print(f"{short:10s} | {befores.most_common(1)[0][0]}")
    print()
    print("# initialisms in names: short | names using it | expansions written out in the records")
    initials = Initials(texts)
    for short, n in in_names.most_common():
        target = letters(short)
        if len(target) < 2 or short in paren:
            continue
        runs = initials.runs(target).most_common(3) if len(target) >= 3 else []
        found = "; ".join(f"{run} ({k})" for run, k in runs)
        print(f"{short:10s} | {n} | {found} | {'yes' if short.lower() in known else 'no'}")


if __name__ == "__main__":
    main()
