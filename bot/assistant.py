"""The assistant: one message in, replies out, with memory kept in the database."""

from __future__ import annotations

import gc
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from rapidfuzz import fuzz, process

from bot import payloads, render
from bot.actions import ACTIONS, ActionContext
from bot.nlu.engine import NluEngine
from bot.nlu.types import ASPECT_INTENTS, OUT_OF_SCOPE, Candidate, NluResult
from bot.privacy import mask
from bot.responses import Responses
from bot.responses import load as load_responses
from bot.runtime import catalog_entries
from bot.settings import Settings
from bot.types import Button, IncomingMessage, Reply, Turn
from knowledge.conversations import ConversationStore, Memory, TurnRecord
from knowledge.db import Database
from knowledge.repository import Repository
from knowledge.text import fold
from knowledge.types import FaqInfo, InboxReason, Outcome, ProcedureInfo, UnitInfo

log = logging.getLogger(__name__)

MAX_TEXT = 4000
"""Longer messages are cut before anything else looks at them."""
CLOSE_CALL = 0.03
"""Two procedures closer than this in score: ask which one instead of guessing."""
FAQ_FIRST = 88.0
"""A staff FAQ this close to the question is answered before anything else."""
FAQ_FALLBACK = 72.0
"""...and this close when the assistant has no other answer."""
REFRESH_SECONDS = 1.0
POPULAR = 4
_FOLLOW_UP_WORDS = ("con ", "the con ", "vay con ", "con thu tuc ")


@dataclass
class _Snapshot:
    """Knowledge as of one revision: NLU over the current catalog, FAQs, units, procedures."""

    revision: int
    engine: NluEngine
    faqs: list[tuple[str, FaqInfo]]
    units: dict[str, UnitInfo]
    most_asked: list[tuple[str, str]]
    """(code, button title) of every procedure staff marked popular, most asked first."""
    procedures: dict[str, ProcedureInfo] = field(default_factory=dict)


class Assistant:
    """`handle(IncomingMessage) -> list[Reply]`; `respond` also says what it understood."""

    def __init__(self, settings: Settings, db: Database, engine: NluEngine, responses: Responses | None = None) -> None:
        self.settings = settings
        self.db = db
        self.repo = Repository(db)
        self.store = ConversationStore(db, timedelta(minutes=settings.session_ttl_minutes))
        self.responses = responses or load_responses()
        self._lock = threading.Lock()
        self._checked = 0.0
        self._snapshot = self._build(self.repo.revision(), engine)

    # --- knowledge snapshot -------------------------------------------------------------

    def _build(self, revision: int, engine: NluEngine | None = None) -> _Snapshot:
        catalog = self.repo.catalog()
        if engine is None:
            engine = self._snapshot.engine.with_catalog(catalog_entries(catalog))
        popular = sorted((p for p in catalog if p.popularity > 0), key=lambda p: (-p.popularity, p.code))
        return _Snapshot(
            revision=revision,
            engine=engine,
            faqs=[(fold(q), f) for f in self.repo.faqs() for q in f.questions],
            units={u.code: u for u in self.repo.units()},
            most_asked=[(p.code, _short_title(p.name)) for p in popular],
        )

    def snapshot(self) -> _Snapshot:
        """The current knowledge; reloaded when staff changed something (in any worker)."""
        now = time.monotonic()
        if now - self._checked >= REFRESH_SECONDS:
            with self._lock:
                if now - self._checked >= REFRESH_SECONDS:
                    self._checked = now
                    revision = self.repo.revision()
                    if revision != self._snapshot.revision:
                        log.info("knowledge revision %s -> %s: reloading", self._snapshot.revision, revision)
                        self._snapshot = self._build(revision)
        return self._snapshot

    def refresh(self) -> None:
        """Check for changed knowledge on the next message, without waiting."""
        self._checked = 0.0

    def warm_up(self, procedures: int = 100) -> None:
        """For a long-running process (web worker, Telegram bot), before the first citizen waits:
        load the word segmenter and the classifier's analyzers, read the most asked procedures
        (by staff popularity) into memory, then keep the garbage collector from walking all of
        that again (a full collection over it takes over 100 ms, a stall every citizen feels)."""
        snap = self.snapshot()
        snap.engine.parse_many(["làm giấy khai sinh cần gì", "le phi dang ky ket hon bao nhieu"])
        for code, _title in snap.most_asked[:procedures]:
            self.procedure(code)
        gc.collect()
        gc.freeze()

    def procedure(self, code: str) -> ProcedureInfo | None:
        snap = self.snapshot()
        found = snap.procedures.get(code)
        if found is None:
            found = self.repo.procedure(code)
            if found is not None:
                snap.procedures[code] = found
        return found

    def unit(self, code: str | None) -> UnitInfo | None:
        units = self.snapshot().units
        if code and code in units:
            return units[code]
        if self.settings.default_unit and self.settings.default_unit in units:
            return units[self.settings.default_unit]
        return next(iter(units.values()), None)

    # --- one message ----------------------------------------------------------------------

    def handle(self, msg: IncomingMessage) -> list[Reply]:
        return list(self.respond(msg).replies)

    def respond(self, msg: IncomingMessage) -> Turn:
        text = (msg.text if isinstance(msg.text, str) else "")[:MAX_TEXT]
        unit = self.unit(msg.unit)
        memory = self.store.recall(msg.channel, msg.sender)
        ctx = _Turn(self, msg, unit, memory, secrets.token_hex(6))
        try:
            turn = ctx.run(text)
        except Exception:
            # Whatever went wrong, the question is kept and the citizen gets an answer.
            log.exception("failed to answer a message on %s", msg.channel)
            turn = Turn("out_of_scope", None, (Reply(ctx.say("error")),), outcome=Outcome.ERROR)
        replies = tuple(render.fit(r, msg.channel, self.responses) for r in turn.replies)
        message_id = self.store.record(
            memory,
            TurnRecord(
                channel=msg.channel,
                sender=msg.sender,
                unit=unit.code if unit else None,
                question=mask(text),
                ref=ctx.ref,
                replies=[mask(r.text) for r in replies],
                state=ctx.state,
                intent=turn.intent,
                confidence=ctx.confidence,
                procedure=turn.procedure,
                outcome=turn.outcome,
                inbox_reason=ctx.inbox,
            ),
        )
        return replace(turn, replies=replies, message_id=message_id)


class _Turn:
    """Everything that happens for one incoming message."""

    def __init__(
        self, assistant: Assistant, msg: IncomingMessage, unit: UnitInfo | None, memory: Memory, ref: str
    ) -> None:
        self.a = assistant
        self.msg = msg
        self.unit = unit
        self.state = dict(memory.state)
        self.ref = ref
        self.confidence: float | None = None
        self.inbox: InboxReason | None = None

    def say(self, name: str, **values: Any) -> str:
        u = self.unit
        base = {
            "unit": u.name if u else "Bộ phận Một cửa",
            "hotline": u.hotline if u and u.hotline else "đường dây nóng của phường, xã",
            "hours": u.hours if u else "",
            "address": u.address if u else "",
        }
        return self.a.responses(name, **(base | values))

    def run(self, text: str) -> Turn:
        if not text.strip():
            return Turn("out_of_scope", None, (Reply(self.say("empty")),), outcome=Outcome.CHAT)
        payload = payloads.parse(text)
        if payload is not None:
            return self.from_payload(*payload)
        result = self.a.snapshot().engine.parse(text)
        self.confidence = result.confidence
        faq = self.faq(text, FAQ_FIRST, result.intent)
        if faq is not None:
            return faq
        return self.from_nlu(result, text)

    # --- understanding -> answer -----------------------------------------------------------

    def from_nlu(self, r: NluResult, text: str) -> Turn:
        intent = r.intent
        if intent in ASPECT_INTENTS:
            return self.aspect(intent, r, text)
        if intent in ("affirm", "deny") and self.state.get("pending"):
            if intent == "affirm":
                pending = self.state["pending"]
                return self.answer(self.state.get("pending_intent", "ask_overview"), pending[0])
            self.state.pop("pending", None)
            return Turn(intent, None, (Reply(self.say("deny")),), outcome=Outcome.CHAT)
        if intent == "greet":
            return Turn(intent, None, (Reply(self.say("greet"), self.popular_buttons()),), outcome=Outcome.CHAT)
        if intent == "ask_office_hours":
            return Turn(intent, None, (Reply(self.say("office_hours")),), outcome=Outcome.CHAT)
        if intent == "ask_human":
            self.inbox = InboxReason.HUMAN
            return Turn(intent, None, (Reply(self.say("human")),), outcome=Outcome.HUMAN)
        if intent in ("thank", "goodbye", "affirm", "deny"):
            return Turn(intent, None, (Reply(self.say(intent)),), outcome=Outcome.CHAT)
        faq = self.faq(text, FAQ_FALLBACK, intent)
        if faq is not None:
            return faq
        return Turn(
            OUT_OF_SCOPE, None, (Reply(self.say("out_of_scope"), self.popular_buttons()),), outcome=Outcome.OUT_OF_SCOPE
        )

    def aspect(self, intent: str, r: NluResult, text: str) -> Turn:
        key = fold(text)
        last = self.state.get("procedure")
        if (
            intent == "ask_overview"
            and last
            and self.state.get("intent") not in (None, "ask_overview")
            and key.startswith(_FOLLOW_UP_WORDS)
            and r.procedure is not None
        ):
            intent = self.state["intent"]  # "còn đăng ký tạm trú thì sao?" keeps the last aspect
        if r.procedure is None:
            if not r.names_procedure and last:
                return self.answer(intent, last)
            faq = self.faq(text, FAQ_FALLBACK, intent)
            if faq is not None:
                return faq
            if not r.names_procedure:
                return Turn(
                    intent,
                    None,
                    (Reply(self.say("ask_which_procedure"), self.popular_buttons(intent)),),
                    outcome=Outcome.CLARIFY,
                )
            return self.unanswered(intent, r.candidates)
        rivals = [c for c in r.candidates[1:3] if r.procedure.score - c.score < CLOSE_CALL]
        if rivals:
            choices = [r.procedure, *rivals]
            self.state.update(pending=[c.code for c in choices], pending_intent=intent)
            buttons = tuple(Button(_title(c), payloads.make(intent, procedure=c.code)) for c in choices)
            return Turn(intent, None, (Reply(self.say("clarify"), buttons),), outcome=Outcome.CLARIFY)
        return self.answer(intent, r.procedure.code)

    def answer(self, intent: str, code: str) -> Turn:
        p = self.a.procedure(code)
        if p is None or intent not in ACTIONS:
            return self.unanswered(intent, ())
        self.state.update(procedure=p.code, intent=intent)
        self.state.pop("pending", None)
        if not p.active:
            return Turn(intent, p.code, (Reply(self.say("inactive", procedure=p.name)),), outcome=Outcome.ANSWERED)
        page = f"{self.a.settings.public_url}/thu-tuc/{p.code}"
        ctx = ActionContext(p, self.unit, self.a.responses, self.a.settings.portal_url, page)
        replies = ACTIONS[intent](ctx)
        rated = payloads.make("feedback", useful=True, ref=self.ref)
        wrong = payloads.make("feedback", useful=False, ref=self.ref)
        feedback = (Button(self.say("button_useful"), rated), Button(self.say("button_wrong"), wrong))
        last = replies[-1]
        replies[-1] = replace(last, buttons=last.buttons + feedback, link=page)
        return Turn(intent, p.code, tuple(replies), outcome=Outcome.ANSWERED)

    def unanswered(self, intent: str, candidates: tuple[Candidate, ...] | list[Candidate]) -> Turn:
        """No invented answer: the question goes to staff; the closest procedures are offered."""
        self.inbox = InboxReason.UNANSWERED
        replies = [Reply(self.say("unanswered"), (Button(self.say("button_human"), payloads.make("ask_human")),))]
        close = [c for c in candidates[:3] if c.score >= 0.3]
        if close:
            target = intent if intent in ACTIONS else "ask_overview"
            buttons = tuple(Button(_title(c), payloads.make(target, procedure=c.code)) for c in close)
            replies.append(Reply(self.say("unanswered_closest"), buttons))
        return Turn(intent, None, tuple(replies), outcome=Outcome.UNANSWERED)

    def faq(self, text: str, threshold: float, intent: str) -> Turn | None:
        key = fold(text)
        if not key:
            return None
        faqs = self.a.snapshot().faqs
        found = process.extractOne(
            key, [question for question, _f in faqs], scorer=fuzz.token_sort_ratio, score_cutoff=threshold
        )
        if found is None:
            return None
        best = faqs[found[2]][1]
        return Turn(intent, best.procedure_code, (Reply(best.answer),), outcome=Outcome.FAQ)

    def from_payload(self, intent: str, entities: dict[str, Any]) -> Turn:
        if intent == "feedback":
            ref = entities.get("ref")
            useful = entities.get("useful")
            if not isinstance(ref, str) or not isinstance(useful, bool):
                return Turn("feedback", None, (Reply(self.say("feedback_unknown")),), outcome=Outcome.FEEDBACK)
            stored = self.a.store.rate(ref, useful, self.msg.channel, self.msg.sender)
            name = (
                "feedback_unknown" if not stored else ("feedback_thanks_useful" if useful else "feedback_thanks_wrong")
            )
            return Turn("feedback", None, (Reply(self.say(name)),), outcome=Outcome.FEEDBACK)
        code = entities.get("procedure")
        if intent in ACTIONS and isinstance(code, str):
            return self.answer(intent, code)
        if intent in ACTIONS:
            last = self.state.get("procedure")
            if last:
                return self.answer(intent, last)
        if intent == "ask_human":
            self.inbox = InboxReason.HUMAN
            return Turn(intent, None, (Reply(self.say("human")),), outcome=Outcome.HUMAN)
        if intent in ("greet", "ask_office_hours", "thank", "goodbye"):
            return self.from_nlu(NluResult(text="", intent=intent, confidence=1.0, procedure=None), "")
        return Turn(OUT_OF_SCOPE, None, (Reply(self.say("out_of_scope")),), outcome=Outcome.OUT_OF_SCOPE)

    def popular_buttons(self, intent: str = "ask_overview") -> tuple[Button, ...]:
        most_asked = self.a.snapshot().most_asked[:POPULAR]
        return tuple(Button(title, payloads.make(intent, procedure=code)) for code, title in most_asked)


def _short_title(name: str, limit: int = 60) -> str:
    """ "Thủ tục đăng ký khai sinh" -> "Đăng ký khai sinh", cut to fit a button."""
    name = name[len("Thủ tục ") :] if name.startswith("Thủ tục ") else name
    name = name[:1].upper() + name[1:]
    return name if len(name) <= limit else name[: limit - 3].rstrip() + "…"


def _title(c: Candidate) -> str:
    return _short_title(c.name)


def build_assistant(settings: Settings, announce: Any = None) -> Assistant:
    """The assistant over the configured database, training the NLU model if none is saved."""
    from bot.runtime import load_engine, open_repository

    db, repo = open_repository(settings, announce=announce)
    engine = load_engine(settings, repo, announce=announce)
    return Assistant(settings, db, engine)
