"""Short forms of the records' long wording, for the first answer; the whole text stays one tap
away (the procedure page). Every short form is a prefix or a part of the record's own words,
never a paraphrase: nothing appears that the record does not say."""

from __future__ import annotations

import re
from functools import lru_cache

from knowledge.parsing import vague_heading
from knowledge.text import fold

PHRASE_LIMIT = 80
"""A paper's first meaningful phrase is cut at a word break past this many characters."""
LABEL_LIMIT = 48
"""A case label ("ủy quyền", "trẻ em bị bỏ rơi") is cut at a word break past this."""
TITLE_LIMIT = 60
"""A procedure's name in a heading ("Hồ sơ … gồm:"); longer official names are shortened."""

RECORD_TEXTS = 2048
"""Short forms kept per function: they are read from the records' own texts, and the same
procedures are asked about again and again."""

TITLE_SLACK = 12
"""A name this little longer than TITLE_LIMIT is kept whole rather than cut near its end."""

_ENUMERATOR_RE = re.compile(
    r"^[\s;.,:]*(?:[-+*•]\s*)*(?:\(?(?:\d+(?:\.\d+)*|[a-zđ](?:\.\d+)*|[ivx]+)[).]\s*)*", re.IGNORECASE
)
# Where a paper's name ends and its explanation begins, earliest first.
_BREAKS = (
    ";",
    ". ",
    ": ",
    " theo quy định",
    " theo mẫu",
    " theo Mẫu",
    ", trong đó",
    " trong trường hợp",
    " đối với trường hợp",
    " đối với các trường hợp",
    " được khai thác",
    " để chứng minh",
    " để xác định",
    " do người yêu cầu",
    " do cơ quan",
    ", còn giá trị",
    " kèm theo",
    ", có đủ",
    " ban hành kèm",
    " (",
)
_NAMED_AS_RE = re.compile(r"\(sau đây gọi (?:tắt )?là (?P<short>[^()]+?)\)")
_FORM_NO_RE = re.compile(r"\((?:theo )?[Mm]ẫu(?P<so> số)? (?P<no>[\w/.\-]+)[^()]*\)")
_KEEP_BRACKET = 28
"""A bracket this short that is no condition ("(được chứng thực)", "(của từng người)") stays."""
_BRACKET_SKIP = re.compile(r"^\((?:nếu|trường hợp|trong trường hợp|đối với|do|theo|sau đây)\b", re.IGNORECASE)
_LEAD_CASE_RE = re.compile(
    r"^(?:Trường hợp|Đối với|Nếu|Riêng|Khi)\s+(?P<case>.+?)"
    r"(?:,?\s+thì\s+(?:phải\s+)?(?:có|nộp|kèm theo|xuất trình|bổ sung|cung cấp)?\s*"
    r"|\s+phải\s+(?:có|nộp|kèm theo|xuất trình|bổ sung)\s+"
    r"|:\s+"
    r"|,\s+(?:hồ sơ\s+(?:đăng ký\s+\S+\s+)?)?(?:phải\s+)?(?:kèm theo|nộp|có)\s+)"
    r"(?P<paper>.+)$",
    re.IGNORECASE,
)
_CASE_WORDS_RE = re.compile(
    r"^(?:ngoài ra,?\s+)?(?:trong\s+|đối với\s+|áp dụng đối với\s+)?(?:các\s+)?(?:trường hợp|đối với|nếu|riêng|khi)\s+",
    re.IGNORECASE,
)
_LABEL_BREAKS = (" thì ", ", ", "; ", ". ", " theo quy định", " quy định tại", " để ", ": ", " (")
_CHANNELS = (("trực tiếp", "trực tiếp"), ("bưu chính", "bưu chính"), ("trực tuyến", "trực tuyến"))
_CHANNEL_CLAUSE_RE = re.compile(r"\bnếu\b[^()]*?(?:hình thức|nộp|gửi)[^()]*", re.IGNORECASE)


def strip_enumerator(text: str) -> str:
    return _ENUMERATOR_RE.sub("", text, count=1).strip()


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


_PHRASE_STARTS = (" của ", " trong ", " theo ", " để ", " và ", " hoặc ", " khi ", " tại ", " do ", " về ", " cho ")
"""Words that open a new phrase: a cut just before one ends on a whole phrase ("Phiếu CC01 được
tạo lập khi trích xuất thông tin của công dân…", not "…trong Cơ sở dữ…")."""


def _cut(text: str, limit: int) -> str:
    """At a phrase break at or before `limit` (a comma, or before "của", "trong"…), else at a
    word break, marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # A comma a little past the limit ends a phrase better than a word break before it.
    window = text[: int(limit * CUT_SLACK)]
    comma = max(window.rfind(", "), window.rfind("; "))
    if comma > limit:
        cut = window
    phrase = max(cut.rfind(w) for w in _PHRASE_STARTS)
    space = cut.rfind(" ")
    at = comma if comma > limit * 0.6 else phrase if phrase > limit * 0.5 else space
    while at > 0 and cut[:at].split()[-1].lower() in _DANGLING:
        at = cut.rfind(" ", 0, at)
    return cut[: at if at > 0 else limit].rstrip(" ,;:-") + "…"


CUT_SLACK = 1.2
"""A text at most this much longer than its limit is kept whole: cutting off its last few
words ("Cơ sở dữ liệu quốc gia về dân cư") saves little and loses the phrase."""


def cut_phrase(text: str, limit: int) -> str:
    """A text cut at a phrase break at or before `limit` (see `_cut`)."""
    text = " ".join(text.split())
    return text if len(text) <= limit * CUT_SLACK else _cut(text, limit)


@lru_cache(maxsize=RECORD_TEXTS)
def first_phrase(name: str, limit: int = PHRASE_LIMIT) -> str:
    """ "Giấy chứng sinh; trường hợp không có…" -> "Giấy chứng sinh"; "Hộ chiếu/Thẻ căn cước
    …(sau đây gọi tắt là giấy tờ tùy thân)…" -> "Giấy tờ tùy thân (hộ chiếu, thẻ căn cước công
    dân…)"; "Tờ khai … (Mẫu CT01 ban hành kèm theo…)" -> "Tờ khai … (mẫu CT01)"."""
    text = strip_enumerator(" ".join(name.split())).strip(" -+*•")
    heading = vague_heading(text)
    if heading is not None:
        # "Giấy tờ của xe: Chứng nhận nguồn gốc xe; …": the heading says nothing without its list.
        head, body = heading
        body = _FORM_NO_RE.sub(lambda m: f"(mẫu{m.group('so') or ''} {m.group('no').rstrip('.')})", body)
        return _cut(f"{head}: {body.rstrip(' .;')}", limit + 20)
    named = _NAMED_AS_RE.search(text)
    head = text[: named.start()] if named else ""
    head = re.split(r"\s+hoặc\s+các\s+giấy tờ|\s+hoặc\s+giấy tờ", head, maxsplit=1)[0]
    options = [o.strip() for o in head.split("/") if o.strip()]
    if named and len(options) >= 2 and not re.search(r"\d", head):
        # "Hộ chiếu/Thẻ căn cước/… (sau đây gọi tắt là giấy tờ tùy thân)": the record's own short name.
        sample = ", ".join(" ".join(o.split()[:3])[:1].lower() + " ".join(o.split()[:3])[1:] for o in options[:2])
        return _cut(capital(named.group("short").strip()) + f" ({sample}…)", limit)
    text = _FORM_NO_RE.sub(lambda m: f"(mẫu{m.group('so') or ''} {m.group('no').rstrip('.')})", text)
    end = _first_break(text)
    phrase = text[:end].strip(" ,;:.")
    if len(phrase) <= limit * CUT_SLACK:
        return phrase or _cut(text, limit)
    return _cut(phrase, limit) or _cut(text, limit)


def _first_break(text: str) -> int:
    """Where the name ends: the earliest break past the first few words, skipping short
    brackets that belong to the name ("(được chứng thực)", "(mẫu CT01)")."""
    floor = min(12, len(text))
    best = len(text)
    for mark in _BREAKS:
        start = floor
        while True:
            at = text.find(mark, start)
            if at < 0 or at >= best:
                break
            if mark == " (":
                close = text.find(")", at)
                bracket = text[at + 1 : close + 1] if close > 0 else ""
                if bracket and len(bracket) <= _KEEP_BRACKET and not _BRACKET_SKIP.match(bracket):
                    start = close + 1
                    continue
            best = at
            break
    return best


def without_own_name(text: str, procedure: str) -> str:
    """ "Mẫu hộ tịch điện tử tương tác đăng ký khai sinh" -> "Mẫu hộ tịch điện tử tương tác"
    under the heading "Hồ sơ đăng ký khai sinh": a name ending with the procedure's own name
    loses it when at least four words remain ("Tờ khai đăng ký khai sinh" keeps it)."""
    name = fold(short_procedure(procedure))
    words = text.split()
    n = len(name.split())
    if name and fold(text).endswith(" " + name) and len(words) - n >= 4:
        return " ".join(words[: len(words) - n])
    return text


def paper_key(text: str) -> str:
    """What two short names of the same paper share: "Tờ khai … (của từng người) (mẫu CT01)"
    and "Tờ khai … (mẫu CT01) hoặc Tờ khai…" are both the CT01 declaration."""
    text = re.split(r"\s+hoặc\s+", text, maxsplit=1)[0]
    text = re.sub(r"\((?!mẫu)[^()]*\)", " ", text)
    return fold(text.rstrip("…"))


@lru_cache(maxsize=RECORD_TEXTS)
def split_case(name: str) -> tuple[str | None, str]:
    """ "Trường hợp trẻ em bị bỏ rơi thì phải có biên bản…" -> ("trẻ em bị bỏ rơi", "biên bản…");
    (None, name) when the row does not open with its case."""
    text = strip_enumerator(" ".join(name.split()))
    m = _LEAD_CASE_RE.match(text)
    if not m or len(m.group("paper")) < 8:
        return None, text
    case, paper = m.group("case").strip(" ,"), m.group("paper").strip()
    if not strip_enumerator(case + " ").strip():
        # "Trường hợp (2): Đăng ký thay đổi…: Tờ khai…": the case is named after its number.
        inner = re.match(r"(?P<case>.+?):\s+(?P<paper>.{8,})$", paper)
        if inner is None:
            return None, text
        case, paper = inner.group("case"), inner.group("paper")
    return case, paper


@lru_cache(maxsize=RECORD_TEXTS)
def case_label(condition: str, procedure: str = "", limit: int = LABEL_LIMIT) -> str:
    """ "trường hợp ủy quyền thực hiện việc đăng ký khai sinh" -> "ủy quyền"; "Đăng ký tạm trú
    theo danh sách" -> "theo danh sách" (the procedure's own name is left out)."""
    text = strip_enumerator(" ".join(condition.split()))
    text = _CASE_WORDS_RE.sub("", text)
    lead = split_case(condition)[0]
    if lead:
        text = lead
    for mark in _LABEL_BREAKS:
        at = text.find(mark, 6)
        while at > 0 and _keeps_going(text, at, mark):
            at = text.find(mark, at + len(mark))
        if at > 0:
            text = text[:at]
    text = _without_procedure(text, procedure)
    text = text.strip(" ,;:.")
    ref = _LEGAL_REF_RE.search(text)
    if ref is not None and limit < ref.end() <= REFERENCE_LIMIT:
        # "công dân thuộc quy định tại điểm a, điểm b khoản 1 Điều 31 Luật Cư trú": a legal
        # reference is said whole or not at all, never cut before its article or law.
        limit = ref.end()
    return _cut(text[:1].lower() + text[1:] if not text[:2].isupper() else text, limit)


REFERENCE_LIMIT = 90
"""A case label that ends on a legal reference may run this long to keep the reference whole."""
_LEGAL_REF_RE = re.compile(
    r"(?:điểm [a-zđ](?:,\s*(?:điểm\s+)?[a-zđ])*\s+)?(?:khoản \d+(?:,\s*(?:khoản\s+)?\d+)*\s+)?Điều \d+"
    r"(?:\s+(?:của\s+)?(?:Luật|Bộ luật|Nghị định|Thông tư|Nghị quyết)"
    r"(?:\s+(?:số\s+)?[\w/.-]+)?(?:\s+[A-ZĐ\w][\wÀ-ỹ]*){0,3})?",
    re.IGNORECASE,
)
_DANGLING = ("thuộc", "tại", "theo", "của", "cho", "về", "do", "với", "và", "hoặc")
_REFERENCE_WORDS = ("điểm", "khoản", "điều", "mục")


def _keeps_going(text: str, at: int, mark: str) -> bool:
    """A label is not cut where it would end on "thuộc", "tại"… or inside a list of legal
    references ("điểm a, điểm b khoản 1")."""
    before = text[:at].split()
    after = text[at + len(mark) :].split()
    if before and before[-1].lower() in _DANGLING:
        return True
    return mark == ", " and bool(after) and after[0].lower() in _REFERENCE_WORDS


def _without_procedure(text: str, procedure: str) -> str:
    """Drop the procedure's own name from a label: at its end ("ủy quyền thực hiện việc đăng
    ký khai sinh" -> "ủy quyền") or its start ("Đăng ký tạm trú theo danh sách" -> "theo danh sách")."""
    if not procedure:
        return text
    name = fold(short_procedure(procedure))
    words = text.split()
    key = fold(text)
    if name and key.endswith(" " + name):
        cut = len(words) - len(name.split())
        words = words[:cut]
        while words and fold(words[-1]) in ("thuc", "hien", "viec", "thu", "tuc", "de", "nghi"):
            words.pop()
        return " ".join(words) if len(words) >= 1 else text
    if name and key.startswith(name + " ") and len(words) - len(name.split()) >= 2:
        return " ".join(words[len(name.split()) :])
    return text


def channel_note(text: str) -> tuple[str, ...]:
    """The channels a row says it is for ("nếu … nộp hồ sơ theo hình thức trực tiếp hoặc gửi
    hồ sơ qua hệ thống bưu chính" -> ("trực tiếp", "bưu chính")); () when it names none."""
    found: list[str] = []
    for clause in _CHANNEL_CLAUSE_RE.findall(text):
        low = clause.lower()
        for word, label in _CHANNELS:
            if word in low and label not in found:
                found.append(label)
    return tuple(found)


def short_procedure(name: str) -> str:
    """ "Thủ tục đăng ký khai sinh" -> "đăng ký khai sinh" (for use inside a sentence)."""
    text = " ".join(name.split())
    for prefix in ("Thủ tục ", "thủ tục "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    first = text.split(" ", 1)[0]
    return text if first.isupper() else text[:1].lower() + text[1:]


def title_name(name: str, limit: int = TITLE_LIMIT) -> str:
    """A procedure's name short enough for a heading: the official name when it is short, else
    its part before "do…", ";" or "cho…" ("chứng thực bản sao từ bản chính giấy tờ, văn bản
    do cơ quan… cấp hoặc chứng nhận" -> "chứng thực bản sao từ bản chính giấy tờ, văn bản")."""
    text = short_procedure(name).rstrip(" .;")
    if len(text) <= limit + TITLE_SLACK:
        return text
    # Where the name of what is done ends and how, by whom or for whom begins, most telling
    # first: a bracket ("(áp dụng cho cả…)"), the manner ("bằng dịch vụ công…", "thực hiện
    # tại…"), then the parties; never inside a bracket.
    for mark in (" (", ";", " thực hiện ", " bằng ", " do ", " đối với ", " cho ", " tại ", " của ", ", "):
        at = text.find(mark, 20)
        if 0 < at <= limit and text[:at].count("(") == text[:at].count(")"):
            return text[:at].strip(" ,;")
    cut = _cut(text, limit)
    if cut.count("(") > cut.count(")"):
        cut = cut[: cut.rfind("(")].rstrip(" ,;") + "…"
    return cut
