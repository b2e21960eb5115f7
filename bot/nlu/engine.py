"""The NLU pipeline: normalize -> match the procedure -> mask it -> classify the intent."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ModelError
from bot.nlu import rerank_data
from bot.nlu.classifier import Features, IntentClassifier, features
from bot.nlu.matcher import Match, ProcedureMatcher
from bot.nlu.normalize import Normalized, Normalizer
from bot.nlu.reranker import Reranker
from bot.nlu.training import TEMPLATES, Example, generate, load_rasa, load_templates
from bot.nlu.types import ASPECT_INTENTS, CONVERSATION_INTENTS, OUT_OF_SCOPE, CatalogEntry, NluResult
from knowledge.text import strip_diacritics

log = logging.getLogger(__name__)

DEFAULT_DATA = Path(__file__).parent / "data"
MODEL_FORMAT = 2
RERANKER: str | None = None
"""The procedure decision kept after measurement (`benchmarks/nlu.py`; README, NLU section):
None keeps the hand-tuned score; "hgb" or "logreg" train the learned re-ranker with the model
(`motcua nlu train --reranker hgb`)."""
CONFIDENCE_THRESHOLD = 0.2
"""Below this probability the message is out of scope, whatever the classifier's best guess."""
OUT_OF_SCOPE_DOUBT = 0.4
"""An out-of-scope guess less sure than this gives way to the aspects when they weigh more."""
REPLY_INTENTS = frozenset({"affirm", "deny"})
QUESTION_MARKERS = frozenset({"nao", "gi", "sao", "ai", "dau"})
"""Folded words that make a message a question: "nội dung nào phải công khai?" is not a "phải"
(yes), "giấy tờ gì không cần?" not a "không" (no)."""
REPLY_WORDS = 4
"""A reply ("phải rồi", "không sao đâu") is short; a question marker in a longer message makes
it a question."""
PROCEDURE_TOKEN = "thutuc"
"""Stands in for the procedure's name while classifying, so names do not sway the intent."""


UNACCENTED_SHARE = 0.75
"""Share of the written examples with diacritics also trained on without them: citizens often
type without, and the formal registers are written with them. Half left unaccented questions
7 points of intent accuracy behind accented ones on real questions; three quarters closes most
of that gap and no evaluation set falls (copying all of them is worse on formal out-of-scope
questions)."""


def unaccented_copies(examples: Sequence[Example], seed: int = 17) -> list[Example]:
    """Diacritic-free copies of part of the examples that have diacritics. Which ones is decided
    by each example's own text, so adding an example to the data changes no other's copy."""
    out = []
    for ex in examples:
        bare = strip_diacritics(ex.text)
        draw = zlib.crc32(f"{seed}:{ex.intent}:{ex.text}".encode()) / 2**32
        if bare != ex.text and draw < UNACCENTED_SHARE:
            out.append(Example(bare, ex.intent))
    return out


def mask(norm: Normalized, match: Match) -> Features:
    """The message's features with the best procedure's mention replaced by one token."""
    text_words, key_words = norm.text.split(), norm.key.split()
    if match.span is None or len(text_words) != len(key_words):
        return features(norm.text, norm.key)
    a, b = match.span
    text = " ".join([*text_words[:a], PROCEDURE_TOKEN, *text_words[b:]])
    key = " ".join([*key_words[:a], PROCEDURE_TOKEN, *key_words[b:]])
    return features(text, key)


@dataclass(frozen=True, slots=True)
class TrainingReport:
    examples: int
    from_files: int
    generated: int
    seconds: float
    intents: dict[str, int]
    reranker: rerank_data.RerankReport | None = None


class NluEngine:
    """Parses messages; built from a trained classifier and the current procedure catalog."""

    def __init__(
        self,
        classifier: IntentClassifier,
        catalog: Sequence[CatalogEntry],
        normalizer: Normalizer | None = None,
        threshold: float = CONFIDENCE_THRESHOLD,
        reranker: Reranker | None = None,
        masks: bool = True,
    ) -> None:
        self.classifier = classifier
        self.normalizer = normalizer or Normalizer()
        self.matcher = ProcedureMatcher(catalog, normalizer=self.normalizer, reranker=reranker)
        self.threshold = threshold
        self.masks = masks
        """Replace the matched procedure's name by one token before classifying: true for our
        own intents; a model trained on another domain's data (PhoATIS) sees its text as is."""

    @property
    def reranker(self) -> Reranker | None:
        return self.matcher.reranker

    def with_catalog(self, catalog: Sequence[CatalogEntry]) -> NluEngine:
        """The same classifier and re-ranker over a new catalog (after staff edit names or aliases):
        the re-ranker reads evidence, not names, so it needs no retraining."""
        return NluEngine(self.classifier, catalog, self.normalizer, self.threshold, self.reranker, self.masks)

    def parse(self, text: str) -> NluResult:
        return self.parse_many([text])[0]

    def parse_many(self, texts: Sequence[str]) -> list[NluResult]:
        norms = [self.normalizer(t if isinstance(t, str) else "") for t in texts]
        matches = [self.matcher.match(n.key) for n in norms]
        todo = [i for i, n in enumerate(norms) if not n.is_empty]
        rankings: dict[int, list[tuple[str, float]]] = {}
        if todo:
            feats = [mask(norms[i], matches[i]) if self.masks else features(norms[i].text, norms[i].key) for i in todo]
            predicted = self.classifier.predict(feats)
            rankings = dict(zip(todo, predicted, strict=True))
        return [self._result(texts[i], norms[i], matches[i], rankings.get(i)) for i in range(len(texts))]

    def _result(self, text: str, norm: Normalized, match: Match, ranking: list[tuple[str, float]] | None) -> NluResult:
        if not ranking:  # nothing but spaces, emoji or symbols
            return NluResult(text=text, intent=OUT_OF_SCOPE, confidence=1.0, procedure=None, words=norm.text)
        named = match.best is not None
        words = norm.key.split()
        if ranking[0][0] in REPLY_INTENTS and len(words) >= REPLY_WORDS and QUESTION_MARKERS.intersection(words):
            ranking = [(i, p) for i, p in ranking if i not in REPLY_INTENTS] or ranking
        intent, confidence = ranking[0]
        if OUT_OF_SCOPE not in self.classifier.labels:
            pass  # data of another domain: its own intents, none invented
        elif intent == OUT_OF_SCOPE and confidence < OUT_OF_SCOPE_DOUBT:
            # A doubtful "out of scope" loses to the aspects together: long questions about
            # unfamiliar procedures spread their probability over several aspects.
            aspects = [(i, p) for i, p in ranking if i in ASPECT_INTENTS]
            # (not for words that name nothing at all: "qqqq wwww eeee")
            if aspects and match.candidates and (named or sum(p for _, p in aspects) > confidence):
                intent, confidence = aspects[0]
        elif confidence < self.threshold and not named:
            intent = OUT_OF_SCOPE
        procedure = match.best if intent in ASPECT_INTENTS or intent == OUT_OF_SCOPE else None
        return NluResult(
            text=text,
            intent=intent,
            confidence=confidence,
            procedure=procedure,
            candidates=match.candidates,
            intent_ranking=tuple(ranking[:5]),
            names_procedure=match.content_words > 0,
            words=norm.text,
            key=norm.key,
            named=match.best,
            coverage=match.coverage,
        )

    # --- training and persistence ------------------------------------------------------

    @classmethod
    def train(
        cls,
        catalog: Sequence[CatalogEntry],
        data: Path = DEFAULT_DATA,
        templates: Path | None = TEMPLATES,
        kind: str = "logreg",
        reranker: str | None = RERANKER,
    ) -> tuple[NluEngine, TrainingReport]:
        """Train the intent classifier on `data` (plus examples generated from procedure names
        with `templates`) and, unless `reranker` is None or no templates are given, the
        procedure re-ranker on questions generated from the records and our own data."""
        started = time.perf_counter()
        examples = load_rasa(data)
        generated: list[Example] = []
        if templates is not None and templates.exists() and catalog:
            generated = generate(load_templates(templates), catalog)
        unaccented = unaccented_copies(examples) if templates is not None else []
        everything = examples + generated + unaccented
        own_data = data.resolve() == DEFAULT_DATA.resolve()
        normalizer = Normalizer()
        matcher = ProcedureMatcher(catalog, normalizer=normalizer)
        feats = []
        for i, ex in enumerate(everything):
            norm = normalizer(ex.text)
            # Half of the generated examples keep the procedure's name unmasked, as a question
            # about a procedure the knowledge base lacks would: the aspect words must decide.
            if not own_data or (len(examples) <= i < len(examples) + len(generated) and i % 2):
                feats.append(features(norm.text, norm.key))
            else:
                feats.append(mask(norm, matcher.match(norm.key)))
        rerank_report = None
        if reranker is not None and templates is not None and templates.exists() and catalog:
            # the re-ranker learns from our own data whatever intent data is given
            matcher.reranker, rerank_report = train_reranker(
                matcher, catalog, normalizer, reranker, templates, examples if own_data else None
            )
        classifier = IntentClassifier(kind=kind).fit(feats, [ex.intent for ex in everything])
        engine = cls.__new__(cls)
        engine.classifier, engine.normalizer, engine.matcher = classifier, normalizer, matcher
        engine.threshold = CONFIDENCE_THRESHOLD
        engine.masks = own_data
        counts: dict[str, int] = {}
        for ex in everything:
            counts[ex.intent] = counts.get(ex.intent, 0) + 1
        report = TrainingReport(
            len(everything), len(examples), len(generated), time.perf_counter() - started, counts, rerank_report
        )
        return engine, report

    def save(self, path: Path, fingerprint: str = "", custom: bool = False) -> None:
        """Write the classifier (the catalog is not saved: it is read afresh at load).
        `fingerprint` identifies the training data, so a stale model can be told apart."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": MODEL_FORMAT,
            "classifier": self.classifier,
            "threshold": self.threshold,
            "reranker": self.reranker,
            "masks": self.masks,
            "data": fingerprint,
        }
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # several processes may save at once
        with tmp.open("wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        # Beside the model, what it was trained on: read without unpickling (or importing sklearn).
        meta = {"format": MODEL_FORMAT, "data": fingerprint, "custom": custom}
        sidecar(path).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, catalog: Sequence[CatalogEntry]) -> NluEngine:
        # The model file is our own artifact, written by `save` into the project's var/ folder.
        try:
            with path.open("rb") as fh:
                payload: Any = pickle.load(fh)
        except FileNotFoundError as exc:
            raise ModelError(f"Không có mô hình tại {path}. Hãy chạy: motcua nlu train") from exc
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ModelError(
                f"Mô hình {path} bị hỏng hoặc không tương thích; hãy huấn luyện lại (motcua nlu train)."
            ) from exc
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ModelError(f"Mô hình {path} có định dạng cũ; hãy huấn luyện lại (motcua nlu train).")
        return cls(
            payload["classifier"],
            catalog,
            threshold=payload.get("threshold", CONFIDENCE_THRESHOLD),
            reranker=payload.get("reranker"),
            masks=payload.get("masks", True),
        )


def train_reranker(
    matcher: ProcedureMatcher,
    catalog: Sequence[CatalogEntry],
    normalizer: Normalizer,
    kind: str = "hgb",
    templates: Path = TEMPLATES,
    examples: Sequence[Example] | None = None,
) -> tuple[Reranker, rerank_data.RerankReport]:
    """The procedure re-ranker over `matcher`, from questions generated from the records, our
    written questions and the aspect examples of our intent data (`examples`, else read)."""
    own = list(examples) if examples is not None else load_rasa(DEFAULT_DATA)
    log.info("training the procedure re-ranker (%s)", kind)
    return rerank_data.train(
        matcher,
        catalog,
        normalizer,
        load_templates(templates),
        examples=[ex.text for ex in own if ex.intent in ASPECT_INTENTS],
        chat=[ex.text for ex in own if ex.intent in CONVERSATION_INTENTS and ex.intent != OUT_OF_SCOPE],
        kind=kind,
    )


CUSTOM = "custom"
"""Fingerprint of a model trained on data other than ours: kept, never retrained over."""


def sidecar(model: Path) -> Path:
    return model.with_name(model.name + ".json")


def saved_fingerprint(model: Path) -> str | None:
    """The training-data fingerprint a saved model was made from, or None."""
    try:
        meta = json.loads(sidecar(model).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        return None
    if meta.get("custom"):
        return CUSTOM
    return str(meta.get("data") or "") or None


def data_fingerprint(data: Path) -> str:
    """A hash of the training files, to tell when a saved model is stale."""
    digest = hashlib.sha256()
    files = [data] if data.is_file() else sorted(p for p in data.rglob("*.y*ml"))
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]
