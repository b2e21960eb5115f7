"""What the records' own words say beyond their cells, read at import (or when a stored row is
read): which papers only apply to a case, headings that name no paper, the identity paper the
steps ask for, a processing time stated in words, where the file is handed in, the nearest of
several offices, today's amount under a dated rate. Real rows from the shipped national file."""

from __future__ import annotations

import gzip
import json
from datetime import date
from functools import cache

import pytest

from knowledge.fees import reduced_amount
from knowledge.importer import SHIPPED_NATIONAL
from knowledge.parsing import (
    document_role,
    filed_at,
    identity_mention,
    nearest_office,
    parse_receiver,
    parse_record,
    stated_time,
    time_cases,
    vague_heading,
)
from knowledge.types import Channel, DocumentGroup, DocumentRole, FeeKind, Receiver


@cache
def shipped() -> dict[str, dict]:
    with gzip.open(SHIPPED_NATIONAL, "rt", encoding="utf-8") as f:
        return {r["ma_thu_tuc"]: r for r in map(json.loads, f)}


def parsed(code: str):
    return parse_record(shipped()[code])


def role(code: str, start: str) -> DocumentRole:
    """The role of the paper of `code` whose name starts with `start`."""
    return next(d.role for d in parsed(code).documents if not d.is_note and d.name.startswith(start))


# --- case papers ------------------------------------------------------------------------------


def test_a_heading_that_lists_cases_is_a_case_and_one_that_lists_papers_is_not() -> None:
    # đổi chứng nhận đăng ký xe
    assert role("1.013079", "Một số giấy tờ khác: a) Xe cải tạo") is DocumentRole.CASE
    assert role("1.013079", "Giấy khai đăng ký xe") is DocumentRole.FORM
    # đăng ký xe lần đầu: "Giấy tờ của xe: Chứng nhận nguồn gốc xe; …"
    assert role("1.013067", "Giấy tờ của xe: Chứng nhận nguồn gốc xe") is DocumentRole.CORE
    assert vague_heading("Giấy tờ của xe: Chứng nhận nguồn gốc xe; Chứng nhận quyền sở hữu hợp pháp.") == (
        "Giấy tờ của xe",
        "Chứng nhận nguồn gốc xe; Chứng nhận quyền sở hữu hợp pháp.",
    )
    assert vague_heading("Giấy chứng sinh: bản chính") is None  # names its paper
    assert vague_heading("Tờ khai đăng ký khai sinh theo mẫu") is None


@pytest.mark.parametrize(
    ("name", "role"),
    [
        # a paper proving who acts for the applicant (căn cước for a child under 14)
        ("Giấy tờ, tài liệu có giá trị pháp lý chứng minh là người đại diện hợp pháp của người dưới 14 tuổi", "case"),
        # a row opening with who must bring it
        ("Người nước ngoài, công dân Việt Nam định cư ở nước ngoài phải nộp bản sao hộ chiếu.", "case"),
        # … but the applicant is everyone
        ("Người yêu cầu phải xuất trình giấy tờ tùy thân", "identity"),
        # a bracket closing the row names its case
        ("Kết quả đấu giá thuê rừng; biên bản đấu giá (đối với trường hợp cho thuê đất và cho thuê rừng).", "case"),
        # leading punctuation and bullets left by the portal hide no case
        ("; + Trường hợp hàng hoá phải có giấy phép nhập khẩu: Giấy phép nhập khẩu", "case"),
        ("Giấy chứng sinh", "core"),
        (
            "Tờ khai đăng ký khai sinh theo mẫu (nếu người có yêu cầu lựa chọn nộp hồ sơ theo hình thức trực tiếp)",
            "form",
        ),
    ],
)
def test_case_words_of_a_row(name: str, role: str) -> None:
    assert document_role(name, None, DocumentGroup.SUBMIT).value == role


def test_the_id_card_for_a_child_is_a_case_of_the_reissue() -> None:
    # cấp lại thẻ căn cước
    assert role("1.014064", "Giấy tờ, tài liệu có giá trị pháp lý chứng minh") is DocumentRole.CASE
    assert role("1.014064", "Phiếu đề nghị giải quyết thủ tục về căn cước") is DocumentRole.FORM


def test_rows_under_a_variant_are_named_by_the_variant() -> None:
    residence = [d for d in parsed("1.004222").documents if d.role is DocumentRole.CASE and "phương tiện" in d.name]
    # "… trong trường hợp phương tiện không phải đăng ký…" stands under the variant of one's own home
    assert residence and all(
        d.condition and d.condition.startswith("Đăng ký thường trú vào chỗ ở hợp pháp") for d in residence
    )


def test_a_note_row_is_no_paper() -> None:
    docs = parsed("1.002755").documents  # gia hạn tạm trú: "Lưu ý:- Trường hợp nộp hồ sơ trực tiếp…"
    notes = [d for d in docs if d.name.startswith("Lưu ý")]
    assert notes and all(d.group is DocumentGroup.NOTE for d in notes)


# --- the identity paper ---------------------------------------------------------------------


def test_identity_paper_asked_for_in_the_steps() -> None:
    p = parsed("2.001035")  # chứng thực giao dịch về động sản: the list names no identity paper
    assert not any(d.role is DocumentRole.IDENTITY for d in p.documents)
    found = identity_mention(p.steps, p.requirements or "", [])
    assert found is not None
    where, words = found
    assert where == "steps" and words.startswith("xuất trình một trong các giấy tờ sau: Căn cước điện tử")
    assert identity_mention(["Trường hợp này thì không phải xuất trình thẻ căn cước."], "", []) is None


# --- processing time in words ---------------------------------------------------------------------


def test_time_stated_in_the_steps() -> None:
    business = parsed("1.001612")  # đăng ký hộ kinh doanh: time cell "Không có thông tin"
    assert all(c.time_value is None for c in business.channels)
    found = stated_time(business.steps)
    assert found is not None and (found.value, found.unit) == (3.0, "ngày làm việc")
    assert "kể từ ngày nhận hồ sơ" in found.words


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("Không quá 07 ngày làm việc, kể từ ngày nhận đủ hồ sơ hợp lệ.", 7.0, "ngày làm việc"),
        ("Công chức giải quyết ngay trong ngày nhận được hồ sơ", None, ""),
        ("Trong thời hạn 01 (một) ngày làm việc kể từ ngày nhận được hồ sơ", 1.0, "ngày làm việc"),
    ],
)
def test_stated_times(text: str, value: float | None, unit: str) -> None:
    found = stated_time([text])
    assert found is not None and (found.value, found.unit) == (value, unit)


@pytest.mark.parametrize(
    "text",
    [
        "Trong thời hạn 60 ngày kể từ ngày sinh con, cha hoặc mẹ có trách nhiệm đăng ký khai sinh",
        "Trong thời hạn 03 ngày làm việc kể từ ngày nhận được yêu cầu xác minh, Ủy ban nhân dân cấp xã…",
        "trả kết quả trong ngày làm việc tiếp theo",
    ],
)
def test_periods_counted_from_something_else_are_no_processing_time(text: str) -> None:
    assert stated_time([text]) is None


def test_time_cases_of_one_channel() -> None:
    rows = [c for c in parsed("1.013079").channels if c.channel is Channel.IN_PERSON]
    cases = {c.time_value: time_cases(c.description) for c in rows}
    assert cases[7.0][0][0] == "Cấp đổi biển số xe" and cases[2.0][0][0] == "Cấp đổi chứng nhận đăng ký xe"


# --- where the file goes ---------------------------------------------------------------------


def test_the_steps_say_where_the_file_is_handed_in() -> None:
    joint = parsed("2.001023")  # liên thông khai sinh – BHYT: agency "Công đoàn cơ quan BHXH Việt Nam"
    assert joint.receiver is Receiver.WARD_DESK
    assert filed_at(["Bước 1: + Công dân đến Công an cấp xã hoặc Bộ phận một cửa cấp xã"]) is None  # two kinds
    assert filed_at(["Cá nhân, tổ chức nộp hồ sơ đến Công an cấp xã."]) is Receiver.POLICE
    assert filed_at(["nộp hồ sơ gửi đến cơ quan Hải quan thông qua Cổng thông tin một cửa quốc gia"]) is None
    assert parse_receiver(frozenset({"Cấp xã"}), "Công an cấp Xã", ["Nộp hồ sơ tại Công an cấp xã"]) is Receiver.POLICE


@pytest.mark.parametrize(
    ("agency", "nearest"),
    [
        ("Bảo hiểm xã hội cấp huyện, Bảo hiểm xã hội tỉnh", "Bảo hiểm xã hội cấp huyện"),  # "xã hội" is no commune
        ("Bảo hiểm xã hội cấp Tỉnh, Bảo hiểm xã hội cấp huyện", "Bảo hiểm xã hội cấp huyện"),
        ("Chi nhánh Văn phòng đăng ký đất đai, Văn phòng đăng ký đất đai", "Chi nhánh Văn phòng đăng ký đất đai"),
        ("Cục cảnh sát giao thông, Công an tỉnh, Công an cấp Xã", "Công an cấp Xã"),
        ("Tổ chức hành nghề công chứng, Cơ quan đại diện có thẩm quyền", None),  # no level tells them apart
        ("Công an cấp Xã", None),
    ],
)
def test_nearest_of_several_offices(agency: str, nearest: str | None) -> None:
    found = nearest_office(agency)
    assert (found[0] if found else None) == nearest


# --- today's fee ------------------------------------------------------------------------------


def test_a_rate_in_force_gives_todays_amount() -> None:
    in_person = next(c for c in parsed("1.014064").channels if c.channel is Channel.IN_PERSON)
    rates = [c for c in in_person.fee.clauses if c.kind is FeeKind.REDUCTION]
    current = [c for c in rates if c.in_force(date(2026, 12, 2))]
    assert len(current) == 1 and current[0].valid_to == date(2026, 12, 31)
    assert reduced_amount(70000, current[0]) == 35000  # "bằng 50% mức thu"
    cut = type(current[0])(text="Giảm 30% mức thu lệ phí", kind=FeeKind.REDUCTION, percent=30)
    assert reduced_amount(100000, cut) == 70000
