"""Which procedure a question names: a weighted-overlap matcher over names and aliases.

Every name and alias is cut into syllables and syllable pairs of its diacritic-free key. A
question's score for a name combines how much of the name it mentions (so "đăng ký khai sinh"
prefers the plain procedure to "đăng ký lại khai sinh") and how much of the question the name
explains; rare syllables weigh more (IDF over procedures). Unknown syllables are corrected to the
nearest known one (one edit), a name or alias found word for word gets a bonus, and small priors
favour ward-level and popular procedures. Below a threshold the matcher abstains.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA
from scipy.sparse import csr_matrix

from bot.nlu.normalize import Normalizer
from bot.nlu.types import Candidate, CatalogEntry
from knowledge.text import fold

QUESTION_WORDS = Path(__file__).parent / "data" / "question_words.yml"
SYNONYMS = Path(__file__).parent / "data" / "synonyms.yml"

ABSTAIN_BELOW = 0.55
"""Best score under which no procedure is returned (tuned on tests/nlu/data/eval_questions.jsonl)."""
WARD_PRIOR = 0.03
POPULARITY_PRIOR = 0.04
PHRASE_BONUS = 0.06
NAME_WEIGHT = 0.6
FOREIGN_PENALTY = 0.04
FOREIGN_BONUS = 0.06
_FOREIGN = ("nuoc ngoai", "yeu to nuoc ngoai")
"""How much the share of the name mentioned counts against the share of the question explained."""
_NAME_PREFIXES = ("thu tuc ", "tthc ")
DERIVED_PENALTY = 0.03
"""A shortened official name (see `heads`) scores a little under the full one."""
HEAD_SPREAD = 1
"""A shortened name also found inside other official names is too general to be kept."""
HEAD_MIN_WORDS = 4
"""Content words a shortened name must keep ("trợ cấp xã hội" alone names nothing)."""
SIBLING_OVERLAP = 0.45
"""Two official names whose shared weight is at least this share of the smaller one are
siblings: "cấp đổi thẻ căn cước" and "cấp lại thẻ căn cước" (0.5) are, "đăng ký kết hôn" and
"đăng ký khai sinh kết hợp nhận cha, mẹ, con" (0.29) are not."""
SHORTLIST = 300
"""Variants kept for ranking after the first score."""
_QUALIFIERS = re.compile(r"\s+(?:thực hiện|bằng dịch vụ công|tại)\s+.*$", re.IGNORECASE)
_PARENTHESES = re.compile(r"\s*\([^)]*\)")


def heads(name: str) -> list[str]:
    """Shorter forms of an official name that citizens use: without parentheses, each part of a
    ";"-list, and the part before where or how it is done ("... thực hiện tại cấp xã", "... bằng
    dịch vụ công trực tuyến"). "Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện; cấp sổ
    BHXH" gives "Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện" and "cấp sổ BHXH"."""
    out: list[str] = []
    bare = _PARENTHESES.sub("", name).strip()
    parts = [p.strip() for p in bare.split(";") if p.strip()] if ";" in bare else [bare]
    for part in (bare, *parts):
        for form in (part, _QUALIFIERS.sub("", part).strip()):
            if form != name and len(form.split()) >= 2 and form not in out:
                out.append(form)
    return out


@dataclass(frozen=True, slots=True)
class QuestionWords:
    """Single syllables and whole phrases that belong to the question, not to a name."""

    single: frozenset[str]
    phrases: dict[str, tuple[tuple[str, ...], ...]]
    """By first word; longest first, so "thu tuc hanh chinh" wins over "thu tuc"."""
    keep: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    """Phrases that are names although made of question words ("tro giup phap ly")."""

    def mask(self, words: list[str]) -> list[bool]:
        """True at each position that is a question word."""
        stop = [w in self.single or w.isdigit() or len(w) < 2 for w in words]
        for table, value in ((self.phrases, True), (self.keep, False)):
            i = 0
            while i < len(words):
                for phrase in table.get(words[i], ()):
                    if tuple(words[i : i + len(phrase)]) == phrase:
                        for j in range(i, i + len(phrase)):
                            stop[j] = value
                        i += len(phrase) - 1
                        break
                i += 1
        return stop


def _by_first(items: list[object]) -> dict[str, tuple[tuple[str, ...], ...]]:
    phrases = {tuple(fold(str(p)).split()) for p in items}
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for phrase in sorted((p for p in phrases if p), key=len, reverse=True):
        by_first.setdefault(phrase[0], []).append(phrase)
    return {k: tuple(v) for k, v in by_first.items()}


def load_question_words(path: Path = QUESTION_WORDS) -> QuestionWords:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    single = frozenset(fold(str(data.get("single", ""))).split())
    return QuestionWords(single, _by_first(data.get("phrases") or []), _by_first(data.get("keep") or []))


def load_synonyms(path: Path = SYNONYMS) -> tuple[tuple[str, str], ...]:
    """(variant key, official term key) pairs, longest variant first."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = {
        (fold(str(v)), fold(str(item["term"])))
        for item in data.get("synonyms") or []
        for v in item.get("variants") or []
        if fold(str(v))
    }
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def _strip_prefix(key: str) -> str:
    for prefix in _NAME_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's view of a question: ranked candidates and the span that named the best."""

    candidates: tuple[Candidate, ...]
    best: Candidate | None
    span: tuple[int, int] | None
    """Word positions [start, end) of the best candidate's mention in the question key."""
    content_words: int
    """Words of the question that are not question words: 0 for "lệ phí bao nhiêu?"."""
    coverage: tuple[float, float] = (0.0, 0.0)
    """(share of the best name the question mentions, share of the question the name explains)."""


@dataclass(frozen=True, slots=True)
class Fit:
    """How well a question names one given procedure."""

    score: float
    """The score `match` ranks by (0 when the question shares nothing with its names)."""
    explained: float
    """Share of the question's own content weight its names explain (0-1)."""


@dataclass(frozen=True, slots=True)
class _Scored:
    """One question scored against every variant it shares a feature with (`hit`)."""

    words: list[str]
    """The question's words after typo correction."""
    hit: np.ndarray
    """Variant indices, ascending."""
    score: np.ndarray
    name_cov: np.ndarray
    """Share of each variant's weight the question mentions."""
    own_overlap: np.ndarray
    """Weight of each variant's features among the question's own (not synonym) features."""
    q_weight: float


class ProcedureMatcher:
    """Built once from the catalog; `match()` is the per-message call."""

    def __init__(
        self,
        entries: Sequence[CatalogEntry],
        question_words: QuestionWords | None = None,
        normalizer: Normalizer | None = None,
    ) -> None:
        self.stop = load_question_words() if question_words is None else question_words
        # Names and aliases go through the same normalization as questions ("đổi cccd" ->
        # "đổi căn cước công dân"), so both sides meet on the same words.
        normalize = normalizer or Normalizer()
        self.synonyms = load_synonyms()
        self.entries = list(entries)
        variant_keys: list[str] = []
        variant_owner: list[int] = []
        derived: list[float] = []
        name_keys = [_strip_prefix(normalize(e.name).key) for e in self.entries]
        # A shortened name counts only while it stays specific: "cấp giấy phép xây dựng mới" is
        # kept, "cấp giấy phép hoạt động" (inside dozens of names) is not.
        padded_names = [f" {k} " for k in name_keys]
        postings: dict[str, list[int]] = {}
        for i, k in enumerate(name_keys):
            for w in set(k.split()):
                postings.setdefault(w, []).append(i)

        def spread(key: str) -> int:
            """How many official names contain `key` word for word."""
            rarest = min(key.split(), key=lambda w: len(postings.get(w, ())))
            return sum(f" {key} " in padded_names[j] for j in postings.get(rarest, ()))

        own_keys = [
            [name_keys[i], *(_strip_prefix(normalize(t).key) for t in e.aliases)] for i, e in enumerate(self.entries)
        ]
        head_keys = [[_strip_prefix(normalize(h).key) for h in heads(e.name)] for e in self.entries]
        taken = {k for keys in own_keys for k in keys}
        made_by: dict[str, int] = {}
        for keys in head_keys:
            for k in set(keys):
                made_by[k] = made_by.get(k, 0) + 1
        for i in range(len(self.entries)):
            seen: set[str] = set()
            texts = [(k, 0.0) for k in own_keys[i]]
            for key in head_keys[i]:
                # kept only when it names this procedure alone and still says enough
                if (
                    key
                    and key not in taken
                    and made_by[key] == 1
                    and self.content_words(key.split()) >= HEAD_MIN_WORDS
                    and spread(key) <= HEAD_SPREAD
                ):
                    texts.append((key, DERIVED_PENALTY))
            for key, penalty in texts:
                if key and key not in seen:
                    seen.add(key)
                    variant_keys.append(key)
                    variant_owner.append(i)
                    derived.append(penalty)
        self.derived = np.array(derived)
        # each procedure's first variant is its official name (own_keys starts with it)
        first: dict[int, int] = {}
        for v, owner in enumerate(variant_owner):
            first.setdefault(owner, v)
        self.name_variant = np.array([first.get(i, -1) for i in range(len(self.entries))], dtype=np.int64)
        self._index = {e.code: i for i, e in enumerate(self.entries)}
        self._siblings: dict[str, dict[str, float]] = {}
        self.variant_keys = variant_keys
        self.variant_owner = np.array(variant_owner, dtype=np.int32)
        self.foreign = np.array([1.0 if " nuoc ngoai" in f" {k}" else 0.0 for k in variant_keys])
        features = [self._features(k.split()) for k in variant_keys]
        vocab: dict[str, int] = {}
        df: dict[str, set[int]] = {}
        for owner, feats in zip(variant_owner, features, strict=True):
            for f in feats:
                vocab.setdefault(f, len(vocab))
                df.setdefault(f, set()).add(owner)
        n = max(1, len(self.entries))
        self.vocab = vocab
        self.weights = np.zeros(len(vocab), dtype=np.float64)
        for f, idx in vocab.items():
            self.weights[idx] = math.log(1 + n / len(df[f])) * (1.3 if " " in f else 1.0)
        rows, cols, vals = [], [], []
        for r, feats in enumerate(features):
            for f in feats:
                rows.append(r)
                cols.append(vocab[f])
                vals.append(self.weights[vocab[f]])
        self.matrix = csr_matrix((vals, (rows, cols)), shape=(len(variant_keys), len(vocab)))
        self._columns = self.matrix.tocsc()
        self.row_weight = np.asarray(self.matrix.sum(axis=1)).ravel() + 1e-9
        self.syllables = sorted({f for f in vocab if " " not in f})
        self._fixes: dict[str, str] = {}
        self._prior = np.array(
            [WARD_PRIOR * e.ward_level + POPULARITY_PRIOR * min(max(e.popularity, 0), 100) / 100 for e in self.entries]
        )

    def _features(self, words: list[str]) -> set[str]:
        stop = self.stop.mask(words)
        feats = {w for w, s in zip(words, stop, strict=True) if not s}
        for i in range(len(words) - 1):
            if not (stop[i] and stop[i + 1]):
                feats.add(f"{words[i]} {words[i + 1]}")
        return feats

    def _correct(self, words: list[str]) -> list[str]:
        """Replace unknown syllables by the nearest known one, one edit (or swap) away."""
        out = []
        for w in words:
            if w in self.vocab or w in self.stop.single or len(w) < 3 or w.isdigit():
                out.append(w)
                continue
            fixed = self._fixes.get(w)
            if fixed is None:
                found = process.extractOne(w, self.syllables, scorer=OSA.distance, score_cutoff=1)
                fixed = found[0] if found else w
                if len(self._fixes) < 50_000:  # bounded: typos repeat, but input is unbounded
                    self._fixes[w] = fixed
            out.append(fixed)
        return out

    def _overlap(self, feats: list[int]) -> np.ndarray:
        """For every variant, the weight of its features among `feats` (a sparse product, summed
        column by column: a question has a few dozen features, the catalog thousands)."""
        if not feats:
            return np.zeros(len(self.variant_keys))
        starts, ends = self._columns.indptr[feats], self._columns.indptr[np.asarray(feats) + 1]
        rows = np.concatenate([self._columns.indices[a:b] for a, b in zip(starts, ends, strict=True)])
        weights = np.concatenate([self._columns.data[a:b] for a, b in zip(starts, ends, strict=True)])
        return np.bincount(rows, weights=weights, minlength=len(self.variant_keys))

    def says_core(self, key: str, variant: str, heads: frozenset[str] = frozenset()) -> bool:
        """The question says the rarest word or word pair of a name or alias (`Candidate.matched`),
        its opening words (`heads`, such as "đăng ký") aside: "còn kết hôn thì sao" says "kết hôn"
        of "đăng ký kết hôn"; "nếu làm lại do bị mất" matches "làm lại sổ đỏ bị mất" without its
        "sổ đỏ" (the "do" it has means "because")."""
        words = variant.split()
        if len(words) > 2 and f"{words[0]} {words[1]}" in heads:
            words = words[2:]
        feats = [f for f in self._features(words) if f in self.vocab]
        if not feats:
            return False
        core = max(feats, key=lambda f: self.weights[self.vocab[f]])
        return core in self._features(self._correct(key.split()))

    def name_heads(self, min_names: int) -> frozenset[str]:
        """The word pairs at least `min_names` official names open with ("cap giay", "dang ky")."""
        counts: dict[str, int] = {}
        for v in self.name_variant:
            words = self.variant_keys[int(v)].split() if v >= 0 else []
            if len(words) >= 2:
                head = f"{words[0]} {words[1]}"
                counts[head] = counts.get(head, 0) + 1
        return frozenset(h for h, n in counts.items() if n >= min_names)

    def phrases(self, key: str) -> set[str]:
        """The pairs of content words in a folded text that procedure names use (features of
        the catalog): what a turn says in the vocabulary of names, question words left out."""
        words = key.split()
        stop = self.stop.mask(words)
        return {
            pair
            for i in range(len(words) - 1)
            if not (stop[i] or stop[i + 1]) and (pair := f"{words[i]} {words[i + 1]}") in self.vocab
        }

    def content_words(self, words: list[str]) -> int:
        return sum(1 for s in self.stop.mask(words) if not s)

    def _score(self, key: str) -> _Scored | None:
        """Every variant sharing a feature with the folded question, with its score (before the
        phrase bonus and the priors); None when the question shares nothing with any name."""
        padded = f" {key} "
        words = self._correct(key.split())
        own = {self.vocab[f] for f in self._features(words) if f in self.vocab}
        # Official terms behind everyday words count when a name has them, but are never
        # held against a name as words the question said and the name left unexplained.
        extra: set[int] = set()
        for variant, term in self.synonyms:
            if f" {variant} " in padded:
                extra |= {self.vocab[f] for f in self._features(term.split()) if f in self.vocab}
        feats = sorted(own | extra)
        if not feats or not len(self.entries):
            return None
        q_weight = float(self.weights[sorted(own)].sum()) + 1e-9
        all_overlap = self._overlap(feats)
        hit = np.nonzero(all_overlap)[0]
        overlap, own_overlap = all_overlap[hit], self._overlap(sorted(own))[hit]
        name_cov = overlap / self.row_weight[hit]
        # Tversky index: shared weight against what the name adds and what the question leaves
        # unexplained, so a variant whose extra words the question does say outranks the plain name.
        shared = overlap
        missing = self.row_weight[hit] - shared
        unexplained = np.maximum(q_weight - own_overlap, 0.0)
        score = shared / (shared + NAME_WEIGHT * missing + (1 - NAME_WEIGHT) * unexplained) - self.derived[hit]
        # Citizens at a ward mean the domestic procedure unless they say otherwise; when they do
        # ("lấy chồng Hàn Quốc"), the foreign-element variant is what they mean.
        said_foreign = any(f in self.vocab and self.vocab[f] in own | extra for f in _FOREIGN)
        score = score + (FOREIGN_BONUS if said_foreign else -FOREIGN_PENALTY) * self.foreign[hit]
        return _Scored(words, hit, score, name_cov, own_overlap, q_weight)

    def _phrase_bonus(self, s: _Scored, variants: np.ndarray) -> tuple[np.ndarray, set[int]]:
        """PHRASE_BONUS for each of `variants` (positions in `s.hit`) written word for word in
        the question, and which of them are whole names or aliases of two or more content words."""
        joined = f" {' '.join(s.words)} "
        bonus = np.zeros(len(s.hit))
        verbatim: set[int] = set()
        for pos in variants:
            v = int(s.hit[pos])
            key = self.variant_keys[v]
            if f" {key} " in joined:
                bonus[pos] = PHRASE_BONUS
                if self.content_words(key.split()) >= 2 and not self.derived[v]:
                    verbatim.add(v)
        return bonus, verbatim

    def match(self, key: str, limit: int = 5) -> Match:
        """Rank procedures for a folded question key."""
        s = self._score(key)
        if s is None:
            return Match((), None, None, self.content_words(self._correct(key.split())))
        content = self.content_words(s.words)
        hit, score, name_cov, own_overlap = s.hit, s.score, s.name_cov, s.own_overlap
        if len(hit) > SHORTLIST:
            # Only the best-scoring variants can rank: the priors add at most a few hundredths.
            keep = np.sort(np.argpartition(-score, SHORTLIST)[:SHORTLIST])
            s = _Scored(s.words, hit[keep], score[keep], name_cov[keep], own_overlap[keep], s.q_weight)
            hit, score, name_cov, own_overlap = s.hit, s.score, s.name_cov, s.own_overlap
        # a name or alias written word for word in the question
        bonus, verbatim = self._phrase_bonus(s, np.argsort(-score)[:40])
        score = score + bonus
        # best variant per procedure, then the procedures ranked with their priors
        owners = self.variant_owner[hit]
        order = np.argsort(-score, kind="stable")
        _, first = np.unique(owners[order], return_index=True)
        best_idx = order[first]
        totals = score[best_idx] + self._prior[owners[best_idx]]
        top_k = best_idx[np.argsort(-totals, kind="stable")[:limit]]
        ranked = [
            (float(score[i] + self._prior[owners[i]]), float(score[i]), int(owners[i]), int(hit[i])) for i in top_k
        ]
        top_pos = int(np.searchsorted(hit, ranked[0][3]))
        own_share = float(own_overlap[top_pos]) / s.q_weight
        coverage = (float(name_cov[top_pos]), min(own_share, 1.0))
        candidates = tuple(
            Candidate(
                code=self.entries[o].code,
                name=self.entries[o].name,
                score=round(min(float(total), 1.0), 4),
                matched=self.variant_keys[v],
            )
            for total, _s, o, v in ranked
        )
        # A whole name or alias of two or more content words, written word for word, names the
        # procedure even inside a long story; otherwise the score must clear the threshold.
        sure = ranked[0][1] >= ABSTAIN_BELOW or ranked[0][3] in verbatim
        best = candidates[0] if candidates and sure else None
        span = self._span(s.words, self.variant_keys[ranked[0][3]]) if best else None
        return Match(candidates, best, span, content, coverage)

    def fits(self, key: str, codes: Sequence[str]) -> dict[str, Fit]:
        """How well the question names each of `codes`, whatever else ranks above them: lets a
        caller weigh a few procedures it already has in mind, such as the one a conversation is
        about and its siblings. Procedures sharing nothing with the question get Fit(0, 0)."""
        out = dict.fromkeys(codes, Fit(0.0, 0.0))
        s = self._score(key)
        if s is None:
            return out
        wanted = {self._index[c]: c for c in codes if c in self._index}
        owners = self.variant_owner[s.hit]
        positions = np.nonzero(np.isin(owners, list(wanted)))[0]
        if not len(positions):
            return out
        bonus, _ = self._phrase_bonus(s, positions)
        for pos in positions:
            owner = int(owners[pos])
            code = wanted[owner]
            score = round(min(float(s.score[pos] + bonus[pos] + self._prior[owner]), 1.0), 4)
            explained = min(float(s.own_overlap[pos]) / s.q_weight, 1.0)
            old = out[code]
            out[code] = Fit(max(old.score, score), max(old.explained, explained))
        return out

    def siblings(self, code: str) -> dict[str, float]:
        """Procedures whose official name shares most of its weighted words with this one's
        (as a share of the smaller name), with that share: the variants of one family, such as
        "đăng ký khai sinh", "đăng ký lại khai sinh" and "đăng ký khai sinh có yếu tố nước ngoài"."""
        cached = self._siblings.get(code)
        if cached is not None:
            return cached
        i = self._index.get(code)
        if i is None or self.name_variant[i] < 0:
            return {}
        v = int(self.name_variant[i])
        feats = sorted(self.vocab[f] for f in self._features(self.variant_keys[v].split()) if f in self.vocab)
        named = np.nonzero(self.name_variant >= 0)[0]
        names = self.name_variant[named]
        shared = self._overlap(feats)[names]
        overlap = shared / np.minimum(self.row_weight[v], self.row_weight[names])
        found = {
            self.entries[int(j)].code: round(float(o), 4)
            for j, o in zip(named, overlap, strict=True)
            if o >= SIBLING_OVERLAP and j != i
        }
        if len(self._siblings) < 10_000:
            self._siblings[code] = found
        return found

    def _span(self, words: list[str], variant: str) -> tuple[int, int] | None:
        """Where the matched name stands in the question: the densest run of its words."""
        vocab = set(variant.split())
        positions = [i for i, w in enumerate(words) if w in vocab]
        if not positions:
            return None
        best = (positions[0], positions[0] + 1)
        start = positions[0]
        prev = positions[0]
        for p in positions[1:]:
            if p - prev > 2:
                start = p
            if p + 1 - start > best[1] - best[0]:
                best = (start, p + 1)
            prev = p
        return best
