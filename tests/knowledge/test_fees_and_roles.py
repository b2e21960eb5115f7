"""Fee cells read clause by clause, document roles and the receiving office, on real records
(the national file's own rows, copied into fixtures)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from knowledge import fees
from knowledge.parsing import document_role, is_channel_condition, is_form, parse_receiver, parse_record
from knowledge.types import Channel, DocumentGroup, DocumentRole, FeeKind, Receiver
from tests.conftest import FIXTURES

RECORDS = {
    json.loads(line)["ma_thu_tuc"]: json.loads(line)
    for name in ("national_sample.jsonl", "fee_records.jsonl")
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()
}


def parsed(code: str):
    return parse_record(RECORDS[code])


def channel(code: str, which: Channel):
    return next(c for c in parsed(code).channels if c.channel is which)


def test_free_cell_with_an_explained_amount_the_explanation_wins() -> None:
    p = parsed("3.000347")  # đổi giấy phép lái xe: "Miễn phí(- Lệ phí…: 135.000 đồng/lần…"
    for c in p.channels:
        assert c.fee.free is True and c.fee.conflict
        assert c.fee_amount == 135000  # not 0
        kinds = [(cl.kind, [a.value for a in cl.amounts]) for cl in c.fee.clauses]
        assert kinds == [(FeeKind.AMOUNT, [135000]), (FeeKind.REDUCTION, [115000])]
        reduction = c.fee.clauses[1]
        assert (reduction.valid_from, reduction.valid_to) == (date(2023, 12, 1), date(2025, 12, 31))
        assert reduction.in_force(date(2025, 6, 1)) is True and reduction.in_force(date(2026, 12, 1)) is False


def test_dated_half_rate_reductions_of_the_id_card() -> None:
    in_person = channel("1.014064", Channel.IN_PERSON)
    assert in_person is not None and in_person.fee_amount == 70000
    reductions = [c for c in in_person.fee.clauses if c.kind is FeeKind.REDUCTION]
    assert [(r.percent, r.valid_from, r.valid_to) for r in reductions] == [
        (50, date(2025, 1, 1), date(2025, 12, 31)),
        (50, date(2025, 7, 1), date(2026, 12, 31)),
    ]
    assert reductions[1].regulation == "Thông tư số 64/2025/TT-BTC"
    assert channel("1.014064", Channel.POST).fee.free is None  # "Không có thông tin"


def test_per_page_rule_from_the_description_and_the_case_of_a_foreign_currency() -> None:
    p = parsed("2.000815")
    local, abroad = p.channels
    assert local.fee.cell_amount is not None and (local.fee.cell_amount.value, local.fee.cell_amount.per) == (
        2000,
        "trang",
    )
    texts = [c.text for c in local.fee.clauses]
    assert texts[0] == (
        "Tại Ủy ban nhân dân cấp xã, Tổ chức hành nghề công chứng: 2.000 đồng/trang; từ trang thứ 3 trở lên thu "
        "1.000 đồng/trang, tối đa thu không quá 200.000 đồng/bản."
    )
    assert [a.value for a in local.fee.clauses[0].amounts] == [2000, 1000, 200000]
    assert all(c.from_description for c in local.fee.clauses)
    assert abroad.fee.cell_amount is not None and abroad.fee.cell_amount.currency == "USD"
    assert abroad.fee_amount is None
    assert [c.text for c in abroad.fee.clauses] == ["Tại cơ quan đại diện: 10 USD/bản."]


def test_a_cell_in_vnd_whose_explanation_says_usd_is_read_as_usd() -> None:
    p = parsed("1.003358")
    wrong = [c for c in p.channels if c.fee_text.startswith("155 VNĐ")]
    assert wrong and all(c.fee.cell_amount.currency == "USD" and c.fee_amount is None for c in wrong)


@pytest.mark.parametrize(
    ("code", "kind", "detail"),
    [
        ("3.000333", FeeKind.REGULATION, "Thông tư số 244/2016/TT-BTC"),  # lý lịch tư pháp
        ("1.004873", FeeKind.AUTHORITY, "Hội đồng nhân dân tỉnh, thành phố trực thuộc Trung ương"),
    ],
)
def test_fees_set_elsewhere_are_named(code: str, kind: FeeKind, detail: str) -> None:
    c = parsed(code).channels[0]
    assert c.fee.free is True and c.fee.conflict
    first = c.fee.clauses[0]
    assert first.kind is kind and detail in (first.regulation or first.authority or "")
    assert c.fee_amount is None


def test_headings_introduce_their_bullets_and_brackets_become_clauses() -> None:
    tam_tru = channel("1.004194", Channel.ONLINE)
    assert [c.text for c in tam_tru.fee.clauses] == [
        "Đăng ký tạm trú (cá nhân, hộ gia đình): trường hợp công dân nộp hồ sơ qua cổng dịch vụ công trực tuyến "
        "thu 7.000 đồng/lần đăng ký."
    ]
    system = channel("1.000283", Channel.IN_PERSON)
    assert [(c.kind, c.text) for c in system.fee.clauses] == [
        (FeeKind.AMOUNT, "Hệ thống 4.000.000 đồng/lần"),
        (FeeKind.REDUCTION, "Miễn kể từ ngày 07/4/2026 đến 30/6/2026 theo Thông tư 40/2026/TT-BTC"),
    ]


def test_a_list_after_a_semicolon_stays_one_clause() -> None:
    c = parsed("1.004873").channels[0]
    assert [cl.text for cl in c.fee.clauses if cl.kind is FeeKind.EXEMPTION] == [
        "Miễn lệ phí cho người thuộc gia đình có công với cách mạng; người thuộc hộ nghèo; người khuyết tật."
    ]


def test_marriage_is_free_and_names_the_fee_of_copies() -> None:
    c = parsed("1.000894").channels[0]
    assert c.fee_amount == 0 and not c.fee.conflict
    assert [cl.kind for cl in c.fee.clauses] == [FeeKind.FREE, FeeKind.REGULATION]


def test_fee_json_round_trip() -> None:
    for code in ("3.000347", "2.000815", "1.014064", "1.003358"):
        for c in parsed(code).channels:
            assert fees.from_json(json.loads(json.dumps(fees.to_json(c.fee)))) == c.fee
    assert (
        fees.from_json(None) == fees.FeeInfo()
        and fees.from_json({"clauses": [{"kind": "??"}]}).clauses[0].kind is FeeKind.OTHER
    )


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("(- Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần.", "Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần."),
        ("+ Thiết bị 2.000.000đ/lần", "Thiết bị 2.000.000 đồng/lần"),
        ("((Miễn lệ phí.))", "Miễn lệ phí."),
        ("(iii) 10USD/giấy)", "10 USD/giấy"),
    ],
)
def test_clauses_are_tidied(text: str, clean: str) -> None:
    assert fees.tidy(text) == clean


def test_birth_registration_core_papers_and_cases() -> None:
    docs = [d for d in parsed("1.001193").documents if not d.is_note]
    roles = {d.name[:30]: d.role for d in docs}
    assert roles["Giấy chứng sinh; trường hợp kh"] is DocumentRole.CORE
    assert roles["Tờ khai đăng ký khai sinh theo"] is DocumentRole.FORM  # a channel, not a case
    assert roles["Mẫu hộ tịch điện tử tương tác "] is DocumentRole.FORM
    assert roles["Hộ chiếu/Thẻ căn cước công dân"] is DocumentRole.IDENTITY
    assert roles["Văn bản ủy quyền (được chứng t"] is DocumentRole.CASE
    assert roles["Trường hợp trẻ em bị bỏ rơi th"] is DocumentRole.CASE


def test_household_business_authorization_clauses_are_cases() -> None:
    docs = [d for d in parsed("1.001612").documents if not d.is_note]
    assert [d.name for d in docs if d.role is not DocumentRole.CASE] == ["Giấy đề nghị đăng ký hộ kinh doanh;"]
    assert all(d.condition for d in docs if d.role is DocumentRole.CASE)


def test_variant_sections_give_their_label_as_the_case_and_keep_the_declaration() -> None:
    docs = [d for d in parsed("1.004194").documents if not d.is_note]
    listed = [d for d in docs if d.role is DocumentRole.CASE and d.condition == "Đăng ký tạm trú theo danh sách"]
    assert [d.name[:26] for d in listed] == ["Văn bản đề nghị đăng ký tạ"]
    forms = [d for d in docs if d.role is DocumentRole.FORM]
    assert forms and all(d.name.startswith("Tờ khai thay đổi thông tin cư trú") for d in forms)
    residence = [d for d in parsed("1.004222").documents if not d.is_note]
    assert {d.role for d in residence if "CT01" in d.name} == {DocumentRole.FORM}
    assert all(d.role is DocumentRole.CASE for d in residence if "phương tiện" in d.name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Đơn đề nghị cấp giấy phép", True),
        ("Đơn vị cấp trung đoàn giới thiệu", False),  # "đơn vị" is no "đơn"
        ("Tờ khai thay đổi thông tin cư trú", True),
        ("(i) Giấy đề nghị mở tài khoản", True),
        ("Giấy chứng sinh", False),
    ],
)
def test_forms_are_matched_on_words(name: str, expected: bool) -> None:
    assert is_form(name) is expected


def test_role_is_a_function_of_what_staff_edit() -> None:
    assert document_role("Giấy chứng sinh", None, "nop") is DocumentRole.CORE
    assert document_role("Giấy chứng sinh", "Trường hợp trẻ bị bỏ rơi", DocumentGroup.SUBMIT) is DocumentRole.CASE
    assert is_channel_condition("nếu người có yêu cầu lựa chọn nộp hồ sơ theo hình thức trực tuyến")
    assert not is_channel_condition("trường hợp ủy quyền thực hiện việc đăng ký khai sinh")


@pytest.mark.parametrize(
    ("levels", "agency", "receiver"),
    [
        ({"Cấp xã"}, "", Receiver.WARD_DESK),
        ({"Cấp xã"}, "Ủy ban Nhân dân xã, phường, thị trấn.", Receiver.WARD_DESK),
        ({"Cấp xã"}, "Công an cấp Xã", Receiver.POLICE),
        ({"Cấp xã"}, "Bộ Công an, Bộ Quốc phòng, Sở Nông nghiệp và Môi trường", Receiver.WARD_DESK),
        ({"Cấp xã"}, "Bảo hiểm xã hội cấp huyện, Bảo hiểm xã hội tỉnh", Receiver.LOCAL_AGENCY),
        ({"Cấp xã"}, "Thuế cơ sở", Receiver.LOCAL_AGENCY),
        ({"Cấp bộ"}, "Cục cảnh sát giao thông, Công an tỉnh, Công an cấp Xã", Receiver.HIGHER),
    ],
)
def test_receiving_office(levels: set[str], agency: str, receiver: Receiver) -> None:
    assert parse_receiver(frozenset(levels), agency) is receiver
