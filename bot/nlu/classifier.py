"""Intent classifier: logistic regression over word tokens and character n-grams.

Three views of each (normalized, procedure-masked) message are combined: underthesea word
tokens of the accented text (1-2 grams), its syllables (1-3 grams: "có được không", "được hiểu
như" are phrases a word segmenter splits differently from one question to the next), and
character 2-5 grams of the diacritic-free key, so "lệ phí", "le phi" and "le phii" land close
together. Trains in seconds on a CPU. The README
compares it with a linear SVM and naive Bayes (benchmarks/nlu.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.nlu import tokenize


@dataclass(frozen=True, slots=True)
class Features:
    """The text views a message is classified on."""

    words: str
    """underthesea words of the accented text, joined by spaces ("đăng_ký kết_hôn")."""
    key: str
    """The diacritic-free key."""
    text: str = ""
    """The accented text (syllables)."""


def features(text: str, key: str) -> Features:
    return Features(" ".join(tokenize.words(text)), key, text)


class IntentClassifier:
    """Fit on (Features, intent) pairs; predicts a probability for every intent."""

    def __init__(self, c: float = 8.0, kind: str = "logreg") -> None:
        self.word_bigram_vec = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        self.char_vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        self.syllable_vec = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        self.kind = kind
        self.c = c
        self.model: object | None = None
        self.labels: list[str] = []

    def _views(self) -> list[tuple[TfidfVectorizer, str]]:
        return [(self.word_bigram_vec, "words"), (self.char_vec, "key"), (self.syllable_vec, "text")]

    def _matrix(self, items: Sequence[Features], fit: bool = False) -> Any:
        parts = []
        for vec, name in self._views():
            docs = [getattr(f, name) for f in items]
            parts.append(vec.fit_transform(docs) if fit else vec.transform(docs))
        return hstack(parts).tocsr()

    def fit(self, items: Sequence[Features], intents: Sequence[str]) -> IntentClassifier:
        x = self._matrix(items, fit=True)
        if self.kind == "svm":
            from sklearn.calibration import CalibratedClassifierCV
            from sklearn.svm import LinearSVC

            model: object = CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), cv=3)
        elif self.kind == "nb":
            from sklearn.naive_bayes import ComplementNB

            model = ComplementNB(alpha=0.3)
        else:
            model = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced")
        model.fit(x, list(intents))  # type: ignore[attr-defined]
        self.model = model
        self.labels = [str(c) for c in model.classes_]  # type: ignore[attr-defined]
        return self

    def predict(self, items: Sequence[Features]) -> list[list[tuple[str, float]]]:
        """For each message, every intent with its probability, best first."""
        if self.model is None:
            raise RuntimeError("classifier is not trained")
        if isinstance(self.model, LogisticRegression):
            # The per-message path: the same TF-IDF and softmax sklearn computes, summed straight
            # from the coefficients, without sklearn's input checks that cost more than the maths.
            views = self._views()
            offsets = np.cumsum([0] + [len(vec.vocabulary_) for vec, _ in views])
            coef, intercept = self.model.coef_, self.model.intercept_
            scores = np.empty((len(items), len(self.labels)))
            for r, f in enumerate(items):
                total = intercept.copy()
                for (vec, name), offset in zip(views, offsets, strict=False):
                    cols, weights = _tfidf(vec, getattr(f, name))
                    if len(cols):
                        total += coef[:, cols + offset] @ weights
                scores[r] = total
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
        else:
            probs = self.model.predict_proba(self._matrix(items))  # type: ignore[attr-defined]
        out = []
        for row in np.asarray(probs):
            order = np.argsort(-row)
            out.append([(self.labels[i], float(row[i])) for i in order])
        return out


def _tfidf(vec: TfidfVectorizer, doc: str) -> tuple[np.ndarray, np.ndarray]:
    """Columns and weights of TfidfVectorizer.transform (sublinear tf, idf, l2 norm) for one text."""
    analyzer = vec.__dict__.get("_fast_analyzer")
    if analyzer is None:
        analyzer = vec.build_analyzer()
        vec.__dict__["_fast_analyzer"] = analyzer
    vocab = vec.vocabulary_
    counts: dict[int, int] = {}
    for gram in analyzer(doc):
        j = vocab.get(gram)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    if not counts:
        return np.empty(0, dtype=np.int64), np.empty(0)
    cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    weights = (1.0 + np.log(tf)) * vec.idf_[cols]
    return cols, weights / np.sqrt((weights**2).sum())
