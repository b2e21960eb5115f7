"""Training questions for the re-ranker, generated from the procedure records and written by hand.

A generated question names a procedure the way people do: its official name, a shortened or
partly forgotten form of it, an everyday alias, or the paper it produces; put in a question of
any register (`templates.yml`), sometimes after a few words of the asker's story, sometimes with
one of the procedure's documents as the object of the question ("… có cần sổ hộ khẩu không"),
with a detail said concretely ("bé 10 tuổi" for "dưới 14 tuổi", "chồng người Hàn" for "có yếu tố
nước ngoài"), and typed as people type: without diacritics, abbreviated, with a typo. Every
third question is also asked again with its procedure left out of the catalog: the pool then
holds only look-alikes, which teaches the re-ranker when to abstain. Questions about procedures
the records do not have (`out_of_catalog.yml`) and questions written by hand
(`procedure_questions.yml`) are added as they are.

The development sets are never read here.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

import knowledge
from bot.errors import TrainingDataError
from bot.nlu.matcher import FEATURES, OPENING_NAMES, ProcedureMatcher, family_key
from bot.nlu.normalize import Normalizer, load_abbreviations
from bot.nlu.reranker import DEFAULT_THRESHOLD, Reranker
from bot.nlu.types import CatalogEntry
from knowledge.text import fold, strip_diacritics

DATA = Path(__file__).parent / "data"
RERANK = DATA / "rerank.yml"
OUT_OF_CATALOG = DATA / "out_of_catalog.yml"
WRITTEN = DATA / "procedure_questions.yml"
RECORDS = Path(knowledge.__file__).parent / "data" / "national-procedures.jsonl.gz"

UNACCENTED = 0.4
"""Share of generated questions typed without diacritics (as in citizens' chat)."""
ABBREVIATED = 0.25
TYPO = 0.1
STORY = 0.25
OBJECT = 0.15
ABSENT = 0.25
"""Share of generated questions asked again with their procedure left out of the catalog."""
WRITTEN_WEIGHT = 10.0
"""Questions written by hand count more than generated ones: they are closer to real ones."""

_LEVEL = re.compile(
    r"\s*\(?\s*(?:thực hiện\s+)?(?:tại|ở)\s+(?:cấp\s+)?(?:xã|huyện|tỉnh|trung ương|bộ)(?:\s*,\s*cấp\s+\w+)*\s*\)?",
    re.IGNORECASE,
)
_PARENS = re.compile(r"\s*\([^)]*\)")
_CUT = re.compile(r"\s+(?:đối với|cho|của|tại|thực hiện|theo|trong trường hợp|trường hợp)\s+", re.IGNORECASE)
_AGE_UNDER = re.compile(r"\b(?:dưới|chưa đủ)\s+(\d+)\s+tuổi", re.IGNORECASE)
_AGE_OVER = re.compile(r"\b(?:từ đủ|đủ|từ|trên)\s+(\d+)\s+tuổi(?:\s+trở lên)?", re.IGNORECASE)
_FOREIGN = re.compile(r"\bcó yếu tố nước ngoài\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Asked:
    """One training question for the re-ranker."""

    text: str
    code: str | None
    """The procedure it is about; None for a procedure the records lack."""
    absent: bool = False
    """Ask it with `code`'s family left out of the catalog: only look-alikes remain."""
    weight: float = 1.0
    group: str = ""
    """Questions of one procedure share a group, so a held-out fold holds whole procedures."""


@dataclass(frozen=True, slots=True)
class RecordText:
    """What a record adds to its name: the paper it produces, who applies, what is handed in."""

    result: str = ""
    subjects: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()


def load_records(path: Path = RECORDS) -> dict[str, RecordText]:
    """Result, subjects and documents of each shipped record, by code (empty if the file is absent)."""
    if not path.exists():
        return {}
    from knowledge.parsing import clean, parse_documents, parse_result

    out: dict[str, RecordText] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            code = str(r.get("ma_thu_tuc") or "")
            if not code:
                continue
            result = parse_result(str(r.get("ket_qua_xu_ly") or "")) or ""
            subjects = tuple(s.strip() for s in clean(r.get("doi_tuong_thuc_hien")).split(",") if s.strip())
            docs = tuple(_short_document(d.name) for d in parse_documents(str(r.get("thanh_phan_ho_so") or "")))
            out[code] = RecordText(result.split(";")[0].strip(), subjects, tuple(d for d in docs if d))
    return out


def _short_document(name: str) -> str:
    """ "Giấy chứng nhận đăng ký doanh nghiệp hoặc …" -> "giấy chứng nhận đăng ký doanh nghiệp":
    the head of a document's name, as people would mention it."""
    name = re.sub(r"^[\d.\s)*-]+", "", name)
    head = re.split(r"[,;:(]|\s(?:hoặc|và|của|do|theo|đối với|trong|có|đã|để)\s", name, maxsplit=1)[0]
    words = head.split()
    if not 2 <= len(words) <= 8 or head.lower().startswith(("trường hợp", "bản sao", "bản chính", "01", "02")):
        return ""
    return head.strip().lower()


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The wording the generator draws on (`rerank.yml`)."""

    stories: tuple[str, ...]
    objects: tuple[str, ...]
    object_templates: tuple[str, ...]
    result_templates: tuple[str, ...]
    subject_templates: tuple[str, ...]
    foreign: tuple[str, ...]
    under_age: tuple[str, ...]
    over_age: tuple[str, ...]


def load_vocabulary(path: Path = RERANK) -> Vocabulary:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"Không đọc được {path}: {exc}") from exc

    def items(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list) or not value:
            raise TrainingDataError(f"{path}: cần danh sách '{key}:'.")
        return tuple(str(v) for v in value)

    return Vocabulary(
        items("stories"),
        items("objects"),
        items("object_templates"),
        items("result_templates"),
        items("subject_templates"),
        items("foreign"),
        items("under_age"),
        items("over_age"),
    )


def _named_questions(path: Path, key: str) -> list[tuple[str | None, str]]:
    """(code or None, question) pairs from `procedure_questions.yml` / `out_of_catalog.yml`."""
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TrainingDataError(f"{path}: YAML không hợp lệ: {exc}") from exc
    out: list[tuple[str | None, str]] = []
    for item in data.get(key) or []:
        if not isinstance(item, dict):
            raise TrainingDataError(f"{path}: mỗi mục của '{key}:' phải là một bảng.")
        code = str(item["code"]) if item.get("code") else None
        for q in item.get("questions") or []:
            out.append((code, str(q)))
    return out


def load_out_of_catalog(path: Path = OUT_OF_CATALOG) -> tuple[list[str], list[str]]:
    """(names of procedures the records lack, questions about them)."""
    if not path.exists():
        return [], []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = [str(n) for n in data.get("names") or []]
    questions = [str(q) for q in data.get("questions") or []]
    return names, questions


class _Typist:
    """Types a question as people do: without diacritics, abbreviated, with a slip."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        table = load_abbreviations()
        # expansion -> short forms, for expansions of two or more syllables ("đăng ký" -> "đk")
        shorts: dict[str, list[str]] = {}
        for short, long in table.items():
            if len(long.split()) >= 2 and short.isalpha() and short.isascii():
                shorts.setdefault(long, []).append(short)
        self.shorts = sorted(shorts.items(), key=lambda kv: -len(kv[0]))

    def __call__(self, text: str) -> str:
        rng = self.rng
        if rng.random() < ABBREVIATED:
            low = text.lower()
            for long, shorts in self.shorts:
                if f" {long} " in f" {low} " and rng.random() < 0.7:
                    low = re.sub(rf"(?<!\w){re.escape(long)}(?!\w)", rng.choice(shorts), low, count=1)
            text = low
        if rng.random() < UNACCENTED:
            text = strip_diacritics(text)
        if rng.random() < TYPO:
            words = text.split()
            long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
            if long_words:
                i = rng.choice(long_words)
                w = words[i]
                j = rng.randrange(1, len(w) - 1)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if rng.random() < 0.5 else w[:j] + w[j + 1 :]
                text = " ".join(words)
        return text


_SEGMENT = re.compile(r"\s*[,;]\s*|\s+(?=(?:và|hoặc|đối với|cho|của|trong|tại|theo|thuộc)\s)", re.IGNORECASE)


def _mentions(
    entry: CatalogEntry,
    distinct: frozenset[str],
    vocab: Vocabulary,
    rng: random.Random,
    openings: frozenset[str] = frozenset(),
) -> list[str]:
    """Ways of naming one procedure: the official name, a shortened or partly forgotten form of
    it, its everyday aliases, and forms that say a detail concretely. A shortened form keeps the
    words that set the procedure apart from its nearest look-alikes (`distinct`, folded):
    someone asking for "cấp lại" says "lại", or the question is not about it."""
    name = re.sub(r"^(?:thủ tục|tthc)\s+", "", " ".join(entry.name.split()), flags=re.IGNORECASE).rstrip(" .:")
    bare = _PARENS.sub("", _LEVEL.sub(" ", name)).strip(" .,")
    out = [bare]
    segments = [seg for seg in _SEGMENT.split(bare) if seg.strip()]
    if len(segments) >= 2:
        # drop whole segments (list items, "đối với …", "tại …"), never one that distinguishes it
        keep = [segments[0]] + [seg for seg in segments[1:] if set(fold(seg).split()) & distinct or rng.random() < 0.4]
        short = " ".join(keep)
        if short != bare and len(short.split()) >= 2:
            out.append(short)
        if not any(set(fold(seg).split()) & distinct for seg in segments[1:]) and len(segments[0].split()) >= 3:
            out.append(segments[0])
    # without the opening words many names share ("đăng ký", "cấp giấy"): "kết hôn", "tạm trú"
    words = bare.split()
    opening = fold(" ".join(words[:2]))
    if len(words) >= 4 and opening in openings and not set(opening.split()) & distinct:
        out.append(" ".join(words[2:]))
    aliases = [a for a in entry.aliases if len(a.split()) >= 2]
    concrete = []
    for m in out[:2]:
        if (u := _AGE_UNDER.search(m)) and int(u.group(1)) > 1:
            age = rng.randrange(1, int(u.group(1)))
            concrete.append(_AGE_UNDER.sub(rng.choice(vocab.under_age).format(age=age), m, count=1))
        if (o := _AGE_OVER.search(m)) and int(o.group(1)) < 90:
            age = rng.randrange(int(o.group(1)), int(o.group(1)) + 40)
            concrete.append(_AGE_OVER.sub(rng.choice(vocab.over_age).format(age=age), m, count=1))
        if _FOREIGN.search(m):
            concrete.append(_FOREIGN.sub(rng.choice(vocab.foreign), m, count=1))
    # people use the everyday name far more than the official one
    return out + concrete + aliases * 3


def generate(
    catalog: Sequence[CatalogEntry],
    templates: Mapping[str, Sequence[str]],
    records: Mapping[str, RecordText] | None = None,
    distinct: Mapping[str, frozenset[str]] | None = None,
    chat: Sequence[str] = (),
    openings: frozenset[str] = frozenset(),
    seed: int = 29,
    per_procedure: int = 1,
    extra_for_known: int = 1,
) -> list[Asked]:
    """Questions naming catalog procedures (and the same questions with the procedure left out)."""
    rng = random.Random(seed)
    vocab = load_vocabulary()
    typist = _Typist(rng)
    records = records or {}
    distinct = distinct or {}
    pattern = [t for items in templates.values() for t in items if "{procedure}" in t]
    if not pattern:
        raise TrainingDataError("Không có mẫu câu nào chứa {procedure}.")
    # a result name helps only when no other procedure produces a paper of that name
    result_owners: dict[str, int] = {}
    for r in records.values():
        if r.result:
            result_owners[fold(r.result)] = result_owners.get(fold(r.result), 0) + 1
    out: list[Asked] = []
    for entry in catalog:
        record = records.get(entry.code)
        mentions = _mentions(entry, distinct.get(entry.code, frozenset()), vocab, rng, openings)
        known = bool(entry.aliases) or entry.ward_level
        n = per_procedure + (extra_for_known if known else 0)
        for k in range(n):
            mention = mentions[0] if k == 0 and rng.random() < 0.5 else rng.choice(mentions)
            text = _question(mention, entry, record, vocab, pattern, rng, result_owners)
            text = typist(text)
            out.append(Asked(text, entry.code, group=entry.code))
            if rng.random() < ABSENT:
                out.append(Asked(text, entry.code, absent=True, group=entry.code))
    # questions that name no procedure: an aspect alone ("nộp ở đâu"), chit-chat
    for i, t in enumerate(rng.sample(pattern, min(len(pattern), 150))):
        text = " ".join(t.replace("{procedure}", "").split())
        if text:
            out.append(Asked(typist(text), None, group=f"none-{i}"))
    out.extend(Asked(t, None, group=f"chat-{i}") for i, t in enumerate(chat))
    names, questions = load_out_of_catalog()
    for i, name in enumerate(names):
        for _ in range(3):
            text = typist(rng.choice(pattern).replace("{procedure}", _lower_first(name)))
            out.append(Asked(text, None, group=f"absent-{i}"))
    out.extend(Asked(q, None, weight=WRITTEN_WEIGHT, group=f"absent-q{i}") for i, q in enumerate(questions))
    for i, (code, q) in enumerate(_named_questions(WRITTEN, "procedures")):
        out.append(Asked(q, code, weight=WRITTEN_WEIGHT, group=code or f"written-{i}"))
    return out


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2].lower() != text[:2] or text[1:2].islower() else text


def _question(
    mention: str,
    entry: CatalogEntry,
    record: RecordText | None,
    vocab: Vocabulary,
    pattern: Sequence[str],
    rng: random.Random,
    result_owners: Mapping[str, int],
) -> str:
    mention = _lower_first(mention)
    roll = rng.random()
    if record and record.result and result_owners.get(fold(record.result)) == 1 and roll < 0.12:
        text = rng.choice(vocab.result_templates).format(result=_lower_first(record.result))
    elif record and record.documents and roll < 0.12 + OBJECT:
        doc = rng.choice(record.documents + vocab.objects)
        text = rng.choice(vocab.object_templates).format(procedure=mention, document=doc)
    else:
        template = rng.choice(pattern)
        if strip_diacritics(template) == template:  # a template typed without diacritics
            mention = strip_diacritics(mention)
        text = template.replace("{procedure}", mention)
    if record and record.subjects and rng.random() < 0.1:
        text = rng.choice(vocab.subject_templates).format(subject=record.subjects[0].lower()) + " " + text
    elif rng.random() < STORY:
        text = rng.choice(vocab.stories) + " " + text
    return text


def distinct_words(
    matcher: ProcedureMatcher, catalog: Sequence[CatalogEntry], normalizer: Normalizer
) -> dict[str, frozenset[str]]:
    """Per code, the folded words of its name that its nearest look-alikes' names lack."""
    fam, _keys = families(catalog)
    out: dict[str, frozenset[str]] = {}
    for entry in catalog:
        key = normalizer(_PARENS.sub("", _LEVEL.sub(" ", entry.name))).key
        pool = matcher.pool(key, exclude=fam[entry.code], size=LOOK_ALIKES)
        others: set[str] = set()
        for v in pool.variants:
            others.update(matcher.variant_keys[int(v)].split())
        words = key.split()
        content = {w for w, stop in zip(words, matcher.stop.mask(words), strict=True) if not stop}
        out[entry.code] = frozenset(content - others)
    return out


LOOK_ALIKES = 4
"""How many nearest names a procedure's distinguishing words are measured against."""


def families(catalog: Sequence[CatalogEntry]) -> tuple[dict[str, frozenset[int]], list[str]]:
    """Code -> positions of the procedures that answer it equally well, and each position's key."""
    keys = [family_key(e.name) for e in catalog]
    by_key: dict[str, set[int]] = {}
    for i, k in enumerate(keys):
        by_key.setdefault(k, set()).add(i)
    return {e.code: frozenset(by_key[keys[i]]) for i, e in enumerate(catalog)}, keys


@dataclass(frozen=True, slots=True)
class Rows:
    """Feature rows of every (question, candidate) pair, with labels and question ids."""

    x: np.ndarray
    y: np.ndarray
    question: np.ndarray
    """Which question each row belongs to (index into `asked`)."""
    weight: np.ndarray
    asked: tuple[Asked, ...]
    answerable: np.ndarray
    """Per question: the right procedure is in the pool."""


def rows(
    matcher: ProcedureMatcher, asked: Iterable[Asked], normalizer: Normalizer, catalog: Sequence[CatalogEntry]
) -> Rows:
    """Run the matcher's pool over every question and label each candidate."""
    fam, _keys = families(catalog)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    qs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    kept: list[Asked] = []
    answerable: list[bool] = []
    for a in asked:
        right = fam.get(a.code, frozenset()) if a.code else frozenset()
        if a.code and not right:
            continue  # a written question about a code this catalog does not have
        pool = matcher.pool(normalizer(a.text).key, exclude=right if a.absent else frozenset())
        if pool.empty:
            continue
        x = pool.features()
        y = np.array([0.0 if a.absent else float(int(o) in right) for o in pool.owners])
        xs.append(x)
        ys.append(y)
        qs.append(np.full(len(x), len(kept)))
        ws.append(np.full(len(x), a.weight))
        answerable.append(bool(y.any()))
        kept.append(a)
    if not xs:
        return Rows(
            np.zeros((0, len(FEATURES))), np.zeros(0), np.zeros(0, dtype=int), np.zeros(0), (), np.zeros(0, bool)
        )
    return Rows(
        np.vstack(xs),
        np.concatenate(ys),
        np.concatenate(qs).astype(int),
        np.concatenate(ws),
        tuple(kept),
        np.array(answerable),
    )


SELF_SURE = 0.7
"""A training example of the intent data counts as naming the procedure the hand-tuned matcher
finds when its score is at least this (or the name is written word for word)."""
SELF_WEIGHT = 3.0
SELF_ABSENT = 0.3
"""Share of those asked again with their procedure left out: real phrasing, honest abstention."""


def self_labelled(
    matcher: ProcedureMatcher, texts: Iterable[str], normalizer: Normalizer, seed: int = 3
) -> list[Asked]:
    """Questions of the intent training data, labelled with the procedure the hand-tuned matcher
    is sure of: the phrasing of real questions, which generated ones lack."""
    rng = random.Random(seed)
    out: list[Asked] = []
    for text in texts:
        pool = matcher.pool(normalizer(text).key)
        if pool.empty or not (pool.scores[0] >= SELF_SURE or pool.verbatim_long[0]):
            continue
        code = matcher.entries[int(pool.owners[0])].code
        out.append(Asked(text, code, weight=SELF_WEIGHT, group=f"self-{code}"))
        if rng.random() < SELF_ABSENT:
            out.append(Asked(text, code, absent=True, weight=SELF_WEIGHT, group=f"self-{code}"))
    return out


@dataclass(frozen=True, slots=True)
class RerankReport:
    """What the re-ranker was trained on and how its threshold was chosen."""

    kind: str
    questions: int
    rows: int
    threshold: float
    held_out_accuracy: float
    """Balanced accuracy of the held-out predictions for the realistic questions at the chosen
    threshold (see `choose_threshold`)."""


def decisions(rows_: Rows, probs: np.ndarray, questions: np.ndarray, threshold: float) -> np.ndarray:
    """Per question in `questions`: 1 when answering (or abstaining) at `threshold` is right."""
    out = np.zeros(len(questions))
    for k, q in enumerate(questions):
        r = np.nonzero(rows_.question == q)[0]
        best = r[int(np.argmax(probs[r]))]
        out[k] = rows_.y[best] if probs[best] >= threshold else float(not rows_.answerable[q])
    return out


def choose_threshold(rows_: Rows, probs: np.ndarray, questions: np.ndarray) -> tuple[float, float]:
    """The threshold with the best balanced accuracy on `questions`: the mean of the share of
    answerable questions answered right and the share of the others abstained on. Balanced,
    because how often people ask about procedures we lack is not known in advance."""
    best = (0.0, DEFAULT_THRESHOLD)
    if not len(questions):
        return best
    spans = [np.nonzero(rows_.question == q)[0] for q in questions]
    top = np.array([probs[r].max() for r in spans])
    top_right = np.array([rows_.y[r[int(np.argmax(probs[r]))]] for r in spans], dtype=bool)
    answerable = np.array([rows_.answerable[q] for q in questions], dtype=bool)
    if answerable.all() or not answerable.any():
        return best
    scores = []
    for threshold in np.arange(0.05, 0.95, 0.01):
        answered = top >= threshold
        right = (answered & top_right)[answerable].mean()
        abstained = (~answered)[~answerable].mean()
        scores.append((float(right + abstained) / 2, float(threshold)))
    # The curve is flat near its top and a few questions more or less move its highest point a
    # long way: take the middle of the longest run of thresholds within PLATEAU of the best.
    top_score = max(b for b, _ in scores)
    runs: list[list[float]] = []
    for b, t in scores:
        if b >= top_score - PLATEAU:
            if runs and abs(runs[-1][-1] - (t - 0.01)) < 1e-6:
                runs[-1].append(t)
            else:
                runs.append([t])
    longest = max(runs, key=len)
    return top_score, round((longest[0] + longest[-1]) / 2, 3)


PLATEAU = 0.005
"""Balanced accuracy below the best that still counts as the best when choosing a threshold."""


def _realistic(a: Asked) -> bool:
    return not a.absent and (a.weight > 1 or a.group.startswith("absent-"))


def train(
    matcher: ProcedureMatcher,
    catalog: Sequence[CatalogEntry],
    normalizer: Normalizer,
    templates: Mapping[str, Sequence[str]],
    examples: Sequence[str] = (),
    chat: Sequence[str] = (),
    kind: str = "hgb",
    seed: int = 11,
) -> tuple[Reranker, RerankReport]:
    """Generate and label training questions; fit the re-ranker on each half of them (whole
    procedures at a time) to predict the other half, choose the threshold on those held-out
    predictions for the realistic questions, then fit it on all."""
    distinct = distinct_words(matcher, catalog, normalizer)
    # people leave out the opening words many names share ("lệ phí kết hôn")
    openings = matcher.name_heads(OPENING_NAMES)
    asked = generate(catalog, templates, load_records(), distinct=distinct, chat=chat, openings=openings)
    asked += self_labelled(matcher, examples, normalizer)
    data = rows(matcher, asked, normalizer, catalog)
    rng = random.Random(seed)
    groups = sorted({a.group for a in data.asked})
    half = {g: rng.random() < 0.5 for g in groups}
    first_half = np.array([half[a.group] for a in data.asked])
    probs = np.zeros(len(data.y))
    for side in (True, False):
        fit_rows = first_half[data.question] == side
        model = Reranker.fit(data.x[fit_rows], data.y[fit_rows], kind=kind, weights=data.weight[fit_rows], seed=seed)
        probs[~fit_rows] = model.predict(data.x[~fit_rows])
    # The threshold is chosen on realistic questions only: written ones, questions about the
    # procedures we know the records lack, and self-labelled intent examples; never on the
    # pretend-absent copies, whose look-alikes are closer than real missing procedures' are.
    realistic = np.array([i for i, a in enumerate(data.asked) if _realistic(a)])
    accuracy, threshold = choose_threshold(data, probs, realistic)
    final = Reranker.fit(data.x, data.y, kind=kind, weights=data.weight, seed=seed)
    final.threshold = threshold
    return final, RerankReport(kind, len(data.asked), len(data.y), threshold, accuracy)
