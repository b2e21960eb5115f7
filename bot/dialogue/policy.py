"""One dialogue policy: for each turn, from the NLU result and the state, what to answer about.

Every entry point (web, Telegram, Zalo, `converse`, the Rasa action server) goes through
`DialoguePolicy.decide`. The decision reads evidence the NLU already computed: which procedure
the turn names and how much of the turn that name explains (`NluResult.coverage`), how well the
turn names the current procedure and each of its siblings (`ProcedureMatcher.scores_for`), and
the classifier's intent and confidence. The only vocabulary it needs (switch phrases, typed
choices) is data, in `bot/nlu/data/dialogue.yml`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.dialogue.state import DialogueState, PendingChoice
from bot.dialogue.vocabulary import DialogueVocabulary, Switch, load_vocabulary
from bot.nlu.matcher import ProcedureMatcher
from bot.nlu.types import ASPECT_INTENTS, OUT_OF_SCOPE, Candidate, NluResult

OVERVIEW = "ask_overview"

NAMED_SHARES = 1.0
"""A turn names a procedure by itself when the share of the name it mentions and the share of
the turn the name explains add up to this: a whole name with details around it ("chứng thực
chữ ký trong bản cam kết": 1.0 + 0.48), or most of a name that is most of the turn..."""
NAMED_FLOOR = 0.25
"""...each share at least this: "chồng em người Hàn" matches "khai tử có yếu tố nước ngoài"
through the country alone (the name explains none of the turn's own words), so it names nothing."""
SWITCH_MARGIN = 0.08
"""A procedure the turn names leaves the current one only if it fits the turn this much better
than the current one does ("cho bé" fits "căn cước cho người dưới 14 tuổi" and "khai sinh cho
bé" alike: the conversation stays where it was)."""
SIBLING_DISTANCE = 0.1
"""A sibling's fit to the turn loses this much for each share of the current name it lacks:
after "đăng ký khai tử", "bố em là Việt kiều ở Mỹ" fits the foreign-element death and birth
registrations alike, and the death one is the current procedure's own variant."""
EXPLAINS_MORE = 0.2
"""...and must explain at least this much more of the turn than the current family does..."""
MOSTLY = 0.7
"""After "còn ... thì sao", a sure match that does not pass for a named procedure (its name is
long and the turn says only part of it) still takes over when it explains this share of the turn."""
CLEAR_LEAD = 0.25
"""...unless it fits the turn better by this much ("vậy còn đăng ký kết hôn thì sao" names
marriage registration outright, though an alias of a birth-registration variant mentions it)."""
TIE_DIGITS = 2
"""Siblings whose fits agree to this many decimals fit alike."""
OVERVIEW_SURE = 0.8
"""An ask_overview this sure is a real "how does it go" question, not a restatement."""
ABOUT_SCORE = 0.5
ABOUT_SHARE = 0.5
"""A statement the current procedure fits this well, explaining this share of it, is about it."""
DETAIL_MIN = 0.15
"""...and still fit this well the words the current procedure's own name and result do not say."""
REFINE_MIN = 0.25
"""A sibling the turn's detail points to must fit the turn at least this well..."""
REFINE_MARGIN = 0.1
"""...and this much better than the current procedure ("làm lại vì bị mất" after "cấp đổi thẻ
căn cước" fits "cấp lại thẻ căn cước" and not "cấp đổi")."""
ASPECT_SURE = 0.5
"""Below this confidence (or for ask_overview) the classifier heard no aspect in the turn: a
switch, a refinement or a typed choice keeps the aspect already being discussed."""
CLOSE_CALL = 0.03
"""Two procedures closer than this in score: ask which one instead of guessing."""
UNKNOWN_CONTENT = 2
"""With no procedure recognised, a turn of at least this many content words names one the
catalog lacks (one stray word names nothing: "lệ phí bao nhiêu ạ" asks which procedure)."""
OTHER_PHRASES = 2
"""Name phrases (word pairs of procedure names) a turn uses that the current procedure's record
does not: at least this many before the turn may name something else ("tập trung", "kinh tế");
a follow-up's details mostly come from the record itself ("giấy chứng sinh", "bản chính"), from
the desk's own words ("công an phường") or from no name at all ("về quê")."""
HEAD_NAMES = 15
"""A word pair that opens at least this many official names is a name's opening ("cấp giấy")."""
FAREWELL_AFTER = 2
"""A bare greeting after this many turns is a farewell."""
PAPER_INTENTS = frozenset({"ask_documents", "ask_forms", "ask_requirements"})
"""Aspects whose questions name papers ("có cần mang giấy khai sinh không")."""
CHOICE_MIN = 0.3
"""A typed answer to offered buttons picks the option it fits at least this well..."""
CHOICE_MARGIN = 0.05
"""...and this much better than the next option."""

DOUBTFUL_CHAT = 0.6
"""An out-of-scope guess less sure than this, in a conversation about a procedure..."""
RUNNER_UP = 0.3
"""...whose runner-up is an aspect at least this likely, is a follow-up asking that aspect."""

NOTHING_TO_CHOOSE = "nothing_to_choose"
"""The reply to a typed position ("số 1", "cái thứ hai") when no choice is waiting."""
CONVERSATION_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "ask_human", "ask_office_hours"})
_STATEMENT_INTENTS = frozenset({OUT_OF_SCOPE, "affirm", "deny"})
"""What a detail told as a statement is often classified as ("chồng em người Hàn", "không,
nhà em chỉ sửa chữa"): with a procedure in context, the turn's evidence may still refine it."""


class Move(StrEnum):
    """What the policy decided to do with a turn."""

    NEW = "new"
    """A question naming its own procedure, with none in context."""
    KEEP = "keep"
    """A follow-up about the current procedure ("nộp ở đâu", "mất mấy ngày")."""
    SWITCH = "switch"
    """Another procedure ("còn kết hôn thì sao"): the aspect stays unless the turn states one."""
    REFINE = "refine"
    """A detail selects a sibling of the current procedure ("chồng em người Hàn")."""
    CHOOSE = "choose"
    """A typed or clicked answer to the choice offered in the previous turn."""
    DECLINE = "decline"
    """ "Không phải" to the choice offered: none of those."""
    CLARIFY = "clarify"
    """Procedures too close to tell apart: offer them as buttons."""
    ASK_WHICH = "ask_which"
    """An aspect question with no procedure named and none in context."""
    UNKNOWN = "unknown"
    """The turn names a procedure the catalog lacks: say so honestly, never answer a look-alike."""
    CHAT = "chat"
    """Greetings, thanks, a request for staff, out of scope: answered without touching the state."""


@dataclass(frozen=True, slots=True)
class RecordPhrases:
    """The name phrases (word pairs of procedure names) of one procedure's record."""

    everything: frozenset[str]
    """Of its names, papers, forms, steps, result, who may apply, conditions and agency: what a
    follow-up about it may talk about without naming anything else."""
    own: frozenset[str]
    """Of its names and its result only: what the procedure itself is and gives."""


NO_PHRASES = RecordPhrases(frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's verdict for one turn."""

    move: Move
    intent: str
    """The intent acted on: the aspect answered (carried on a switch), or a conversation intent."""
    procedure: str | None = None
    """The procedure to answer about (NEW, KEEP, SWITCH, REFINE, CHOOSE)."""
    options: tuple[Candidate, ...] = ()
    """Procedures to offer (CLARIFY) or the closest ones (UNKNOWN)."""


class DialoguePolicy:
    """Built with the matcher of the current catalog (rebuilt when staff edit the catalog)."""

    def __init__(
        self,
        matcher: ProcedureMatcher,
        vocabulary: DialogueVocabulary | None = None,
        record_phrases: Callable[[str], RecordPhrases] | None = None,
    ) -> None:
        self.matcher = matcher
        self.vocabulary = vocabulary or load_vocabulary()
        self.record_phrases = record_phrases or (lambda _code: NO_PHRASES)
        self.heads = matcher.name_heads(HEAD_NAMES)
        """The word pairs official names most often open with ("cấp giấy", "đăng ký", "thông
        báo", "xác nhận"...), read from the catalog."""

    def decide(self, r: NluResult, state: DialogueState) -> Decision:
        if state.pending is not None:
            picked = self._pending(r, state.pending)
            if picked is not None:
                return picked
        elif self.vocabulary.choice(r.key) is not None and r.named is None:
            # "số 1" with no choice waiting: not a request for staff, whatever it sounds like
            return Decision(Move.CHAT, NOTHING_TO_CHOOSE)
        if r.intent == "greet" and state.turns >= FAREWELL_AFTER:
            # "Chào bạn", "em chào ạ" once the conversation has run: Vietnamese says goodbye so.
            return Decision(Move.CHAT, "goodbye")
        switch = self.vocabulary.switch(r.words, r.key)
        named = self._named(r)
        marker = switch.leading or switch.trailing or (switch.ambiguous and self._reads_as_switch(switch, r))
        if r.intent in ASPECT_INTENTS:
            if state.procedure is None:
                return self._fresh(r, state, named, marker)
            return self._in_context(r, state, state.procedure, named, marker)
        if r.intent in _STATEMENT_INTENTS or r.confidence < ASPECT_SURE:
            if state.procedure is not None:
                found = self._in_context(r, state, state.procedure, named, marker)
                # Only strong evidence turns a statement into a question about a procedure: a
                # detail that selects a variant, or "còn X thì sao" naming another procedure.
                if found.move is Move.REFINE or (marker and found.move in (Move.SWITCH, Move.UNKNOWN)):
                    return found
                if found.move is Move.KEEP and self._about(r, state.procedure):
                    return found
                # "vay tinh phi the nao" (= vậy tính phí thế nào) read as out of scope, barely,
                # with an aspect close behind: a follow-up about the current procedure.
                aspect = self._runner_up_aspect(r)
                if found.move is Move.KEEP and aspect is not None:
                    return Decision(Move.KEEP, aspect, state.procedure)
            elif named is not None and marker:
                return self._fresh(r, state, named, marker)
        return Decision(Move.CHAT, r.intent)

    # --- evidence -------------------------------------------------------------------------

    def _named(self, r: NluResult) -> Candidate | None:
        """The procedure the turn names by itself, if any."""
        if r.named is None:
            return None
        name_share, turn_share = r.coverage
        enough = name_share + turn_share >= NAMED_SHARES and min(name_share, turn_share) >= NAMED_FLOOR
        return r.named if enough else None

    def _runner_up_aspect(self, r: NluResult) -> str | None:
        """The aspect an unsure out-of-scope guess nearly was, if it nearly was one."""
        if r.intent != OUT_OF_SCOPE or r.confidence >= DOUBTFUL_CHAT:
            return None
        for intent, p in r.intent_ranking[1:2]:
            if intent in ASPECT_INTENTS and p >= RUNNER_UP:
                return intent
        return None

    def _reads_as_switch(self, switch: Switch, r: NluResult) -> bool:
        """An unaccented leading "con" is "còn" when what follows is only a procedure's name."""
        if not switch.rest:
            return False
        found = self.matcher.match(switch.rest)
        return found.best is not None and found.coverage[1] >= 0.99

    def _aspect(self, r: NluResult, carried: str | None, carry: bool) -> str:
        """The aspect to answer: the turn's own unless it states none and `carry` allows the one
        already being discussed."""
        stated = r.intent in ASPECT_INTENTS and r.intent != OVERVIEW and r.confidence >= ASPECT_SURE
        if stated:
            return r.intent
        if carry and carried:
            return carried
        return r.intent if r.intent in ASPECT_INTENTS else OVERVIEW

    def _close_call(self, r: NluResult, best: Candidate) -> tuple[Candidate, ...]:
        rivals = [c for c in r.candidates[1:3] if c.code != best.code and best.score - c.score < CLOSE_CALL]
        return (best, *rivals) if rivals else ()

    def _detail_fits(self, r: NluResult, current: str, sibling: str) -> bool:
        """The sibling still fits the turn once what the current procedure itself is and gives is
        taken out: "bao lâu thì có giấy chứng nhận" after registering a household business asks
        for that registration's own certificate, not for the sibling that re-issues it."""
        own = self.record_phrases(current).own
        words = r.key.split()
        drop = {i for i, pair in enumerate(itertools.pairwise(words)) if " ".join(pair) in own}
        rest = " ".join(w for i, w in enumerate(words) if i not in drop and i - 1 not in drop)
        return self.matcher.fits(rest, (sibling,))[sibling].score >= DETAIL_MIN

    def _about(self, r: NluResult, current: str) -> bool:
        """The turn speaks of the current procedure itself ("cái dưới 14 tuổi ạ, bé mới 5 tuổi")."""
        fit = self.matcher.fits(r.key, (current,))[current]
        return fit.score >= ABOUT_SCORE and fit.explained >= ABOUT_SHARE

    def _names_a_paper(self, r: NluResult, marker: bool) -> bool:
        """ "Có cần mang giấy khai sinh không": a paper to bring, whose name is also a procedure's
        ("giấy khai sinh" is what birth registration gives); not a move to that procedure."""
        return not marker and r.intent in PAPER_INTENTS and self.vocabulary.mentions_paper(r.words, r.key)

    def _names_own_result(self, named: Candidate, current: str, marker: bool) -> bool:
        """ "Bao lâu thì lấy được trích lục khai tử" while registering a death: the name matched
        ("trích lục khai tử" of "Cấp bản sao Trích lục hộ tịch") says only what the current
        procedure itself is and gives, so the turn asks about the current one."""
        if marker:
            return False
        said = self.matcher.phrases(named.matched)
        return bool(said) and said <= self.record_phrases(current).own

    def _says_something(self, r: NluResult) -> bool:
        """The turn has words of its own beyond question words and politeness: with no procedure
        in context and none recognised, it names one the catalog lacks."""
        return bool(r.candidates) and self.matcher.content_words(r.key.split()) >= UNKNOWN_CONTENT

    def _names_other(self, r: NluResult, current: str, marker: bool) -> bool:
        """With a procedure in context: the turn names some other procedure (one the catalog
        lacks), not a detail of the current one. It says several phrases of procedure names that
        the current record never uses, and either the citizen says they move on ("còn ... thì
        sao") or those phrases come with the words official names open with ("thông báo tập
        trung kinh tế", "cấp phép khai thác cát sỏi"). Details of the citizen's own case — where
        they live, who sells, which police station — pass for follow-ups: a follow-up wrongly
        refused costs the citizen the rest of the conversation."""
        if r.named is not None or not self._says_something(r):
            return False
        words = r.key.split()
        foreign = self.matcher.phrases(r.key) - self.record_phrases(current).everything - self.vocabulary.desk
        if len(foreign) < OTHER_PHRASES:
            return False
        if marker:
            return True
        pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)]
        for i, pair in enumerate(pairs):
            if pair in self.heads and (pair in foreign or (i + 2 < len(pairs) and pairs[i + 2] in foreign)):
                return True
        return False

    # --- decisions ------------------------------------------------------------------------

    def _fresh(self, r: NluResult, state: DialogueState, named: Candidate | None, marker: bool) -> Decision:
        """No procedure in context (a first question, or after "which procedure?")."""
        # After "which procedure?" or an unknown one, the aspect asked about is still pending.
        carry = state.aspect is not None
        best = named or r.procedure
        if best is None:
            if self._says_something(r):
                return Decision(Move.UNKNOWN, self._aspect(r, state.aspect, carry), options=r.candidates[:3])
            return Decision(Move.ASK_WHICH, self._aspect(r, state.aspect, carry))
        aspect = self._aspect(r, state.aspect, carry)
        close = self._close_call(r, best)
        if close:
            return Decision(Move.CLARIFY, aspect, options=close)
        return Decision(Move.NEW, aspect, best.code)

    def _in_context(
        self, r: NluResult, state: DialogueState, current: str, named: Candidate | None, marker: bool
    ) -> Decision:
        family = self.matcher.siblings(current)
        codes = (current, *family, *((named.code,) if named is not None and named.code not in family else ()))
        # A detail said in the negative ("không phải xe mới", "chứ không xây mới") is no evidence
        # for the procedure it names.
        fits = self.matcher.fits(self.vocabulary.without_negated(r.key), codes)
        here = fits[current]

        def closeness(code: str) -> float:
            """A sibling's fit, less the more its name differs from the current one's."""
            return fits[code].score - SIBLING_DISTANCE * (1.0 - family[code])

        # Of two siblings that fit alike, the one whose name explains more of the turn.
        sibling = max(family, key=lambda c: (round(closeness(c), TIE_DIGITS), fits[c].explained), default=None)
        if (
            named is not None
            and named.code in family
            and sibling is not None
            and self._detail_fits(r, current, sibling)
        ):
            # The turn names a variant itself ("kết hôn với người nước ngoài", "nhà em chỉ sửa
            # chữa, cải tạo"): a detail of the same question, so the aspect stays. Of the family,
            # the member that fits best wins ("người Trung Quốc ở vùng biên giới": the border one).
            return Decision(Move.REFINE, self._aspect(r, state.aspect, carry=True), sibling)
        if (
            named is not None
            and named.code != current
            and not self._names_a_paper(r, marker)
            and not self._names_own_result(named, current, marker)
        ):
            other = fits[named.code]
            kin_score = max(here.score, closeness(sibling) if sibling else 0.0)
            kin_explained = max(here.explained, fits[sibling].explained if sibling else 0.0)
            # Another procedure takes over only if it explains words of the turn the current one
            # does not, and either fits clearly better than the whole current family and explains
            # more than it too ("còn kết hôn thì sao"), or fits far better. Not for the same words:
            # "làm lại vì bị mất" fits "sổ đỏ bị mất" and "căn cước bị mất" alike — with the ID
            # card in context, it is the ID card; "mức phí chứng thực" after a certification of a
            # waiver of inheritance stays there, though a shorter name says "chứng thực" too.
            lead = other.score - kin_score
            beyond_current = other.explained - here.explained >= EXPLAINS_MORE
            beyond_family = other.explained - kin_explained >= EXPLAINS_MORE
            # "Còn B thì sao" says the citizen moves on: B need only beat the current procedure,
            # if the turn says what is most specific to B's name.
            told = (
                marker
                and other.score - here.score >= SWITCH_MARGIN
                and other.explained > here.explained
                and self.matcher.says_core(r.key, named.matched, self.heads)
            )
            if told or (beyond_current and ((lead >= SWITCH_MARGIN and beyond_family) or lead >= CLEAR_LEAD)):
                close = [c for c in self._close_call(r, named) if c.code != current]
                kin = [c for c in close if c.code in family]
                aspect = self._aspect(r, state.aspect, carry=marker)
                if kin:  # one of the procedures too close to tell is the current one's variant
                    return Decision(Move.REFINE, self._aspect(r, state.aspect, carry=True), kin[0].code)
                if len(close) > 1:
                    return Decision(Move.CLARIFY, aspect, options=tuple(close))
                return Decision(Move.SWITCH, aspect, named.code)
        # No other procedure named (or the current one again): does a detail point to a sibling?
        if sibling is not None:
            fit = closeness(sibling)
            if fit >= REFINE_MIN and fit - here.score >= REFINE_MARGIN and self._detail_fits(r, current, sibling):
                return Decision(Move.REFINE, self._aspect(r, state.aspect, carry=True), sibling)
        # A confident match the turn only partly explains still switches when the citizen said so.
        other_best = r.procedure
        if (
            other_best is not None
            and other_best.code != current
            and other_best.code not in family
            and marker
            and r.coverage[1] >= MOSTLY
            and other_best.score - here.score >= SWITCH_MARGIN
        ):
            return Decision(Move.SWITCH, self._aspect(r, state.aspect, carry=True), other_best.code)
        if self._names_other(r, current, marker):
            return Decision(Move.UNKNOWN, self._aspect(r, state.aspect, carry=marker), options=r.candidates[:3])
        # A turn that only restates the procedure or adds a detail ("cái đầu tiên, xây mới ạ")
        # keeps the aspect; one that asks how the procedure goes is an overview.
        restates = r.intent not in ASPECT_INTENTS or (r.intent == OVERVIEW and r.confidence < OVERVIEW_SURE)
        return Decision(Move.KEEP, self._aspect(r, state.aspect, carry=marker or restates), current)

    def _pending(self, r: NluResult, pending: PendingChoice) -> Decision | None:
        """A typed answer to the buttons of the previous turn, or None for a new question."""
        options = pending.options
        position = self.vocabulary.choice(r.key)
        if position is not None:
            index = position - 1 if position > 0 else len(options) + position
            if 0 <= index < len(options):
                return Decision(Move.CHOOSE, pending.aspect, options[index])
        if r.named is None and r.intent == "affirm" and not pending.suggested:
            return Decision(Move.CHOOSE, pending.aspect, options[0])
        if r.named is None and r.intent == "deny" and not pending.suggested:
            return Decision(Move.DECLINE, "deny")
        if r.intent in CONVERSATION_INTENTS and r.intent != "affirm":
            return None
        fits = self.matcher.fits(r.key, options)
        ranked = sorted(options, key=lambda c: -fits[c].score)
        best = fits[ranked[0]].score
        second = fits[ranked[1]].score if len(ranked) > 1 else 0.0
        if r.named is not None and r.named.code not in options and r.named.score - best >= CLEAR_LEAD:
            return None  # a question about another procedure altogether
        if best >= CHOICE_MIN and best - second >= CHOICE_MARGIN:
            return Decision(Move.CHOOSE, self._aspect(r, pending.aspect, carry=True), ranked[0])
        doing = self.matcher.doing(r.key, options)
        if doing and len(doing) < len(options) and (r.named is None or r.named.code in options):
            # "thế cấp đổi thì cần gì": the offered procedure that does the action named, or a
            # choice among those that do (the exchange at province and at central level)
            aspect = self._aspect(r, pending.aspect, carry=True)
            if len(doing) == 1:
                return Decision(Move.CHOOSE, aspect, doing[0])
            narrowed = tuple(c for c in map(self.matcher.candidate, doing) if c is not None)
            return Decision(Move.CLARIFY, aspect, options=narrowed)
        if r.intent in ASPECT_INTENTS and r.named is None and not self._says_something(r):
            # "có mất phí không" before picking: the same choice again, now for the fee.
            again = tuple(c for c in map(self.matcher.candidate, options) if c is not None)
            return Decision(Move.CLARIFY, self._aspect(r, pending.aspect, carry=False), options=again)
        return None
