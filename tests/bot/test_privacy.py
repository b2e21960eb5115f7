"""Personal numbers in the formats citizens write them are masked before storage; ordinary
numbers are kept; a sender id that is a phone number is stored as a pseudonym."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, inspect, select, text
from sqlalchemy.types import JSON

from bot.privacy import EMAIL, ID_CARD, NUMBER, OLD_ID, PHONE, mask, pseudonym
from channels.web.app import create_app
from knowledge.db import Database
from knowledge.models import Conversation, Feedback, InboxItem, Message

URL = "/webhooks/rest/webhook"

PERSONAL = [
    # (as written, the label it becomes)
    ("001203004567", ID_CARD),
    ("001 203 004 567", ID_CARD),
    ("001.203.004.567", ID_CARD),
    ("001-203-004-567", ID_CARD),
    ("0012 0300 4567", ID_CARD),
    ("００１２０３００４５６７", ID_CARD),  # full-width digits
    ("001\u00a0203\u00a0004\u00a0567", ID_CARD),  # no-break spaces
    ("123456789", OLD_ID),
    ("123 456 789", OLD_ID),
    ("123.456.789", OLD_ID),
    ("(+84) 912-345-678", PHONE),
    ("(+84)912345678", PHONE),
    ("+84 912 345 678", PHONE),
    ("+84912345678", PHONE),
    ("84912345678", PHONE),
    ("0912345678", PHONE),
    ("0912 345 678", PHONE),
    ("0912.345.678", PHONE),
    ("0912-345-678", PHONE),
    ("091 234 5678", PHONE),
    ("0912 345.678", PHONE),  # mixed separators
    ("0912–345–678", PHONE),  # en dashes
    ("０９１２３４５６７８", PHONE),
    ("０９１２．３４５．６７８", PHONE),  # full-width dots
    ("＋８４ ９１２ ３４５ ６７８", PHONE),
    ("0 9 1 2 3 4 5 6 7 8", PHONE),  # digit by digit
    ("0243 825 6789", PHONE),  # a landline with its area code
    ("an.nguyen@gmail.com", EMAIL),
    ("an_nguyen+hs@phuong.gov.vn", EMAIL),
    ("an＠gmail．com", EMAIL),  # full-width @ and dot
    ("1903 5678 9012 34", NUMBER),  # a bank account
    ("0123456789012345", NUMBER),
]

ORDINARY = [
    "135.000 đồng",
    "lệ phí 135.000đ",
    "5.000.000",
    "5.000.000 đồng",
    "135.000.000 đồng",
    "123.456.789 VNĐ",
    "1,500,000,000 dong",
    "1.500.000.000",
    "50.000-100.000 đồng",
    "100.000 200.000",
    "01/07/2025",
    "01-07-2025",
    "01.07.2025",
    "1.001193",
    "mã 1.001193 1.000894",
    "năm 2025",
    "sinh năm 1990, có 2 con",
    "Nghị định 123/2015/NĐ-CP",
    "12345678",
    "gọi 1900 1234",
    "10:30 ngày 15/8",
]


@pytest.mark.parametrize(("number", "label"), PERSONAL)
def test_personal_numbers_are_masked(number: str, label: str) -> None:
    masked = mask(f"của tôi là {number}, cảm ơn")
    assert masked == f"của tôi là {label}, cảm ơn"


@pytest.mark.parametrize("number", [n for n, _ in PERSONAL])
def test_personal_numbers_are_masked_at_either_end(number: str) -> None:
    assert not re.search(r"\d", mask(number)) and not re.search(r"\d", mask(f"số {number}"))


@pytest.mark.parametrize("phrase", ORDINARY)
def test_ordinary_numbers_are_kept(phrase: str) -> None:
    assert mask(phrase) == phrase
    assert mask(f"{phrase}, sđt 0912 345 678") == f"{phrase}, sđt {PHONE}"


def test_masking_is_idempotent_and_leaves_text_alone() -> None:
    once = mask("CCCD 001 203 004 567 và 0912.345.678, phí 135.000 đồng")
    assert once == f"CCCD {ID_CARD} và {PHONE}, phí 135.000 đồng"
    assert mask(once) == once
    assert mask("Thủ tục đăng ký khai sinh") == "Thủ tục đăng ký khai sinh"


def test_a_date_or_code_beside_a_phone_number_is_kept() -> None:
    assert mask("ngày 01-07-2025 0912345678") == f"ngày 01-07-2025 {PHONE}"
    assert mask("thủ tục 1.001193 0912345678") == f"thủ tục 1.001193 {PHONE}"


def test_pseudonyms() -> None:
    phone = pseudonym("0912345678", "k1")
    assert phone.startswith("anon-") and not re.search(r"\d", phone)
    assert pseudonym("0912345678", "k1") == phone  # the same sender keeps its conversation
    assert pseudonym("+84 912 345 678", "k1") != phone  # another id (as written) is another sender
    assert pseudonym("0912345678", "k2") != phone  # keyed: no dictionary of phone numbers helps
    assert pseudonym("an@gmail.com", "k1").startswith("anon-")
    assert pseudonym("rest-1", "k1") == "rest-1"
    assert pseudonym("widget-3f2a9c", "k1") == "widget-3f2a9c"
    assert pseudonym(phone, "k1") == phone


# --- nothing unmasked in the database after a run through REST ------------------------------

_JOINED_DIGITS = re.compile(r"\d(?:[ .\-]?\d){8,}")
"""Nine digits or more joined by single separators: what no stored transcript may hold."""


def _flat(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value))


def _text_values(db: Database) -> dict[tuple[str, str], set[str]]:
    """Every value of every text (and JSON) column of every table."""
    found: dict[tuple[str, str], set[str]] = {}
    insp = inspect(db.engine)
    with db.engine.connect() as conn:
        for table in insp.get_table_names():
            for col in insp.get_columns(table):
                if isinstance(col["type"], String | Text | JSON) or "JSON" in str(col["type"]).upper():
                    rows = conn.execute(text(f'SELECT "{col["name"]}" FROM "{table}"')).scalars()
                    found[(table, col["name"])] = {_flat(v) for v in rows if v is not None}
    return found


def test_no_stored_row_holds_a_personal_number(assistant, settings_for, kb_copy: Database) -> None:
    before = _text_values(kb_copy)
    questions = [
        "làm giấy khai sinh cần gì, CCCD của tôi {n}",
        "{n} là số của tôi, lệ phí kết hôn 135.000 đồng à",
        "đăng ký tạm trú mất mấy ngày, liên hệ {n} ạ",
        "tôi muốn gặp cán bộ, số {n}",
    ]
    senders = ["0912345678", "(+84) 912-345-678", "an@gmail.com", "widget-7f3a2c"]
    app = create_app(settings_for(kb_copy), assistant)
    with TestClient(app) as client:
        for i, (number, _label) in enumerate(PERSONAL):
            sender = senders[i % len(senders)]
            r = client.post(URL, json={"sender": sender, "message": questions[i % len(questions)].format(n=number)})
            assert r.status_code == 200
            assert r.json()[0]["recipient_id"] == sender  # the reply still goes back to the sender
            for button in r.json()[-1]["buttons"]:
                if '"ref"' in button["payload"]:  # rate the answer: feedback and inbox rows
                    assert client.post(URL, json={"sender": sender, "message": button["payload"]}).status_code == 200
                    break
        follow = client.post(URL, json={"sender": "0912345678", "message": "thế lệ phí bao nhiêu?"}).json()
        assert "Không có thông tin" not in follow[0]["text"]
    after = _text_values(kb_copy)

    with kb_copy.sessions() as s:
        assert s.scalar(select(Message.id).limit(1)) is not None
        assert s.scalars(select(Feedback.id)).all() and s.scalars(select(InboxItem.id)).all()
        stored_senders = set(s.scalars(select(Conversation.sender)))
    # One conversation per sender, phone numbers and e-mail addresses pseudonymised.
    assert "widget-7f3a2c" in stored_senders and len(stored_senders) == len(senders)
    assert all(x == "widget-7f3a2c" or x.startswith("anon-") for x in stored_senders)

    digits_of = {re.sub(r"\D", "", _flat(n)) for n, label in PERSONAL if label != EMAIL}
    emails = {_flat(n).lower() for n, label in PERSONAL if label == EMAIL}
    leaks = []
    for (table, column), values in after.items():
        for value in values - before.get((table, column), set()):
            squeezed = re.sub(r"(?<=\d)[ .\-()+]+(?=\d)", "", value)
            # A rating reference is random hex made by the server: it may hold nine digits by chance.
            random_id = (table, column) == ("message", "ref") and re.fullmatch(r"[0-9a-f]{12}", value)
            if (_JOINED_DIGITS.search(value) and not random_id) or any(d in squeezed for d in digits_of):
                leaks.append((table, column, value[:120]))
            if any(e in value.lower() for e in emails) or "0912345678" in value:
                leaks.append((table, column, value[:120]))
    assert not leaks, leaks
    messages = after[("message", "text")] - before.get(("message", "text"), set())
    assert any(PHONE in m for m in messages) and any(ID_CARD in m for m in messages)
    assert any("135.000 đồng" in m for m in messages)  # ordinary numbers are kept
