"""Staff pages: permissions, CSRF, version conflicts, audit revert, import/export, inbox,
dashboard, QR codes, and that edits reach the assistant without a restart."""

from __future__ import annotations

import io
import re
import time

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from bot.assistant import Assistant
from channels.web.app import create_app
from knowledge import staff
from knowledge.models import AuditEntry, InboxItem
from knowledge.repository import Repository

PASSWORD = "mat-khau-du-dai-123"


@pytest.fixture
def admin_app(assistant, settings_for, kb_copy):
    staff.create_user(kb_copy, "lan", PASSWORD, "editor")
    staff.create_user(kb_copy, "quan", PASSWORD, "admin")
    return create_app(settings_for(kb_copy), assistant, admin=True)


def client_for(app) -> TestClient:
    return TestClient(app, base_url="http://testserver")


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(app, username: str = "lan", password: str = PASSWORD) -> tuple[TestClient, str]:
    c = client_for(app)
    token = csrf_of(c.get("/admin/login").text)
    r = c.post("/admin/login", data={"csrf": token, "username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    page = c.get("/admin")
    return c, csrf_of(page.text)


def edit_fields(c: TestClient, code: str) -> dict[str, str]:
    html = c.get(f"/admin/procedures/{code}").text
    fields: dict[str, str] = {}
    for m in re.finditer(r'<input type="(?:hidden|text|number)"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields[m.group(1)] = m.group(2).replace("&#34;", '"').replace("&amp;", "&")
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[m.group(1)] = m.group(2).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', m.group(2))
        fields[m.group(1)] = chosen.group(1) if chosen else ""
    if re.search(r'name="active" checked', html):
        fields["active"] = "on"
    return fields


def ask(app, text: str, sender: str = "citizen") -> str:
    with client_for(app) as c:
        replies = c.post("/webhooks/rest/webhook", json={"sender": sender, "message": text}).json()
    return "\n".join(r["text"] for r in replies)


def test_anonymous_users_see_nothing(admin_app) -> None:
    c = client_for(admin_app)
    for path in [
        "/admin",
        "/admin/procedures/1.001193",
        "/admin/inbox",
        "/admin/faqs",
        "/admin/users",
        "/admin/export.xlsx",
        "/admin/dashboard.csv",
        "/admin/qr",
        "/admin/audit",
    ]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/login", path
    r = c.post("/admin/procedures/1.001193", data={"name": "x"}, follow_redirects=False)
    assert r.status_code == 303


def test_editor_cannot_manage_users_but_admin_can(admin_app) -> None:
    c, token = login(admin_app, "lan")
    assert c.get("/admin/users").status_code == 403
    r = c.post("/admin/users", data={"csrf": token, "username": "x", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403
    a, token = login(admin_app, "quan")
    assert a.get("/admin/users").status_code == 200
    r = a.post(
        "/admin/users",
        data={"csrf": token, "username": "hoa", "password": PASSWORD, "role": "editor"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "hoa" in a.get("/admin/users").text


def test_forms_without_a_valid_csrf_token_are_rejected(admin_app, kb_copy) -> None:
    c, _token = login(admin_app)
    fields = edit_fields(c, "1.000894")
    fields["popularity"] = "7"
    for bad in ({k: v for k, v in fields.items() if k != "csrf"}, {**fields, "csrf": "forged"}):
        r = c.post("/admin/procedures/1.000894", data=bad)
        assert r.status_code == 403 and "CSRF" in r.text
    assert Repository(kb_copy).procedure("1.000894").popularity == 98  # type: ignore[union-attr]


def test_second_save_of_the_same_record_is_refused(admin_app, kb_copy) -> None:
    first, _ = login(admin_app, "lan")
    second, _ = login(admin_app, "quan")
    a = edit_fields(first, "1.000894")
    b = edit_fields(second, "1.000894")
    a["ch-0-fee_text"] = "Miễn lệ phí (sửa lần 1)"
    assert first.post("/admin/procedures/1.000894", data=a, follow_redirects=False).status_code == 303
    b["ch-0-fee_text"] = "Sửa lần 2 đè lên"
    r = second.post("/admin/procedures/1.000894", data=b)
    assert r.status_code == 409 and "vừa được sửa bởi lan" in r.text
    p = Repository(kb_copy).procedure("1.000894")
    assert p is not None and p.channels[0].fee_text == "Miễn lệ phí (sửa lần 1)"


def test_edit_reaches_the_assistant_without_restart_and_can_be_reverted(
    admin_app, kb_copy, settings_for, nlu_engine
) -> None:
    other_worker = Assistant(settings_for(kb_copy), kb_copy, nlu_engine)
    assert "Miễn phí" in other_worker.handle(_msg("lệ phí đăng ký kết hôn"))[0].text
    c, token = login(admin_app)
    fields = edit_fields(c, "1.000894")
    for i in range(3):
        fields[f"ch-{i}-fee_amount"] = "25000"
        fields[f"ch-{i}-fee_text"] = "25.000 đồng (thí điểm)"
    assert c.post("/admin/procedures/1.000894", data=fields, follow_redirects=False).status_code == 303
    assert "25.000 đồng" in ask(admin_app, "lệ phí đăng ký kết hôn bao nhiêu")
    time.sleep(1.1)  # another worker notices within its refresh interval
    assert "25.000 đồng" in other_worker.handle(_msg("lệ phí đăng ký kết hôn"))[0].text
    with kb_copy.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_key == "1.000894")).one()
        assert entry.username == "lan" and entry.before["channels"][0]["fee_amount"] == 0
    r = c.post(f"/admin/audit/{entry.id}/revert", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Miễn phí" in ask(admin_app, "lệ phí đăng ký kết hôn bao nhiêu", sender="another")


def _msg(text: str):
    from bot.types import IncomingMessage

    return IncomingMessage("web", f"w-{time.monotonic()}", text)


def test_excel_import_is_all_or_nothing(admin_app, kb_copy) -> None:
    c, token = login(admin_app)
    content = c.get("/admin/export.xlsx", params={"codes": "1.001193,1.000894"}).content
    wb = load_workbook(io.BytesIO(content))
    sheet = wb["Thủ tục"]
    assert [cell.value for cell in sheet[1]][:2] == ["Mã thủ tục", "Tên thủ tục"]
    assert sheet["A2"].value == "1.000894" and sheet["A3"].value == "1.001193"
    sheet["D2"] = 55  # a valid change on row 2
    sheet["D3"] = "rất cao"  # a wrong type on row 3
    wb["Giấy tờ"]["C2"] = "hai"
    bad = io.BytesIO()
    wb.save(bad)
    r = c.post("/admin/import", data={"csrf": token}, files={"file": ("sua.xlsx", bad.getvalue())})
    assert r.status_code == 400
    assert "Chưa áp dụng gì" in r.text and "Mức phổ biến" in r.text and "bản chính" in r.text
    repo = Repository(kb_copy)
    assert repo.procedure("1.000894").popularity == 98  # type: ignore[union-attr]
    sheet["D3"] = 60
    wb["Giấy tờ"]["C2"] = 1
    good = io.BytesIO()
    wb.save(good)
    r = c.post("/admin/import", data={"csrf": token}, files={"file": ("sua.xlsx", good.getvalue())})
    assert r.status_code == 200 and "Đã nhập: 2 thủ tục" in r.text
    assert repo.procedure("1.000894").popularity == 55  # type: ignore[union-attr]
    assert repo.procedure("1.001193").popularity == 60  # type: ignore[union-attr]


def test_round_trip_changes_nothing(admin_app) -> None:
    c, token = login(admin_app)
    for fmt in ("xlsx", "yaml"):
        content = c.get(f"/admin/export.{fmt}", params={"codes": "1.001193,2.000815"}).content
        r = c.post("/admin/import", data={"csrf": token}, files={"file": (f"x.{fmt}", content)})
        assert r.status_code == 200 and "Đã nhập: 0 thủ tục và 0 câu hỏi" in r.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("thieu-cot.xlsx", None, "thiếu cột Mã thủ tục"),
        ("hong.xlsx", b"PK\x03\x04 not really a workbook", "Không đọc được tệp Excel"),
        ("sai.yaml", b"procedures: [\n", "Không đọc được tệp YAML"),
        ("rong.yaml", b"", "Tệp rỗng"),
    ],
)
def test_bad_spreadsheets_are_explained(admin_app, name: str, content: bytes | None, message: str) -> None:
    c, token = login(admin_app)
    if content is None:
        from openpyxl import Workbook

        wb = Workbook()
        wb.active.title = "Thủ tục"
        wb.active.append(["Tên thủ tục", "Mức phổ biến"])
        wb.active.append(["Đăng ký khai sinh", 5])
        buf = io.BytesIO()
        wb.save(buf)
        content = buf.getvalue()
    r = c.post("/admin/import", data={"csrf": token}, files={"file": (name, content)})
    assert r.status_code == 400 and message in r.text


def test_twenty_megabyte_upload_is_refused(admin_app) -> None:
    c, token = login(admin_app)
    r = c.post("/admin/import", data={"csrf": token}, files={"file": ("to.xlsx", b"0" * (20 * 1024 * 1024))})
    assert r.status_code == 413


def test_wrong_password_and_rate_limit(admin_app) -> None:
    c = client_for(admin_app)
    for _ in range(5):
        token = csrf_of(c.get("/admin/login").text)
        r = c.post("/admin/login", data={"csrf": token, "username": "lan", "password": "sai-mat-khau-roi"})
        assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
    token = csrf_of(c.get("/admin/login").text)
    r = c.post("/admin/login", data={"csrf": token, "username": "lan", "password": PASSWORD})
    assert r.status_code == 429 and "quá nhiều lần" in r.text


def test_session_cookie_is_protected(admin_app) -> None:
    c = client_for(admin_app)
    r = c.get("/admin/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    c.cookies.set("motcua_admin", "forged.value.here", path="/admin")
    assert c.get("/admin", follow_redirects=False).status_code == 303


def test_html_in_an_faq_answer_stays_text(admin_app) -> None:
    c, token = login(admin_app)
    answer = '<b>Mang theo</b> <script>alert("x")</script> giấy hẹn'
    r = c.post(
        "/admin/faqs",
        data={
            "csrf": token,
            "questions": "quên giấy hẹn thì làm sao",
            "answer": answer,
            "procedure": "",
            "active": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert ask(admin_app, "quên giấy hẹn thì làm sao") == answer


def test_inbox_groups_and_one_step_alias(admin_app, kb_copy) -> None:
    ask(admin_app, "xin giấy phép nuôi chim yến trong nhà", sender="a")
    ask(admin_app, "xin giay phep nuoi chim yen", sender="b")
    c, token = login(admin_app)
    html = c.get("/admin/inbox").text
    assert "nuôi chim yến" in html and "2 câu tương tự" in html
    ids = re.search(r'name="ids" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = c.post(
        "/admin/inbox/alias",
        data={"csrf": token, "ids": ids, "code": "1.001612", "alias": "nuôi chim yến"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with kb_copy.sessions() as s:
        assert all(i.handled_by == "lan" for i in s.scalars(select(InboxItem)))
    assert "nuôi chim yến" in Repository(kb_copy).procedure("1.001612").aliases  # type: ignore[union-attr]
    assert "Không có câu hỏi nào đang chờ" in c.get("/admin/inbox").text


def test_dashboard_counts_and_csv(admin_app) -> None:
    ask(admin_app, "làm giấy khai sinh cần gì", sender="d1")
    with client_for(admin_app) as w:
        replies = w.post("/webhooks/rest/webhook", json={"sender": "d2", "message": "lệ phí kết hôn"}).json()
        useful = next(b["payload"] for b in replies[-1]["buttons"] if b["title"] == "Hữu ích")
        w.post("/webhooks/rest/webhook", json={"sender": "d2", "message": useful})
    ask(admin_app, "hồ sơ thông báo tập trung kinh tế gồm gì", sender="d3")
    c, _ = login(admin_app)
    html = c.get("/admin").text
    assert ">3<" in html.replace(" ", "") and "33.3%" in html and "100%" in html and "<svg" in html
    csv_text = c.get("/admin/dashboard.csv").text
    assert "Tổng số câu hỏi,3" in csv_text and "1.001193" in csv_text


def test_qr_pages(admin_app) -> None:
    c, _ = login(admin_app)
    page = c.get("/admin/qr/1.001193").text
    assert "<svg" in page and "/?p=1.001193" in page
    sheet = c.get("/admin/qr").text
    assert sheet.count("<svg") >= 4 and "Thủ tục đăng ký khai sinh" in sheet
