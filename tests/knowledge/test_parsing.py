"""Parsing real national records (fixtures copied from the shipped file) into exact values."""

from __future__ import annotations

import json

import pytest

from knowledge.errors import RecordError
from knowledge.parsing import (
    parse_channels,
    parse_documents,
    parse_fee,
    parse_legal_basis,
    parse_record,
    parse_result,
    parse_steps,
)
from knowledge.types import Channel, DocumentGroup
from tests.conftest import FIXTURES

RECORDS = {
    json.loads(line)["ma_thu_tuc"]: json.loads(line)
    for line in (FIXTURES / "national_sample.jsonl").read_text(encoding="utf-8").splitlines()
}


def parsed(code: str):
    return parse_record(RECORDS[code])


def test_fixture_set_is_representative() -> None:
    assert len(RECORDS) >= 20
    levels = {lv for r in RECORDS.values() for lv in r["cap_thuc_hien"].split(", ")}
    assert {"Cấp xã", "Cấp tỉnh", "Cấp bộ"} <= levels


def test_marriage_three_free_channels_and_result() -> None:
    p = parsed("1.000894")
    assert p.name == "Thủ tục đăng ký kết hôn"
    assert p.levels == frozenset({"Cấp xã"})
    assert [c.channel for c in p.channels] == [Channel.ONLINE, Channel.POST, Channel.IN_PERSON]
    for c in p.channels:
        assert c.fee_amount == 0
        assert c.fee_text.startswith("Miễn phí(") and "Miễn lệ phí." in c.fee_text
        # "Trực tuyến1Miễn phí": a bare 1 with no unit is kept, its unit is not guessed.
        assert (c.time_value, c.time_unit, c.time_text) == (1.0, None, "1")
    assert p.result == "Giấy chứng nhận kết hôn"
    docs = [d for d in p.documents if not d.is_note]
    assert [d.group for d in docs].count(DocumentGroup.PRESENT) == 2
    assert docs[-1].name.startswith("Tờ khai đăng ký kết hôn theo mẫu")
    assert docs[-1].originals == 1 and docs[-1].copies == 0
    assert len(p.steps) == 6


def test_birth_registration_documents() -> None:
    p = parsed("1.001193")
    names = [d.name for d in p.documents if not d.is_note]
    assert any(n.startswith("Giấy chứng sinh;") for n in names)
    assert any(n.startswith("Tờ khai đăng ký khai sinh theo mẫu") for n in names)
    abandoned = next(d for d in p.documents if "bị bỏ rơi thì phải có biên bản" in d.name)
    assert abandoned.group is DocumentGroup.SUBMIT
    assert abandoned.condition is not None and abandoned.condition.startswith("Trường hợp trẻ em bị bỏ rơi")
    form = next(d for d in p.documents if d.name.startswith("Tờ khai đăng ký khai sinh"))
    assert form.condition is not None and form.condition.startswith("nếu người có yêu cầu")
    present = [d for d in p.documents if d.group is DocumentGroup.PRESENT]
    assert len(present) == 2 and all(d.section == "Giấy tờ phải xuất trình" for d in present)
    assert p.result == "Giấy khai sinh"


def test_residence_fee_differs_by_channel() -> None:
    p = parsed("1.004222")
    online = next(c for c in p.channels if c.channel is Channel.ONLINE)
    in_person = next(c for c in p.channels if c.channel is Channel.IN_PERSON)
    assert (online.time_value, online.time_unit, online.fee_amount) == (7.0, "Ngày làm việc", 10000)
    assert (in_person.time_value, in_person.fee_amount) == (7.0, 20000)
    # result keeps every name, without the "Mã: KQ..." codes
    assert p.result is not None and "Thông báo kết quả giải quyết thủ tục về cư trú" in p.result
    assert "KQ." not in p.result


def test_certified_copy_fee_per_page_and_foreign_currency() -> None:
    p = parsed("2.000815")
    assert p.channels[0].fee_amount == 2000
    assert p.channels[0].fee_text == "2,000 Việt Nam Đồng(/trang)"
    assert p.channels[0].time_value is None and p.channels[0].time_text == "Không có thông tin"
    # A fee in USD is kept as text; the VND amount stays unknown.
    assert p.channels[1].fee_text == "10 USD(/bản)" and p.channels[1].fee_amount is None


def test_household_business_fee_and_no_time() -> None:
    p = parsed("1.001612")
    assert [c.fee_amount for c in p.channels] == [150000, 150000, 50000]
    assert all(c.time_value is None for c in p.channels)


def test_time_and_fee_glued_split_only_when_the_explanation_confirms() -> None:
    p = parsed("1.000014")
    assert [(c.time_value, c.fee_amount) for c in p.channels] == [(1.0, 20000), (1.0, 20000)]
    rows = parse_channels("Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến120 VNĐ")
    assert rows[0].time_value is None and rows[0].fee_text == "120 VNĐ"


def test_time_read_from_description_when_cell_is_empty() -> None:
    rows = parse_channels(
        "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếpKhông có thông tinMiễn phí"
        "Trong thời hạn 05 ngày làm việc kể từ ngày nhận đủ hồ sơ"
    )
    assert (rows[0].time_value, rows[0].time_unit, rows[0].fee_amount) == (5.0, "Ngày làm việc", 0)


def test_no_information_channels() -> None:
    p = parsed("1.000232")
    assert [c.channel for c in p.channels] == [Channel.IN_PERSON, Channel.POST, Channel.ONLINE]
    assert all(c.time_value is None and c.fee_amount is None for c in p.channels)
    assert p.channels[0].description.startswith("nộp hồ sơ trực tiếp tại trụ sở")


def test_rows_all_counted_zero_stay_documents() -> None:
    p = parsed("1.000058")
    assert len(p.documents) == 3
    assert all(d.group is DocumentGroup.SUBMIT and d.originals == 0 for d in p.documents)


def test_custom_section_labels_and_original_plus_copy() -> None:
    p = parsed("1.012836")
    assert p.documents[0].section is not None and p.documents[0].section.startswith("Hồ sơ người làm dịch vụ")
    assert (p.documents[0].originals, p.documents[0].copies) == (1, 1)
    p = parsed("2.001999")
    assert [(d.originals, d.copies) for d in p.documents] == [(0, 1), (0, 1), (0, 1)]


def test_form_file_names_peeled_off() -> None:
    p = parsed("1.014911")
    assert p.documents[0].forms == ("TTHC5-Mu06-ncpliGCNdchvxlDLCN.docx",)
    assert p.documents[0].name.endswith("dịch vụ xử lý dữ liệu cá nhân")
    docs = parse_documents(
        "--Tên giấy tờMẫu đơn, tờ khaiSố lượng- Tờ khai theo mẫuTờ khai đăng ký khai sinh.docx1 bản chính"
    )
    assert docs[0].name == "Tờ khai theo mẫu" and docs[0].forms == ("Tờ khai đăng ký khai sinh.docx",)


def test_legal_basis_pairs() -> None:
    pairs = parsed("1.000894").legal_basis
    numbers = [lb.number for lb in pairs]
    assert "52/2014/QH13" in numbers and "60/2014/QH13" in numbers
    assert "123/2015/NĐ-CP" in numbers and "66.7/2025/NQ-CP" in numbers
    law = next(lb for lb in pairs if lb.number == "52/2014/QH13")
    assert law.title == "Luật 52/2014/QH13"
    assert parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật Cư trú 202068/2020/QH14")[0].number == "68/2020/QH14"


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Miễn phí", 0),
        ("Miễn lệ phí", 0),
        ("70,000 VNĐ(70.000 đồng/Giấy chứng nhận)", 70000),
        ("1,200,000 Việt Nam Đồng", 1200000),
        ("Không có thông tin", None),
        ("", None),
        ("10 USD", None),
    ],
)
def test_fee_amounts(text: str, amount: int | None) -> None:
    assert parse_fee(text) == amount


def test_result_drops_portal_boilerplate() -> None:
    assert (
        parse_result("Giấy khai sinhMã: KQ.G15.000031Từ khóaKhông có thông tinMô tảKhông có thông tin")
        == "Giấy khai sinh"
    )
    assert parse_result("Không có thông tin") is None


def test_steps_split_on_bullets() -> None:
    assert parse_steps("- Bước một\n- Bước hai\ntiếp tục bước hai") == ["Bước một", "Bước hai\ntiếp tục bước hai"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"ten_thu_tuc": "x"}, "không có mã"),
        ({"ma_thu_tuc": "abc", "ten_thu_tuc": "x"}, "không hợp lệ"),
        ({"ma_thu_tuc": "1.000001"}, "không có tên"),
        (["not", "a", "dict"], "không phải"),
    ],
)
def test_bad_records(record: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        parse_record(record)
