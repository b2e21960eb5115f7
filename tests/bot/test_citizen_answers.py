"""First answers read as a citizen on a phone would: the papers everyone brings without the
papers of a case or headings that name nothing, the identity paper when the record asks for
it, a processing time from the record's words when its cell is empty, one office to go to,
today's fee under a dated rate, and headings that never end inside a phrase or a bracket."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from bot.actions import ACTIONS, ActionContext
from bot.actions.wording import title_name
from bot.render import fit
from bot.responses import load as load_responses
from knowledge.repository import Repository

PORTAL = "https://dichvucong.gov.vn"
TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def repo(full_sqlite) -> Repository:
    return Repository(full_sqlite)


@pytest.fixture(scope="module")
def responses():
    return load_responses()


def first(repo: Repository, responses, assistant, intent: str, code: str, today: date = TODAY) -> str:
    """The first answer in the widget, on `today`."""
    p = repo.procedure(code)
    assert p is not None
    page = f"http://127.0.0.1:8000/thu-tuc/{code}"
    ctx = ActionContext(p, assistant.unit(None), responses, PORTAL, page, today)
    return fit(replace(ACTIONS[intent](ctx)[0], link=page), "web", responses).text


def numbered(text: str) -> list[str]:
    return [ln.split(". ", 1)[1] for ln in text.splitlines() if ln[:1].isdigit() and ". " in ln[:4]]


def test_a_heading_of_cases_is_no_core_paper(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_documents", "1.013079")  # đổi đăng ký xe
    assert not any(p.startswith("Một số giấy tờ khác") for p in numbered(text))
    assert "xe cải tạo" in text  # named as a case


def test_a_heading_shows_its_list_and_a_paper_named_by_whose_it_is_says_so(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_documents", "1.013067")  # đăng ký xe lần đầu
    papers = numbered(text)
    assert any(p.startswith("Giấy tờ của xe: Chứng nhận nguồn gốc xe") for p in papers), text
    assert any(p.startswith("Giấy tờ của chủ xe (dữ liệu quốc gia không ghi cụ thể") for p in papers), text
    signature = first(repo, responses, assistant, "ask_documents", "2.000884")  # chứng thực chữ ký
    assert "Một trong các giấy tờ sau: Căn cước điện tử" in signature


def test_the_id_card_of_a_child_is_a_case_of_the_reissue(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_documents", "1.014064")
    assert not any("người đại diện hợp pháp" in p for p in numbered(text))
    assert "người đại diện hợp pháp" in text


def test_identity_paper_from_the_steps_is_said_among_the_first_papers(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_documents", "2.001035")  # chứng thực giao dịch động sản
    papers = numbered(text)
    assert any(p.startswith("Xuất trình một trong các giấy tờ sau: Căn cước điện tử") for p in papers[:3]), text
    assert "(ghi ở trình tự thực hiện)" in text


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("1.001612", "trong thời hạn 03 ngày làm việc kể từ ngày nhận hồ sơ (theo trình tự thực hiện"),
        ("1.004873", "3 ngày làm việc (ô thời hạn chỉ ghi “3”; đơn vị theo trình tự thực hiện)"),
    ],
)
def test_time_from_the_records_words(repo, responses, assistant, code: str, said: str) -> None:
    text = first(repo, responses, assistant, "ask_processing_time", code)
    assert said in text
    assert "dữ liệu quốc gia chưa ghi thời hạn" not in text


def test_a_bare_number_is_said_plainly(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_processing_time", "1.000894")  # kết hôn: cell "1"
    assert "thường là 1 ngày làm việc" in text and "“1”" in text
    assert "(không ghi đơn vị" not in text


def test_times_of_one_channel_name_their_case(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_processing_time", "1.013079")
    assert "7 ngày làm việc (cấp đổi biển số xe)" in text
    assert "2 ngày làm việc (cấp đổi chứng nhận đăng ký xe)" in text


def test_where_names_one_office(repo, responses, assistant) -> None:
    joint = first(repo, responses, assistant, "ask_where", "2.001023")  # steps: nộp tại Một cửa UBND cấp xã
    assert joint.splitlines()[1] == assistant.unit(None).name
    insurance = first(repo, responses, assistant, "ask_where", "1.001939")
    assert insurance.splitlines()[1].startswith("Bảo hiểm xã hội cấp huyện (cơ quan gần nhất")


def test_todays_fee_under_a_dated_rate(repo, responses, assistant) -> None:
    text = first(repo, responses, assistant, "ask_fee", "1.014064")  # cấp lại căn cước, 50% to 31/12/2026
    assert "35.000 đồng/thẻ hiện nay (bằng 50% mức 70.000 đồng/thẻ, từ 01/07/2025 đến hết 31/12/2026)" in text
    later = first(repo, responses, assistant, "ask_fee", "1.014064", date(2027, 1, 5))
    assert "70.000 đồng/thẻ" in later and "hiện nay" not in later and "35.000" not in later


def test_headings_never_end_inside_a_phrase_or_a_bracket(repo) -> None:
    popular = sorted((p for p in repo.catalog() if p.popularity), key=lambda p: -p.popularity)[:60]
    for p in popular:
        title = title_name(p.name)
        assert title.count("(") == title.count(")"), title
        assert not title.endswith((".", " và", " của", " thực hiện", " bằng")), title
    assert title_name("Đăng ký, cấp biển số xe lần đầu thực hiện bằng dịch vụ công trực tuyến một phần") == (
        "đăng ký, cấp biển số xe lần đầu"
    )
