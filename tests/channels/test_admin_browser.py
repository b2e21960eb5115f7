"""The admin pages in headless Chromium: log in, change a fee, see the assistant use it;
screenshots of the dashboard and the inbox are kept as test artifacts."""

from __future__ import annotations

import httpx
import pytest

from channels.web.app import create_app
from knowledge import staff
from tests.live_server import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = pytest.mark.browser
PASSWORD = "mat-khau-du-dai-123"


def test_staff_change_a_fee_and_the_assistant_answers_with_it(assistant, settings_for, kb_copy, artifacts) -> None:
    from playwright.sync_api import sync_playwright

    staff.create_user(kb_copy, "lan", PASSWORD, "editor")
    app = create_app(settings_for(kb_copy), assistant, admin=True)
    with serve(app) as base, sync_playwright() as p:
        # some traffic for the dashboard and the inbox
        for sender, text in [
            ("a", "làm giấy khai sinh cần gì"),
            ("b", "lệ phí đăng ký kết hôn"),
            ("c", "xin giấy phép nuôi chim yến"),
            ("d", "xin giay phep nuoi chim yen trong nha"),
            ("e", "cho tôi gặp cán bộ"),
        ]:
            httpx.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=10)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{base}/admin")
        page.get_by_label("Tên đăng nhập").fill("lan")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_text("Số câu hỏi theo ngày").wait_for()
        page.screenshot(path=str(artifacts / "admin-dashboard.png"), full_page=True)

        page.goto(f"{base}/admin/inbox")
        page.locator("strong", has_text="chim").first.wait_for()
        page.screenshot(path=str(artifacts / "admin-inbox.png"), full_page=True)

        page.goto(f"{base}/admin/procedures/1.000894")
        fee = page.locator('textarea[name="ch-2-fee_text"]')
        fee.fill("Lệ phí 30.000 đồng (mức thí điểm của phường)")
        page.locator('input[name="ch-2-fee_amount"]').fill("30000")
        page.get_by_role("button", name="Lưu thay đổi").click()
        page.get_by_text("Đã lưu").wait_for()
        browser.close()
        replies = httpx.post(
            f"{base}/webhooks/rest/webhook",
            json={"sender": "f", "message": "lệ phí đăng ký kết hôn bao nhiêu"},
            timeout=10,
        ).json()
    text = replies[0]["text"]
    assert "Trực tiếp: 30.000 đồng (mức thí điểm của phường)" in text
