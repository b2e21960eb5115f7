"""The procedure matcher over the whole shipped catalog: near duplicates, typos, abstention."""

from __future__ import annotations

import pytest

from bot.nlu.matcher import (
    ACTION_CONFLICT,
    ProcedureMatcher,
    actions_in,
    heads,
    load_actions,
    name_opening,
)
from bot.nlu.normalize import Normalizer
from bot.runtime import catalog_entries
from knowledge.repository import Repository

normalize = Normalizer()


@pytest.fixture(scope="module")
def matcher(full_sqlite) -> ProcedureMatcher:
    return ProcedureMatcher(catalog_entries(Repository(full_sqlite).catalog()))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("đăng ký khai sinh", "1.001193"),
        ("dang ky khai sinh", "1.001193"),
        ("làm giấy khai sinh cho con", "1.001193"),
        ("đăng ký lại khai sinh", "1.004884"),
        ("khai sinh có yếu tố nước ngoài", "2.000528"),
        ("đăng ký kết hôn", "1.000894"),
        ("dang ky lai ket hon", "1.004746"),
        ("đk tạm trú", "1.004194"),
        ("xoa dang ky tam tru", "1.010028"),
        ("nhập hộ khẩu cho con", "1.004222"),
        ("photo công chứng giấy tờ", "2.000815"),
        ("chứng thực chữ ký", "2.000884"),
        ("đăng ký hộ kinh doanh", "1.001612"),
        ("dang ky khai sihn", "1.001193"),  # typo
        ("dang ky ket hno", "1.000894"),  # typo
        ("xin giấy xác nhận độc thân", "1.004873"),
        # a country said, not "nước ngoài": the foreign-element variant
        ("em lay chong han quoc dang ky ket hon o dau", "2.000806"),
        # "pháp" of "pháp lý" is not France; question words that form a name still count
        ("tro giup phap ly mien phi", "2.000829"),
        # a shortened official name: "Đăng ký, cấp biển số xe lần đầu thực hiện bằng dịch vụ công ..."
        ("cấp biển số xe lần đầu", "1.013067"),
        # places and peoples that look like countries without diacritics stay domestic
        ("vợ chồng em ở ngã tư Sở muốn nhận con nuôi", "2.001263"),
        ("đăng ký khai sinh cho con, chồng em là người Tày", "1.001193"),
        # "hết" of a cost is no "hết hạn"; asking for no action means the first issue, not "Gia hạn …"
        ("xin giay phep xay dung het bao nhieu tien", "1.013225"),
        ("giấy phép xây dựng hết hạn thì làm sao", "1.013227"),
        # an everyday word for an action: closing a business is ending it
        ("đóng cửa hộ kinh doanh thì phải làm thủ tục gì", "1.001266"),
        ("mua lại xe cũ thì đăng ký thế nào", "1.013076"),
        # an alias says the action the official name leaves unsaid ("… lần đầu"): a lost
        # land certificate asked again is not the first issue
        ("sổ đỏ nhà em bị mất, xin cấp lại", "1.012786"),
        ("so do nha em bi mat, xin cap lai thi can giay to gi", "1.012786"),
        ("ho kd cua e doi dia chi thi dk thay doi ntn", "2.000720"),  # "kd" = kinh doanh
        # real words the citizen meant are not typos of catalog syllables ("nộp" is not "hợp")
        ("cho mình hỏi nộp đơn xin cấp lại căn cước ở đâu", "1.014064"),
    ],
)
def test_named_procedures(matcher: ProcedureMatcher, text: str, code: str) -> None:
    m = matcher.match(normalize(text).key)
    assert m.best is not None and m.best.code == code, [(c.code, c.score) for c in m.candidates]


@pytest.mark.parametrize(
    "text",
    [
        "Hồ sơ thông báo tập trung kinh tế gồm những giấy tờ gì?",
        "thủ tục cho phép trường trung học phổ thông chuyên hoạt động trở lại",
        "lệ phí bao nhiêu",
        "xin chào",
        # shortened official names must stay specific: no niche procedure for a general phrase
        "xét trợ cấp xã hội",
        "hướng dẫn việc làm hồ sơ",
        "con em mới sinh ở Mỹ Tho, cần làm giấy tờ gì",
    ],
)
def test_abstains_when_nothing_fits(matcher: ProcedureMatcher, text: str) -> None:
    assert matcher.match(normalize(text).key).best is None


def test_follow_up_names_no_procedure(matcher: ProcedureMatcher) -> None:
    assert matcher.match(normalize("thế lệ phí bao nhiêu?").key).content_words == 0
    assert matcher.match(normalize("hồ sơ thông báo tập trung kinh tế").key).content_words > 0


def test_candidates_are_ranked_and_bounded(matcher: ProcedureMatcher) -> None:
    m = matcher.match(normalize("đăng ký khai sinh").key)
    scores = [c.score for c in m.candidates]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_heads_shorten_official_names() -> None:
    # a list of actions before the paper gives one form per action
    assert heads("Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện; cấp sổ BHXH") == [
        "Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện",
        "Đăng ký đóng BHXH tự nguyện",
        "đăng ký lại đóng BHXH tự nguyện",
        "điều chỉnh đóng BHXH tự nguyện",
        "cấp sổ BHXH",
    ]
    assert heads("TTHC cấp, gia hạn giấy phép hoạt động bến thủy") == [
        "cấp giấy phép hoạt động bến thủy",
        "gia hạn giấy phép hoạt động bến thủy",
    ]
    assert heads("Thủ tục cấp, cấp lại Giấy chứng nhận đủ điều kiện kinh doanh dịch vụ thẩm định giá") == [
        "cấp Giấy chứng nhận đủ điều kiện kinh doanh dịch vụ thẩm định giá",
        "cấp lại Giấy chứng nhận đủ điều kiện kinh doanh dịch vụ thẩm định giá",
    ]
    # the core before "đối với / trong / của …" is offered too; the matcher keeps it only when it
    # stays specific to one family of names (see test_abstains_when_nothing_fits)
    assert heads("Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV (Công trình không theo tuyến)") == [
        "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV",
        "Cấp giấy phép xây dựng mới",
    ]
    assert heads("Khai thác thông tin công dân trong Cơ sở dữ liệu quốc gia về dân cư (thực hiện tại cấp xã)") == [
        "Khai thác thông tin công dân trong Cơ sở dữ liệu quốc gia về dân cư",
        "Khai thác thông tin công dân",
    ]
    assert heads("Đổi chứng nhận đăng ký xe bằng dịch vụ công trực tuyến một phần") == ["Đổi chứng nhận đăng ký xe"]
    assert heads("Thủ tục đăng ký khai sinh") == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # an age said as a number meets the name's age condition
        ("làm căn cước cho bé 9 tuổi", "1.014062"),
        ("con trai 15 tuổi làm căn cước", "1.014061"),
        # a paper to be copied is not the procedure asked about
        ("đi công chứng photo căn cước công dân", "2.000815"),
        ("sao y sổ hộ khẩu ở đâu", "2.000815"),
        # ... but "bản sao" of a civil-status paper is its own procedure
        ("xin bản sao giấy khai sinh", "2.000635"),
        # short forms from the records and the police desk
        ("xin cấp mới giấy ANTT cho nhà nghỉ", "2.001478"),
        ("rút bhxh 1 lần", "1.001613"),
    ],
)
def test_details_and_short_forms(matcher: ProcedureMatcher, text: str, code: str) -> None:
    m = matcher.match(normalize(text).key)
    assert m.best is not None and m.best.code == code, [(c.code, c.score) for c in m.candidates]


def test_an_action_the_name_does_not_do_counts_against_it(matcher: ProcedureMatcher) -> None:
    # the records have "Cấp mới" and "Cấp đổi" of this certificate, not "cấp lại"
    asked_to_exchange = matcher.pool(normalize("xin cấp đổi giấy chứng nhận đủ điều kiện về an ninh trật tự").key)
    asked_to_reissue = matcher.pool(normalize("xin cấp lại giấy chứng nhận đủ điều kiện về an ninh trật tự").key)
    exchange = {
        matcher.entries[int(o)].code: s for o, s in zip(asked_to_exchange.owners, asked_to_exchange.scores, strict=True)
    }
    reissue = {
        matcher.entries[int(o)].code: s for o, s in zip(asked_to_reissue.owners, asked_to_reissue.scores, strict=True)
    }
    assert exchange["2.001402"] - reissue["2.001402"] >= ACTION_CONFLICT * 0.9
    assert asked_to_reissue.action_conflict[0] == 1.0


def test_words_of_the_language_are_not_corrected(matcher: ProcedureMatcher) -> None:
    """Only a syllable Vietnamese does not have is a typo; a real one stays what it is."""
    assert matcher._correct(["nop", "nua", "mam", "non", "hno", "ct01"]) == ["nop", "nua", "mam", "non", "hon", "ct01"]


def test_a_name_whose_distinct_part_is_unsaid_is_not_sure(matcher: ProcedureMatcher) -> None:
    """ "trợ cấp thất nghiệp" is only part of "Ủy quyền lĩnh thay … trợ cấp thất nghiệp": the
    catalog lacks the procedure asked about, so the matcher abstains."""
    assert matcher.match(normalize("tro cap that nghiep nop online duoc k").key).best is None


def test_the_catalog_lacking_the_action_asked_is_an_abstention(matcher: ProcedureMatcher) -> None:
    """Only "Cấp mới" and "Cấp đổi" of this certificate are in the records: a reissue is a
    procedure the catalog lacks, not the first issue."""
    for text in ("xin cấp lại giấy chứng nhận đủ điều kiện về an ninh trật tự", "bi mat giay an ninh trat tu lam lai"):
        assert matcher.match(normalize(text).key).best is None, text
    # asking for the first issue still answers
    best = matcher.match(normalize("xin cấp mới giấy chứng nhận đủ điều kiện về an ninh trật tự").key).best
    assert best is not None and best.code in {"2.001478", "1.003171"}


@pytest.mark.parametrize(
    "text",
    ["gia hạn giấy phép hoạt động đo đạc và bản đồ", "cấp đổi giấy phép hoạt động đo đạc và bản đồ ở trung ương"],
)
def test_every_action_a_name_lists_is_its_own(matcher: ProcedureMatcher, text: str) -> None:
    """ "Cấp, bổ sung, gia hạn, cấp lại, cấp đổi giấy phép …" does each of those actions."""
    pool = matcher.pool(normalize(text).key)
    i = [matcher.entries[int(o)].code for o in pool.owners].index("1.000082")
    assert pool.action_conflict[i] == 0.0


@pytest.mark.parametrize("text", ["bằng lái sắp hết hạn muốn gia hạn thì làm sao", "gia han bang lai xe o dau"])
def test_a_paper_the_records_exchange_is_what_a_citizen_extends(matcher: ProcedureMatcher, text: str) -> None:
    best = matcher.match(normalize(text).key).best
    assert best is not None and best.code == "3.000347", text


def test_a_name_says_its_action_at_its_start_or_in_closing_brackets() -> None:
    def key(text: str) -> str:
        return normalize(text).key

    opening = name_opening(
        "Thủ tục cấp, cấp lại, điều chỉnh Giấy chứng nhận đủ điều kiện kinh doanh xổ số", key
    )
    assert actions_in(opening, load_actions()) == {"reissue", "amend"}
    closing = name_opening("Thủ tục Đăng ký cấp Giấy chứng nhận đăng ký hành nghề kiểm toán (Cấp mới)", key)
    assert actions_in(closing, load_actions()) == {"new"}
    assert not actions_in(name_opening("Cấp giấy phép nhận chìm ở biển (cấp TW)", key), load_actions())
    bhxh = name_opening("Đăng ký, đăng ký lại, điều chỉnh đóng BHXH tự nguyện", key)
    assert actions_in(bhxh, load_actions()) == {"reregister", "amend"}


def test_extending_a_paper_the_records_only_reissue(matcher: ProcedureMatcher) -> None:
    """Audit practice certificates are issued (Cấp mới), amended or reissued, never extended:
    asking to extend one means the reissue, not the first issue."""
    best = matcher.match(normalize("xin gia hạn giấy chứng nhận đăng ký hành nghề kiểm toán").key).best
    assert best is not None and best.code == "1.007632"


def test_a_shortened_name_must_say_what_sets_it_apart(matcher: ProcedureMatcher) -> None:
    """"cấp giấy chứng nhận đủ điều kiện kinh doanh dịch vụ …" is most of the shortened name
    "Cấp giấy chứng nhận … thẩm định giá", but not what makes it that procedure."""
    text = "xin cấp giấy chứng nhận đủ điều kiện kinh doanh dịch vụ xoa bóp cần gì"
    assert matcher.match(normalize(text).key).best is None
    best = matcher.match(normalize("gia hạn giấy phép hoạt động đo đạc bản đồ cấp trung ương").key).best
    assert best is not None and best.code == "1.000082"
