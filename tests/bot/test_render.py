"""The length budget: a first answer fits one phone screen, keeps whole items, folds what does
not fit and links the rest; measured on the answers of the most asked procedures."""

from __future__ import annotations

import pytest

from bot import payloads
from bot.assistant import Assistant
from bot.render import BUDGETS, budget_for, compose, drawn, fit, full_text, screen_lines, whole_words
from bot.types import Button, IncomingMessage, Item, Reply, Section
from knowledge.repository import Repository

LINK = "http://127.0.0.1:8000/thu-tuc/1.001193"


def reply(*sections: Section) -> Reply:
    r = compose("Hồ sơ đăng ký khai sinh gồm:", list(sections))
    return Reply(r.text, r.buttons, LINK, r.title, r.sections)


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [("ngắn", 36, 1), ("một hai ba bốn năm sáu", 10, 3), ("a\nb\nc", 36, 3), ("x" * 80, 36, 3)],
)
def test_drawn_lines_wrap_at_words(text: str, width: int, lines: int) -> None:
    assert drawn(text, width) == lines


def test_a_short_answer_is_left_whole() -> None:
    r = reply(Section(items=(Item("Giấy chứng sinh"), Item("Tờ khai đăng ký khai sinh")), numbered=True))
    out = fit(r, "web")
    assert out.text == "Hồ sơ đăng ký khai sinh gồm:\n1. Giấy chứng sinh\n2. Tờ khai đăng ký khai sinh"
    assert not out.cut


def test_shortened_items_link_the_whole_text() -> None:
    r = reply(Section(items=(Item("Giấy chứng sinh", "Giấy chứng sinh; trường hợp không có…"),), numbered=True))
    out = fit(r, "web")
    assert out.cut and out.text.endswith(f"Xem đầy đủ: {LINK}")
    assert "trường hợp không có" in full_text(r) and "trường hợp không có" not in out.text


def test_whole_items_only_then_the_fold_of_the_cases() -> None:
    core = Section(
        items=tuple(Item(f"Giấy tờ số {i} có một cái tên khá dài để phải xuống dòng") for i in range(9)), numbered=True
    )
    cases = Section(
        "Nếu thuộc trường hợp riêng, nộp thêm:",
        (Item("Ủy quyền: văn bản ủy quyền"),) * 3,
        folds=("Trường hợp riêng cần thêm giấy tờ: ủy quyền.",),
    )
    out = fit(reply(core, cases), "web")
    lines = out.text.splitlines()
    allowed = {f"{i + 1}. Giấy tờ số {i} có một cái tên khá dài để phải xuống dòng" for i in range(9)}
    assert lines[0] == "Hồ sơ đăng ký khai sinh gồm:"
    assert all(line in allowed for line in lines[1:-3]), lines  # never half an item
    assert lines[-3] == "Trường hợp riêng cần thêm giấy tờ: ủy quyền." and lines[-2].startswith("… và ")
    assert drawn(out.text, budget_for("web").width) - 1 <= budget_for("web").lines  # the link counts one line


def test_optional_remarks_are_left_out_whole() -> None:
    main = Section(items=(Item("Trực tiếp: 150.000 đồng"),))
    remarks = Section(
        items=tuple(Item("Lệ phí nộp tại thời điểm nộp hồ sơ, không hoàn trả " * 3) for _ in range(4)), optional=True
    )
    note = Section(items=(Item("Anh/chị hỏi cán bộ qua số 0200 000 0000."),), bullet="")
    out = fit(reply(main, remarks, note), "web")
    assert "không hoàn trả" not in out.text
    assert "Anh/chị hỏi cán bộ" in out.text and out.cut


def test_a_long_text_without_structure_keeps_the_platform_limit() -> None:
    long = Reply("Câu trả lời của cán bộ. " * 200)
    assert len(fit(long, "zalo").text) <= BUDGETS["zalo"].chars
    assert fit(Reply("Xin chào"), "zalo").text == "Xin chào"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ qu…",
            "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        ),
        ("Đăng ký khai sinh", "Đăng ký khai sinh"),
        (
            "Cấp giấy phép hoạt động tổ chức dịch vụ đăng ký thay đổi ngu…",
            "Cấp giấy phép hoạt động tổ chức dịch vụ đăng ký thay đổi…",
        ),
    ],
)
def test_button_titles_never_end_inside_a_word(title: str, expected: str) -> None:
    assert whole_words(title) == expected
    assert fit(Reply("x", (Button(title, "/greet"),)), "web").buttons[0].title == expected


ASPECTS = ("ask_documents", "ask_fee", "ask_processing_time", "ask_where")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
def test_first_answers_of_the_most_asked_procedures_fit_the_channel(
    assistant: Assistant, full_sqlite, channel: str
) -> None:
    popular = sorted((p for p in Repository(full_sqlite).catalog() if p.popularity), key=lambda p: -p.popularity)
    budget = budget_for(channel)
    over = []
    for p in popular[:60]:
        for intent in ASPECTS:
            turn = assistant.respond(
                IncomingMessage(channel, f"fit-{channel}", payloads.make(intent, procedure=p.code))
            )
            text = "\n".join(r.text for r in turn.replies)
            lines = sum(screen_lines(r, channel) for r in turn.replies)
            if lines > budget.lines or len(text) > budget.chars:
                over.append((p.code, intent, lines, len(text)))
    assert over == []
