"""The chat widget in headless Chromium (Debian's package): ask, click a quick reply, reload,
and check that a message with HTML is shown as text and runs nothing; at a 390x844 phone
viewport, the first answer fits one screen and a long one is read from its start; messages
typed while an answer is on its way are queued, not dropped."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from channels.web.app import create_app
from tests.live_server import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page():
    if shutil.which("chromium") is None and not shutil.os.path.exists(CHROMIUM):  # type: ignore[attr-defined]
        pytest.fail("Debian's chromium package is missing: run `make browser` (make test does it).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        yield page
        browser.close()


def watch_dialogs(page) -> list[str]:
    """Every alert() the page opens (none is expected)."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return dialogs


def ask(page, base: str, text: str) -> None:
    """Open the demo page, open the chat and send `text`."""
    page.goto(base + "/")
    page.get_by_role("button", name="Mở Trợ lý Một cửa").click()
    box = page.get_by_label("Nhập câu hỏi")
    box.fill(text)
    box.press("Enter")


def test_widget_conversation_survives_reload_and_escapes_html(
    browser_page, assistant, settings_for, kb_copy, artifacts
) -> None:
    page = browser_page
    dialogs = watch_dialogs(page)
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        ask(page, base, "làm giấy khai sinh cần gì")
        page.locator(".mc-bot", has_text="Giấy chứng sinh").wait_for(timeout=15000)
        page.locator(".mc-chip", has_text="Lệ phí").click()
        page.locator(".mc-bot", has_text="Miễn phí").wait_for(timeout=15000)
        page.screenshot(path=str(artifacts / "widget-conversation.png"))

        page.reload()
        page.locator(".mc-bot", has_text="Giấy chứng sinh").wait_for(timeout=15000)
        page.locator(".mc-user", has_text="làm giấy khai sinh cần gì").wait_for()
        assert page.locator(".mc-user", has_text="Lệ phí").count() == 1

        hostile = "<img src=x onerror=alert(1)>"
        box = page.get_by_label("Nhập câu hỏi")
        box.fill(hostile)
        box.press("Enter")
        page.locator(".mc-user", has_text=hostile).wait_for(timeout=15000)
        page.wait_for_timeout(500)
        assert page.locator(".mc-log img").count() == 0
        assert dialogs == []
        page.screenshot(path=str(artifacts / "widget-escaped-html.png"))


def test_deep_link_opens_the_chat_on_a_procedure(browser_page, assistant, settings_for, kb_copy) -> None:
    page = browser_page
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        page.goto(base + "/?p=1.000894")
        page.locator(".mc-bot", has_text="Thủ tục đăng ký kết hôn").wait_for(timeout=15000)
        assert page.locator(".mc-chip", has_text="Hồ sơ").count() == 1
        # The citizen typed nothing: no question bubble, none stored either.
        assert page.locator(".mc-user").count() == 0
        page.reload()
        page.locator(".mc-bot", has_text="Thủ tục đăng ký kết hôn").wait_for(timeout=15000)
        assert page.locator(".mc-user").count() == 0


def test_widget_is_usable_on_a_phone_and_by_keyboard(browser_page, assistant, settings_for, kb_copy, artifacts) -> None:
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 800})
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        page.goto(base + "/")
        launcher = page.get_by_role("button", name="Mở Trợ lý Một cửa")
        launcher.focus()
        page.keyboard.press("Enter")
        panel = page.get_by_role("dialog", name="Trợ lý Một cửa")
        panel.wait_for()
        box = panel.bounding_box()
        assert box is not None and box["width"] >= 380  # full screen on a phone
        page.keyboard.type("xin chào")
        page.keyboard.press("Enter")
        page.locator(".mc-bot", has_text="Xin chào! Tôi là trợ lý").nth(1).wait_for(timeout=15000)
        page.screenshot(path=str(artifacts / "widget-phone.png"))
        page.keyboard.press("Escape")
        assert launcher.get_attribute("aria-expanded") == "false"


def test_html_in_a_staff_answer_is_shown_as_text(browser_page, assistant, settings_for, kb_copy) -> None:
    from knowledge.editing import save_faq

    answer = '<b>Mang giấy hẹn</b> <img src=x onerror="alert(2)">'
    save_faq(
        kb_copy,
        None,
        {"questions": ["quên giấy hẹn thì làm sao"], "answer": answer, "procedure": None, "active": True},
        "lan",
    )
    assistant.refresh()
    page = browser_page
    dialogs = watch_dialogs(page)
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        ask(page, base, "quên giấy hẹn thì làm sao")
        page.locator(".mc-bot", has_text="<b>Mang giấy hẹn</b>").wait_for(timeout=15000)
        assert page.locator(".mc-log b, .mc-log img").count() == 0
        assert dialogs == []


PHONE = {"width": 390, "height": 844}
WIDGET_LINES = 12


def bubble_metrics(page, locator) -> dict:
    """Where a bubble sits in the chat log and how many lines it draws."""
    return locator.evaluate(
        """(b) => {
          const log = document.querySelector('.mc-log').getBoundingClientRect();
          const r = b.getBoundingClientRect();
          const cs = getComputedStyle(b);
          const inner = r.height - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
          return {top: r.top - log.top, bottom: r.bottom - log.top, logHeight: log.height,
                  lines: Math.round(inner / parseFloat(cs.lineHeight))};
        }"""
    )


def test_birth_documents_fit_the_first_phone_screen(browser_page, assistant, settings_for, kb_copy, artifacts) -> None:
    page = browser_page
    page.set_viewport_size(PHONE)
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        ask(page, base, "làm giấy khai sinh cần gì")
        answer = page.locator(".mc-bot", has_text="Hồ sơ đăng ký khai sinh")
        answer.wait_for(timeout=15000)
        page.wait_for_timeout(300)
        m = bubble_metrics(page, answer)
        proof = bubble_metrics(page, answer.get_by_text("Giấy chứng sinh"))
        page.screenshot(path=str(artifacts / "widget-phone-birth-documents.png"))
        assert m["top"] >= 0 and m["bottom"] <= m["logHeight"], m  # the whole answer on the first screen
        assert 0 <= proof["top"] < proof["bottom"] <= m["logHeight"], proof
        assert m["lines"] <= WIDGET_LINES, m
        assert answer.get_by_role("link", name="trang thủ tục 1.001193").count() == 1


def test_a_long_answer_is_shown_from_its_start(browser_page, assistant, settings_for, kb_copy, artifacts) -> None:
    from knowledge.editing import save_faq

    long_answer = "\n".join(f"Bước {i}: mang theo giấy hẹn và giấy tờ tùy thân đến quầy số {i}." for i in range(1, 41))
    save_faq(
        kb_copy,
        None,
        {"questions": ["quên giấy hẹn thì làm sao"], "answer": long_answer, "procedure": None, "active": True},
        "lan",
    )
    assistant.refresh()
    page = browser_page
    page.set_viewport_size(PHONE)
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        ask(page, base, "quên giấy hẹn thì làm sao")
        answer = page.locator(".mc-bot", has_text="Bước 1:")
        answer.wait_for(timeout=15000)
        page.wait_for_timeout(300)
        m = bubble_metrics(page, answer)
        page.screenshot(path=str(artifacts / "widget-phone-long-answer.png"))
        assert m["bottom"] > m["logHeight"]  # longer than the screen...
        assert 0 <= m["top"] <= 16, m  # ...and read from its first line, not its end
        page.reload()
        answer.wait_for(timeout=15000)
        assert 0 <= bubble_metrics(page, answer)["top"] <= 16


def slow(app, seconds: float):
    """The app behind a server that takes its time over each chat message."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/webhooks/rest/webhook":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapped


def test_a_message_typed_while_answering_is_queued_and_sent(
    browser_page, assistant, settings_for, kb_copy, artifacts
) -> None:
    page = browser_page
    app = create_app(settings_for(kb_copy), assistant)
    with serve(slow(app, 1.0)) as base:
        ask(page, base, "đăng ký kết hôn cần giấy tờ gì")
        page.locator(".mc-typing").wait_for(state="visible", timeout=5000)
        box = page.get_by_label("Nhập câu hỏi")
        box.fill("lệ phí bao nhiêu")
        box.press("Enter")
        page.locator(".mc-bot", has_text="Hồ sơ đăng ký kết hôn").wait_for(timeout=20000)
        page.locator(".mc-bot", has_text="Phí, lệ phí thủ tục đăng ký kết hôn").wait_for(timeout=20000)
        users = page.locator(".mc-user").all_inner_texts()
        assert users == ["đăng ký kết hôn cần giấy tờ gì", "lệ phí bao nhiêu"]
        page.screenshot(path=str(artifacts / "widget-queued.png"))


def test_empty_chat_greets_with_the_most_asked_procedures(
    browser_page, assistant, settings_for, kb_copy, full_sqlite
) -> None:
    from bot import payloads
    from bot.types import IncomingMessage
    from knowledge.repository import Repository

    names = {p.code: p.name for p in Repository(full_sqlite).catalog()}
    page = browser_page
    page.set_viewport_size(PHONE)
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        page.goto(base + "/")
        page.get_by_role("button", name="Mở Trợ lý Một cửa").click()
        page.locator(".mc-bot", has_text="Xin chào").wait_for(timeout=15000)
        chips = page.locator(".mc-chip")
        chips.first.wait_for(timeout=15000)
        assert page.locator(".mc-user").count() == 0
        titles = chips.all_inner_texts()
        assert any("khai sinh" in t.lower() for t in titles), titles
        for title, payload in zip(titles, chips.evaluate_all("cs => cs.map(c => c.title)"), strict=True):
            assert title == payload  # the chip shows its whole title
        buttons = assistant.respond(IncomingMessage("web", "probe", payloads.make("greet"))).replies[0].buttons
        for b in buttons:
            code = payloads.parse(b.payload)[1]["procedure"]
            name = names[code].removeprefix("Thủ tục ")
            shown = b.title.removesuffix("…")
            assert name.lower().startswith(shown.lower()), (b.title, name)
            rest = name[len(shown) :]
            assert rest == "" or rest[0] in " ,;", (b.title, name)  # never cut inside a word
        first = titles[0]
        chips.first.click()
        page.locator(".mc-user").first.wait_for(timeout=15000)
        assert page.locator(".mc-user").first.inner_text() == first
