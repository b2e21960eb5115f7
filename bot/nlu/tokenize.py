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
    if not text.strip():
        return []
    return [w.replace(" ", "_") for w in _segmenter()(text)]
