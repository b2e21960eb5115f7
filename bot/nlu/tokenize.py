"""Vietnamese word segmentation with underthesea (offline, CRF based)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=1)
def _segmenter() -> Callable[[str], list[str]]:
    # Imported lazily: underthesea takes a third of a second to import.
    from underthesea import word_tokenize

    return word_tokenize


def words(text: str) -> list[str]:
    """ "làm giấy khai sinh" -> ["làm", "giấy", "khai_sinh"]: multi-syllable words joined by "_"."""
    if len(text) > 300:  # long texts are rare and would crowd the cache
        return list(_segment(text))
    return list(_cached(text))


def _segment(text: str) -> tuple[str, ...]:
    if not text.strip():
        return ()
    return tuple(w.replace(" ", "_") for w in _segmenter()(text))


# Follow-ups ("mất mấy ngày", "lệ phí bao nhiêu") repeat across conversations, and segmentation
# is the dearest step of parsing a short message.
_cached = lru_cache(maxsize=8192)(_segment)
