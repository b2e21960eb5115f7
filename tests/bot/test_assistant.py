"""Multi-turn conversations through Assistant.respond against a real SQLite knowledge base."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import payloads
from bot.assistant import Assistant
from bot.types import IncomingMessage, Turn
from knowledge.db import Database
from knowledge.models import Feedback, InboxItem, Message


def say(assistant: Assistant, text: str, sender: str = "u1", channel: str = "web") -> Turn:
    return assistant.respond(IncomingMessage(channel=channel, sender=sender, text=text))


def press(assistant: Assistant, turn: Turn, title: str, sender: str = "u1") -> Turn:
    payload = next(b.payload for r in turn.replies for b in r.buttons if b.title == title)
    return say(assistant, payload, sender)


def test_follow_up_uses_the_last_procedure(assistant: Assistant) -> None:
    first = say(assistant, "làm giấy khai sinh cần gì")
    assert (first.intent, first.procedure) == ("ask_documents", "1.001193")
    assert "Giấy chứng sinh" in first.replies[0].text
    second = say(assistant, "thế lệ phí bao nhiêu?")
    assert (second.intent, second.procedure) == ("ask_fee", "1.001193")
    assert "Miễn phí" in second.replies[0].text
    third = say(assistant, "mất mấy ngày")
    assert (third.intent, third.procedure) == ("ask_processing_time", "1.001193")


def test_procedure_without_aspect_gets_the_overview_with_aspect_buttons(assistant: Assistant) -> None:
    turn = say(assistant, "đăng ký kết hôn")
    assert (turn.intent, turn.procedure) == ("ask_overview", "1.000894")
    titles = [b.title for b in turn.replies[-1].buttons]
    assert titles[:5] == ["Hồ sơ", "Lệ phí", "Thời gian", "Nơi nộp", "Nộp trực tuyến"]
    fee = press(assistant, turn, "Lệ phí")
    assert (fee.intent, fee.procedure) == ("ask_fee", "1.000894")


def test_close_call_offers_buttons_and_the_button_decides(assistant: Assistant) -> None:
    turn = say(assistant, "lệ phí cấp giấy xác nhận có quốc tịch việt nam")
    assert turn.procedure is None and turn.outcome == "clarify"
    payloads_offered = [b.payload for b in turn.replies[0].buttons]
    codes = [payloads.parse(p)[1]["procedure"] for p in payloads_offered]  # type: ignore[index]
    assert {"1.005136", "1.005137"} <= set(codes)
    chosen = press(assistant, turn, turn.replies[0].buttons[codes.index("1.005136")].title)
    assert (chosen.intent, chosen.procedure) == ("ask_fee", "1.005136")


def test_feedback_is_stored_with_the_question(assistant: Assistant, kb_copy: Database) -> None:
    answer = say(assistant, "đăng ký tạm trú cần giấy tờ gì")
    thanks = press(assistant, answer, "Chưa đúng")
    assert thanks.outcome == "feedback" and "góp ý" in thanks.replies[0].text
    with kb_copy.sessions() as s:
        rating = s.scalars(select(Feedback)).one()
        question = s.get(Message, rating.message_id)
        assert question is not None and question.text == "đăng ký tạm trú cần giấy tờ gì"
        assert rating.useful is False
        assert s.scalars(select(InboxItem.reason)).all() == ["wrong"]
    # someone else's conversation cannot rate this question
    ref = payloads.parse(next(b.payload for b in answer.replies[-1].buttons if b.title == "Hữu ích"))[1]["ref"]  # type: ignore[index]
    forged = payloads.make("feedback", useful=True, ref=ref)
    other = say(assistant, forged, sender="u2")
    assert "Cảm ơn" in other.replies[0].text
    with kb_copy.sessions() as s:
        assert len(s.scalars(select(Feedback)).all()) == 1


def test_unknown_procedure_is_logged_unanswered_never_invented(assistant: Assistant, kb_copy: Database) -> None:
    turn = say(assistant, "Hồ sơ thông báo tập trung kinh tế gồm những giấy tờ gì?")
    assert turn.outcome == "unanswered" and turn.procedure is None
    text = " ".join(r.text for r in turn.replies)
    assert "chưa có thông tin" in text and "0200 000 0000" in text
    with kb_copy.sessions() as s:
        item = s.scalars(select(InboxItem)).one()
        assert item.reason == "unanswered"
        assert s.get(Message, item.message_id).outcome == "unanswered"  # type: ignore[union-attr]


def test_personal_numbers_are_masked_before_storage(assistant: Assistant, kb_copy: Database) -> None:
    say(assistant, "CCCD của tôi 001203004567, sđt 0912 345 678, cmnd cũ 123456789, mail an@gmail.com")
    with kb_copy.sessions() as s:
        stored = s.scalars(select(Message.text).where(Message.direction == "in")).one()
    assert "001203004567" not in stored and "0912 345 678" not in stored
    assert "123456789" not in stored and "an@gmail.com" not in stored
    assert "[số định danh]" in stored and "[số điện thoại]" in stored and "[email]" in stored


@pytest.mark.parametrize(
    ("text", "intent", "expect"),
    [
        ("xin chào", "greet", "Xin chào"),
        ("cảm ơn nhé", "thank", "Không có gì"),
        ("phường mấy giờ mở cửa", "ask_office_hours", "7h30"),
        ("cho tôi gặp cán bộ", "ask_human", "0200 000 0000"),
        ("giá vàng hôm nay bao nhiêu", "out_of_scope", "ngoài phạm vi"),
    ],
)
def test_conversation_intents(assistant: Assistant, text: str, intent: str, expect: str) -> None:
    turn = say(assistant, text)
    assert turn.intent == intent
    assert expect in turn.replies[0].text


def test_request_for_a_human_is_recorded(assistant: Assistant, kb_copy: Database) -> None:
    say(assistant, "tôi muốn nói chuyện với cán bộ")
    with kb_copy.sessions() as s:
        assert s.scalars(select(InboxItem.reason)).all() == ["human"]


def test_staff_faq_is_answered(assistant: Assistant) -> None:
    turn = say(assistant, "co can mang so ho khau khong")
    assert turn.outcome == "faq" and "01/01/2023" in turn.replies[0].text


def test_state_survives_a_restart(kb_copy: Database, nlu_engine, settings_for) -> None:
    first = Assistant(settings_for(kb_copy), kb_copy, nlu_engine)
    say(first, "đăng ký thường trú cần gì")
    second = Assistant(settings_for(kb_copy), kb_copy, nlu_engine)  # another worker, or after a restart
    turn = say(second, "lệ phí bao nhiêu")
    assert (turn.intent, turn.procedure) == ("ask_fee", "1.004222")


def test_state_expires_after_idle_time(kb_copy: Database, nlu_engine, settings_for) -> None:
    assistant = Assistant(settings_for(kb_copy, session_ttl_minutes=0), kb_copy, nlu_engine)
    assistant.store.ttl = timedelta(seconds=0)
    say(assistant, "đăng ký thường trú cần gì")
    turn = say(assistant, "lệ phí bao nhiêu")
    assert turn.procedure is None and turn.outcome == "clarify"


def test_long_answers_are_cut_with_a_link(assistant: Assistant) -> None:
    turn = say(assistant, '/ask_documents{"procedure":"1.013225"}', channel="zalo")
    reply = turn.replies[0]
    assert len(reply.text) <= 1900
    assert reply.link is not None and reply.link.endswith("/thu-tuc/1.013225")
    assert reply.link in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "a" * 100_000,
        "\x00\x01\x02",
        "😀😀😀",
        "<script>alert(1)</script>",
        "/feedback{bad json",
        "/ask_fee{}",
    ],
    ids=["empty", "spaces", "huge", "control", "emoji", "html", "bad-payload", "payload-no-procedure"],
)
def test_bad_input_gets_a_polite_reply(assistant: Assistant, text: str) -> None:
    turn = say(assistant, text)
    assert turn.replies and all(r.text for r in turn.replies)


def test_converse_json_contract(assistant: Assistant) -> None:
    from bot.commands.chat import turn_json

    data = turn_json("c1", "lệ phí kết hôn", say(assistant, "lệ phí kết hôn"))
    assert set(data) == {"conversation", "text", "intent", "procedure", "replies"}
    assert data["procedure"] == "1.000894"
    json.dumps(data, ensure_ascii=False)


def test_warm_up_reads_the_most_asked_procedures_before_the_first_citizen(assistant: Assistant) -> None:
    import gc

    try:
        assistant.warm_up(procedures=10)
        cached = assistant.snapshot().procedures
        assert len(cached) == 10 and "1.001193" in cached  # khai sinh is the most asked
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
