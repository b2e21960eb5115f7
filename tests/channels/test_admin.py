"""Staff pages over HTTP: permissions, form tokens, version conflicts, money typed by staff,
strict Vietnamese spreadsheets, hostile uploads, revert without undoing a colleague's edit,
the inbox, sessions and the login throttle, time zones, and no English on any page."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select, update

from bot.assistant import Assistant
from channels.web.admin.errors import FormExpired, LoginRequired, UploadTooLarge, status_for
from channels.web.app import create_app
from knowledge import staff, transfer
from knowledge.errors import ConflictError, DatabaseError, NotFoundError, UsageError
from knowledge.fields import CHANNEL_FIELDS, DOCUMENT_FIELDS, InvalidRecord
from knowledge.models import AuditEntry, Conversation, InboxItem, LoginAttempt, Message, StaffSession
from knowledge.repository import Repository
from knowledge.types import ChannelInfo, DocumentInfo, channel_row, document_row
from tests.channels.admin_support import (
    ADMIN_PASSWORD,
    PASSWORD,
    ask,
    client_for,
    column_of,
    csrf_of,
    edit_fields,
    login,
    message,
    rows_of,
    saved,
    workbook,
)

MARRIAGE = "1.000894"  # three channels, fee 0
BIRTH = "1.001193"


@pytest.fixture
def admin_app(assistant, settings_for, kb_copy):
    staff.create_user(kb_copy, "lan", PASSWORD, "editor")
    staff.create_user(kb_copy, "quan", ADMIN_PASSWORD, "admin")
    return create_app(settings_for(kb_copy), assistant, admin=True)


def save(c, code: str, fields: dict[str, str]):
    return c.post(f"/admin/procedures/{code}", data=fields, follow_redirects=False)


# --- access -------------------------------------------------------------------------------


def test_anonymous_users_see_nothing(admin_app) -> None:
    c = client_for(admin_app)
    for path in [
        "/admin",
        f"/admin/procedures/{BIRTH}",
        "/admin/procedures/suggest?q=khai",
        "/admin/inbox",
        "/admin/faqs",
        "/admin/users",
        "/admin/export.xlsx",
        "/admin/dashboard.csv",
        "/admin/qr",
        "/admin/audit",
        "/admin/password",
    ]:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/admin/login", path
    for path in [f"/admin/procedures/{BIRTH}", "/admin/logout", "/admin/import", "/admin/audit/1/revert"]:
        assert c.post(path, data={"name": "x"}, follow_redirects=False).status_code == 303, path


def test_editor_cannot_manage_users_but_admin_can(admin_app) -> None:
    c, token = login(admin_app, "lan")
    assert c.get("/admin/users").status_code == 403
    r = c.post("/admin/users", data={"csrf": token, "username": "x", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 403
    a, token = login(admin_app, "quan", ADMIN_PASSWORD)
    page = a.get("/admin/users").text
    assert "Quản trị viên" in page and "Biên tập viên" in page
    r = a.post("/admin/users", data={"csrf": token, "username": " Hoa ", "password": PASSWORD, "role": "editor"})
    assert r.status_code == 200 and "Đã tạo tài khoản hoa (Biên tập viên)" in r.text


def test_forms_without_a_valid_token_are_refused(admin_app, kb_copy) -> None:
    c, _token = login(admin_app)
    fields = edit_fields(c, MARRIAGE)
    fields["popularity"] = "7"
    for bad in ({k: v for k, v in fields.items() if k != "csrf"}, {**fields, "csrf": "forged"}):
        r = c.post(f"/admin/procedures/{MARRIAGE}", data=bad)
        assert r.status_code == 403 and "Trang này đã cũ" in r.text
    assert Repository(kb_copy).procedure(MARRIAGE).popularity == 98  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (LoginRequired(), 303),
        (FormExpired(), 403),
        (UploadTooLarge("x"), 413),
        (InvalidRecord([]), 400),
        (UsageError("x"), 400),
        (NotFoundError("x"), 404),
        (ConflictError("x"), 409),
        (DatabaseError("x"), 503),
        (ValueError("x"), 500),
    ],
)
def test_status_follows_the_exception_type(exc: Exception, status: int) -> None:
    assert status_for(exc) == status


# --- editing -----------------------------------------------------------------------------


def test_second_save_is_refused_and_shows_what_was_not_saved(admin_app, kb_copy) -> None:
    first, _ = login(admin_app, "lan")
    second, _ = login(admin_app, "quan", ADMIN_PASSWORD)
    a = edit_fields(first, MARRIAGE)
    b = edit_fields(second, MARRIAGE)
    a["ch-0-fee_text"] = "Miễn lệ phí (sửa lần 1)"
    assert save(first, MARRIAGE, a).status_code == 303
    b["ch-1-fee_amount"] = "20.000"
    r = save(second, MARRIAGE, b)
    assert r.status_code == 409 and "vừa được sửa bởi lan" in r.text
    assert "Lệ phí (đồng)" in r.text and "20.000 đồng" in r.text  # the unsaved change, listed
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[0].fee_text == "Miễn lệ phí (sửa lần 1)" and p.channels[1].fee_amount == 0


def test_edit_reaches_the_assistant_without_restart_and_can_be_reverted(
    admin_app, kb_copy, settings_for, nlu_engine
) -> None:
    import time

    other_worker = Assistant(settings_for(kb_copy), kb_copy, nlu_engine)
    assert "Miễn phí" in other_worker.handle(message("lệ phí đăng ký kết hôn"))[0].text
    c, token = login(admin_app)
    fields = edit_fields(c, MARRIAGE)
    for i in range(3):
        fields[f"ch-{i}-fee_amount"] = "25.000"
        fields[f"ch-{i}-fee_text"] = "25.000 đồng (thí điểm)"
    r = save(c, MARRIAGE, fields)
    assert r.status_code == 303
    assert "Đã lưu" in c.get(r.headers["location"]).text
    assert "25.000 đồng" in ask(admin_app, "lệ phí đăng ký kết hôn bao nhiêu")
    time.sleep(1.1)  # another worker notices within its refresh interval
    assert "25.000 đồng" in other_worker.handle(message("lệ phí đăng ký kết hôn"))[0].text
    with kb_copy.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_key == MARRIAGE)).one()
        assert entry.username == "lan" and entry.before["channels"][0]["fee_amount"] == 0
        assert set(entry.after) == {"code", "channels"}  # only what changed is kept
    r = c.post(f"/admin/audit/{entry.id}/revert", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Đã hoàn tác thay đổi số" in c.get(r.headers["location"]).text
    assert "Miễn phí" in ask(admin_app, "lệ phí đăng ký kết hôn bao nhiêu", sender="another")


@pytest.mark.parametrize("typed", ["5.000", "5,000", "5.000 đồng", "5000", "5.000đ", " 5 000 "])
def test_a_fee_typed_with_thousands_separators_means_5000(admin_app, kb_copy, typed: str) -> None:
    c, _ = login(admin_app)
    fields = edit_fields(c, MARRIAGE)
    fields["ch-0-fee_amount"] = typed
    assert save(c, MARRIAGE, fields).status_code == 303
    assert Repository(kb_copy).procedure(MARRIAGE).channels[0].fee_amount == 5000  # type: ignore[union-attr]
    assert 'value="5.000"' in c.get(f"/admin/procedures/{MARRIAGE}").text


@pytest.mark.parametrize("typed", ["5000.5", "5,5", "abc", "-5000", "5.00", "5.000,5"])
def test_a_fee_that_is_not_a_whole_amount_is_refused(admin_app, kb_copy, typed: str) -> None:
    c, _ = login(admin_app)
    fields = edit_fields(c, MARRIAGE)
    fields["ch-0-fee_amount"] = typed
    fields["popularity"] = "12"
    r = save(c, MARRIAGE, fields)
    assert r.status_code == 400
    assert "Cách thức 1 (Trực tuyến) — Lệ phí (đồng)" in r.text and "Chưa lưu" in r.text
    assert f'value="{typed}"' in r.text  # what was typed stays in the form
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[0].fee_amount == 0 and p.popularity == 98


def test_processing_time_shows_as_typed_not_as_a_float(admin_app) -> None:
    c, _ = login(admin_app)
    page = c.get(f"/admin/procedures/{MARRIAGE}").text
    assert 'name="ch-0-time_value" value="1"' in page and not re.search(r'time_value" value="\d+\.0"', page)


def test_every_stored_channel_and_document_field_is_declared() -> None:
    """A field added to the records is carried by forms, spreadsheets and the audit log only
    once it is declared in knowledge.fields."""
    channel = ChannelInfo(*([None] * len(ChannelInfo.__slots__)))  # type: ignore[arg-type]
    document = DocumentInfo(*([None] * len(DocumentInfo.__slots__)))  # type: ignore[arg-type]
    assert set(channel_row(channel)) == {f.key for f in CHANNEL_FIELDS.fields}
    assert set(document_row(document)) == {f.key for f in DOCUMENT_FIELDS.fields}


# --- spreadsheets -------------------------------------------------------------------------


def export(c, codes: str = f"{BIRTH},{MARRIAGE}") -> bytes:
    r = c.get("/admin/export.xlsx", params={"codes": codes})
    assert r.status_code == 200
    return r.content


def upload(c, token: str, content: bytes, name: str = "sua.xlsx"):
    return c.post("/admin/import", data={"csrf": token}, files={"file": (name, content)})


def test_spreadsheet_speaks_vietnamese_with_drop_down_lists(admin_app) -> None:
    c, _ = login(admin_app)
    wb = workbook(export(c))
    assert wb.sheetnames == ["Thủ tục", "Cách thức", "Giấy tờ", "Hỏi đáp"]
    channels, docs, procs = wb["Cách thức"], wb["Giấy tờ"], wb["Thủ tục"]
    kinds = {channels.cell(row=r, column=column_of(channels, "Hình thức nộp")).value for r in range(2, 8)}
    assert kinds == {"Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính"}
    groups = {docs.cell(row=r, column=column_of(docs, "Nhóm")).value for r in range(2, docs.max_row + 1)}
    assert groups <= {"Phải nộp", "Phải xuất trình", "Lưu ý"} and "Phải nộp" in groups
    assert procs.cell(row=2, column=column_of(procs, "Đang hướng dẫn")).value == "Có"
    for ws, header in ((channels, "Hình thức nộp"), (docs, "Nhóm"), (procs, "Đang hướng dẫn")):
        letter = ws.cell(row=1, column=column_of(ws, header)).column_letter
        lists = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith(f"{letter}2")]
        assert lists and lists[0].type == "list" and lists[0].showErrorMessage, header
        assert ws.freeze_panes == "B2" and ws.auto_filter.ref
    assert docs.column_dimensions["B"].width >= 50  # the paper's name is readable


def _fee_cells(c, token: str, values: list[object]):
    wb = workbook(export(c, MARRIAGE))
    ws = wb["Cách thức"]
    fee = column_of(ws, "Lệ phí (đồng)")
    for row, value in zip(range(2, 5), values, strict=True):
        ws.cell(row=row, column=fee).value = value
    return upload(c, token, saved(wb))


def test_fee_column_reads_thousands_separators(admin_app, kb_copy) -> None:
    c, token = login(admin_app)
    r = _fee_cells(c, token, ["5.000", "5,000 đồng", 5000])
    assert r.status_code == 200 and "Đã nhập: 1 thủ tục" in r.text
    fees = [ch.fee_amount for ch in Repository(kb_copy).procedure(MARRIAGE).channels]  # type: ignore[union-attr]
    assert fees == [5000, 5000, 5000]


def test_fee_column_refuses_what_is_not_a_whole_amount(admin_app, kb_copy) -> None:
    c, token = login(admin_app)
    r = _fee_cells(c, token, ["5000.5", 5000.5, "abc"])
    assert r.status_code == 400
    assert "Trang “Cách thức”, dòng 2, 3 — Lệ phí (đồng): “5000.5” không phải một số tiền hợp lệ" in r.text
    assert "dòng 4 — Lệ phí (đồng): “abc”" in r.text
    assert [ch.fee_amount for ch in Repository(kb_copy).procedure(MARRIAGE).channels] == [0, 0, 0]  # type: ignore[union-attr]


def _rename(ws) -> None:
    ws.cell(row=1, column=column_of(ws, "Bản sao")).value = "Số bản sao"


def _delete(ws) -> None:
    ws.delete_cols(column_of(ws, "Bản sao"))


def _duplicate(ws) -> None:
    ws.cell(row=1, column=ws.max_column + 1).value = "Bản sao"


def _unknown(ws) -> None:
    ws.cell(row=1, column=ws.max_column + 1).value = "Ghi chú"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_rename, "Trang “Giấy tờ”: cột D “Số bản sao” không có trong mẫu"),
        (_delete, "Trang “Giấy tờ”: thiếu cột “Bản sao”"),
        (_duplicate, "Trang “Giấy tờ”: cột “Bản sao” có 2 lần (cột D, H)"),
        (_unknown, "Trang “Giấy tờ”: cột H “Ghi chú” không có trong mẫu"),
    ],
)
def test_a_changed_column_refuses_the_whole_file(admin_app, kb_copy, change, expected: str) -> None:
    c, token = login(admin_app)
    before = Repository(kb_copy).procedure(MARRIAGE)
    wb = workbook(export(c))
    change(wb["Giấy tờ"])
    wb["Thủ tục"]["D2"] = 55  # a valid change elsewhere: not applied either
    r = upload(c, token, saved(wb))
    assert r.status_code == 400 and "Chưa áp dụng gì" in r.text and expected in r.text
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and before is not None and p.popularity == 98 and p.documents == before.documents


def test_errors_give_the_excel_row_and_one_message_per_mistake(admin_app) -> None:
    c, token = login(admin_app)
    wb = workbook(export(c))
    docs = wb["Giấy tờ"]
    group = column_of(docs, "Nhóm")
    birth_rows = rows_of(docs, BIRTH)
    for row in birth_rows:
        docs.cell(row=row, column=group).value = "Phải mang"
    last = docs.max_row
    docs.cell(row=last, column=column_of(docs, "Bản chính")).value = "hai"
    r = upload(c, token, saved(wb))
    assert r.status_code == 400
    assert r.text.count("“Phải mang” không phải một lựa chọn") == 1
    assert f"dòng {birth_rows[0]}, {birth_rows[1]}" in r.text
    assert f"Trang “Giấy tờ”, dòng {last} — Bản chính: cần một số nguyên (đang ghi “hai”)" in r.text


def test_staff_type_vietnamese_words_in_the_spreadsheet(admin_app, kb_copy) -> None:
    c, token = login(admin_app)
    wb = workbook(export(c, MARRIAGE))
    ch, docs = wb["Cách thức"], wb["Giấy tờ"]
    ch.cell(row=2, column=column_of(ch, "Hình thức nộp")).value = "trực tiếp"
    docs.cell(row=2, column=column_of(docs, "Nhóm")).value = "Phải nộp"
    docs.cell(row=2, column=column_of(docs, "Bản sao")).value = 2
    r = upload(c, token, saved(wb))
    assert r.status_code == 200 and "Đã nhập: 1 thủ tục" in r.text
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[0].channel.label == "Trực tiếp"
    assert p.documents[0].group.value == "nop" and p.documents[0].copies == 2


def test_a_file_exported_before_a_colleagues_edit_cannot_undo_it(admin_app, kb_copy) -> None:
    lan, token = login(admin_app)
    content = export(lan, MARRIAGE)
    quan, _ = login(admin_app, "quan", ADMIN_PASSWORD)
    fields = edit_fields(quan, MARRIAGE)
    fields["ch-2-fee_text"] = "Miễn lệ phí (theo nghị quyết mới)"
    assert save(quan, MARRIAGE, fields).status_code == 303
    wb = workbook(content)
    wb["Thủ tục"]["D2"] = 40
    r = upload(lan, token, saved(wb))
    assert r.status_code == 400 and "đã được sửa (quan" in r.text
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[2].fee_text == "Miễn lệ phí (theo nghị quyết mới)" and p.popularity == 98
    # unchanged rows of the same old file are no conflict
    assert upload(lan, token, content).status_code == 400  # it differs from today's record
    assert "Đã nhập: 0 thủ tục" in upload(lan, token, export(lan, MARRIAGE)).text


def test_round_trip_changes_nothing(admin_app) -> None:
    c, token = login(admin_app)
    for fmt in ("xlsx", "yaml"):
        content = c.get(f"/admin/export.{fmt}", params={"codes": f"{BIRTH},2.000815"}).content
        r = upload(c, token, content, f"x.{fmt}")
        assert r.status_code == 200 and "Đã nhập: 0 thủ tục và 0 câu hỏi" in r.text


def test_round_trip_of_the_whole_catalog_changes_nothing(kb_copy) -> None:
    """All 2,642 procedures, with the Vietnamese values, through Excel and YAML."""
    for name, content in (("x.xlsx", transfer.export_xlsx(kb_copy)), ("x.yaml", transfer.export_yaml(kb_copy))):
        plan = transfer.plan_import(kb_copy, content, name)
        assert plan.errors == [] and len(plan.procedures) == 2642, plan.errors[:5]
        assert plan.unchanged == set(plan.procedures)
        result = transfer.apply_import(kb_copy, plan, "lan")
        assert (result.procedures_changed, result.faqs_changed, result.faqs_created) == (0, 0, 0), name
    with kb_copy.sessions() as s:
        assert s.scalar(select(AuditEntry.id)) is None


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("thieu-cot.xlsx", None, "thiếu cột"),
        ("hong.xlsx", b"PK\x03\x04 not really a workbook", "Không đọc được tệp Excel"),
        ("sai.yaml", b"procedures: [\n", "Không đọc được tệp YAML"),
        ("rong.yaml", b"", "Tệp rỗng"),
        ("sau.yaml", b"procedures: " + b"[" * 20000 + b"]" * 20000, "Không đọc được tệp YAML"),
        ("sau2.yaml", b"procedures:\n" + b"- " * 20000 + b"1\n", "lồng nhau quá sâu"),
        ("thamchieu.yaml", b"procedures: &a [1, 2]\nfaqs: *a\n", "tham chiếu"),
        ("python.yaml", b"procedures: !!python/object/apply:os.system ['true']\n", "Không đọc được tệp YAML"),
        ("thua.yaml", b"procedures:\n- code: '1.000894'\n  mau: 1\n", "trường không có trong mẫu: mau"),
    ],
)
def test_bad_files_are_explained(admin_app, name: str, content: bytes | None, expected: str) -> None:
    c, token = login(admin_app)
    if content is None:
        from openpyxl import Workbook

        wb = Workbook()
        assert wb.active is not None
        wb.active.title = "Thủ tục"
        wb.active.append(["Tên thủ tục", "Mức phổ biến"])
        wb.active.append(["Đăng ký khai sinh", 5])
        content = saved(wb)
    r = upload(c, token, content, name)
    assert r.status_code == 400 and expected in r.text and "Traceback" not in r.text


_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE z [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8))
    + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
    b'<c r="A1" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData></worksheet>'
)
_XXE = (
    b'<?xml version="1.0"?><!DOCTYPE z [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
    b'<c r="A1" t="inlineStr"><is><t>&x;</t></is></c></row></sheetData></worksheet>'
)


def _rezipped(content: bytes, member: str, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(info.filename, change(data) if info.filename == member else data)
        if member not in src.namelist():
            z.writestr(member, change(b""))
    return out.getvalue()


@pytest.mark.parametrize(
    ("member", "change", "expected"),
    [
        ("xl/worksheets/sheet1.xml", lambda d: d[: len(d) // 2], "Không đọc được tệp Excel"),
        ("xl/workbook.xml", lambda d: d[:80], "Không đọc được tệp Excel"),
        ("xl/worksheets/sheet1.xml", lambda d: _LAUGHS, "Không đọc được tệp Excel"),
        ("xl/worksheets/sheet1.xml", lambda d: _XXE, "Không đọc được tệp Excel"),
        ("xl/media/bom.bin", lambda d: b"\0" * (250 * 1024 * 1024), "khi giải nén lớn 250 MB"),
    ],
    ids=["truncated-sheet", "truncated-workbook", "entity-expansion", "external-entity", "zip-bomb"],
)
def test_hostile_spreadsheets_get_a_clear_400(admin_app, kb_copy, member: str, change, expected: str) -> None:
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML  # openpyxl parses through defusedxml
    c, token = login(admin_app)
    r = upload(c, token, _rezipped(export(c, MARRIAGE), member, change))
    assert r.status_code == 400 and expected in r.text and "root:" not in r.text and "Traceback" not in r.text
    assert Repository(kb_copy).procedure(MARRIAGE).popularity == 98  # type: ignore[union-attr]


def test_too_large_upload_is_refused(admin_app) -> None:
    c, token = login(admin_app)
    r = upload(c, token, b"0" * (30 * 1024 * 1024), "to.xlsx")
    assert r.status_code == 413


# --- login, sessions, passwords -------------------------------------------------------------


def _try(c, username: str, password: str):
    token = csrf_of(c.get("/admin/login").text)
    return c.post(
        "/admin/login", data={"csrf": token, "username": username, "password": password}, follow_redirects=False
    )


def test_failed_logins_slow_the_account_down_without_locking_it(admin_app, kb_copy) -> None:
    colleague, _ = login(admin_app)  # lan's own browser, signed in before
    colleague.post("/admin/logout", data={"csrf": csrf_of(colleague.get("/admin").text)})
    attacker = client_for(admin_app)
    for name in ("lan", "LAN ", " lan"):  # one account, however it is typed
        r = _try(attacker, name, "sai-mat-khau-roi")
        assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
    r = _try(attacker, "lan ", PASSWORD)  # even the right password waits now
    assert r.status_code == 429 and "Vui lòng chờ 2 giây" in r.text
    # lan's own browser is not held back by someone else's guesses
    assert _try(colleague, "lan", PASSWORD).status_code == 303
    # the delay passes: it never becomes a lock
    with kb_copy.session() as s:
        s.execute(update(LoginAttempt).values(at=datetime.now(UTC) - timedelta(seconds=5)))
    assert _try(attacker, "lan", PASSWORD).status_code == 303


def test_the_delay_doubles_with_each_failure() -> None:
    waits = [min(staff.FIRST_DELAY * 2 ** (n - staff.FREE_FAILURES), staff.MAX_DELAY) for n in range(3, 12)]
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0] and waits[-1] == staff.MAX_DELAY


def test_one_address_is_limited_far_above_an_office(admin_app, monkeypatch) -> None:
    assert staff.ADDRESS_LIMIT >= 100  # a whole office mistypes far less in 15 minutes
    monkeypatch.setattr(staff, "ADDRESS_LIMIT", 6)
    c = client_for(admin_app)
    for i in range(6):  # different accounts, one address
        assert _try(c, f"nguoi{i}", "sai-mat-khau-roi").status_code == 401
    r = _try(c, "quan", ADMIN_PASSWORD)
    assert r.status_code == 429 and "từ địa chỉ mạng này" in r.text


def test_logout_ends_the_session_on_the_server(admin_app) -> None:
    c, token = login(admin_app)
    cookie = dict(c.cookies)
    assert c.post("/admin/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    replay = client_for(admin_app)
    for name, value in cookie.items():
        replay.cookies.set(name, value, path="/admin")
    assert replay.get("/admin", follow_redirects=False).status_code == 303
    r = replay.post(f"/admin/procedures/{MARRIAGE}", data={"csrf": token, "name": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"


def test_password_change_and_locking_end_other_sessions(admin_app, kb_copy) -> None:
    phone, _ = login(admin_app)
    desk, token = login(admin_app)
    r = desk.post(
        "/admin/password", data={"csrf": token, "current": PASSWORD, "new": "aaaaaaaaaa", "again": "aaaaaaaaaa"}
    )
    assert r.status_code == 400 and "quá dễ đoán" in r.text
    new = "buoi sang uong tra sen"
    r = desk.post("/admin/password", data={"csrf": token, "current": PASSWORD, "new": new, "again": new})
    assert r.status_code == 200 and "Đã đổi mật khẩu" in r.text
    assert phone.get("/admin", follow_redirects=False).status_code == 303  # the other session ended
    assert desk.get("/admin").status_code == 200  # the one that changed it goes on
    admin, admin_token = login(admin_app, "quan", ADMIN_PASSWORD)
    lan = next(u for u in staff.users(kb_copy) if u.username == "lan")
    admin.post(f"/admin/users/{lan.id}/active", data={"csrf": admin_token})
    assert desk.get("/admin", follow_redirects=False).status_code == 303
    assert staff.session_count(kb_copy, lan.id) == 0
    assert _try(client_for(admin_app), "lan", new).status_code == 401


def test_sessions_expire(admin_app, kb_copy) -> None:
    c, _ = login(admin_app)
    assert c.get("/admin").status_code == 200
    with kb_copy.session() as s:
        s.execute(update(StaffSession).values(seen_at=datetime.now(UTC) - staff.SESSION_IDLE - timedelta(minutes=1)))
    assert c.get("/admin", follow_redirects=False).status_code == 303
    c, _ = login(admin_app)
    with kb_copy.session() as s:
        s.execute(update(StaffSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert c.get("/admin", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaa", "lặp lại"),
        ("1234567890", "dễ đoán"),
        ("qwertyuiop", "dễ đoán"),
        ("hoa2026hoa", "tên đăng nhập"),
        ("ngan", "ít nhất 10 ký tự"),
    ],
)
def test_weak_passwords_are_refused(admin_app, password: str, why: str) -> None:
    a, token = login(admin_app, "quan", ADMIN_PASSWORD)
    r = a.post("/admin/users", data={"csrf": token, "username": "hoa", "password": password, "role": "editor"})
    assert r.status_code == 400 and why in r.text
    assert "hoa" not in [u.username for u in staff.users(a.app.state.admin.db)]


def test_session_cookie_is_protected(admin_app) -> None:
    c = client_for(admin_app)
    cookie = c.get("/admin/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/admin" in cookie
    name = admin_app.state.admin.cookies.session_name
    c.cookies.set(name, "s.forged-value", path="/admin")
    assert c.get("/admin", follow_redirects=False).status_code == 303


# --- FAQs, inbox, dashboard, QR ----------------------------------------------------------------


def test_html_in_an_faq_answer_stays_text(admin_app) -> None:
    c, token = login(admin_app)
    answer = '<b>Mang theo</b> <script>alert("x")</script> giấy hẹn'
    data = {"csrf": token, "questions": "quên giấy hẹn thì làm sao", "answer": answer, "procedure": "", "active": "on"}
    r = c.post("/admin/faqs", data=data, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "Đã tạo câu hỏi thường gặp" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert ask(admin_app, "quên giấy hẹn thì làm sao") == answer
    r = c.post("/admin/faqs", data={**data, "procedure": "9.999999"})
    assert r.status_code == 400 and "không có thủ tục mã 9.999999" in r.text


def _inbox(kb_copy) -> list[InboxItem]:
    with kb_copy.sessions() as s:
        return list(s.scalars(select(InboxItem).order_by(InboxItem.id)))


def test_an_alias_marks_handled_only_the_questions_it_answers(admin_app, kb_copy) -> None:
    ask(admin_app, "xin giấy phép nuôi chim yến trong nhà", sender="a")
    ask(admin_app, "xin giay phep nuoi chim yen", sender="b")
    ask(admin_app, "muốn xin giấy phép nuôi chim cảnh", sender="c")
    c, token = login(admin_app)
    page = c.get("/admin/inbox").text
    assert "3 câu tương tự" in page
    ids = re.search(r'name="ids" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    suggested = re.findall(r'type="radio" name="code" value="(\d\.\d{6})"', page)
    assert suggested, "the assistant's candidates are offered"
    r = c.post(
        "/admin/inbox/alias",
        data={
            "csrf": token,
            "ids": ids,
            "code": "other",
            "search": "1.001612 — Đăng ký thành lập hộ kinh doanh",
            "alias": "nuôi chim yến",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get("/admin/inbox").text
    assert "Đã thêm tên gọi “nuôi chim yến” cho thủ tục 1.001612" in page and "2/3 câu hỏi" in page
    handled = {i.message_id: i.handled_by for i in _inbox(kb_copy)}
    assert sorted(v for v in handled.values() if v) == ["lan", "lan"]
    assert "muốn xin giấy phép nuôi chim cảnh" in page  # still waiting
    assert "nuôi chim yến" in Repository(kb_copy).procedure("1.001612").aliases  # type: ignore[union-attr]


def test_an_faq_from_the_inbox_takes_the_ticked_questions(admin_app, kb_copy) -> None:
    ask(admin_app, "xin giấy phép nuôi chim yến trong nhà", sender="a")
    ask(admin_app, "xin giay phep nuoi chim yen", sender="b")
    c, token = login(admin_app)
    page = c.get("/admin/inbox").text
    ids = re.search(r'name="ids" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    first = int(ids.split(",")[0])
    r = c.post(
        "/admin/inbox/faq",
        data={
            "csrf": token,
            "ids": ids,
            "question": "xin giấy phép nuôi chim yến",
            "answer": "Phường không cấp giấy phép này; hãy hỏi Ủy ban nhân dân tỉnh.",
            "answers": [str(first)],
        },
    )
    assert r.status_code == 200 and "Đã tạo câu hỏi thường gặp" in r.text and "1 câu không được chọn vẫn chờ" in r.text
    assert [i.handled_by for i in _inbox(kb_copy) if i.id == first] == ["lan"]
    assert len([i for i in _inbox(kb_copy) if i.handled_at is None]) == 1


def test_search_box_suggests_procedures(admin_app) -> None:
    c, _ = login(admin_app)
    found = c.get("/admin/procedures/suggest", params={"q": "khai sinh"}).json()
    assert any(p["code"] == BIRTH for p in found) and all(set(p) == {"code", "name"} for p in found)


def test_dashboard_counts_and_csv(admin_app) -> None:
    ask(admin_app, "làm giấy khai sinh cần gì", sender="d1")
    with client_for(admin_app) as w:
        replies = w.post("/webhooks/rest/webhook", json={"sender": "d2", "message": "lệ phí kết hôn"}).json()
        useful = next(b["payload"] for b in replies[-1]["buttons"] if b["title"] == "Hữu ích")
        w.post("/webhooks/rest/webhook", json={"sender": "d2", "message": useful})
    ask(admin_app, "hồ sơ thông báo tập trung kinh tế gồm gì", sender="d3")
    c, _ = login(admin_app)
    page = c.get("/admin").text
    assert ">3<" in page.replace(" ", "") and "33,3%" in page and "100%" in page and "<svg" in page
    assert "Ứng dụng kết nối" in page  # the REST channel, in words
    csv_text = c.get("/admin/dashboard.csv").text
    assert "Tổng số câu hỏi,3" in csv_text and BIRTH in csv_text


def _question_at(kb_copy, at: datetime) -> None:
    with kb_copy.session() as s:
        conv = Conversation(channel="web", sender=f"tz-{at.isoformat()}", state={})
        s.add(conv)
        s.flush()
        s.add(
            Message(
                conversation_id=conv.id, channel="web", direction="in", text="hỏi", outcome="answered", created_at=at
            )
        )


@pytest.mark.parametrize(("tz", "day"), [("Asia/Ho_Chi_Minh", "2026-06-01"), ("UTC", "2026-05-31")])
def test_days_are_the_units_days(assistant, settings_for, kb_copy, tz: str, day: str) -> None:
    staff.create_user(kb_copy, "lan", PASSWORD, "editor")
    app = create_app(settings_for(kb_copy, timezone=tz), assistant, admin=True)
    _question_at(kb_copy, datetime(2026, 5, 31, 23, 30, tzinfo=UTC))  # 06:30 on 1 June in Hà Nội
    c, _ = login(app)
    csv_text = c.get("/admin/dashboard.csv", params={"from": "2026-05-31", "to": "2026-06-01"}).text
    shown = datetime.fromisoformat(day).strftime("%d/%m/%Y")
    assert f"{shown},1" in csv_text
    fields = edit_fields(c, MARRIAGE)
    fields["popularity"] = "90"
    save(c, MARRIAGE, fields)
    with kb_copy.sessions() as s:
        at = s.scalars(select(AuditEntry.at)).one()
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(app.state.admin.tz)
    assert local.strftime("%H:%M %d/%m/%Y") in c.get("/admin/audit").text


def test_qr_pages_warn_about_a_loopback_public_address(assistant, settings_for, kb_copy) -> None:
    staff.create_user(kb_copy, "lan", PASSWORD, "editor")
    local_app = create_app(settings_for(kb_copy), assistant, admin=True)
    c, _ = login(local_app)
    page = c.get(f"/admin/qr/{BIRTH}").text
    assert "<svg" in page and f"/?p={BIRTH}" in page and "MOTCUA_PUBLIC_URL" in page
    sheet = c.get("/admin/qr").text
    assert sheet.count("<svg") >= 4 and "Thủ tục đăng ký khai sinh" in sheet and "MOTCUA_PUBLIC_URL" in sheet
    public = create_app(settings_for(kb_copy, public_url="https://troly.phuong-binhan.gov.vn"), assistant, admin=True)
    c, _ = login(public)
    page = c.get(f"/admin/qr/{BIRTH}").text
    assert "https://troly.phuong-binhan.gov.vn/?p=" in page and "MOTCUA_PUBLIC_URL" not in page


def test_loopback_public_address_is_logged_at_start(assistant, settings_for, kb_copy, caplog) -> None:
    create_app(settings_for(kb_copy), assistant, admin=True)
    assert any("MOTCUA_PUBLIC_URL" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    caplog.clear()
    create_app(settings_for(kb_copy, public_url="https://troly.phuong-binhan.gov.vn"), assistant, admin=True)
    assert not any("MOTCUA_PUBLIC_URL" in r.getMessage() for r in caplog.records)


# --- audit ---------------------------------------------------------------------------------------


def test_audit_log_shows_only_what_changed_in_words(admin_app, kb_copy) -> None:
    from knowledge import editing

    c, _ = login(admin_app)
    fields = edit_fields(c, MARRIAGE)
    fields["popularity"] = "60"
    assert save(c, MARRIAGE, fields).status_code == 303
    for i in range(1, 35):  # 35 edits made the old page 1.6 MB
        snapshot, version = editing.get_procedure_snapshot(kb_copy, MARRIAGE)
        editing.update_procedure(kb_copy, MARRIAGE, {**snapshot, "popularity": 60 + i}, "lan", version)
    fields = edit_fields(c, MARRIAGE)
    fields["doc-0-copies"] = "3"
    save(c, MARRIAGE, fields)
    page = c.get("/admin/audit").text
    assert len(page.encode()) < 100_000
    assert 'Mức phổ biến</strong>: <span class="before">60</span> → <span class="after">61</span>' in page
    assert "Giấy tờ 1 (Hộ chiếu" in page and "Bản sao" in page
    assert "\\u" not in page and "fee_amount" not in page


def test_revert_refuses_to_undo_a_colleagues_later_change(admin_app, kb_copy) -> None:
    lan, token = login(admin_app)
    quan, _ = login(admin_app, "quan", ADMIN_PASSWORD)
    a = edit_fields(lan, MARRIAGE)
    a["ch-0-fee_amount"] = "10.000"
    save(lan, MARRIAGE, a)
    b = edit_fields(quan, MARRIAGE)
    b["ch-0-fee_amount"] = "15.000"  # the same field, later
    b["popularity"] = "70"
    save(quan, MARRIAGE, b)
    with kb_copy.sessions() as s:
        first = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
    r = lan.post(f"/admin/audit/{first.id}/revert", data={"csrf": token})  # type: ignore[union-attr]
    assert r.status_code == 409 and "quan" in r.text and "Cách thức 1 (Trực tuyến) — Lệ phí (đồng)" in r.text
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[0].fee_amount == 15000 and p.popularity == 70


def test_revert_of_an_older_entry_keeps_a_colleagues_other_changes(admin_app, kb_copy) -> None:
    lan, token = login(admin_app)
    quan, _ = login(admin_app, "quan", ADMIN_PASSWORD)
    a = edit_fields(lan, MARRIAGE)
    a["ch-0-fee_amount"] = "10.000"
    save(lan, MARRIAGE, a)
    b = edit_fields(quan, MARRIAGE)
    b["popularity"] = "70"
    b["aliases"] += "\nđăng ký cưới"
    save(quan, MARRIAGE, b)
    with kb_copy.sessions() as s:
        first = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
    r = lan.post(f"/admin/audit/{first.id}/revert", data={"csrf": token}, follow_redirects=False)  # type: ignore[union-attr]
    assert r.status_code == 303
    p = Repository(kb_copy).procedure(MARRIAGE)
    assert p is not None and p.channels[0].fee_amount == 0  # lan's change undone
    assert p.popularity == 70 and "đăng ký cưới" in p.aliases  # quan's kept


# --- no English left ----------------------------------------------------------------------------

ENGLISH = {
    "admin", "editor", "update", "import", "export", "revert", "create", "edit", "delete", "save", "submit",
    "login", "logout", "password", "username", "user", "users", "role", "error", "errors", "true", "false",
    "none", "null", "rest", "dashboard", "inbox", "alias", "aliases", "faq", "faqs", "channel", "fee", "search",
    "upload", "download", "back", "next", "page", "unanswered", "wrong", "human", "answered", "procedure",
    "documents", "copies", "originals", "truc_tiep", "truc_tuyen", "buu_chinh", "nop", "xuat_trinh", "luu_y",
    "csrf", "yes", "no", "ok", "cancel", "settings", "undefined", "nan",
}  # fmt: skip
"""Words and codes no staff page may show."""


class _Visible(HTMLParser):
    """The text a person reads on a page: text nodes and the attributes shown or spoken."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def english_words(page: str) -> set[str]:
    parser = _Visible()
    parser.feed(page)
    words = {w.lower() for w in re.findall(r"[A-Za-z_]+", " ".join(parser.parts))}
    return words & ENGLISH


def test_staff_pages_have_no_english_left(admin_app, kb_copy) -> None:
    ask(admin_app, "xin giấy phép nuôi chim yến", sender="a")
    ask(admin_app, "cho tôi gặp cán bộ", sender="b")
    c, token = login(admin_app, "quan", ADMIN_PASSWORD)
    fields = edit_fields(c, MARRIAGE)
    fields["ch-0-fee_amount"] = "5.000"
    save(c, MARRIAGE, fields)
    wb = workbook(export(c, MARRIAGE))
    wb["Thủ tục"]["D2"] = 50
    upload(c, token, saved(wb))
    with kb_copy.sessions() as s:
        first = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).first()
    c.post(f"/admin/audit/{first.id}/revert", data={"csrf": token})  # type: ignore[union-attr]
    bad = workbook(export(c, MARRIAGE))
    bad["Giấy tờ"]["D1"] = "Số bản sao"
    pages = {
        "login": client_for(admin_app).get("/admin/login").text,
        "failed login": _try(client_for(admin_app), "lan", "sai-mat-khau-roi").text,
        "import errors": upload(c, token, saved(bad)).text,
        "refused edit": c.post(f"/admin/procedures/{MARRIAGE}", data={**fields, "ch-0-fee_amount": "5,5"}).text,
        "forbidden": c.post(f"/admin/procedures/{MARRIAGE}", data={"csrf": "x"}).text,
        "not found": c.get("/admin/qr/9.999999").text,
    }
    for path in [
        "/admin",
        "/admin/inbox",
        "/admin/procedures?q=khai+sinh",
        f"/admin/procedures/{MARRIAGE}",
        "/admin/faqs",
        "/admin/faqs/new",
        "/admin/units",
        "/admin/transfer",
        f"/admin/qr/{BIRTH}",
        "/admin/qr",
        "/admin/audit",
        "/admin/users",
        "/admin/password",
    ]:
        pages[path] = c.get(path).text
    found = {name: english_words(page) for name, page in pages.items()}
    assert {k: v for k, v in found.items() if v} == {}
    assert english_words("<p>Thao tác: update (admin)</p>") == {"update", "admin"}  # the scan itself works
