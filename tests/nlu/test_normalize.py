"""Normalization: one place for NFC, case, stretched letters, abbreviations and the folded key."""

from __future__ import annotations

import pytest

from bot.nlu.normalize import MAX_CHARS, Normalizer

normalize = Normalizer()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Làm giấy khai sinh cần gì ạaaa???", "lam giay khai sinh can gi a"),
        ("le phi dk ket hon bn", "le phi dang ky ket hon bao nhieu"),
        ("đk tạm trú mất mấy ngày ạ", "dang ky tam tru mat may ngay a"),
        ("ko bik lam cccd o dau", "khong biet lam can cuoc cong dan o dau"),
        ("Đăng  Ký\tKẾT   hôn", "dang ky ket hon"),
        ("<b>xin chào</b> 😀", "xin chao"),
        ("khongggg", "khong"),
        ("Xoong nồi", "xoong noi"),
        # two tokens read together where the next word decides what "bn" is
        ("bn trai em 21t, lệ phí bn", "ban trai em 21t le phi bao nhieu"),
    ],
)
def test_keys(text: str, key: str) -> None:
    assert normalize(text).key == key


def test_nfd_input_equals_nfc_input() -> None:
    import unicodedata

    text = "đăng ký khai sinh"
    assert normalize(unicodedata.normalize("NFD", text)) == normalize(text).__class__(
        original=unicodedata.normalize("NFD", text), text=normalize(text).text, key=normalize(text).key
    )


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "😀😀", "!!!???"])
def test_empty_forms(text: str) -> None:
    assert normalize(text).is_empty


def test_huge_input_is_bounded() -> None:
    assert len(normalize("a " * 100_000).text) <= MAX_CHARS
