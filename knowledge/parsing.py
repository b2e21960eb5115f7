"""Parse the national portal's flattened tables into structured rows.

The portal's HTML tables were flattened into plain strings when collected, so cell borders
are gone ("Trực tuyến1Miễn phí", "...khai sinh.docx1 bản chính"). Every parser here keeps the
source text so nothing is lost when a cell is read imperfectly, and never guesses a value the
text does not state (a bare time with no unit stays "unit unknown").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from functools import lru_cache
from typing import Any

from knowledge.errors import RecordError
from knowledge.fees import parse_fee_info, resolved_amount
from knowledge.text import fold
from knowledge.types import (
    Channel,
    ChannelInfo,
    DocumentGroup,
    DocumentInfo,
    DocumentRole,
    LegalBasisInfo,
    Receiver,
)

NO_INFO = "Không có thông tin"

# Source field names of the national record, kept verbatim beside the parsed rows.
SOURCE_FIELDS = (
    "trinh_tu_thuc_hien",
    "cach_thuc_thuc_hien",
    "thanh_phan_ho_so",
    "can_cu_phap_ly",
    "yeu_cau_dieu_kien",
    "ket_qua_xu_ly",
    "thu_tuc_lien_quan",
    "doi_tuong_thuc_hien",
    "co_quan_co_tham_quyen",
    "co_quan_thuc_hien",
    "dia_chi_tiep_nhan",
    "co_quan_duoc_uy_quyen",
    "co_quan_phoi_hop",
)

CODE_RE = re.compile(r"^\d+\.\d{6}$")
_VN_LOWER = "a-zàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
_VN_UPPER = "A-ZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ"


def clean(text: Any) -> str:
    """NFC, no zero-width characters, collapsed spaces; "Không có thông tin" becomes ""."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFC", text).replace("\u200e", "").replace("\u200b", "")
    text = text.replace("\xa0", " ")
    text = re.sub(r"[ \t]+", " ", text).strip()
    return "" if text.rstrip(".") == NO_INFO else text


def one_line(text: str) -> str:
    """Collapse all whitespace, newlines included."""
    return re.sub(r"\s+", " ", text).strip()


# --- submission channels (cach_thuc_thuc_hien) -------------------------------------------

CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
_CHANNEL_NAMES = {
    "Trực tiếp": Channel.IN_PERSON,
    "Trực tuyến": Channel.ONLINE,
    "Dịch vụ bưu chính": Channel.POST,
}
# A row starts with the channel name glued to its time cell (a number or "Không ...").
_CHANNEL_ROW_RE = re.compile(r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)(?=\s*(?:\d|Không))")
_TIME_RE = re.compile(
    r"\s*(?:(?P<none>Không có thông tin|Không)|(?P<value>\d+(?:[.,]\d+)?)\s*"
    r"(?P<unit>Ngày làm việc|Ngày|Giờ làm việc|Giờ|Tháng|Năm|Tuần|Phút)?)\s*"
)
_MONEY = r"\d{1,3}(?:[.,]\d{3})+|\d+"
_CURRENCY = r"(?:Việt Nam Đồng|VNĐ|VND|đồng|Đồng)"


_DESCRIBED_TIME_RE = re.compile(
    r"(?:thời hạn(?: giải quyết)?|trong vòng|trong thời gian|trả kết quả trong)\s*(?:là\s*)?"
    r"(?P<value>\d+)\s*(?:\([^)]*\)\s*)?(?P<unit>ngày làm việc|ngày|giờ làm việc|giờ|tháng)",
    re.IGNORECASE,
)


_EXPLAINED_AMOUNT_RE = re.compile(
    r"\((?:[^)]*?\D)?(?P<amount>\d{1,3}(?:[.,]\d{3})+)\s*(?:vnđ|vnd|đồng|đ)", re.IGNORECASE
)


def _split_glued_time(cell: str) -> tuple[float, str] | None:
    """ "120 VNĐ(20.000 vnđ/tờ khai)" -> (1, "20.000 VNĐ(20.000 vnđ/tờ khai)") when the
    explanation confirms the amount; None when it does not."""
    m = re.match(rf"(?P<digits>[\d.,]+)\s*(?P<cur>{_CURRENCY})(?P<rest>.*)", cell, re.DOTALL)
    explained = _EXPLAINED_AMOUNT_RE.search(cell)
    if not m or not explained:
        return None
    digits = re.sub(r"[.,]", "", m.group("digits"))
    amount = _money(explained.group("amount"))
    for stated in (str(amount), str(amount // 1000)):
        head = digits[: len(digits) - len(stated)]
        if digits.endswith(stated) and 0 < len(head) <= 2 and stated != "0":
            return float(head), f"{explained.group('amount')} {m.group('cur')}{m.group('rest')}"
    return None


def _money(text: str) -> int:
    return int(re.sub(r"[.,]", "", text))


def _split_fee_description(rest: str) -> tuple[str, str]:
    """Split "<fee cell>(<explanation>)<description>" into fee text and description."""
    m = re.match(
        rf"(?P<fee>(?:Miễn phí|{NO_INFO}|(?:{_MONEY})\s*(?:{_CURRENCY}|USD)|{_CURRENCY})"
        rf"(?:\s*(?:{_MONEY})\s*{_CURRENCY})*)",
        rest,
    )
    if not m:
        return "", rest.strip()
    end = m.end()
    # The explanation in parentheses belongs to the fee; parentheses may nest.
    while end < len(rest) and rest[end] == "(":
        depth = 0
        for i in range(end, len(rest)):
            if rest[i] == "(":
                depth += 1
            elif rest[i] == ")":
                depth -= 1
                if depth == 0:
                    end = i + 1
                    break
        else:
            end = len(rest)
        # Another amount glued after the explanation belongs to the fee as well.
        more = re.match(rf"(?:{_MONEY})\s*{_CURRENCY}", rest[end:])
        if more:
            end += more.end()
    return rest[:end].strip(), rest[end:].strip()


def parse_fee(fee_text: str, description: str = "") -> int | None:
    """The one amount in VND a fee cell charges, its explanation winning over the cell
    ("Miễn phí(- Lệ phí…: 135.000 đồng/lần…)" -> 135000): 0 when free, None when it states
    no single amount in VND (none, several, a foreign currency, a provincial rate)."""
    text = fee_text.strip()
    if not text or text.startswith(NO_INFO):
        return None
    return resolved_amount(parse_fee_info(text, description))


def parse_channels(source: str) -> list[ChannelInfo]:
    """Rows of the "Hình thức nộp / Thời gian / Phí, lệ phí / Mô tả" table."""
    text = clean(source)
    if not text:
        return []
    body = text[len(CHANNEL_HEADER) :] if text.startswith(CHANNEL_HEADER) else text
    parts = _CHANNEL_ROW_RE.split(body)
    rows: list[ChannelInfo] = []
    for i in range(1, len(parts), 2):
        channel = _CHANNEL_NAMES[parts[i]]
        cell = parts[i + 1]
        m = _TIME_RE.match(cell)
        value: float | None = None
        unit: str | None = None
        time_text = ""
        rest = cell
        if m:
            rest = cell[m.end() :]
            if m.group("value"):
                digits = m.group("value")
                if not m.group("unit") and re.match(rf"(?:[.,]\d{{3}})*\s*{_CURRENCY}", rest):
                    # Time and fee digits ran together ("Trực tuyến120 VNĐ(20.000 vnđ/tờ khai)").
                    # Only the fee's own explanation can tell them apart; otherwise the time
                    # stays unknown and the digits stay with the fee.
                    split = _split_glued_time(cell.lstrip())
                    if split is None:
                        rest = cell.lstrip()
                    else:
                        value, rest = split
                        time_text = str(int(value))
                else:
                    value = float(digits.replace(",", "."))
                    unit = m.group("unit")
                    time_text = one_line(cell[: m.end()])
            else:
                time_text = one_line(m.group("none"))
                if m.group("none") == "Không" and rest.startswith("có thông tin"):
                    rest = rest[len("có thông tin") :]
                    time_text = NO_INFO
        fee_text, description = _split_fee_description(rest)
        fee = parse_fee_info(fee_text, description)
        if value is None:
            found = _DESCRIBED_TIME_RE.search(description)
            if found:
                # The time cell is empty but the description states it ("Trong thời hạn 05
                # ngày làm việc kể từ ngày nhận đủ hồ sơ"): read it from there, as written.
                value = float(found.group("value"))
                unit = found.group("unit").capitalize()
                time_text = one_line(found.group(0))
        rows.append(
            ChannelInfo(
                channel=channel,
                time_value=value if value else None,
                time_unit=unit if value else None,
                time_text=time_text,
                fee_amount=resolved_amount(fee) if fee_text and not fee_text.startswith(NO_INFO) else None,
                fee_text=fee_text,
                description=description,
                fee=fee,
            )
        )
    return rows


# --- documents (thanh_phan_ho_so) ---------------------------------------------------------

DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
_COUNT_RE = re.compile(
    r"(?P<n1>\d+)\s*bản\s*(?P<k1>chính|sao|chụp)(?:\s*,\s*(?P<n2>\d+)\s*bản\s*(?P<k2>chính|sao|chụp))?"
)
_FORM_EXT_RE = re.compile(r"\.(?:docx?|pdf|xlsx?|rtf|odt)$", re.IGNORECASE)
# A form file name is glued to the paper's name: "...theo mẫuTờ khai đăng ký khai sinh.docx".
_GLUE_RE = re.compile(rf"(?<=[{_VN_LOWER}.;:,)\]”\"])(?=[{_VN_UPPER}0-9])")
_CONDITION_RE = re.compile(r"^(Trường hợp|Đối với|Nếu|Riêng|Ngoài ra,? trường hợp)\b", re.IGNORECASE)


def _section_group(label: str) -> DocumentGroup:
    low = label.lower()
    if "xuất trình" in low:
        return DocumentGroup.PRESENT
    if "lưu ý" in low:
        return DocumentGroup.NOTE
    return DocumentGroup.SUBMIT


def _split_forms(text: str) -> tuple[str, list[str]]:
    """Peel form file names off the end of a row's name cell."""
    forms: list[str] = []
    name = text
    while (m := _FORM_EXT_RE.search(name)) is not None:
        # The file name is the tail after the last sentence break, from its first glue point.
        head = name[: m.start()]
        # Several files may be glued: "Mẫu 01.docxMẫu 02.docx"; the previous one ends with an ext.
        prev_ext = None
        for pe in re.finditer(r"\.(?:docx?|pdf|xlsx?|rtf|odt)", head, re.IGNORECASE):
            prev_ext = pe
        start_floor = prev_ext.end() if prev_ext else 0
        breaks = [b.end() for b in re.finditer(r";\s*|[.:]\s+|\n", head)]
        floor = max([start_floor, *[b for b in breaks if b >= start_floor]])
        glue = [g.start() for g in _GLUE_RE.finditer(name, floor, m.start())]
        if prev_ext is not None and start_floor not in glue:
            glue.insert(0, start_floor)
        if not glue:
            break
        start = glue[0]
        forms.insert(0, name[start : m.end()].strip())
        name = name[:start]
    return name.strip(), forms


# Enumerators the portal leaves at the start of rows and labels: "(iv) ", "a) ", "1. ", "(1.3) ".
_ENUMERATOR_RE = re.compile(
    r"^[\s;.,:]*(?:[-+*•]\s*)*(?:\(?(?:\d+(?:\.\d+)*|[a-zđ](?:\.\d+)*|[ivx]+)[).]\s*)*", re.IGNORECASE
)
_CONDITION_RE = re.compile(r"^(?:Trường hợp|Đối với|Nếu|Riêng|Ngoài ra,? trường hợp|Khi)\b", re.IGNORECASE)
# "… trong trường hợp ủy quyền …", "… đối với trường hợp hộ kinh doanh do …": a condition
# inside the first sentence of a row.
_INLINE_CONDITION_RE = re.compile(
    r"\s(?:trong|đối với|áp dụng đối với|đối với các|trong các)\s+trường hợp\s+(?P<case>.+)$", re.IGNORECASE
)
_PAREN_CONDITION_RE = re.compile(r"\((?P<case>(?:nếu|trong trường hợp|trường hợp|đối với)\b[^()]*)\)", re.IGNORECASE)
_FIRST_SENTENCE_RE = re.compile(r"(?<!\b[Ss]ố)(?<!\d)[.;](?=\s|$)")
# Words that only say how a file is submitted: a condition made of them alone ("nếu người có
# yêu cầu lựa chọn nộp hồ sơ theo hình thức trực tiếp") names a channel, not a case.
_CHANNEL_VOCABULARY = (
    "neu nguoi co yeu cau lua chon nop ho so theo hinh thuc truc tiep truc tuyen hoac gui qua he thong buu chinh "
    "dich vu cong tren moi truong dien tu dang ky thuc hien truong hop cong qua mang trong khi lam thu tuc tai "
    "co quan ho tich"
)
CHANNEL_WORDS = frozenset(_CHANNEL_VOCABULARY.split())
CHANNEL_MARKERS = ("truc tiep", "truc tuyen", "buu chinh", "moi truong dien tu", "qua mang")
# First words of a declaration or application form (tokens of the lower-cased name).
FORM_STARTS = (
    ("tờ", "khai"),
    ("đơn",),
    ("giấy", "đề", "nghị"),
    ("văn", "bản", "đề", "nghị"),
    ("phiếu", "đề", "nghị"),
    ("phiếu", "yêu", "cầu"),
    ("phiếu", "đăng", "ký"),
    ("bản", "khai"),
    ("giấy", "khai"),
    ("mẫu",),
    ("đề", "nghị"),
    ("thông", "báo"),
    ("bản", "đăng", "ký"),
)
NOT_FORM_AFTER = {"đơn": ("vị", "giá", "hàng", "thuốc")}
""""đơn vị", "đơn giá", "đơn hàng", "đơn thuốc" are no application form."""
IDENTITY_PHRASES = (
    ("giấy", "tờ", "tùy", "thân"),
    ("giấy", "tờ", "tuỳ", "thân"),
    ("căn", "cước"),
    ("hộ", "chiếu"),
    ("chứng", "minh", "nhân", "dân"),
)
AUTHORIZATION_STARTS = (("văn", "bản", "ủy", "quyền"), ("giấy", "ủy", "quyền"), ("văn", "bản", "uỷ", "quyền"))
_WORD_RE = re.compile(r"[\wÀ-ỹ]+")
# A row that introduces the rows after it ("* Ngoài giấy tờ nêu trên, tùy từng trường hợp, bên
# nam, bên nữ phải nộp giấy tờ tương ứng sau đây:") is a heading, not a paper.
_HEADING_RE = re.compile(r"(?:sau đây|như sau|sau|gồm|bao gồm|gồm có|các giấy tờ)\s*:$", re.IGNORECASE)
_NOTE_LEAD_RE = re.compile(r"^[\s*\-+•]*(?:lưu ý|ghi chú|ví dụ)\s*:", re.IGNORECASE)
_HEADING_CASE_RE = re.compile(r"\b(?:trường hợp|tùy|tuỳ|ngoài)\b", re.IGNORECASE)
_GROUP_LABEL_RE = re.compile(
    r"^(?:các\s+)?(?:giấy tờ|hồ sơ|thành phần hồ sơ)?\s*(?:phải\s+)?(?:nộp|xuất trình|lưu ý|bao gồm|gồm)\b"
    r"|^(?:thành phần hồ sơ|lưu ý|bao gồm|giấy tờ phải|các giấy tờ phải)",
    re.IGNORECASE,
)
_LABEL_TAIL_RE = re.compile(
    r"[,\s]*(?:thì\s+)?(?:hồ sơ\s+)?(?:(?:phải\s+)?(?:bao\s+)?gồm(?: có)?|như sau)\s*:?\s*$", re.IGNORECASE
)


def _tokens(text: str) -> list[str]:
    return list(_first_words(text))


@lru_cache(maxsize=16384)
def _first_words(text: str) -> tuple[str, ...]:
    """The lower-cased words of a name's opening (what the role rules look at)."""
    return tuple(_WORD_RE.findall(text[:200].lower()))


def _starts(tokens: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(tuple(tokens[: len(p)]) == p for p in phrases)


def _contains(tokens: list[str], phrase: tuple[str, ...], within: int) -> bool:
    window = tokens[: within + len(phrase)]
    return any(tuple(window[i : i + len(phrase)]) == phrase for i in range(len(window) - len(phrase) + 1))


def strip_enumerator(text: str) -> str:
    """ "(iv) Trường hợp…" -> "Trường hợp…", "a) Tờ khai…" -> "Tờ khai…"."""
    return _ENUMERATOR_RE.sub("", text, count=1).strip()


def _condition(name: str) -> str | None:
    """The case a row is needed in, in the record's words; None for every applicant."""
    body = strip_enumerator(name.lstrip("-+* ").strip())
    if _CONDITION_RE.match(body):
        return body
    first = _FIRST_SENTENCE_RE.split(body, maxsplit=1)[0]
    m = _PAREN_CONDITION_RE.search(first)
    if m:
        return m.group("case").strip()
    m = _INLINE_CONDITION_RE.search(first)
    if m:
        return "trường hợp " + m.group("case").strip(" .;,")
    m = _TRAILING_CONDITION_RE.search(body)
    if m:
        # "Kết quả đấu giá thuê rừng; …; thông báo … (đối với trường hợp cho thuê đất và cho
        # thuê rừng)." — a bracket closing the row names the case of the whole row.
        return m.group("case").strip()
    m = _SUBJECT_LEAD_RE.match(body)
    if m and not fold(m.group("who")).startswith(_EVERY_APPLICANT):
        # "Người nước ngoài, công dân Việt Nam định cư ở nước ngoài phải nộp bản sao hộ chiếu":
        # a row that opens with who must bring the paper is that person's case.
        return m.group("who").strip(" ,")
    return None


# A bracket that ends the row and says when it applies.
_TRAILING_CONDITION_RE = re.compile(
    r"\((?P<case>(?:nếu|trong trường hợp|trường hợp|đối với|áp dụng (?:đối với|cho))\b[^()]*)\)[\s.;]*$",
    re.IGNORECASE,
)
# "Người nước ngoài … phải nộp …", "Công dân … phải xuất trình …".
_SUBJECT_LEAD_RE = re.compile(
    r"^(?P<who>(?:Người|Công dân|Bên|Cha|Mẹ|Chủ)\b[^.;:]{2,120}?)\s+phải\s+(?:nộp|có|xuất trình|kèm theo|bổ sung)\s",
)
_EVERY_APPLICANT = (
    "nguoi yeu cau",
    "nguoi co yeu cau",
    "nguoi de nghi",
    "nguoi di ",
    "nguoi nop",
    "nguoi thuc hien",
    "nguoi dang ky",
    "nguoi dung dau",
)
"""Who every applicant is: a row opening with them is no case ("Người yêu cầu phải xuất trình…")."""
# Words of a heading that names no paper of its own ("Một số giấy tờ khác:", "Một trong các
# giấy tờ sau:", "Giấy tờ của xe:"): what follows its colon is the list, or the cases.
VAGUE_HEADING_WORDS = frozenset(
    [
        "một",
        "số",
        "các",
        "những",
        "giấy",
        "tờ",
        "tài",
        "liệu",
        "khác",
        "sau",
        "đây",
        "trong",
        "loại",
        "gồm",
        "có",
        "kèm",
        "theo",
        "liên",
        "quan",
    ]
)
_HEADING_CASE_BODY_RE = re.compile(
    r"(?:\bthì\s+(?:phải\s+)?(?:có|nộp|kèm)|^\W*(?:[a-zđ]\)\s*)?(?:trường hợp|nếu|đối với)\b)", re.IGNORECASE
)
# A paper that proves someone acts for the applicant: needed only when someone does.
REPRESENTATION_PHRASES = (
    ("người", "đại", "diện", "hợp", "pháp"),
    ("người", "giám", "hộ"),
    ("người", "được", "ủy", "quyền"),
    ("người", "được", "uỷ", "quyền"),
)


@lru_cache(maxsize=4096)
def vague_heading(name: str) -> tuple[str, str] | None:
    """ "Một số giấy tờ khác: a) Xe cải tạo…" -> ("Một số giấy tờ khác", "a) Xe cải tạo…");
    "Giấy tờ của xe: Chứng nhận nguồn gốc xe; …" -> ("Giấy tờ của xe", "Chứng nhận…"); None
    when the row names its paper before any colon."""
    text = strip_enumerator(" ".join(name.split())).strip(" -+*•")
    at = text.find(":")
    if at <= 0 or at > 60 or len(text) - at < 8:
        return None
    head, body = text[:at].strip(), text[at + 1 :].strip(" -+")
    words = _WORD_RE.findall(head.lower())
    if "của" in words:
        # "Giấy tờ của chủ xe", "Giấy tờ của xe": the papers of someone or something.
        words = words[: words.index("của")]
        if len(_WORD_RE.findall(head)) - len(words) > 4:
            return None
    if not words or not set(words) <= VAGUE_HEADING_WORDS or not {"giấy", "tài"} & set(words):
        return None
    return head, body


@lru_cache(maxsize=8192)
def is_channel_condition(condition: str) -> bool:
    """ "nếu … nộp hồ sơ theo hình thức trực tiếp": the condition only names a channel."""
    key = fold(condition)
    if not any(m in key for m in CHANNEL_MARKERS):
        return False
    return sum(1 for w in key.split() if w not in CHANNEL_WORDS) <= 1


def is_form(name: str) -> bool:
    """A declaration or application form, matched on the name's first words (tokens, so
    "đơn vị" is no "đơn")."""
    tokens = _tokens(strip_enumerator(name))
    if not tokens or not _starts(tokens, FORM_STARTS):
        return False
    return not (len(tokens) > 1 and tokens[1] in NOT_FORM_AFTER.get(tokens[0], ()))


DECLARATION_STARTS = (("tờ", "khai"), ("mẫu",), ("bản", "khai"))


def is_declaration(d: DocumentInfo) -> bool:
    """The declaration form itself (tờ khai, a form file), which every applicant files."""
    return bool(d.forms) or _starts(_tokens(strip_enumerator(d.name)), DECLARATION_STARTS)


def is_identity(name: str) -> bool:
    tokens = _tokens(strip_enumerator(name))
    if _starts(tokens, AUTHORIZATION_STARTS):
        return False
    return any(_contains(tokens, phrase, 6) for phrase in IDENTITY_PHRASES)


def document_role(name: str, condition: str | None, group: DocumentGroup | str, forms: Any = ()) -> DocumentRole:
    """Core or case, from the row's own words; a pure function of what staff can edit, so a
    staff edit recomputes the same role."""
    condition = condition or _condition(name)
    if condition and not is_channel_condition(condition):
        return DocumentRole.CASE
    tokens = _tokens(strip_enumerator(name))
    if _starts(tokens, AUTHORIZATION_STARTS):
        return DocumentRole.CASE  # only when someone files on the applicant's behalf
    representation = any(_contains(tokens, phrase, 20) for phrase in REPRESENTATION_PHRASES)
    if representation and not is_form(name) and not is_identity(name):
        return DocumentRole.CASE  # proves who acts for the applicant (a parent, a guardian)
    heading = vague_heading(name)
    if heading is not None and _HEADING_CASE_BODY_RE.search(heading[1][:200]):
        return DocumentRole.CASE  # "Một số giấy tờ khác: a) Xe cải tạo… thì phải có thêm…"
    if is_form(name) or (forms and DocumentGroup(group) is not DocumentGroup.PRESENT):
        return DocumentRole.FORM
    if is_identity(name):
        return DocumentRole.IDENTITY
    return DocumentRole.CORE


@lru_cache(maxsize=8192)
def _label(section: str | None) -> str:
    """A section label without its bullets and its "…, hồ sơ gồm:" tail."""
    text = strip_enumerator((section or "").strip(" *-:\n"))
    return _LABEL_TAIL_RE.sub("", text).strip(" ,:;")


def _is_group_label(label: str) -> bool:
    return bool(_GROUP_LABEL_RE.match(label))


@lru_cache(maxsize=8192)
def _names_the_procedure(label: str, procedure: str) -> bool:
    """ "Hồ sơ đăng ký tạm trú" for "Đăng ký tạm trú": the general file, not a variant."""
    words = [w for w in fold(label).split() if w not in ("ho", "so", "thu", "tuc", "cua", "de", "nghi")]
    name = fold(procedure).split()
    return bool(words) and all(w in name for w in words)


def _variant_labels(labels: list[str], procedure: str) -> set[str]:
    """Section labels that name a case or a variant of the procedure ("Đăng ký tạm trú theo
    danh sách", "Trường hợp ủy quyền…"), as opposed to "Giấy tờ phải nộp" or the general file.
    A label without case words is a variant only when the record has two such labels."""
    content = [lb for lb in labels if lb and not _is_group_label(lb) and not _names_the_procedure(lb, procedure)]
    cases = {lb for lb in content if _CONDITION_RE.match(lb)}
    plain = [lb for lb in content if lb not in cases and not lb.lower().startswith("hồ sơ của")]
    if len(set(plain)) >= 2:
        cases |= set(plain)
    return {lb for lb in cases if not is_channel_condition(lb)}


def parse_documents(source: str, procedure: str = "") -> list[DocumentInfo]:
    """Rows of the "Tên giấy tờ / Mẫu đơn, tờ khai / Số lượng" tables, with their group and
    role: a row under a case or variant label ("Đăng ký tạm trú theo danh sách, hồ sơ gồm:",
    "Trường hợp ủy quyền…") or after a heading row that opens cases ("* Ngoài giấy tờ nêu
    trên, tùy từng trường hợp…:") takes that label as its condition; `procedure` (the name)
    tells the general file ("Hồ sơ đăng ký tạm trú gồm") from its variants."""
    text = clean(source)
    if not text:
        return []
    docs: list[DocumentInfo] = []
    chunks = text.split(DOC_HEADER)
    # chunks[0] is the first section label; each later chunk holds rows then the next label.
    label = chunks[0]
    for chunk in chunks[1:]:
        section = label.strip(" *-:\n") or None
        group = _section_group(label)
        pos = 0
        for m in _COUNT_RE.finditer(chunk):
            raw = chunk[pos : m.end()]
            cell = chunk[pos : m.start()]
            pos = m.end()
            first = m.group("n1")
            year = re.match(r"(?:19|20)\d\d(?=\d)", first) if len(first) > 2 else None
            if year:
                # "...ngày 01/01/20261 bản chính": the name's date ran into the count.
                cell += year.group()
                first = first[year.end() :]
            elif len(first) > 1 and (
                re.search(r"(?:\bsố|\bmẫu|\bđịnh|\btư|\bđiều|\bkhoản|/|-)\s*$", cell, re.IGNORECASE)
                or re.search(r"[\w.]$", cell)
            ):
                # "...theo Mẫu số 181 bản chính", "...Mẫu 03-QĐ6131 bản chính": the form's number
                # ran into the count, which is then its last digit.
                cell += first[:-1]
                first = first[-1]
            counts = {"chính": 0, "sao": 0, "chụp": 0}
            counts[m.group("k1")] += int(first)
            if m.group("n2"):
                counts[m.group("k2")] += int(m.group("n2"))
            name, forms = _split_forms(cell.strip())
            name = one_line(name.lstrip("-+").strip())
            if not name and not forms:
                continue
            originals = counts["chính"]
            copies = counts["sao"] + counts["chụp"]
            row_group = group
            if originals == 0 and copies == 0 and group is not DocumentGroup.NOTE:
                row_group = DocumentGroup.NOTE
            docs.append(
                DocumentInfo(
                    name=name or forms[0],
                    originals=originals,
                    copies=copies,
                    group=row_group,
                    condition=_condition(name),
                    forms=tuple(forms),
                    section=section,
                    source_text=raw.strip(),
                )
            )
        label = chunk[pos:]
    if docs and all(d.group is DocumentGroup.NOTE for d in docs):
        # Some records write "0 bản chính" on every row: those rows are the papers, with
        # no count stated, unless they read as conditions or explanations.
        docs = [
            replace(d, group=DocumentGroup.SUBMIT) if d.section is None or "lưu ý" not in d.section.lower() else d
            for d in docs
        ]
    return _with_roles(docs, procedure)


def _form_key(name: str) -> str:
    return " ".join(fold(strip_enumerator(name)).split()[:8])


VARIANT_NAME_LIMIT = 80
"""A variant label this short ("Đăng ký thường trú vào chỗ ở hợp pháp thuộc quyền sở hữu của
mình") names the case of its rows better than a row's own clause; a longer one is no name."""


def _with_roles(docs: list[DocumentInfo], procedure: str) -> list[DocumentInfo]:
    """Conditions from case labels and heading rows, then each row's role."""
    variants = _variant_labels([_label(d.section) for d in docs], procedure)
    # A form listed under several variants ("Đơn đăng ký đất đai" in each) is the one every
    # applicant files, whatever the variant.
    sections_of: dict[str, set[str]] = {}
    for d in docs:
        if is_form(d.name) and _label(d.section) in variants:
            sections_of.setdefault(_form_key(d.name), set()).add(_label(d.section))
    shared = {k for k, v in sections_of.items() if len(v) >= 2}
    out: list[DocumentInfo] = []
    opened: tuple[str | None, str] | None = None  # (section, heading text) of a heading row
    for n, d in enumerate(docs):
        condition = d.condition
        group = d.group
        if opened is not None and opened[0] != d.section:
            opened = None
        followed = n + 1 < len(docs) and docs[n + 1].section == d.section
        if followed and d.name.rstrip().endswith(":") and _HEADING_RE.search(d.name) and not is_form(d.name):
            # Introduces the rows after it: not a paper of its own.
            group = DocumentGroup.NOTE
            opened = (d.section, _label(d.name)) if _HEADING_CASE_RE.search(d.name) else None
        elif _NOTE_LEAD_RE.match(d.name):
            # "Lưu ý: - Trường hợp nộp hồ sơ trực tiếp…", "Ví dụ: …": an explanation, no paper.
            group = DocumentGroup.NOTE
        elif group is not DocumentGroup.NOTE:
            label = _label(d.section)
            named_by_variant = label in variants and len(label) <= VARIANT_NAME_LIMIT and not is_declaration(d)
            if condition is not None and not named_by_variant:
                pass
            elif opened is not None:
                condition = opened[1]
            elif label in variants and _form_key(d.name) in shared:
                pass
            elif label in variants and not (is_declaration(d) and not _CONDITION_RE.match(label)):
                # The declaration under a variant label ("… tại nơi đơn vị đóng quân: Tờ khai
                # CT01") is still the one everyone files; other rows belong to the variant,
                # which names their case even when the row states a narrower one of its own.
                condition = label
        role = document_role(d.name, condition, group, d.forms)
        out.append(replace(d, condition=condition, group=group, role=role))
    return out


# --- legal basis (can_cu_phap_ly) ---------------------------------------------------------

LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
_DOC_KIND = (
    r"(?:Thông tư liên tịch|Thông tư|Nghị định|Nghị quyết|Quyết định|Luật|Pháp lệnh|Văn bản hợp nhất|Lệnh|Chỉ thị)"
)
# Number column: "123/2015/NĐ-CP", "52/2014/QH13", "66.7/2025/NQ-CP", "Thông tư số 03/2023/TT-BTP".
# The cell is glued to its title (no space before it) and followed by the next title (a capital
# then a small letter), or the end; backtracking finds where the code's capitals stop.
_LEGAL_PAIR_RE = re.compile(
    rf"(?<=[^ \t])(?P<no>(?:{_DOC_KIND}(?:\s+số)?\s*)?(?P<digits>\d+)(?:\.\d+)?/(?:\d{{4}}/)?"
    r"(?:QĐ-TTg|[A-ZĐ]+(?:-[A-ZĐ]+)*(?:\d{2})?))"
    rf"(?=[{_VN_UPPER}][{_VN_LOWER}]|\s*$|\s*\n)"
)


def _trim_number_start(title: str, number: str, digits: str) -> tuple[str, str]:
    """Give back to the title the digits that belong to it.

    "Luật 52/2014/QH1352/2014/QH13" first reads as number "1352/2014/QH13": the title names its
    own number, so the split whose "N/YYYY" the title contains wins. "Luật Cư trú 202068/2020/QH14"
    ends its title with a year, so the year goes back to the title.
    """
    if not number.startswith(digits):
        return title, number
    glued = re.search(r"\d+$", title)
    lead = glued.group() if glued else ""
    base = title[: len(title) - len(lead)]
    run = lead + digits
    rest = number[len(digits) :]
    for cut in range(len(run)):
        head = run[cut:] + rest.split("/")[0] + "/" + (rest.split("/")[1] if rest.count("/") > 1 else "")
        if cut < len(run) - 1 and head.rstrip("/") and head in base + run[:cut]:
            return base + run[:cut], run[cut:] + rest
    year = re.match(r"(?:19|20)\d\d(?=\d)", run)
    if year and lead:
        return base + run[:4], run[4:] + rest
    return title, number


def parse_legal_basis(source: str) -> list[LegalBasisInfo]:
    """(title, number) pairs of the legal basis table."""
    text = clean(source)
    if not text:
        return []
    body = text[len(LEGAL_HEADER) :] if text.startswith(LEGAL_HEADER) else text
    pairs: list[LegalBasisInfo] = []
    pos = 0
    for m in _LEGAL_PAIR_RE.finditer(body):
        title, number = _trim_number_start(body[pos : m.start()], m.group("no"), m.group("digits"))
        title = one_line(title)
        if not title:
            continue
        pairs.append(LegalBasisInfo(title=title, number=one_line(number)))
        pos = m.end()
    tail = one_line(body[pos:])
    if tail:
        pairs.append(LegalBasisInfo(title=tail, number=""))
    return pairs


# --- steps, result, levels ----------------------------------------------------------------


def parse_steps(source: str) -> list[str]:
    """Steps as a list: one per "- " bullet (or per line when there are no bullets)."""
    text = clean(source)
    if not text:
        return []
    lines = [ln.strip() for ln in text.splitlines()]
    steps: list[str] = []
    bulleted = any(ln.startswith(("- ", "-", "Bước")) for ln in lines)
    for ln in lines:
        if not ln:
            continue
        starts = ln.startswith(("- ", "Bước")) or (ln.startswith("-") and not ln.startswith("--"))
        if not bulleted or starts or not steps:
            steps.append(ln.lstrip("- ").strip())
        else:
            steps[-1] = f"{steps[-1]}\n{ln}"
    return [s for s in steps if s]


_RESULT_CODE_RE = re.compile(r"Mã:\s*KQ(?:\.[A-Z]*\d+)+")
_RESULT_TAIL_RE = re.compile(r"(Từ khóa|Chọn cơ quan thực hiện|Mô tả(?=Không có thông tin))")


def parse_result(source: str) -> str | None:
    """The result's name(s) without the portal's boilerplate (codes, search widgets)."""
    text = clean(source)
    if not text:
        return None
    m = _RESULT_TAIL_RE.search(text)
    if m:
        text = text[: m.start()]
    names = [one_line(p).strip(" .;") for p in _RESULT_CODE_RE.split(text)]
    names = [n for n in names if n and n != NO_INFO]
    return "; ".join(names) or None


_POLICE_RE = re.compile(r"\bcong an (?:cap )?(?:xa|phuong|huyen|thi tran|dac khu)\b")
_LOCAL_OFFICES = ("thue", "bao hiem xa hoi", "bhxh", "hai quan", "kho bac", "cang vu", "cong doan")
"""Offices of their own at commune level (tax, social insurance, customs, treasury, ports)."""
_WARD_OFFICE = ("uy ban nhan dan", "ubnd", "chu tich", "mot cua", "van phong dang ky dat dai")


# "… nộp hồ sơ tại Bộ phận tiếp nhận và trả kết quả theo cơ chế “Một cửa” của Ủy ban nhân dân
# cấp xã", "Công dân đến Công an cấp xã … đề nghị": where the steps say the file is handed in.
_FILED_AT_RE = re.compile(
    r"(?:nộp hồ sơ|nộp trực tiếp hồ sơ|gửi hồ sơ)\s+(?:[^.;:]{0,40}?\s)?(?:tại|đến|cho)\s+(?P<office>[^.;:]{5,160})"
    r"|^(?:[+\-*\s]*)(?:công dân|người yêu cầu|người đề nghị|cá nhân)\s+đến\s+(?P<goes>[^.;:]{5,160})",
    re.IGNORECASE,
)


_DESK_WORDS = (
    "bo phan mot cua",
    "co che mot cua",
    "uy ban nhan dan cap xa",
    "ubnd cap xa",
    "bo phan tiep nhan va tra ket qua",
)
"""The ward's one-stop desk in the steps' words ("Cổng thông tin một cửa quốc gia" is no desk)."""


def filed_at(steps: Sequence[str]) -> Receiver | None:
    """The office the steps say the file is handed in at, when they name one kind only (the
    commune police, or the ward's one-stop desk); None when they name none or several ("Công
    an cấp xã hoặc Bộ phận Một cửa cấp xã")."""
    for step in steps:
        for line in step.splitlines():
            m = _FILED_AT_RE.search(" ".join(line.split()))
            if m is None:
                continue
            key = f" {fold(m.group('office') or m.group('goes'))} "
            police = bool(_POLICE_RE.search(key))
            desk = any(f" {w} " in key for w in _DESK_WORDS) and " quoc gia " not in key
            if police != desk:
                return Receiver.POLICE if police else Receiver.WARD_DESK
            return None
    return None


def parse_receiver(levels: frozenset[str], agency: str, steps: Sequence[str] = ()) -> Receiver:
    """Which office takes the file: a procedure above commune level is filed there; at
    commune level the steps decide when they say where the file is handed in, else the agency
    the record names (police, the ward desk, or another office such as tax or social
    insurance); a ward procedure naming none goes to the desk."""
    if "Cấp xã" not in levels:
        return Receiver.HIGHER
    stated = filed_at(steps)
    if stated is not None:
        return stated
    key = f" {fold(agency)} "
    if not key.strip() or any(f" {w} " in key for w in _WARD_OFFICE):
        return Receiver.WARD_DESK
    if _POLICE_RE.search(key):
        return Receiver.POLICE
    if any(f" {w} " in key for w in _LOCAL_OFFICES):
        return Receiver.LOCAL_AGENCY
    # Other bodies the record names ("Tổ chức hành nghề công chứng") take files too, but a
    # ward procedure is filed at the ward desk; the agency is named beside it.
    return Receiver.WARD_DESK


def parse_levels(source: str) -> frozenset[str]:
    """ "Cấp xã, Cấp tỉnh" -> {"Cấp xã", "Cấp tỉnh"}."""
    return frozenset(p.strip() for p in clean(source).split(",") if p.strip())


# --- whole record -------------------------------------------------------------------------


@dataclass(slots=True)
class ParsedProcedure:
    """A national record parsed for import, source text kept."""

    code: str
    name: str
    levels: frozenset[str]
    kind: str
    field: str
    ministry: str
    subjects: str
    agency: str
    address: str
    decision: str
    source_url: str
    requirements: str | None
    result: str | None
    documents: list[DocumentInfo]
    channels: list[ChannelInfo]
    steps: list[str]
    legal_basis: list[LegalBasisInfo]
    sources: dict[str, str] = dc_field(default_factory=dict)
    receiver: Receiver = Receiver.WARD_DESK


def parse_record(record: Any) -> ParsedProcedure:
    """Parse one national record; raises RecordError when it cannot be a procedure."""
    if not isinstance(record, dict):
        raise RecordError("bản ghi không phải là một đối tượng JSON")
    code = clean(record.get("ma_thu_tuc"))
    if not code:
        raise RecordError("bản ghi không có mã thủ tục (ma_thu_tuc)")
    if not CODE_RE.match(code):
        raise RecordError(f"mã thủ tục không hợp lệ: {code[:40]!r}")
    name = one_line(clean(record.get("ten_thu_tuc")))
    if not name:
        raise RecordError(f"thủ tục {code} không có tên (ten_thu_tuc)")
    agency = clean(record.get("co_quan_thuc_hien")) or clean(record.get("co_quan_co_tham_quyen"))
    sources = {k: record[k] for k in SOURCE_FIELDS if isinstance(record.get(k), str) and record[k]}
    levels = parse_levels(record.get("cap_thuc_hien", ""))
    steps = parse_steps(record.get("trinh_tu_thuc_hien", ""))
    return ParsedProcedure(
        code=code,
        name=name,
        levels=levels,
        kind=clean(record.get("loai_thu_tuc")),
        field=clean(record.get("linh_vuc")),
        ministry=clean(record.get("bo_nganh")),
        subjects=clean(record.get("doi_tuong_thuc_hien")),
        agency=one_line(agency),
        address=one_line(clean(record.get("dia_chi_tiep_nhan"))),
        decision=clean(record.get("so_quyet_dinh")),
        source_url=clean(record.get("detail_url")),
        requirements=clean(record.get("yeu_cau_dieu_kien")) or None,
        result=parse_result(record.get("ket_qua_xu_ly", "")),
        documents=parse_documents(record.get("thanh_phan_ho_so", ""), name),
        channels=parse_channels(record.get("cach_thuc_thuc_hien", "")),
        steps=steps,
        legal_basis=parse_legal_basis(record.get("can_cu_phap_ly", "")),
        sources=sources,
        receiver=parse_receiver(levels, one_line(agency), steps),
    )


# --- the identity paper the steps or conditions ask to show -------------------------------

_IDENTITY_MENTION_RE = re.compile(
    r"(?P<verb>xuất trình|mang theo|cung cấp|kèm theo)\s+(?P<what>[^.\n]{0,40}?"
    r"(?:căn cước|giấy tờ tùy thân|giấy tờ tuỳ thân|hộ chiếu|chứng minh nhân dân)[^.\n]*)",
    re.IGNORECASE,
)
IDENTITY_SOURCES = ("steps", "requirements", "notes")
"""Where an identity paper may be asked for outside the list of papers, in the order looked at."""


def identity_mention(steps: Sequence[str], requirements: str, notes: Sequence[str]) -> tuple[str, str] | None:
    """ "+ Người yêu cầu chứng thực xuất trình một trong các giấy tờ sau: Căn cước điện tử; …"
    -> ("steps", "xuất trình một trong các giấy tờ sau: Căn cước điện tử; …"): the record's own
    words asking the applicant to show an identity paper, and where they stand; None when
    nothing outside the list of papers asks for one."""
    for where, texts in zip(IDENTITY_SOURCES, (steps, [requirements], notes), strict=True):
        for text in texts:
            for m in _IDENTITY_MENTION_RE.finditer(" ".join((text or "").split())):
                before = m.string[max(0, m.start() - 40) : m.start()].lower()
                if re.search(r"\b(?:không|không phải|không cần|chỉ cần)\s*(?:phải\s*)?$", before):
                    continue  # "… thì không phải xuất trình": the record says it is not needed
                return where, f"{m.group('verb')} {m.group('what')}".strip(" ,;:")
    return None


# --- a processing time stated in words (steps, a channel's description) ---------------------

_SAME_DAY_RE = re.compile(
    r"\b(?:ngay\s+)?trong\s+ngày\s+(?:tiếp nhận|nhận)[^,.;()]{0,30}|\bngay trong ngày\b", re.IGNORECASE
)
_PERIOD_RE = re.compile(
    r"(?:trong thời hạn|trong vòng|không quá|tối đa|chậm nhất là|chậm nhất)\s+(?:là\s+)?"
    r"(?P<n>\d{1,3})\s*(?:\([^()]{1,12}\)\s*)?"
    r"(?P<unit>ngày làm việc|ngày|giờ làm việc|giờ)\b"
    r"(?P<since>,?\s+kể từ\s+(?:ngày|thời điểm|khi)?\s*(?:[^,.;]{0,50}?\s)?(?:nhận|tiếp nhận)\s+"
    r"(?:được\s+)?(?:đủ\s+|đầy đủ\s+)?"
    r"(?:hồ sơ)(?:\s+hợp lệ)?)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class StatedTime:
    """A processing time the record states in words rather than in its time cell."""

    value: float | None
    """The number of units; None for "ngay trong ngày"."""
    unit: str
    """ "ngày làm việc", "ngày", "giờ"…; "" for the same day."""
    words: str
    """The record's own words ("trong thời hạn 03 ngày làm việc kể từ ngày nhận hồ sơ")."""


def stated_time(texts: Sequence[str]) -> StatedTime | None:
    """The first processing time stated in `texts` (a channel's description, then the steps):
    a period counted from when the file is received ("không quá 07 ngày làm việc kể từ ngày
    nhận đủ hồ sơ hợp lệ") or the same day ("ngay trong ngày tiếp nhận"). A period counted
    from anything else (the birth of a child, a request for verification) is no processing time."""
    for text in texts:
        found = _stated_in(text or "")
        if found is not None:
            return found
    return None


@lru_cache(maxsize=4096)
def _stated_in(text: str) -> StatedTime | None:
    """`stated_time` of one text (answers read the same records' texts again and again)."""
    flat = " ".join(text.split())
    period = _PERIOD_RE.search(flat)
    same_day = _SAME_DAY_RE.search(flat)
    if period and (same_day is None or period.start() < same_day.start()):
        words = period.group(0)
        return StatedTime(float(int(period.group("n"))), period.group("unit").lower(), words)
    if same_day:
        return StatedTime(None, "", same_day.group(0).strip())
    return None


_TIME_SECTION_RE = re.compile(r"thời hạn giải quyết\s*:\s*(?P<body>.+)$", re.IGNORECASE)
_TIME_CASE_RE = re.compile(r"(?:^|\+\s*)(?P<case>[^+:;.]{4,80}?):\s*(?P<text>[^+]+)")


def time_cases(description: str) -> list[tuple[str, str]]:
    """ "- Thời hạn giải quyết: + Cấp đổi biển số xe: Không quá 07 ngày làm việc… + Cấp đổi
    chứng nhận đăng ký xe: Không quá 02 ngày…" -> [("Cấp đổi biển số xe", "Không quá 07…"),
    …]: the cases a channel's description gives a time each."""
    m = _TIME_SECTION_RE.search(" ".join((description or "").split()))
    if m is None:
        return []
    out = []
    for c in _TIME_CASE_RE.finditer(m.group("body")):
        case, text = c.group("case").strip(" -"), c.group("text").strip(" .;")
        if not re.match(r"(?:thời gian|trường hợp|thời hạn)\b", case, re.IGNORECASE):
            out.append((case, text))
    return out


# How near an office is to the citizen, from the words of its name: a commune office, then a
# district or branch office, then a provincial one, then a national one.
_LEVEL_WORDS = (
    (0, ("cap xa", "xa", "phuong", "thi tran")),
    (1, ("cap huyen", "huyen", "chi nhanh", "khu vuc", "co so")),
    (2, ("cap tinh", "tinh", "thanh pho")),
    (3, ("trung uong", "viet nam", "cuc", "bo")),
)


def nearest_office(agency: str) -> tuple[str, tuple[str, ...]] | None:
    """ "Bảo hiểm xã hội cấp huyện, Bảo hiểm xã hội tỉnh" -> ("Bảo hiểm xã hội cấp huyện",
    ("Bảo hiểm xã hội tỉnh",)): of several offices the record names, the one nearest the
    citizen and the others; None for one office, or when their levels do not tell them apart."""
    offices = [o.strip(" .") for o in re.split(r",\s*|;\s*", agency) if o.strip(" .")]
    if len(offices) < 2:
        return None

    def level(office: str) -> int:
        # Whole words ("xã" of "xã hội" is no commune): matched between spaces.
        key = f" {fold(office).replace('xa hoi', 'xahoi')} "
        return next((n for n, words in _LEVEL_WORDS if any(f" {w.strip()} " in key for w in words)), 2)

    ranked = sorted(offices, key=level)
    if level(ranked[0]) == level(ranked[1]):
        return None
    return ranked[0], tuple(o for o in offices if o != ranked[0])
