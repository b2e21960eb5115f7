"""The staff pages in headless Chromium, as a desk officer uses them: one test per data bug
(a fee typed "5.000", a renamed spreadsheet column, a revert over a colleague's edit, an alias
from the inbox), and the edit, audit and inbox pages at 1366×768 and 390×844 with
screenshots kept in var/test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.web.app import create_app
from knowledge import staff
from knowledge.repository import Repository
from tests.channels.admin_support import ADMIN_PASSWORD, PASSWORD, column_of, saved, workbook
from tests.live_server import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = pytest.mark.browser
MARRIAGE = "1.000894"
SIZES = [pytest.param((1366, 768), id="1366x768"), pytest.param((390, 844), id="390x844")]


@pytest.fixture
def site(assistant, settings_for, kb_copy) -> Iterator[str]:
    staff.create_user(kb_copy, "lan", PASSWORD, "editor")
    staff.create_user(kb_copy, "quan", ADMIN_PASSWORD, "admin")
    with serve(create_app(settings_for(kb_copy), assistant, admin=True)) as base:
        yield base


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def signed_in(
    browser: Any, base: str, user: str = "lan", password: str = PASSWORD, size: tuple[int, int] = (1366, 768)
) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/admin")
    page.get_by_label("Tên đăng nhập").fill(user)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Số câu hỏi theo ngày").wait_for()
    try:
        yield page
    finally:
        context.close()


def ask(base: str, sender: str, text: str) -> list[dict[str, Any]]:
    r = httpx.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=20)
    return list(r.json())


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


# --- 1. a fee typed with a thousands separator -----------------------------------------------------


def test_a_fee_typed_5_000_is_5000_dong_and_5_5_is_refused(site, chromium, kb_copy, artifacts: Path) -> None:
    with signed_in(chromium, site) as page:
        page.goto(f"{site}/admin/procedures/{MARRIAGE}")
        page.locator('input[name="ch-2-fee_amount"]').fill("5.000")
        page.locator('textarea[name="ch-2-fee_text"]').fill("Lệ phí 5.000 đồng (mức thí điểm của phường)")
        page.get_by_role("button", name="Lưu thay đổi").click()
        page.get_by_text("Đã lưu").wait_for()
        assert page.locator('input[name="ch-2-fee_amount"]').input_value() == "5.000"
        page.locator('input[name="ch-1-fee_amount"]').fill("5,5")
        page.get_by_role("button", name="Lưu thay đổi").click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        text = alert.inner_text()
        assert "Cách thức 2 (Dịch vụ bưu chính) — Lệ phí (đồng): “5,5” không phải một số tiền hợp lệ" in text
        assert page.locator('input[name="ch-1-fee_amount"]').input_value() == "5,5"  # kept to correct
        page.screenshot(path=str(artifacts / "admin-fee-refused.png"), full_page=True)
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and [c.fee_amount for c in p.channels] == [0, 0, 5000]
    reply = ask(site, "f", "lệ phí đăng ký kết hôn bao nhiêu")[0]["text"]
    assert "Trực tiếp: 5.000 đồng (mức thí điểm của phường)" in reply


# --- 2. a renamed spreadsheet column ----------------------------------------------------------------


def test_a_renamed_column_refuses_the_file_and_vietnamese_words_import(
    site, chromium, kb_copy, artifacts: Path, tmp_path: Path
) -> None:
    with signed_in(chromium, site) as page:
        page.goto(f"{site}/admin/transfer")
        page.get_by_label("Mã thủ tục cần xuất").fill(MARRIAGE)
        with page.expect_download() as download:
            page.get_by_role("button", name="Tải tệp Excel (.xlsx)").click()
        exported = Path(download.value.path()).read_bytes()
        wb = workbook(exported)
        docs, ways = wb["Giấy tờ"], wb["Cách thức"]
        docs.cell(row=1, column=column_of(docs, "Bản sao")).value = "Số bản sao"  # as a colleague might
        ways.cell(row=2, column=column_of(ways, "Hình thức nộp")).value = "Trực tiếp"
        ways.cell(row=2, column=column_of(ways, "Lệ phí (đồng)")).value = "5.000"
        renamed = tmp_path / "thu-tuc-sua.xlsx"
        renamed.write_bytes(saved(wb))
        page.get_by_label("Tệp cần nhập").set_input_files(str(renamed))
        page.get_by_role("button", name="Kiểm tra và nhập").click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "Chưa áp dụng gì" in alert.inner_text()
        assert "Trang “Giấy tờ”: cột D “Số bản sao” không có trong mẫu" in alert.inner_text()
        assert "thiếu cột “Bản sao”" in alert.inner_text()
        page.screenshot(path=str(artifacts / "admin-import-renamed-column.png"), full_page=True)
        p = Repository(kb_copy).procedure(MARRIAGE)
        assert p is not None and p.channels[0].channel.value == "truc_tuyen" and p.channels[0].fee_amount == 0

        docs.cell(row=1, column=column_of(docs, "Số bản sao")).value = "Bản sao"
        fixed = tmp_path / "thu-tuc-sua-lai.xlsx"
        fixed.write_bytes(saved(wb))
        page.get_by_label("Tệp cần nhập").set_input_files(str(fixed))
        page.get_by_role("button", name="Kiểm tra và nhập").click()
        page.get_by_text("Đã nhập: 1 thủ tục").wait_for()
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[0].channel.value == "truc_tiep" and p.channels[0].fee_amount == 5000
    before = workbook(exported)["Giấy tờ"]
    copies = [before.cell(row=r, column=column_of(before, "Bản sao")).value for r in range(2, before.max_row + 1)]
    assert [d.copies for d in p.documents] == copies  # no copy count lost


# --- 3. a revert over a colleague's later edit ------------------------------------------------------


def _set_and_save(page: Any, base: str, field: str, value: str) -> None:
    page.goto(f"{base}/admin/procedures/{MARRIAGE}")
    page.locator(f'[name="{field}"]').fill(value)
    page.get_by_role("button", name="Lưu thay đổi").click()
    page.get_by_text("Đã lưu").wait_for()


def _revert_oldest(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/audit")
    page.get_by_role("button", name=re.compile("Hoàn tác thay đổi số")).last.click()


def test_revert_never_undoes_a_colleagues_later_change(site, chromium, kb_copy, artifacts: Path) -> None:
    with signed_in(chromium, site) as lan, signed_in(chromium, site, "quan", ADMIN_PASSWORD) as quan:
        _set_and_save(lan, site, "ch-0-fee_amount", "10.000")
        _set_and_save(quan, site, "ch-0-fee_amount", "15.000")  # the same field, later
        _revert_oldest(lan, site)
        alert = lan.get_by_role("alert")
        alert.wait_for()
        assert "Không hoàn tác được" in alert.inner_text() and "quan" in alert.inner_text()
        assert "Cách thức 1 (Trực tuyến) — Lệ phí (đồng)" in alert.inner_text()
        lan.screenshot(path=str(artifacts / "admin-revert-refused.png"), full_page=True)
        assert Repository(kb_copy).procedure(MARRIAGE).channels[0].fee_amount == 15000  # type: ignore[union-attr]

        _set_and_save(lan, site, "popularity", "33")
        _set_and_save(quan, site, "ch-1-fee_amount", "2.000")  # another field, later
        lan.goto(f"{site}/admin/audit")
        lan.locator("tr", has_text="Mức phổ biến").get_by_role("button", name=re.compile("Hoàn tác")).click()
        lan.get_by_text("Đã hoàn tác thay đổi số").wait_for()
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.popularity == 98 and p.channels[1].fee_amount == 2000


# --- 4. an alias from the inbox ---------------------------------------------------------------------


def test_an_alias_from_the_inbox_handles_only_what_it_answers(site, chromium, kb_copy, artifacts: Path) -> None:
    ask(site, "a", "xin giấy phép nuôi chim yến trong nhà")
    ask(site, "b", "xin giay phep nuoi chim yen")
    ask(site, "c", "muốn xin giấy phép nuôi chim cảnh")
    with signed_in(chromium, site) as page:
        page.goto(f"{site}/admin/inbox")
        group = page.locator("section.inbox-group", has_text="3 câu tương tự")
        assert group.locator('input[type="radio"][name="code"]').count() >= 3  # the assistant's candidates
        search = group.get_by_label("Tìm thủ tục khác")
        search.fill("thành lập hộ kinh doanh")
        group.locator("datalist option").first.wait_for(state="attached")
        option = group.locator("datalist option").first.get_attribute("value") or ""
        assert option.startswith("1.001612 — ")
        search.fill(option)
        group.get_by_label("Tên gọi người dân dùng").fill("nuôi chim yến")
        group.get_by_role("button", name="Thêm tên gọi").click()
        status = page.get_by_role("status")
        status.wait_for()
        assert "Đã thêm tên gọi “nuôi chim yến” cho thủ tục 1.001612" in status.inner_text()
        assert "2/3 câu hỏi" in status.inner_text() and "1 câu vẫn chờ" in status.inner_text()
        assert page.locator("strong", has_text="muốn xin giấy phép nuôi chim cảnh").count() == 1
        page.screenshot(path=str(artifacts / "admin-inbox-after-alias.png"), full_page=True)
    assert "nuôi chim yến" in Repository(kb_copy).procedure("1.001612").aliases  # type: ignore[union-attr]


# --- the pages at both sizes --------------------------------------------------------------------------

_FITS = """(select) => {
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = getComputedStyle(select).font;
  const widest = Math.max(...[...select.options].map(o => ctx.measureText(o.text).width));
  return select.clientWidth >= widest + 20;
}"""


@pytest.mark.parametrize("size", SIZES)
def test_edit_audit_and_inbox_pages_fit_the_screen(site, chromium, artifacts: Path, size: tuple[int, int]) -> None:
    ask(site, "a", "xin giấy phép nuôi chim yến trong nhà")
    ask(site, "b", "cho tôi gặp cán bộ")
    name = f"{size[0]}x{size[1]}"
    with signed_in(chromium, site, size=size) as page:
        _set_and_save(page, site, "ch-0-fee_amount", "5.000")
        assert no_sideways_scroll(page), "edit page scrolls sideways"
        selects = page.locator('select[name$="-channel"], select[name$="-group"]')
        assert all(selects.nth(i).evaluate(_FITS) for i in range(selects.count())), "a select cuts its words"
        paper = page.locator('textarea[name="doc-0-name"]').bounding_box()
        assert paper is not None and paper["width"] >= (300 if size[0] > 1000 else 0.75 * size[0])
        page.screenshot(path=str(artifacts / f"admin-edit-{name}.png"), full_page=True)

        page.goto(f"{site}/admin/audit")
        assert "Lệ phí (đồng)" in page.inner_text("main") and "5.000 đồng" in page.inner_text("main")
        assert no_sideways_scroll(page), "audit page scrolls sideways"
        page.screenshot(path=str(artifacts / f"admin-audit-{name}.png"), full_page=True)

        page.goto(f"{site}/admin/inbox")
        page.locator("strong", has_text="chim yến").first.wait_for()
        assert no_sideways_scroll(page), "inbox scrolls sideways"
        page.screenshot(path=str(artifacts / f"admin-inbox-{name}.png"), full_page=True)

        page.goto(f"{site}/admin")
        assert no_sideways_scroll(page), "dashboard scrolls sideways"
        page.screenshot(path=str(artifacts / f"admin-dashboard-{name}.png"), full_page=True)


def test_logging_out_ends_the_session_in_the_browser(site, chromium) -> None:
    with signed_in(chromium, site) as page:
        cookies = page.context.cookies()
        page.get_by_role("button", name="Đăng xuất").click()
        page.get_by_role("button", name="Đăng nhập").wait_for()
        replay = chromium.new_context()
        replay.add_cookies(cookies)
        again = replay.new_page()
        again.goto(f"{site}/admin/procedures/{MARRIAGE}")
        assert again.url.endswith("/admin/login")
        replay.close()
