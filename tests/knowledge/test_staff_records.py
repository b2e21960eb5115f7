"""Staff-side knowledge on SQLite and PostgreSQL: money typed by staff, edits and their revert,
the compact audit log, server-side sessions, the login throttle, user names and passwords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from knowledge import editing, staff
from knowledge.errors import ConflictError, UsageError
from knowledge.fields import PROCEDURE, Field, FieldError, InvalidRecord, Kind, changed_paths, describe
from knowledge.models import AuditEntry, Document, LoginAttempt, Procedure, StaffSession, SubmissionChannel
from knowledge.money import MoneyError, format_amount, parse_amount

PASSWORD = "mat-khau-du-dai-123"


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("5.000", 5000),
        ("5,000", 5000),
        ("5.000 đồng", 5000),
        ("5.000đ", 5000),
        ("5000 VNĐ", 5000),
        ("5000", 5000),
        ("1.250.000", 1_250_000),
        ("5 000", 5000),
        ("5\u00a0000", 5000),
        ("0", 0),
        ("Miễn phí", 0),
        (5000, 5000),
        (5000.0, 5000),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_money_staff_type_is_read_as_they_mean_it(typed: object, amount: int | None) -> None:
    assert parse_amount(typed, "Lệ phí") == amount


@pytest.mark.parametrize(
    "typed",
    ["5000.5", "5,5", "abc", "-5000", "−5.000", "5.00", "5.000,000", "50.00.000", "1e5", 5000.5, True, "5000 USD"],
)
def test_money_that_needs_a_guess_is_refused_naming_the_field(typed: object) -> None:
    with pytest.raises(MoneyError) as err:
        parse_amount(typed, "Lệ phí (đồng)")
    assert str(err.value).startswith("Lệ phí (đồng): ") and err.value.field == "Lệ phí (đồng)"


def test_amounts_are_shown_with_vietnamese_thousands() -> None:
    assert (format_amount(5000), format_amount(1_250_000), format_amount(0), format_amount(None)) == (
        "5.000",
        "1.250.000",
        "0",
        "",
    )


def _procedure(db, code: str = "1.000001") -> str:
    with db.session() as s:
        p = Procedure(code=code, name="Thủ tục thử nghiệm", levels=["Cấp xã"])
        p.channels.append(
            SubmissionChannel(position=0, channel="truc_tiep", time_value=5.0, fee_amount=0, fee_text="Miễn phí")
        )
        p.channels.append(SubmissionChannel(position=1, channel="truc_tuyen", time_value=3.0, fee_amount=0))
        p.documents.append(
            Document(position=0, name="Tờ khai", originals=1, copies=0, group="nop", source_text="Tờ khai (mẫu)")
        )
        p.documents.append(Document(position=1, name="Giấy tờ tùy thân", originals=0, copies=1, group="xuat_trinh"))
        s.add(p)
    return code


def _edit(db, code: str, user: str, change) -> None:
    snapshot, version = editing.get_procedure_snapshot(db, code)
    change(snapshot)
    editing.update_procedure(db, code, snapshot, user, version)


def _entries(db) -> list[AuditEntry]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_an_edit_keeps_only_what_changed_and_the_source_text(db) -> None:
    code = _procedure(db)
    _edit(db, code, "lan", lambda p: p["channels"][0].update(fee_amount=5000))
    (entry,) = _entries(db)
    assert set(entry.before) == {"code", "channels"} and entry.after["channels"][0]["fee_amount"] == 5000
    changes = describe(PROCEDURE, entry.before, entry.after)
    assert [(c.label, c.before, c.after) for c in changes] == [
        ("Cách thức 1 (Trực tiếp) — Lệ phí (đồng)", "0 đồng", "5.000 đồng")
    ]
    with db.sessions() as s:
        doc = s.scalars(select(Document).where(Document.name == "Tờ khai")).one()
        assert doc.source_text == "Tờ khai (mẫu)"  # rows left as they were keep what only the database holds


def test_an_unchanged_save_writes_no_audit_entry(db) -> None:
    code = _procedure(db)
    _edit(db, code, "lan", lambda p: None)
    assert _entries(db) == []


def test_invalid_fields_are_all_named(db) -> None:
    code = _procedure(db)
    snapshot, version = editing.get_procedure_snapshot(db, code)
    snapshot["channels"][1]["fee_amount"] = "5,5"
    snapshot["documents"][0]["copies"] = "hai"
    snapshot["popularity"] = 500
    with pytest.raises(InvalidRecord) as err:
        editing.update_procedure(db, code, snapshot, "lan", version)
    texts = [p.text() for p in err.value.problems]
    assert "Mức phổ biến: phải từ 0 đến 100 (đang ghi 500)." in texts
    assert any(t.startswith("Cách thức 2 (Trực tuyến) — Lệ phí (đồng): “5,5”") for t in texts)
    assert any(t.startswith("Giấy tờ 1 (Tờ khai) — Bản sao: cần một số nguyên") for t in texts)


def test_revert_puts_back_only_its_own_fields(db) -> None:
    code = _procedure(db)
    _edit(db, code, "lan", lambda p: p["channels"][0].update(fee_amount=5000))
    _edit(db, code, "quan", lambda p: p.update(popularity=40, aliases=[*p["aliases"], "thủ tục thử"]))
    first, _second = _entries(db)
    editing.revert(db, first.id, "lan")
    snapshot, _ = editing.get_procedure_snapshot(db, code)
    assert snapshot["channels"][0]["fee_amount"] == 0
    assert snapshot["popularity"] == 40 and snapshot["aliases"] == ["thủ tục thử"]
    with pytest.raises(UsageError):
        editing.revert(db, first.id, "lan")  # once only


def test_revert_refuses_when_a_colleague_changed_the_same_field_since(db) -> None:
    code = _procedure(db)
    _edit(db, code, "lan", lambda p: p["channels"][0].update(fee_amount=5000))
    _edit(db, code, "quan", lambda p: p["channels"][0].update(fee_amount=7000))
    first, _second = _entries(db)
    with pytest.raises(ConflictError) as err:
        editing.revert(db, first.id, "lan")
    assert "quan" in str(err.value) and "Cách thức 1 (Trực tiếp) — Lệ phí (đồng)" in str(err.value)
    snapshot, _ = editing.get_procedure_snapshot(db, code)
    assert snapshot["channels"][0]["fee_amount"] == 7000


def test_revert_refuses_when_the_rows_moved_since(db) -> None:
    code = _procedure(db)
    _edit(db, code, "lan", lambda p: p["documents"][1].update(copies=2))
    _edit(db, code, "quan", lambda p: p["documents"].pop(0))
    first, _ = _entries(db)
    with pytest.raises(ConflictError) as err:
        editing.revert(db, first.id, "lan")
    assert "quan" in str(err.value)


def test_aliases_revert_as_a_set(db) -> None:
    code = _procedure(db)
    _edit(db, code, "lan", lambda p: p.update(aliases=["tên một"]))
    _edit(db, code, "quan", lambda p: p.update(aliases=["tên một", "tên hai"]))
    first, _ = _entries(db)
    editing.revert(db, first.id, "lan")
    snapshot, _ = editing.get_procedure_snapshot(db, code)
    assert snapshot["aliases"] == ["tên hai"]


def test_a_full_snapshot_entry_from_before_still_reverts(db) -> None:
    """Entries written before the log kept only the changed parts hold whole records."""
    code = _procedure(db)
    snapshot, version = editing.get_procedure_snapshot(db, code)
    after = {**snapshot, "popularity": 30}
    editing.update_procedure(db, code, after, "lan", version)
    with db.session() as s:
        s.execute(update(AuditEntry).values(before=snapshot, after=editing.get_procedure_snapshot(db, code)[0]))
    (entry,) = _entries(db)
    assert changed_paths(PROCEDURE, entry.before, entry.after) == [("popularity",)]
    editing.revert(db, entry.id, "lan")
    assert editing.get_procedure_snapshot(db, code)[0]["popularity"] == 0


def test_user_names_are_one_form_everywhere(db) -> None:
    made = staff.create_user(db, "  Lan ", PASSWORD, "editor")
    assert made.username == "lan"
    assert staff.authenticate(db, "LAN ", PASSWORD) is not None
    with pytest.raises(UsageError):
        staff.create_user(db, "lan", PASSWORD, "editor")
    assert staff.account_key("Lan ") == staff.account_key("lan")


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("aaaaaaaaaa", "lan"),
        ("1234567890", "lan"),
        ("password123", "lan"),
        ("victim1victim1", "victim1"),
        ("motcua2026", "lan"),
    ],
)
def test_weak_passwords_are_refused(password: str, username: str) -> None:
    with pytest.raises(UsageError):
        staff.validate_password(password, username)


def test_sessions_end_on_logout_password_change_locking_and_expiry(db) -> None:
    user = staff.create_user(db, "lan", PASSWORD, "editor")
    token, csrf = staff.open_session(db, user.id)
    found = staff.session_for(db, token)
    assert found is not None and found.user.username == "lan" and found.csrf == csrf
    staff.end_session(db, token)
    assert staff.session_for(db, token) is None
    keep, _ = staff.open_session(db, user.id)
    other, _ = staff.open_session(db, user.id)
    staff.set_password(db, user.id, "buoi sang uong tra sen", keep_session=keep)
    assert staff.session_for(db, keep) is not None and staff.session_for(db, other) is None
    staff.set_active(db, user.id, False)
    assert staff.session_for(db, keep) is None and staff.session_count(db, user.id) == 0
    staff.set_active(db, user.id, True)
    old, _ = staff.open_session(db, user.id, lifetime=timedelta(seconds=-1))
    assert staff.session_for(db, old) is None
    idle, _ = staff.open_session(db, user.id)
    with db.session() as s:
        s.execute(update(StaffSession).values(seen_at=datetime.now(UTC) - staff.SESSION_IDLE - timedelta(seconds=1)))
    assert staff.session_for(db, idle) is None
    with db.sessions() as s:
        stored = s.scalars(select(StaffSession.id)).all()
    assert idle not in stored  # only a digest of the secret is kept


def test_login_delay_doubles_and_passes(db) -> None:
    key = staff.account_key("lan")
    for _ in range(staff.FREE_FAILURES - 1):
        staff.record_failed_login(db, [key])
    assert staff.login_wait(db, key) == 0
    staff.record_failed_login(db, [key])
    assert 0 < staff.login_wait(db, key) <= staff.FIRST_DELAY
    staff.record_failed_login(db, [key])
    assert staff.FIRST_DELAY < staff.login_wait(db, key) <= 2 * staff.FIRST_DELAY
    with db.session() as s:
        s.execute(update(LoginAttempt).values(at=datetime.now(UTC) - timedelta(seconds=10)))
    assert staff.login_wait(db, key) == 0  # a delay, never a lock
    staff.clear_failed_logins(db, [key])
    assert staff.login_wait(db, key) == 0


@pytest.mark.parametrize(
    ("field", "raw", "clean"),
    [
        (Field("x", "Bản sao", Kind.INT, limit=100), "2", 2),
        (Field("x", "Bản sao", Kind.INT, limit=100), 2.0, 2),
        (Field("x", "Thời hạn", Kind.NUMBER, limit=100), "1,5", 1.5),
        (Field("x", "Thời hạn", Kind.NUMBER, limit=100), "", None),
        (Field("x", "Đang dùng", Kind.BOOL), "có", True),
        (Field("x", "Đang dùng", Kind.BOOL), "Không", False),
        (Field("x", "Nhóm", Kind.CHOICE, choices=(("nop", "Phải nộp"), ("luu_y", "Lưu ý"))), "phai nop", "nop"),
        (Field("x", "Nhóm", Kind.CHOICE, choices=(("nop", "Phải nộp"), ("luu_y", "Lưu ý"))), "Lưu ý", "luu_y"),
        (Field("x", "Mẫu", Kind.LIST), "Mẫu 1 | Mẫu 2", ["Mẫu 1", "Mẫu 2"]),
        (Field("x", "Chi tiết", Kind.DATA), '{"mức": 5000}', {"mức": 5000}),
        (Field("x", "Điều kiện", optional=True), "  ", None),
    ],
)
def test_field_kinds_read_what_staff_type(field: Field, raw: object, clean: object) -> None:
    assert field.clean(raw) == clean
    assert field.clean(field.to_cell(clean)) == clean  # a cell written is read back the same


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        (Field("x", "Bản sao", Kind.INT, limit=100), ""),
        (Field("x", "Bản sao", Kind.INT, limit=100), "1,5"),
        (Field("x", "Bản sao", Kind.INT, limit=100), 101),
        (Field("x", "Đang dùng", Kind.BOOL), ""),
        (Field("x", "Nhóm", Kind.CHOICE, choices=(("nop", "Phải nộp"),)), "Nộp lại"),
        (Field("x", "Tên gọi", Kind.LIST), ["gks | khai sinh"]),  # one name with the separator inside
        (Field("x", "Chi tiết", Kind.DATA), "{không phải json"),
        (Field("x", "Tên", required=True), " "),
    ],
)
def test_field_kinds_refuse_what_needs_a_guess(field: Field, raw: object) -> None:
    with pytest.raises(FieldError) as err:
        field.clean(raw)
    assert err.value.label == field.label and str(err.value).startswith(field.label)


def test_an_edited_row_gets_its_parsed_fee_and_role_again(db) -> None:
    """Derived fields (a channel's parsed fee, a document's role) follow a staff edit."""
    code = _procedure(db)
    with db.sessions() as s:
        before = s.scalars(select(SubmissionChannel.fee_parts).order_by(SubmissionChannel.position)).first()
    _edit(db, code, "lan", lambda p: p["channels"][0].update(fee_text="Lệ phí 30.000 đồng/hồ sơ", fee_amount=30000))
    with db.sessions() as s:
        after = s.scalars(select(SubmissionChannel.fee_parts).order_by(SubmissionChannel.position)).first()
        doc = s.scalars(select(Document).where(Document.name == "Tờ khai")).one()
    assert after != before and "30000" in str(after).replace(".", "")
    assert doc.source_text == "Tờ khai (mẫu)" and doc.role
