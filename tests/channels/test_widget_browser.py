"""The chat widget in headless Chromium (Debian's package): ask, click a quick reply, reload,
and check that a message with HTML is shown as text and runs nothing."""

from __future__ import annotations

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
        page.locator(".mc-bot", has_text="Xin chào! Tôi là trợ lý").wait_for(timeout=15000)
        page.screenshot(path=str(artifacts / "widget-phone.png"))
        page.keyboard.press("Escape")
        assert launcher.get_attribute("aria-expanded") == "false"


def test_html_in_a_staff_answer_is_shown_as_text(browser_page, assistant, settings_for, kb_copy) -> None:
    from knowledge.editing import save_faq

    answer = '<b>Mang giấy hẹn</b> <img src=x onerror="alert(2)">'
    save_faq(kb_copy, None, {"questions": ["quên giấy hẹn thì làm sao"], "answer": answer, "procedure": None,
                             "active": True}, "lan")
    assistant.refresh()
    page = browser_page
    dialogs = watch_dialogs(page)
    app = create_app(settings_for(kb_copy), assistant)
    with serve(app) as base:
        ask(page, base, "quên giấy hẹn thì làm sao")
        page.locator(".mc-bot", has_text="<b>Mang giấy hẹn</b>").wait_for(timeout=15000)
        assert page.locator(".mc-log b, .mc-log img").count() == 0
        assert dialogs == []
