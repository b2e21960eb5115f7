"""Which procedure a question names: a weighted-overlap matcher over names and aliases.

Every name and alias is cut into syllables and syllable pairs of its diacritic-free key. A
question's score for a name combines how much of the name it mentions (so "đăng ký khai sinh"
prefers the plain procedure to "đăng ký lại khai sinh") and how much of the question the name
explains; rare syllables weigh more (IDF over procedures). Unknown syllables are corrected to the
nearest known one (one edit), a name or alias found word for word gets a bonus, and small priors
favour ward-level and popular procedures. Below a threshold the matcher abstains.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA
from scipy.sparse import csc_matrix, csr_matrix

from bot.nlu.normalize import Normalizer
from bot.nlu.reranker import Reranker
from bot.nlu.types import Candidate, CatalogEntry
from knowledge.text import fold

QUESTION_WORDS = Path(__file__).parent / "data" / "question_words.yml"
SYNONYMS = Path(__file__).parent / "data" / "synonyms.yml"
ACTIONS = Path(__file__).parent / "data" / "actions.yml"

ABSTAIN_BELOW = 0.55
"""Best score under which no procedure is returned (tuned on tests/nlu/data/eval_questions.jsonl)."""
WARD_PRIOR = 0.03
POPULARITY_PRIOR = 0.04
PHRASE_BONUS = 0.06
NAME_WEIGHT = 0.6
FOREIGN_PENALTY = 0.04
FOREIGN_BONUS = 0.06
AGE_CONFLICT = 0.3
ACTION_CONFLICT = 0.15
"""A name whose action ("cấp mới") the question does not ask for while asking another
("cấp lại") scores this much less."""
ACTION_MISSING = 0.05
"""A name that says no action scores this much less for a question asking for one that is not
a first issue."""
ACTION_UNSAID = 0.05
"""A name that does something to an existing paper ("Gia hạn …") scores this much less for a
question that asks for no action."""
PLAIN_ACTIONS = ("new",)
"""Actions that a question asking for none means: a first issue."""
ACTION_STANDS_IN: dict[str, tuple[str, ...]] = {"extend": ("exchange", "reissue")}
"""Actions the records may do where a citizen asks for another: a paper that is not extended is
exchanged or issued again when it expires."""
ACTION_WORDS = 4
"""A name's action is read from its first words only ("Cấp lại …", not "… để cấp lại …")."""
UNION_SHARE = 0.5
"""How much of the question the other names and aliases of a procedure explain counts, beside
what the matched name or alias explains itself."""
CORE_COVERED = 0.5
"""A question mentioning less than this share of a name must say its rarest word to be sure."""
DERIVED_COVERED = 0.75
"""The same for a shortened name, whose weight lies more in the words many names share ("cấp
giấy chứng nhận đủ điều kiện kinh doanh …" of "Cấp, cấp lại Giấy chứng nhận … thẩm định giá")."""
UNKNOWN_WEIGHT = 0.7
"""Weight of an unknown content syllable, as a share of the rarest known one's."""
"""A name whose age condition the question's age does not meet ("13 tuổi" and "từ đủ 14 tuổi
trở lên") scores this much less."""
_FOREIGN = ("nuoc ngoai", "yeu to nuoc ngoai")
"""How much the share of the name mentioned counts against the share of the question explained."""
_NAME_PREFIXES = ("thu tuc ", "tthc ")
DERIVED_PENALTY = 0.03
"""A shortened official name (see `heads`) scores a little under the full one."""
HEAD_SPREAD = 1
"""A shortened name also found inside other official names is too general to be kept."""
HEAD_MIN_WORDS = 4
"""Content syllables a shortened name must keep: "xét trợ cấp" is in one name only, yet names
nothing on its own."""
SIBLING_OVERLAP = 0.45
"""Two official names whose shared weight is at least this share of the smaller one are
siblings: "cấp đổi thẻ căn cước" and "cấp lại thẻ căn cước" (0.5) are, "đăng ký kết hôn" and
"đăng ký khai sinh kết hợp nhận cha, mẹ, con" (0.29) are not."""
OPENING_NAMES = 20
"""A word pair this many official names open with ("đăng ký", "cấp giấy") is their opening."""
SHORTLIST = 300
"""Variants kept for ranking after the first score."""
POOL = 8
"""Procedures handed to the re-ranker: the right one is almost always among the first eight."""
NAME, ALIAS, HEAD = 0, 1, 2
"""What a variant is: the official name, an everyday alias, a shortened official name."""
_QUALIFIERS = re.compile(r"\s+(?:thực hiện|bằng dịch vụ công|tại)\s+.*$", re.IGNORECASE)
_PARENTHESES = re.compile(r"\s*\([^)]*\)")
_CORE = re.compile(r"\s+(?:đối với|không thuộc|thuộc|của|cho|theo|trong|về)\s+", re.IGNORECASE)
_LEVEL = re.compile(
    r"\s*\(?\s*(?:thực hiện\s+)?(?:tại|ở)\s+(?:cấp\s+)?(?:xã|huyện|tỉnh|trung ương|bộ)(?:\s*,\s*cấp\s+\w+)*\s*\)?",
    re.IGNORECASE,
)


_NAME_UNDER = re.compile(r"\b(?:duoi|chua du) (\d+) tuoi\b")
_NAME_OVER = re.compile(r"\b(?:tu du|du|tu|tren) (\d+) tuoi(?: tro len)?\b")
_ASKED_AGE = re.compile(r"\b(\d{1,3}) ?(?:tuoi|t)\b|\b(\d{1,3})t\b")
_ASKED_MONTHS = re.compile(r"\b\d{1,2} thang tuoi\b|\b(?:moi sinh|so sinh)\b")
"""An age said as a number ("bé 13 tuổi", "con em 13t", "2 tháng tuổi") and the age conditions
written in names ("dưới 14 tuổi", "từ đủ 14 tuổi trở lên"): the question is read as also saying
each condition its age meets, so the variant for that age wins."""


def age_conditions(keys: Sequence[str]) -> list[tuple[str, int, int]]:
    """(condition phrase, lowest age, highest age) for every age condition in folded names."""
    found: dict[str, tuple[int, int]] = {}
    for key in keys:
        for m in _NAME_UNDER.finditer(key):
            found[m.group(0)] = (0, int(m.group(1)) - 1)
        for m in _NAME_OVER.finditer(key):
            low = int(m.group(1)) + (1 if m.group(0).startswith("tren") else 0)
            found[m.group(0)] = (low, 200)
    return [(phrase, lo, hi) for phrase, (lo, hi) in sorted(found.items())]


def asked_ages(key: str) -> list[int]:
    """Ages a folded question says: "13 tuoi" -> 13; "2 thang tuoi", "moi sinh" -> 0."""
    ages = [int(a or b) for a, b in _ASKED_AGE.findall(key) if int(a or b) <= 120]
    if _ASKED_MONTHS.search(key):
        ages.append(0)
    return ages


def family_key(name: str) -> str:
    """A name without "Thủ tục", where and how it is done: the same procedure at another level
    or through another channel ("(thực hiện tại cấp tỉnh)", "… bằng dịch vụ công trực tuyến
    toàn trình") has the same key. Procedures of one family answer a question equally well."""
    name = _QUALIFIERS.sub("", _PARENTHESES.sub("", name))
    key = fold(_LEVEL.sub(" ", name))
    for prefix in _NAME_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return key


def heads(name: str) -> list[str]:
    """Shorter forms of an official name that citizens use: without parentheses, each part of a
    ";"-list, and the part before where or how it is done ("... thực hiện tại cấp xã", "... bằng
    dịch vụ công trực tuyến"). "Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện; cấp sổ
    BHXH" gives "Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện" and "cấp sổ BHXH"."""
    out: list[str] = []
    bare = _PARENTHESES.sub("", name).strip()
    parts = [p.strip() for p in bare.split(";") if p.strip()] if ";" in bare else [bare]
    for part in (bare, *parts):
        how = _QUALIFIERS.sub("", part).strip()
        each = _one_action_each(how) if ";" not in how else []
        for form in (part, how, _CORE.split(how, maxsplit=1)[0].strip(" ,"), *each):
            if form != name and len(form.split()) >= 2 and form not in out:
                out.append(form)
    return out


def _one_action_each(name: str) -> list[str]:
    """A name that lists actions before its paper, once per action: "Cấp, gia hạn, cấp lại giấy
    phép X" gives "Cấp giấy phép X", "gia hạn giấy phép X" and "cấp lại giấy phép X", so a
    question naming one of them is not short of the others."""
    items = [i.strip() for i in name.split(",")]
    if len(items) < 2:
        return []
    phrases = _action_phrase_set()
    said = [_strip_words(i, _NAME_PREFIXES) for i in items[:-1]]
    if not all(fold(a) in phrases for a in said):
        return []
    last = items[-1].split()
    for n in (3, 2, 1):
        if len(last) > n + 1 and fold(" ".join(last[:n])) in phrases:
            paper = " ".join(last[n:])
            return [f"{action} {paper}" for action in (*said, " ".join(last[:n]))]
    return []


def _strip_words(text: str, prefixes: tuple[str, ...]) -> str:
    """`text` without the words of a folded prefix it opens with ("Thủ tục cấp" -> "cấp")."""
    for prefix in prefixes:
        if fold(text).startswith(prefix):
            return " ".join(text.split()[len(prefix.split()) :])
    return text


@functools.cache
def _action_phrase_set() -> frozenset[str]:
    """What an item of a name's list of actions may be: an action's phrase, or the plain "cấp"
    and "đăng ký" that list a first issue."""
    return frozenset({"cap", "dang ky", *(p for phrases in load_actions().values() for p in phrases)})


@dataclass(frozen=True, slots=True)
class QuestionWords:
    """Single syllables and whole phrases that belong to the question, not to a name."""

    single: frozenset[str]
    phrases: dict[str, tuple[tuple[str, ...], ...]]
    """By first word; longest first, so "thu tuc hanh chinh" wins over "thu tuc"."""
    keep: dict[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    """Phrases that are names although made of question words ("tro giup phap ly")."""
    copy_of: tuple[tuple[str, ...], ...] = ()
    """Markers after which the words name a paper to be copied ("photo", "sao y")."""

    def objects(self, words: list[str]) -> list[bool]:
        """True at each position after a copy marker: the paper to be copied."""
        out = [False] * len(words)
        firsts = {marker[0] for marker in self.copy_of}
        for i in range(len(words)):
            if words[i] not in firsts:
                continue
            for marker in self.copy_of:
                if tuple(words[i : i + len(marker)]) == marker:
                    for j in range(i + len(marker), len(words)):
                        out[j] = True
                    return out
        return out

    def mask(self, words: list[str]) -> list[bool]:
        """True at each position that is a question word."""
        stop = [w in self.single or w[:1].isdigit() or len(w) < 2 for w in words]
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
    copy_of = tuple(sorted({tuple(fold(str(p)).split()) for p in data.get("copy_of") or []}, key=len, reverse=True))
    return QuestionWords(
        single, _by_first(data.get("phrases") or []), _by_first(data.get("keep") or []), tuple(c for c in copy_of if c)
    )


def load_actions(path: Path = ACTIONS) -> dict[str, tuple[str, ...]]:
    """Action -> its folded phrases, longest first."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        str(a): tuple(sorted({fold(str(p)) for p in phrases}, key=lambda p: -len(p)))
        for a, phrases in (data.get("actions") or {}).items()
    }


@functools.cache
def lexicon() -> frozenset[str]:
    """Every syllable of the Vietnamese word list underthesea ships (Viet74K), without
    diacritics: a syllable of the language is a word the citizen meant ("nộp", "nữa", "mầm
    non"), not a typo to be corrected into a syllable of the catalog ("hợp", "sửa", "năm vốn").
    Empty when the list is missing; then every unknown syllable is corrected as before."""
    try:
        text = (resources.files("underthesea") / "corpus" / "data" / "Viet74K.txt").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return frozenset()
    return frozenset(fold(text).split())


def action_phrases(actions: dict[str, tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    """(action, phrase) pairs, longest phrase first: the order `actions_in` reads them in."""
    return tuple(sorted(((a, p) for a, ps in actions.items() for p in ps), key=lambda ap: -len(ap[1])))


def actions_in(
    key: str, actions: dict[str, tuple[str, ...]], ordered: tuple[tuple[str, str], ...] | None = None
) -> set[str]:
    """The actions a folded text says; a longer phrase hides the shorter ones inside it
    ("đăng ký lại" is not also "làm lại"). `ordered` is `action_phrases(actions)`, when the
    caller keeps it."""
    padded = f" {key} "
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    for action, phrase in action_phrases(actions) if ordered is None else ordered:
        start = padded.find(f" {phrase} ")
        while start != -1:
            end = start + len(phrase) + 1
            # the same words may stand for two actions ("đổi": cấp đổi, thay đổi); a longer
            # phrase around them hides both
            if not any((a <= start < b or a < end <= b) and (a, b) != (start, end) for a, b in spans):
                found.add(action)
                spans.append((start, end))
            start = padded.find(f" {phrase} ", start + 1)
    return found


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


def name_opening(name: str, normalize: Callable[[str], str]) -> str:
    """The words of an official name that say what it does: a list of actions before the paper
    ("Cấp, cấp lại, điều chỉnh Giấy chứng nhận …") and the first ACTION_WORDS words after it, and
    an action the name ends with in brackets ("Đăng ký cấp Giấy chứng nhận … (Cấp mới)")."""
    tail = re.search(r"\(([^()]*)\)[\s.]*$", name)
    closing = normalize(tail.group(1)) if tail else ""
    if tail:
        name = name[: tail.start()]
    phrases = _action_phrase_set()
    items = [normalize(part) for part in name.split(",")]
    items[0] = _strip_prefix(items[0])
    words: list[str] = []
    for item in items:
        if item in phrases:
            words.append(item)
            continue
        words.extend(item.split()[:ACTION_WORDS])
        break
    if closing in phrases:
        words.append(closing)
    return " ".join(words)


def _strip_prefix(key: str) -> str:
    for prefix in _NAME_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


FEATURES: tuple[str, ...] = (
    "score",  # the hand-tuned score of the best name or alias (Tversky index and bonuses)
    "total",  # the same with the ward-level and popularity priors: today's ranking
    "name_cov",  # share of the name's weight the question mentions
    "question_cov",  # share of the question's weight the name explains
    "shared",  # log1p of the weight both have
    "missing",  # log1p of the name's weight the question does not mention
    "missing_core",  # the same without the opening words many names share ("đăng ký", "cấp giấy"):
    # "lệ phí kết hôn" leaves out only what "đăng ký kết hôn" shares with a hundred names
    "unexplained",  # log1p of the question's weight the name leaves out
    "verbatim",  # the name or alias is written word for word in the question
    "verbatim_long",  # ... and has two or more content words and is not a shortened name
    "hand_sure",  # the hand-tuned rule would answer with this name (score or verbatim_long)
    "alias",  # the best variant is an everyday alias
    "derived",  # the best variant is a shortened official name
    "foreign_said",  # a foreign-element variant, and the question speaks of a foreign party
    "foreign_unsaid",  # a foreign-element variant the question gives no reason for
    "age_conflict",  # the question's age does not meet the name's age condition
    "action_conflict",  # the question asks for another action than the name's ("cấp lại" / "cấp mới")
    "ward",  # done at commune/ward level
    "popularity",  # 0-1, from staff
    "rank",  # position by hand-tuned total among the pool
    "gap_top",  # how far under the pool's best total
    "gap_next",  # how far over the next total
    "rival_said",  # share of the question's weight other candidates explain and this one does not
    "distinct_said",  # share of what sets this name apart from the others that the question says
    "distinct_missing",  # log1p of what sets this name apart and the question does not say
    "max_unexplained",  # the rarest question word this name leaves out (0-1)
    "pair_gain",  # said words this name has and its strongest rival lacks (share of the question)
    "pair_loss",  # said words the strongest rival has and this name lacks
    "pair_extra",  # log1p of this name's words its rival lacks that the question does not say
    "both_unmatched",  # the smaller of the name's unsaid weight and the question's unexplained weight,
    # as a share of the question: each side says something specific the other does not
    "forks",  # after the longest run of words the question and the name share, both go on with
    # different content words: "chứng chỉ hành nghề khám bệnh" is not "… hành nghề đấu giá"
    "content_words",  # content words of the question (a tenth of them, at most 3)
    "unknown_words",  # content syllables no name or alias has
    "corrected_words",  # syllables read as the nearest known one (a typo, or a word we lack)
    "question_weight",  # log1p of the question's total weight
    "char_sim",  # character similarity of the question's content words and the name (0-1)
)
"""What the re-ranker knows about each (question, candidate) pair; all cheap to compute."""


FORK_RUN = 2
"""Words a shared run must have before what follows it counts as a fork."""
FORK_PENALTY = 0.1
"""A name that forks from the question (see `forks`) scores this much less."""


FORK_NAMES_KEPT = 1000
"""Variants whose words the fork check keeps (about 3 KB each: a worker's memory is counted);
the first ones questions meet are kept, others are read again for each question."""

FORK_SKIP = frozenset(
    ["voi", "cua", "cho", "ve", "tai", "theo", "trong", "khi", "co", "tu", "va", "hoac", "do", "de", "bang", "vi"]
)
"""Function words skipped when reading what a question or a name goes on with."""


def forks(question: list[str], name: list[str], stop: QuestionWords, said: frozenset[str] = frozenset()) -> float:
    """1.0 when, after the longest run of words the question and the name share (with at least
    FORK_RUN content words), both go on with a content word the other side does not have at
    all: "chứng chỉ hành nghề khám bệnh" and "chứng chỉ hành nghề đấu giá". `said` holds words
    the question says through synonyms ("Đài Loan" says "nước ngoài")."""
    positions: dict[str, list[int]] = {}
    for j, w in enumerate(name):
        positions.setdefault(w, []).append(j)
    length, qi, nj = _longest_run(question, name, positions)
    if length < FORK_RUN or qi >= len(question) or nj >= len(name):
        return 0.0
    run = question[qi - length : qi]
    if sum(1 for s in stop.mask(run) if not s) < FORK_RUN:
        return 0.0
    q_next, n_next = _next_content(question[qi:], stop), _next_content(name[nj:], stop)
    if q_next is None or n_next is None or q_next in name or n_next in question or n_next in said:
        return 0.0
    return 1.0


def _longest_run(question: list[str], name: list[str], positions: dict[str, list[int]]) -> tuple[int, int, int]:
    """(length, end in question, end in name) of the first longest run of words both share;
    `positions` holds where each word of `name` stands."""
    best = (0, 0, 0)
    nq, nn = len(question), len(name)
    for i, w in enumerate(question):
        for j in positions.get(w, ()):
            if i and j and question[i - 1] == name[j - 1]:
                continue  # inside a run that started earlier and is longer by one
            k = 1
            while i + k < nq and j + k < nn and question[i + k] == name[j + k]:
                k += 1
            if k > best[0]:
                best = (k, i + k, j + k)
    return best


def _next_content(words: list[str], stop: QuestionWords) -> str | None:
    """The first content word of `words` (question words, FORK_SKIP and numbers passed over)."""
    for w, is_stop in zip(words, stop.mask(words), strict=True):
        if not is_stop and w not in FORK_SKIP and not w.isdigit():
            return w
    return None


class _ForkName:
    """What `forks` reads of one variant's name, kept with the matcher: its words, where each
    stands, and the next content word after each position (filled as questions need them)."""

    __slots__ = ("after", "positions", "words")

    def __init__(self, key: str) -> None:
        self.words = key.split()
        self.positions: dict[str, list[int]] = {}
        """Where each word stands (its keys are the name's words)."""
        for j, w in enumerate(self.words):
            self.positions.setdefault(w, []).append(j)
        self.after: dict[int, str | None] = {}


@dataclass(frozen=True, slots=True)
class _Question:
    words: list[str]
    content_words: int
    unknown_words: int
    own: set[int]
    said: set[int]
    corrected: int = 0


@dataclass(frozen=True, slots=True)
class Pool:
    """The first procedures by hand-tuned score for one question, with the evidence behind each
    (arrays are aligned, best hand-tuned total first)."""

    matcher: ProcedureMatcher | None
    question: _Question
    q_weight: float
    said_foreign: bool
    on_existing: bool
    """The question asks for something done to a paper the citizen has ("cấp lại", "gia hạn"):
    a name whose action conflicts (`action_conflict`) does something else with it."""
    owners: np.ndarray
    variants: np.ndarray
    scores: np.ndarray
    totals: np.ndarray
    name_cov: np.ndarray
    question_cov: np.ndarray
    shared: np.ndarray
    missing: np.ndarray
    unexplained: np.ndarray
    verbatim: np.ndarray
    verbatim_long: np.ndarray
    age_conflict: np.ndarray
    action_conflict: np.ndarray
    forked: np.ndarray

    @classmethod
    def nothing(cls, question: _Question) -> Pool:
        empty = np.zeros(0)
        return cls(None, question, 0.0, False, False, *([empty] * 14))

    @property
    def empty(self) -> bool:
        return not len(self.owners)

    @property
    def words(self) -> list[str]:
        return self.question.words

    @property
    def content_words(self) -> int:
        return self.question.content_words

    def features(self) -> np.ndarray:
        """One row of FEATURES per candidate."""
        m = self.matcher
        n = len(self.owners)
        if m is None or not n:
            return np.zeros((0, len(FEATURES)))
        q = self.question
        # the pool's names as rows of a small 0/1 matrix over the features any of them has
        rows = [m.matrix.indices[m.matrix.indptr[v] : m.matrix.indptr[v + 1]] for v in self.variants]
        union = np.unique(np.concatenate(rows))
        has = np.zeros((n, len(union)), dtype=bool)
        for i, r in enumerate(rows):
            has[i, np.searchsorted(union, r)] = True
        wu = m.weights[union]
        said = np.isin(union, np.fromiter(q.said, dtype=np.int64, count=len(q.said)))
        own_ids = np.fromiter(q.own, dtype=np.int64, count=len(q.own))
        own = np.isin(union, own_ids)
        outside = own_ids[~np.isin(own_ids, union)]
        outside_max = float(m.weights[outside].max()) if len(outside) else 0.0
        counts = has.sum(axis=0)
        rival = ((~has) & said & (counts > 0)) @ wu
        distinct = has & (counts == 1)
        distinct_weight = distinct @ wu
        distinct_said = (distinct & said) @ wu
        left_out = np.maximum(np.where(own & ~has, wu, 0.0).max(axis=1), outside_max)
        strongest = has[[1 if i == 0 else 0 for i in range(n)]] if n > 1 else np.zeros_like(has)
        gain = (said & has & ~strongest) @ wu
        loss = (said & strongest & ~has) @ wu
        extra = (has & ~strongest & ~said) @ wu
        content_key = " ".join(wd for wd, st in zip(q.words, m.stop.mask(q.words), strict=True) if not st)
        said_opening = [m.opening_pair[int(v)] in q.said for v in self.variants]
        out = np.zeros((n, len(FEATURES)))
        top_total = float(self.totals[0])
        for i in range(n):
            v = int(self.variants[i])
            foreign = m.foreign[v] > 0
            out[i] = (
                self.scores[i],
                self.totals[i],
                self.name_cov[i],
                self.question_cov[i],
                math.log1p(self.shared[i]),
                math.log1p(self.missing[i]),
                math.log1p(max(self.missing[i] - (0.0 if said_opening[i] else m.opening_weight[v]), 0.0)),
                math.log1p(self.unexplained[i]),
                float(self.verbatim[i]),
                float(self.verbatim_long[i]),
                float(self.scores[i] >= ABSTAIN_BELOW or self.verbatim_long[i]),
                float(m.kind[v] == ALIAS),
                float(m.kind[v] == HEAD),
                float(foreign and self.said_foreign),
                float(foreign and not self.said_foreign),
                self.age_conflict[i],
                self.action_conflict[i],
                m.ward[self.owners[i]],
                m.popularity[self.owners[i]],
                i / POOL,
                top_total - self.totals[i],
                self.totals[i] - self.totals[i + 1] if i + 1 < n else 0.5,
                rival[i] / self.q_weight,
                distinct_said[i] / distinct_weight[i] if distinct_weight[i] else 0.0,
                math.log1p(max(distinct_weight[i] - distinct_said[i], 0.0)),
                left_out[i] / m.max_weight,
                gain[i] / self.q_weight,
                loss[i] / self.q_weight,
                math.log1p(extra[i]),
                min(self.missing[i], self.unexplained[i]) / self.q_weight,
                float(self.forked[i]),
                min(q.content_words / 10, 3.0),
                min(q.unknown_words, 5),
                min(q.corrected, 5),
                math.log1p(self.q_weight),
                fuzz.token_set_ratio(content_key, m.variant_keys[v]) / 100,
            )
        return out


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
    """The hand-tuned score `match` ranks by without a re-ranker (0 when the question shares
    nothing with its names)."""
    explained: float
    """Share of the question's own content weight its names explain (0-1)."""


class ProcedureMatcher:
    """Built once from the catalog; `match()` is the per-message call."""

    def __init__(
        self,
        entries: Sequence[CatalogEntry],
        question_words: QuestionWords | None = None,
        normalizer: Normalizer | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.stop = load_question_words() if question_words is None else question_words
        # Names and aliases go through the same normalization as questions ("đổi cccd" ->
        # "đổi căn cước công dân"), so both sides meet on the same words.
        normalize = normalizer or Normalizer()
        # both sides in the form questions take ("gplx" is read as "giấy phép lái xe")
        self.synonyms = tuple(
            sorted({(normalize(v).key, normalize(t).key) for v, t in load_synonyms()}, key=lambda p: -len(p[0]))
        )
        owner_keys = [normalize(e.name).key for e in entries]
        self.actions = load_actions()
        self._action_phrases = action_phrases(self.actions)
        # each procedure's actions as bits, so a question's conflicts are one vector operation
        self.action_bit = {a: i for i, a in enumerate(sorted(self.actions))}
        starts = [name_opening(e.name, lambda t: normalize(t).key) for e in entries]
        self.action_bits = np.array(
            [sum(1 << self.action_bit[a] for a in actions_in(start, self.actions)) for start in starts], dtype=np.int64
        )
        # names that open with an action on an existing paper ("Gia hạn …", "Cấp lại …"; not
        # "Cấp, bổ sung, gia hạn …" that also issues a first one)
        self.marked = np.array(
            [float(bool(actions_in(" ".join(s.split()[:2]), self.actions) - set(PLAIN_ACTIONS))) for s in starts]
        )
        self.ages = age_conditions(owner_keys)
        # the ages each procedure is for, from its name's condition (everyone when it has none)
        self.age_range = np.array([[0, 200]] * len(entries), dtype=np.int32).reshape(-1, 2)
        for i, key in enumerate(owner_keys):
            for phrase, low, high in self.ages:
                if f" {phrase} " in f" {key} ":
                    self.age_range[i] = (low, high)
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
        # the same procedure at several levels is one family: a shortened name they share is theirs
        family = [family_key(e.name) for e in self.entries]

        def spread(key: str) -> int:
            """How many families of official names contain `key` word for word."""
            rarest = min(key.split(), key=lambda w: len(postings.get(w, ())))
            return len({family[j] for j in postings.get(rarest, ()) if f" {key} " in padded_names[j]})

        own_keys = [
            [name_keys[i], *(_strip_prefix(normalize(t).key) for t in e.aliases)] for i, e in enumerate(self.entries)
        ]
        head_keys = [[_strip_prefix(normalize(h).key) for h in heads(e.name)] for e in self.entries]
        taken = {k for keys in own_keys for k in keys}
        made_by: dict[str, set[str]] = {}
        for i, keys in enumerate(head_keys):
            for k in set(keys):
                made_by.setdefault(k, set()).add(family[i])
        kinds: list[int] = []
        for i in range(len(self.entries)):
            seen: set[str] = set()
            texts = [(k, 0.0, NAME if j == 0 else ALIAS) for j, k in enumerate(own_keys[i])]
            for key in head_keys[i]:
                # kept only when it names this procedure alone and still says enough
                if (
                    key
                    and key not in taken
                    and len(made_by[key]) == 1
                    and self.content_words(key.split()) >= HEAD_MIN_WORDS
                    and spread(key) <= HEAD_SPREAD
                ):
                    texts.append((key, DERIVED_PENALTY, HEAD))
            for key, penalty, kind in texts:
                if key and key not in seen:
                    seen.add(key)
                    variant_keys.append(key)
                    variant_owner.append(i)
                    derived.append(penalty)
                    kinds.append(kind)
        self.derived = np.array(derived)
        self.kind = np.array(kinds, dtype=np.int8)
        # each procedure's first variant is its official name (own_keys starts with it)
        first: dict[int, int] = {}
        for v, owner in enumerate(variant_owner):
            first.setdefault(owner, v)
        self.name_variant = np.array([first.get(i, -1) for i in range(len(self.entries))], dtype=np.int64)
        self._index = {e.code: i for i, e in enumerate(self.entries)}
        self._siblings: dict[str, dict[str, float]] = {}
        self.variant_keys = variant_keys
        self.variant_owner = np.array(variant_owner, dtype=np.int32)
        # an alias may say the action its procedure's name leaves unsaid ("cấp giấy chứng nhận
        # quyền sử dụng đất lần đầu" of "Đăng ký đất đai, … cấp Giấy chứng nhận …")
        self.said_actions = self.action_bits.copy()
        for k, owner, kind in zip(variant_keys, variant_owner, kinds, strict=True):
            if kind == ALIAS and not self.action_bits[owner]:
                self.said_actions[owner] |= sum(1 << self.action_bit[a] for a in actions_in(k, self.actions))
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
        self.feature_names = [f for f, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
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
        # every feature any name or alias of a procedure has: what the procedure as a whole explains
        owned = csr_matrix(
            (np.ones(len(variant_keys)), (self.variant_owner, np.arange(len(variant_keys)))),
            shape=(max(1, len(self.entries)), len(variant_keys)),
        )
        union = (owned @ (self.matrix > 0)).astype(bool).astype(np.float64)
        self._procedure_columns = union.multiply(self.weights[np.newaxis, :]).tocsc()
        self.syllables = sorted({f for f in vocab if " " not in f})
        self.max_weight = float(self.weights.max()) if len(self.weights) else 1.0
        # the weight of each variant's opening word pair when many names open with it (-1: none)
        openings = self.openings = self.name_heads(OPENING_NAMES)
        self.opening_pair = np.full(len(variant_keys), -1, dtype=np.int64)
        self.opening_weight = np.zeros(len(variant_keys))
        for v, vkey in enumerate(variant_keys):
            words = vkey.split()
            pair = " ".join(words[:2])
            if len(words) > 2 and pair in openings and pair in vocab:
                self.opening_pair[v] = vocab[pair]
                self.opening_weight[v] = sum(self.weights[vocab[f]] for f in (words[0], words[1], pair) if f in vocab)
        self.ward = np.array([1.0 if e.ward_level else 0.0 for e in self.entries])
        self.popularity = np.array([min(max(e.popularity, 0), 100) / 100 for e in self.entries])
        self.reranker = reranker
        self.lexicon = lexicon()  # read before workers fork, so they share it
        self._fixes: dict[str, str] = {}
        # What each synonym and age condition adds to a question, read once: a question is
        # checked only against the synonyms that start with one of its words.
        self._synonyms_by_first: dict[str, list[tuple[str, frozenset[int], frozenset[str]]]] = {}
        self._synonyms_always: list[tuple[str, frozenset[int], frozenset[str]]] = []
        for variant, term in self.synonyms:
            said = frozenset(self.vocab[f] for f in self._features(term.split()) if f in self.vocab)
            entry = (variant, said, frozenset(actions_in(term, self.actions)))
            opening = variant.split()
            if opening:
                self._synonyms_by_first.setdefault(opening[0], []).append(entry)
            else:
                self._synonyms_always.append(entry)
        self._age_features = [
            frozenset(self.vocab[f] for f in self._features(phrase.split()) if f in self.vocab)
            for phrase, _low, _high in self.ages
        ]
        self._fork_names: dict[int, _ForkName] = {}
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
            if w in self.vocab or w in self.stop.single or len(w) < 3 or not w.isalpha() or w in self.lexicon:
                out.append(w)
                continue
            fixed = self._fixes.get(w)
            if fixed is None:
                fixed = self._nearest(w)
                if len(self._fixes) < 50_000:  # bounded: typos repeat, but input is unbounded
                    self._fixes[w] = fixed
            out.append(fixed)
        return out

    def _nearest(self, word: str) -> str:
        """The known syllable one edit from `word`: two letters swapped first (the commonest slip
        on a phone keyboard: "hno" -> "hon"), else the commonest syllable of the catalog among
        those one edit away (a noisy-channel prior), `word` itself when none is."""
        found = process.extract(word, self.syllables, scorer=OSA.distance, score_cutoff=1, limit=None)
        if not found:
            return word
        letters = sorted(word)
        swapped = [s for s, _d, _i in found if len(s) == len(word) and sorted(s) == letters]
        pool = swapped or [s for s, _d, _i in found]
        return min(pool, key=lambda s: (self.weights[self.vocab[s]], s))

    def _overlap(self, feats: list[int], columns: csc_matrix | None = None) -> np.ndarray:
        """For every variant (or, given the procedures' columns, every procedure), the weight of
        its features among `feats` (a sparse product, summed column by column: a question has a
        few dozen features, the catalog thousands)."""
        columns = self._columns if columns is None else columns
        if not feats:
            return np.zeros(columns.shape[0])
        cols = np.asarray(feats)
        starts, ends = columns.indptr[cols], columns.indptr[cols + 1]
        lengths = ends - starts
        # the columns' entries one after the other, in the order of `feats`
        at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        return np.bincount(columns.indices[at], weights=columns.data[at], minlength=columns.shape[0])

    def _forks(
        self,
        question: list[str],
        variant: int,
        said: frozenset[str],
        runs: dict[tuple[int, int], int],
        nexts: dict[int, str | None],
    ) -> float:
        """`forks(question, <the variant's words>, self.stop, said)`, reading the variant's
        words once per matcher and the question's once per pool (`runs`, `nexts`)."""
        name = self._fork_names.get(variant)
        if name is None:
            name = _ForkName(self.variant_keys[variant])
            if len(self._fork_names) < FORK_NAMES_KEPT:
                self._fork_names[variant] = name
        length, qi, nj = _longest_run(question, name.words, name.positions)
        if length < FORK_RUN or qi >= len(question) or nj >= len(name.words):
            return 0.0
        content = runs.get((qi - length, qi))
        if content is None:
            content = runs[(qi - length, qi)] = sum(1 for s in self.stop.mask(question[qi - length : qi]) if not s)
        if content < FORK_RUN:
            return 0.0
        if qi not in nexts:
            nexts[qi] = _next_content(question[qi:], self.stop)
        if nj not in name.after:
            name.after[nj] = _next_content(name.words[nj:], self.stop)
        q_next, n_next = nexts[qi], name.after[nj]
        if q_next is None or n_next is None or q_next in name.positions or n_next in question or n_next in said:
            return 0.0
        return 1.0

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

    def candidate(self, code: str) -> Candidate | None:
        """The catalog's procedure `code` as a candidate (score 0), e.g. to offer it again."""
        i = self._index.get(code)
        return None if i is None else Candidate(code=code, name=self.entries[i].name, score=0.0)

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

    def match(self, key: str, limit: int = 5) -> Match:
        """Rank procedures for a folded question key: the re-ranker's probabilities when one is
        trained, else the hand-tuned score; `best` is None when the best is not sure enough."""
        pool = self.pool(key)
        if pool.empty:
            return Match((), None, None, pool.content_words)
        probs: list[float | None]
        if self.reranker is None:
            order = list(range(len(pool.owners)))  # already by hand-tuned total
            probs = [None] * len(order)
            top = order[0]
            sure = self._sure(pool, top)
        else:
            predicted = self.reranker.predict(pool.features())
            order = sorted(range(len(predicted)), key=lambda i: -predicted[i])
            probs = [round(float(p), 4) for p in predicted]
            top = order[0]
            sure = bool(predicted[top] >= self.reranker.threshold)
        candidates = tuple(
            Candidate(
                code=self.entries[pool.owners[i]].code,
                name=self.entries[pool.owners[i]].name,
                score=round(min(max(float(pool.totals[i]), 0.0), 1.0), 4),
                matched=self.variant_keys[pool.variants[i]],
                probability=probs[i],
            )
            for i in order[:limit]
        )
        best = candidates[0] if sure else None
        # Where a procedure is named, for masking it before the intent is classified: the answer's
        # name, or when the re-ranker abstains the name the hand-tuned rule is sure of (a
        # procedure we lack is still named; the classifier was trained on these masks).
        named = top if best else (0 if pool.scores[0] >= ABSTAIN_BELOW or pool.verbatim_long[0] else None)
        span = self._span(pool.words, self.variant_keys[pool.variants[named]]) if named is not None else None
        coverage = (float(pool.name_cov[top]), float(pool.question_cov[top]))
        return Match(candidates, best, span, pool.content_words, coverage)

    def _sure(self, pool: Pool, i: int) -> bool:
        """The hand-tuned rule for answering: a high score and the name's rarest word said, or a
        long name written word for word; never a name that does another action to an existing
        paper than the one asked ("mất giấy ANTT, xin cấp lại" is not "Cấp mới …": the catalog
        lacks the reissue), unless the question says one of its names or aliases word for word
        ("gia hạn bằng lái xe" is how citizens ask to exchange a licence)."""
        if pool.on_existing and pool.action_conflict[i] and not pool.verbatim[i]:
            return False
        return (pool.scores[i] >= ABSTAIN_BELOW and self._says_rarest(pool, i)) or bool(pool.verbatim_long[i])

    def _says_rarest(self, pool: Pool, i: int) -> bool:
        """The question says a rarest word or pair of the matched name or alias, or most of it:
        "trợ cấp thất nghiệp" leaves out what makes "ủy quyền lĩnh thay … trợ cấp thất nghiệp"
        that procedure and no other."""
        v = int(pool.variants[i])
        if pool.name_cov[i] >= (DERIVED_COVERED if self.derived[v] else CORE_COVERED):
            return True
        start, end = self.matrix.indptr[v], self.matrix.indptr[v + 1]
        if start == end:
            return True
        data = self.matrix.data[start:end]
        rarest = self.matrix.indices[start:end][data >= data.max() - 1e-9]
        if not any(int(f) in pool.question.said for f in rarest):
            return False
        # and what the name opens with, unless many names open so ("ủy quyền lĩnh thay …")
        words = self.variant_keys[int(pool.variants[i])].split()
        opening = f"{words[0]} {words[1]}" if len(words) > 2 else ""
        if not opening or opening not in self.vocab or opening in self.openings:
            return True
        return self.vocab[opening] in pool.question.said

    def pool(
        self, key: str, exclude: frozenset[int] = frozenset(), size: int = POOL, only: frozenset[int] | None = None
    ) -> Pool:
        """The `size` procedures with the best hand-tuned score for a folded key, best first,
        with what the re-ranker needs to know about each. `exclude` (procedure positions) leaves
        procedures out as if the catalog lacked them: training questions about a procedure we
        pretend is missing teach the re-ranker when to abstain. `only` keeps just those."""
        padded = f" {key} "
        raw = key.split()
        words = self._correct(raw)
        stop = self.stop.mask(words)
        content = sum(1 for s in stop if not s)
        unknown = sum(1 for w, s in zip(words, stop, strict=True) if not s and w not in self.vocab and not w.isdigit())
        objects = self.stop.objects(words)
        named = [w for w, o in zip(words, objects, strict=True) if not o] if any(objects) else words
        own = {self.vocab[f] for f in self._features(named) if f in self.vocab}
        # Official terms behind everyday words count when a name has them, but are never
        # held against a name as words the question said and the name left unexplained.
        synonyms = [
            entry for w in set(raw) for entry in self._synonyms_by_first.get(w, ()) if f" {entry[0]} " in padded
        ] + [entry for entry in self._synonyms_always if f" {entry[0]} " in padded]
        extra: set[int] = set()
        for _variant, said_term, _actions in synonyms:
            extra |= said_term
        ages = asked_ages(key)
        for age in ages:
            for (_phrase, low, high), said_age in zip(self.ages, self._age_features, strict=True):
                if low <= age <= high:
                    extra |= said_age
        feats = sorted(own | extra)
        corrected = sum(1 for a, b in zip(raw, words, strict=True) if a != b)
        context = _Question(
            words=words, content_words=content, unknown_words=unknown, own=own, said=own | extra, corrected=corrected
        )
        if not feats or not len(self.entries):
            return Pool.nothing(context)
        # A syllable no name or alias has is as rare as can be: it is something the question
        # says that no procedure here explains ("karaoke", "mầm non" is not in the records).
        q_weight = float(self.weights[sorted(own)].sum()) + UNKNOWN_WEIGHT * self.max_weight * unknown + 1e-9
        all_overlap = self._overlap(feats)
        hit = np.nonzero(all_overlap)[0]
        if exclude:
            hit = hit[~np.isin(self.variant_owner[hit], np.fromiter(exclude, dtype=np.int32))]
        if only is not None:
            hit = hit[np.isin(self.variant_owner[hit], np.fromiter(only, dtype=np.int32))]
        if not len(hit):
            return Pool.nothing(context)
        overlap, own_overlap = all_overlap[hit], self._overlap(sorted(own))[hit]
        name_cov = overlap / self.row_weight[hit]
        # Tversky index: shared weight against what the name adds and what the question leaves
        # unexplained, so a variant whose extra words the question does say outranks the plain name.
        shared = overlap
        missing = self.row_weight[hit] - shared
        # words of the question another name or alias of the same procedure has are explained
        # by it ("mới mua xe máy, đăng ký biển số": "đăng ký xe máy" and "cấp biển số xe")
        by_procedure = self._overlap(sorted(own), self._procedure_columns)[self.variant_owner[hit]]
        explained = np.maximum(own_overlap, UNION_SHARE * by_procedure)
        unexplained = np.maximum(q_weight - explained, 0.0)
        score = shared / (shared + NAME_WEIGHT * missing + (1 - NAME_WEIGHT) * unexplained) - self.derived[hit]
        # Citizens at a ward mean the domestic procedure unless they say otherwise; when they do
        # ("lấy chồng Hàn Quốc"), the foreign-element variant is what they mean.
        said_ids = own | extra
        said_foreign = any(f in self.vocab and self.vocab[f] in said_ids for f in _FOREIGN)
        score = score + (FOREIGN_BONUS if said_foreign else -FOREIGN_PENALTY) * self.foreign[hit]
        # an action asked for ("cấp lại", or "bị mất" that stands for it) that the name does not do
        asked_actions = actions_in(key, self.actions, self._action_phrases)
        for _variant, _said_term, term_actions in synonyms:
            asked_actions |= term_actions
        action_conflict = np.zeros(len(hit))
        on_existing = bool(asked_actions - set(PLAIN_ACTIONS))
        if asked_actions:
            asked_bits = sum(1 << self.action_bit[a] for a in asked_actions)
            names = self.said_actions[self.variant_owner[hit]]
            # what a citizen asks to extend may be what the records exchange or issue again
            # ("bằng lái sắp hết hạn, gia hạn" is "Đổi giấy phép lái xe"): a little less, not
            # another procedure
            lenient = asked_actions | {a for e in asked_actions for a in ACTION_STANDS_IN.get(e, ())}
            lenient_bits = sum(1 << self.action_bit[a] for a in lenient if a in self.action_bit)
            stands_in = (names != 0) & ((names & asked_bits) == 0) & ((names & lenient_bits) != 0)
            action_conflict = ((names != 0) & ((names & lenient_bits) == 0)).astype(float)
            score = score - ACTION_CONFLICT * action_conflict - ACTION_MISSING * stands_in
            # a name that says no action at all is a first issue: "cấp lại giấy phép hoạt động
            # bến thủy" is less "Công bố hoạt động bến thủy" than a sibling that reissues
            if on_existing:
                score = score - ACTION_MISSING * (names == 0)
        else:
            # a question that asks for no action means the plain procedure: a name or alias that
            # does something to an existing paper ("Gia hạn …", "Thu hồi …") scores a little less
            score = score - ACTION_UNSAID * self.marked[self.variant_owner[hit]]
        conflict = np.zeros(len(hit))
        if ages:
            ranges = self.age_range[self.variant_owner[hit]]
            fits = np.zeros(len(hit), dtype=bool)
            for age in ages:
                fits |= (ranges[:, 0] <= age) & (age <= ranges[:, 1])
            conflict = (~fits).astype(float)
            score = score - AGE_CONFLICT * conflict
        # a name or alias written word for word in the question
        joined = f" {' '.join(words)} "
        if len(hit) > SHORTLIST:
            # Only the best-scoring variants can rank: the priors add at most a few hundredths.
            keep = np.sort(np.argpartition(-score, SHORTLIST)[:SHORTLIST])
            hit, score, name_cov, own_overlap = hit[keep], score[keep], name_cov[keep], own_overlap[keep]
            shared, missing, unexplained, conflict = shared[keep], missing[keep], unexplained[keep], conflict[keep]
            action_conflict = action_conflict[keep]
        top = hit[np.argsort(-score)[:40]]
        bonus = np.zeros(len(hit))
        verbatim = np.zeros(len(hit), dtype=bool)
        verbatim_long = np.zeros(len(hit), dtype=bool)
        for v in top:
            vkey = self.variant_keys[v]
            if f" {vkey} " in joined:
                pos = np.searchsorted(hit, v)
                bonus[pos] = PHRASE_BONUS
                verbatim[pos] = True
                verbatim_long[pos] = self.content_words(vkey.split()) >= 2 and not self.derived[v]
        score = score + bonus
        # best variant per procedure, then the procedures ranked with their priors
        owners = self.variant_owner[hit]
        order = np.argsort(-score, kind="stable")
        _, first = np.unique(owners[order], return_index=True)
        best_idx = order[first]
        totals = score[best_idx] + self._prior[owners[best_idx]]
        chosen = best_idx[np.argsort(-totals, kind="stable")[:size]]
        # a name that goes on differently from the question after what they share ("chứng chỉ
        # hành nghề đấu giá" for "chứng chỉ hành nghề khám bệnh") names another procedure
        said_words = frozenset(f for f in (self.feature_names[i] for i in said_ids) if " " not in f)
        runs: dict[tuple[int, int], int] = {}
        nexts: dict[int, str | None] = {}
        forked = np.array([self._forks(words, int(hit[c]), said_words, runs, nexts) for c in chosen])
        if forked.any():
            score = score.copy()
            score[chosen] -= FORK_PENALTY * forked
            totals_chosen = score[chosen] + self._prior[owners[chosen]]
            order_chosen = np.argsort(-totals_chosen, kind="stable")
            chosen, forked = chosen[order_chosen], forked[order_chosen]
        return Pool(
            matcher=self,
            question=context,
            q_weight=q_weight,
            said_foreign=said_foreign,
            owners=owners[chosen],
            variants=hit[chosen],
            scores=score[chosen],
            totals=score[chosen] + self._prior[owners[chosen]],
            name_cov=name_cov[chosen],
            question_cov=np.minimum(own_overlap[chosen] / q_weight, 1.0),
            shared=shared[chosen],
            missing=missing[chosen],
            unexplained=unexplained[chosen],
            verbatim=verbatim[chosen],
            verbatim_long=verbatim_long[chosen],
            age_conflict=conflict[chosen],
            action_conflict=action_conflict[chosen],
            forked=forked,
            on_existing=on_existing,
        )

    def fits(self, key: str, codes: Sequence[str]) -> dict[str, Fit]:
        """How well the question names each of `codes`, whatever else ranks above them: lets a
        caller weigh a few procedures it already has in mind, such as the one a conversation is
        about and its siblings. Procedures sharing nothing with the question get Fit(0, 0)."""
        out = dict.fromkeys(codes, Fit(0.0, 0.0))
        wanted = {self._index[c]: c for c in codes if c in self._index}
        if not wanted:
            return out
        pool = self.pool(key, only=frozenset(wanted), size=len(wanted))
        for i, owner in enumerate(pool.owners):
            code = wanted[int(owner)]
            out[code] = Fit(round(min(float(pool.totals[i]), 1.0), 4), float(pool.question_cov[i]))
        return out

    def doing(self, key: str, codes: Sequence[str]) -> list[str]:
        """Of `codes`, those whose names do an action the folded text asks for: "thế cấp đổi thì
        sao" picks "Cấp đổi …" among a first issue and an exchange of one paper."""
        asked = actions_in(key, self.actions, self._action_phrases)
        if not asked:
            return []
        # only an action and question words: "cấp đổi giấy phép karaoke" is a new question
        rest = f" {key} "
        for _action, phrase in self._action_phrases:
            rest = rest.replace(f" {phrase} ", " ")
        if self.content_words(rest.split()) > 1:
            return []
        bits = sum(1 << self.action_bit[a] for a in asked)
        return [c for c in codes if c in self._index and int(self.said_actions[self._index[c]]) & bits]

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
