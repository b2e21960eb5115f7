"""Each channel renders the same structured reply its own way: Telegram HTML (bold headings,
numbered papers, escaped text, a "Xem đầy đủ" link), Zalo text within its limit and five
buttons at most, titles cut at a word."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot import payloads
from bot.types import Button, IncomingMessage, Item, Reply, Section
from channels.telegram.adapter import TelegramAdapter, html_text, render
from channels.zalo.adapter import TEXT_LIMIT, ZaloAdapter
from tests.channels.test_telegram import RecordingRequest, fixture


def test_telegram_html_has_bold_headings_numbered_items_and_a_link() -> None:
    reply = Reply(
        "plain",
        (Button("Lệ phí", '/ask_fee{"procedure":"1.001193"}'),),
        link="https://motcua.example.vn/thu-tuc/1.001193",
        title="Hồ sơ đăng ký khai sinh gồm:",
        sections=(
            Section(items=(Item("Giấy chứng sinh"), Item("Tờ khai <mẫu> & bản sao")), numbered=True),
            Section("Nếu thuộc trường hợp riêng, nộp thêm:", (Item("Ủy quyền: văn bản ủy quyền"),)),
        ),
        cut=True,
    )
    out = render(reply)
    assert out["parse_mode"] == "HTML"
    assert out["text"].splitlines() == [
        "<b>Hồ sơ đăng ký khai sinh gồm:</b>",
        "1. Giấy chứng sinh",
        "2. Tờ khai &lt;mẫu&gt; &amp; bản sao",
        "<b>Nếu thuộc trường hợp riêng, nộp thêm:</b>",
        "• Ủy quyền: văn bản ủy quyền",
        '<a href="https://motcua.example.vn/thu-tuc/1.001193">Xem đầy đủ</a>',
    ]
    assert out["reply_markup"].inline_keyboard[0][0].text == "Lệ phí"


def test_telegram_plain_replies_are_escaped() -> None:
    assert html_text(Reply("<b>Mang giấy hẹn</b> & CCCD")) == "&lt;b&gt;Mang giấy hẹn&lt;/b&gt; &amp; CCCD"


@pytest.fixture
def telegram(assistant, settings_for, kb_copy):
    settings = settings_for(kb_copy, telegram_token="123456:TEST-TOKEN", telegram_secret="s3cret")
    request = RecordingRequest()
    return TelegramAdapter(settings, assistant, request=request), request


async def test_telegram_sends_the_fitted_answer_as_html(telegram) -> None:
    adapter, request = telegram
    await adapter.ensure_initialised()
    await adapter.application.process_update(Update.de_json(fixture("text"), adapter.application.bot))
    assert await adapter.outbox.drain(5)  # answers go out in the background
    sent = request.sent()[-1]
    assert sent["parse_mode"] == "HTML"
    assert sent["text"].startswith("<b>Hồ sơ đăng ký khai sinh gồm:</b>")
    assert "Giấy chứng sinh" in sent["text"] and '">Xem đầy đủ</a>' in sent["text"]
    assert len(sent["text"]) < 4096


def zalo(assistant, settings_for, kb_copy) -> ZaloAdapter:
    settings = settings_for(kb_copy, zalo_app_id="app", zalo_secret_key="key", zalo_access_token="token")
    return ZaloAdapter(settings, assistant)


def test_zalo_text_within_the_limit_and_five_buttons_cut_at_words(assistant, settings_for, kb_copy) -> None:
    adapter = zalo(assistant, settings_for, kb_copy)
    long_title = "Cấp giấy phép hoạt động tổ chức dịch vụ đăng ký thay đổi nội dung " * 3
    buttons = tuple(Button(f"{long_title} {i}", f"/greet{i}") for i in range(7))
    message: dict[str, Any] = adapter.render("u1", Reply("Nội dung rất dài.\n" * 400, buttons))["message"]
    assert len(message["text"]) <= TEXT_LIMIT
    shown = message["attachment"]["payload"]["buttons"]
    assert len(shown) == 5
    for b in shown:
        cut = b["title"].removesuffix("…")
        assert len(b["title"]) <= 100 and b["title"].endswith("…")
        assert long_title.startswith(cut) and long_title[len(cut)] == " "  # at a word break


def test_zalo_answers_keep_their_budget(assistant, settings_for, kb_copy) -> None:
    adapter = zalo(assistant, settings_for, kb_copy)
    turn = assistant.respond(IncomingMessage("zalo", "z1", payloads.make("ask_documents", procedure="1.004222")))
    payload = adapter.render("z1", turn.replies[0])
    assert len(payload["message"]["text"]) <= TEXT_LIMIT
    assert "Tờ khai thay đổi thông tin cư trú (mẫu CT01)" in payload["message"]["text"]
