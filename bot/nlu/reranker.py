"""A learned re-ranker over the procedure matcher's candidates, with a calibrated threshold.

The matcher proposes a pool of procedures with the evidence behind each (`matcher.FEATURES`:
overlap and coverage, the Tversky score, character similarity, priors, what sets a candidate
apart from its rivals and whether the question says it). The re-ranker turns each row into the
probability that this candidate is the procedure the question is about; the best candidate is
returned when that probability clears `threshold`, otherwise the matcher abstains. Training
questions are generated from the records and written by hand (`bot/nlu/rerank_data.py`);
`benchmarks/nlu.py` compares the model kinds with the hand-tuned score.

Two kinds are kept: logistic regression and scikit-learn's histogram gradient boosting. Both
predict through a few numpy operations on the fitted parameters (sklearn's own `predict_proba`
checks its input at a cost larger than the arithmetic on a ten-row pool); a test compares them
with sklearn on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

KINDS = ("hgb", "logreg")
DEFAULT_THRESHOLD = 0.5


@dataclass(slots=True)
class _Trees:
    """Every tree of a fitted HistGradientBoostingClassifier, flattened for traversal of all
    trees at once: per node the feature, threshold, children, whether missing values go left
    and the leaf value."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    missing_left: np.ndarray
    roots: np.ndarray
    depth: int
    baseline: float

    @classmethod
    def of(cls, model: Any) -> _Trees:
        features, thresholds, lefts, rights, leaves, values, missing, roots = [], [], [], [], [], [], [], []
        offset, depth = 0, 0
        for (predictor,) in model._predictors:  # one tree per iteration for a binary task
            nodes = predictor.nodes
            roots.append(offset)
            features.append(nodes["feature_idx"].astype(np.int64))
            thresholds.append(nodes["num_threshold"].astype(np.float64))
            lefts.append(nodes["left"].astype(np.int64) + offset)
            rights.append(nodes["right"].astype(np.int64) + offset)
            leaves.append(nodes["is_leaf"].astype(bool))
            values.append(nodes["value"].astype(np.float64))
            missing.append(nodes["missing_go_to_left"].astype(bool))
            depth = max(depth, int(nodes["depth"].max()))
            offset += len(nodes)
        baseline = float(np.ravel(model._baseline_prediction)[0])
        return cls(
            np.concatenate(features),
            np.concatenate(thresholds),
            np.concatenate(lefts),
            np.concatenate(rights),
            np.concatenate(leaves),
            np.concatenate(values),
            np.concatenate(missing),
            np.array(roots, dtype=np.int64),
            depth,
            baseline,
        )

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The summed leaf values (log-odds) for each row of x."""
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            leaf = self.leaf[node]
            if leaf.all():
                break
            value = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(value), self.missing_left[node], value <= self.threshold[node])
            step = np.where(go_left, self.left[node], self.right[node])
            node = np.where(leaf, node, step)
        return self.value[node].sum(axis=1) + self.baseline


@dataclass(slots=True)
class Reranker:
    """P(candidate is the procedure asked about) from one row of matcher features."""

    kind: str
    threshold: float = DEFAULT_THRESHOLD
    """Below this probability for the best candidate the matcher abstains."""
    model: Any = field(default=None, repr=False)
    """The fitted scikit-learn estimator (kept for tests and inspection)."""
    _mean: np.ndarray | None = field(default=None, repr=False)
    _scale: np.ndarray | None = field(default=None, repr=False)
    _coef: np.ndarray | None = field(default=None, repr=False)
    _intercept: float = 0.0
    _trees: _Trees | None = field(default=None, repr=False)

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, kind: str = "hgb", weights: np.ndarray | None = None, seed: int = 7
    ) -> Reranker:
        if kind not in KINDS:
            raise ValueError(f"unknown re-ranker kind {kind!r}; one of {KINDS}")
        r = cls(kind=kind)
        if kind == "logreg":
            from sklearn.linear_model import LogisticRegression

            mean, scale = x.mean(axis=0), x.std(axis=0)
            scale[scale == 0] = 1.0
            model = LogisticRegression(C=1.0, max_iter=2000)
            model.fit((x - mean) / scale, y, sample_weight=weights)
            r._mean, r._scale = mean, scale
            r._coef, r._intercept = model.coef_.ravel().copy(), float(model.intercept_[0])
        else:
            from sklearn.ensemble import HistGradientBoostingClassifier

            model = HistGradientBoostingClassifier(
                max_iter=100,
                learning_rate=0.1,
                max_leaf_nodes=24,
                max_depth=7,
                min_samples_leaf=30,
                l2_regularization=1.0,
                random_state=seed,
            )
            # one thread: the training runs beside other processes (web workers, a busy machine),
            # and an oversubscribed thread pool made this fit several times slower, not faster
            with threadpool_limits(limits=1):
                model.fit(x, y, sample_weight=weights)
            r._trees = _Trees.of(model)
        r.model = model
        return r

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probability per row; the same numbers as the fitted model's `predict_proba(x)[:, 1]`."""
        if not len(x):
            return np.zeros(0)
        if self._trees is not None:
            raw = self._trees.raw(x)
        elif self._coef is not None and self._mean is not None and self._scale is not None:
            raw = ((x - self._mean) / self._scale) @ self._coef + self._intercept
        else:
            raise RuntimeError("re-ranker is not trained")
        # clipped: exp() of a log-odds beyond ±50 overflows, and the probability is 0 or 1 anyway
        return 1.0 / (1.0 + np.exp(-np.clip(raw, -50.0, 50.0)))
