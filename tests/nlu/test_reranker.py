"""The re-ranker: its numpy fast path against scikit-learn, the threshold choice, a model
trained with it; and the procedure decisions of the shipped model (variants chosen by a detail,
honest abstention)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu.engine import NluEngine
from bot.nlu.matcher import FEATURES, family_key
from bot.nlu.rerank_data import Asked, Rows, choose_threshold
from bot.nlu.reranker import KINDS, Reranker


def _data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((3000, len(FEATURES)))
    y = ((x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + 0.1 * rng.standard_normal(3000)) > 0.8).astype(float)
    return x, y


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_gives_sklearns_probabilities(kind: str) -> None:
    x, y = _data()
    model = Reranker.fit(x, y, kind=kind)
    probe = _data(seed=9)[0][:200]
    expected = model.model.predict_proba(probe if kind == "hgb" else (probe - model._mean) / model._scale)[:, 1]
    assert np.allclose(model.predict(probe), expected, atol=1e-9)
    assert model.predict(np.zeros((0, len(FEATURES)))).shape == (0,)


def test_unknown_kind_is_refused() -> None:
    x, y = _data()
    with pytest.raises(ValueError):
        Reranker.fit(x, y, kind="forest")


def test_threshold_balances_answering_and_abstaining() -> None:
    # four questions: two answerable (right candidate scores .9 and .6), two not (best .3 and .7)
    probs = np.array([0.9, 0.1, 0.6, 0.2, 0.3, 0.1, 0.7, 0.2])
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0], dtype=float)
    question = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    rows = Rows(
        np.zeros((8, len(FEATURES))),
        y,
        question,
        np.ones(8),
        tuple(Asked("q", "1.000001") for _ in range(4)),
        np.array([True, True, False, False]),
    )
    balanced, threshold = choose_threshold(rows, probs, np.arange(4))
    # answering above .7 keeps one right answer and both abstentions: (1/2 + 1) / 2
    assert balanced == pytest.approx(0.75) and 0.3 < threshold <= 0.9


@pytest.fixture(scope="module")
def learned(full_sqlite):
    """An engine trained with the learned re-ranker (the shipped model keeps the hand-tuned score)."""
    from bot.runtime import catalog_entries
    from knowledge.repository import Repository

    engine, report = NluEngine.train(catalog_entries(Repository(full_sqlite).catalog()), reranker="hgb")
    assert report.reranker is not None and 0.05 <= report.reranker.threshold <= 0.95
    return engine


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # an age said as a number picks the variant whose condition it meets
        ("bé nhà tôi mới 12 tuổi muốn làm thẻ căn cước", "1.014062"),
        ("cháu tôi 16 tuổi làm căn cước lần đầu cần gì", "1.014061"),
        # a foreign parent said by nationality
        ("vợ tôi quốc tịch Hàn Quốc, đăng ký khai sinh cho con ở đâu", "2.000528"),
        # the copy of a paper, not the paper's own procedure
        ("đi công chứng photo căn cước công dân mất bao nhiêu tiền", "2.000815"),
        # police-desk and portal short forms
        ("rút bhxh 1 lần cần giấy tờ gì", "1.001613"),
        ("cấp mới thẻ APEC cho doanh nhân", "1.000811"),
        ("đổi GPLX quân sự sang dân sự", "3.000349"),
        ("làm tài khoản VNeID cho doanh nghiệp", "3.000498"),
        ("cấp mới giấy chứng nhận ANTT cho nhà nghỉ", "2.001478"),
        ("sổ đỏ bị mất xin cấp lại", "1.012786"),
    ],
)
def test_variants_chosen_by_a_detail(nlu_engine, text: str, code: str) -> None:
    r = nlu_engine.parse(text)
    assert r.procedure is not None and r.procedure.code in family(nlu_engine, code), [
        (c.code, c.score) for c in r.candidates
    ]


def family(engine, code: str) -> set[str]:
    """The code and the same procedure at other levels (equally right answers)."""
    key = next(family_key(e.name) for e in engine.matcher.entries if e.code == code)
    return {e.code for e in engine.matcher.entries if family_key(e.name) == key}


@pytest.mark.parametrize(
    "text",
    [
        # concrete procedures the national records do not have: no look-alike is offered
        "cấp chứng chỉ hành nghề khám bệnh, chữa bệnh cho bác sĩ",
        "thủ tục cho phép thành lập trường mầm non tư thục",
        "hồ sơ xin giấy phép lao động cho người nước ngoài",
    ],
)
def test_abstains_on_procedures_the_records_lack(nlu_engine, text: str) -> None:
    r = nlu_engine.parse(text)
    assert r.procedure is None, r.procedure
    assert r.names_procedure


def test_learned_reranker_answers_and_abstains(learned) -> None:
    r = learned.parse("đăng ký khai sinh cho con cần giấy tờ gì")
    probs = [c.probability for c in r.candidates]
    assert r.procedure is not None and r.procedure.code == "1.001193"
    assert all(p is not None and 0.0 <= p <= 1.0 for p in probs)
    assert probs == sorted(probs, reverse=True)  # type: ignore[type-var]
    assert learned.parse("thủ tục cho phép thành lập trường mầm non tư thục").procedure is None


def test_learned_reranker_survives_save_load_and_a_new_catalog(learned, tmp_path) -> None:
    path = tmp_path / "m.pkl"
    learned.save(path)
    loaded = NluEngine.load(path, learned.matcher.entries)
    assert loaded.reranker is not None and loaded.reranker.threshold == learned.reranker.threshold
    again = loaded.with_catalog(learned.matcher.entries)
    assert again.reranker is loaded.reranker
    text = "đổi bằng lái xe hết hạn"
    assert [c.code for c in again.parse(text).candidates] == [c.code for c in learned.parse(text).candidates]


def test_shipped_model_orders_by_the_overlap_score(nlu_engine) -> None:
    r = nlu_engine.parse("đăng ký khai sinh cho con")
    scores = [c.score for c in r.candidates]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    assert r.procedure is not None and r.procedure.code == "1.001193"
