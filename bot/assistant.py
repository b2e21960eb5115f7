"""The assistant: one message in, replies out, with memory kept in the database."""

from __future__ import annotations

import gc
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rapidfuzz import fuzz, process

from bot import payloads, render
from bot.actions import ACTIONS, ActionContext
from bot.actions.wording import title_name
from bot.dialogue import Decision, DialoguePolicy, DialogueState, Move, PendingChoice
from bot.dialogue.policy import CONVERSATION_INTENTS, NO_PHRASES, NOTHING_TO_CHOOSE, RecordPhrases
from bot.dialogue.vocabulary import DialogueVocabulary, load_vocabulary
from bot.nlu.engine import NluEngine
from bot.nlu.types import ASPECT_INTENTS, INTENTS, OUT_OF_SCOPE, Candidate, NluResult
from bot.privacy import has_personal_number, mask, mask_reply, pseudonym
from bot.responses import Responses
from bot.responses import load as load_responses
from bot.runtime import catalog_entries
from bot.settings import Settings
from bot.types import Button, IncomingMessage, Reply, Turn
from knowledge.conversations import ConversationStore, TurnRecord
from knowledge.db import OUTAGE, Database
from knowledge.errors import StorageUnavailable
from knowledge.repository import Repository
from knowledge.retry import RetryQueue
from knowledge.text import fold
from knowledge.types import FaqInfo, InboxReason, Outcome, ProcedureInfo, UnitInfo

log = logging.getLogger(__name__)

MAX_TEXT = 4000
"""Longer messages are cut before anything else looks at them."""
FAQ_FIRST = 88.0
"""A staff FAQ this close to the question is answered before anything else."""
FAQ_FALLBACK = 72.0
"""...and this close when the assistant has no other answer."""
REFRESH_SECONDS = 1.0
_COURTESIES = frozenset({"greet", "thank", "goodbye", "affirm"})
_CLAUSE = re.compile(r"[.!?;,\n]+")
"""Where a courtesy ends and a question may begin."""
COURTESY_SURE = 0.5
CLAUSE_SURE = 0.6
"""A clause of a longer question must be classified this surely to be answered as a second part."""
MAX_CLAUSES = 6
MAX_EXTRA_ASPECTS = 2
"""The question after a courtesy must be classified this surely to be answered instead."""
POPULAR = 4
MAINTAIN_SECONDS = 0.5
"""How often a long-running process looks at its database file and writes kept messages."""
FLUSH_PER_MESSAGE = 20
"""Kept messages a new message writes before its own (the background thread writes the rest)."""


@dataclass
class _Snapshot:
    """Knowledge as of one revision: NLU over the current catalog, FAQs, units, procedures."""

    revision: int
    engine: NluEngine
    policy: DialoguePolicy
    """The dialogue policy over this revision's matcher."""
    faqs: list[tuple[str, FaqInfo]]
    units: dict[str, UnitInfo]
    most_asked: list[tuple[str, str]]
    """(code, button title) of every procedure staff marked popular, most asked first."""
    procedures: dict[str, ProcedureInfo] = field(default_factory=dict)
    phrases: dict[str, RecordPhrases] = field(default_factory=dict)
    """Name phrases of each procedure's record, for the policy (filled on first use)."""


class Assistant:
    """`handle(IncomingMessage) -> list[Reply]`; `respond` also says what it understood."""

    def __init__(self, settings: Settings, db: Database, engine: NluEngine, responses: Responses | None = None) -> None:
        self.settings = settings
        self.db = db
        self.repo = Repository(db)
        self.store = ConversationStore(db, timedelta(minutes=settings.session_ttl_minutes))
        self.pending = RetryQueue(self.store, settings.retry_queue_limit)
        """Turns answered while the database could not be written, waiting to be stored."""
        self.responses = responses or load_responses()
        self.vocabulary: DialogueVocabulary = load_vocabulary()
        self._lock = threading.Lock()
        self._checked = 0.0
        self._sender_key: str | None = f"{settings.secret_key}:sender" if settings.secret_key else None
        """Pseudonyms are keyed by MOTCUA_SECRET_KEY when it is set, else by a key kept in the database."""
        self._snapshot = self._build(self.repo.revision(), engine)

    # --- knowledge snapshot -------------------------------------------------------------

    def _build(self, revision: int, engine: NluEngine | None = None) -> _Snapshot:
        catalog = self.repo.catalog()
        if engine is None:
            engine = self._snapshot.engine.with_catalog(catalog_entries(catalog))
        popular = sorted((p for p in catalog if p.popularity > 0), key=lambda p: (-p.popularity, p.code))
        phrases: dict[str, RecordPhrases] = {}
        return _Snapshot(
            revision=revision,
            engine=engine,
            policy=DialoguePolicy(engine.matcher, self.vocabulary, lambda code: self._record_phrases(code, phrases)),
            phrases=phrases,
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
                    try:
                        revision = self.repo.revision()
                    except OUTAGE as exc:
                        # Keep answering from the knowledge in memory while the database is away.
                        log.warning(
                            "knowledge revision unreadable, keeping revision %s: %s", self._snapshot.revision, exc
                        )
                        return self._snapshot
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
        (by staff popularity) and the name phrases of their records into memory, then keep the
        garbage collector from walking all of that again (a full collection over it takes over
        100 ms, a stall every citizen feels)."""
        if self._sender_key is None:  # read once, before a web server forks its workers
            self._sender_key = self.store.sender_key()
        snap = self.snapshot()
        snap.engine.parse_many(["làm giấy khai sinh cần gì", "le phi dang ky ket hon bao nhieu"])
        for code, _title in snap.most_asked[:procedures]:
            self.procedure(code)
            # 5-20 ms each on first use: the first follow-up about the procedure would wait for it
            snap.policy.record_phrases(code)
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

    def _record_phrases(self, code: str, cache: dict[str, RecordPhrases]) -> RecordPhrases:
        """The name phrases a procedure's record uses (see `RecordPhrases`), for the policy."""
        found = cache.get(code)
        if found is None:
            p = self.procedure(code)
            if p is None:
                return NO_PHRASES
            snap = self._snapshot

            def phrases(texts: list[str]) -> frozenset[str]:
                return frozenset(
                    ph for t in texts if t for ph in snap.engine.matcher.phrases(snap.engine.normalizer(t).key)
                )

            own = [p.name, *p.aliases, p.result or ""]
            rest = [*p.forms, *p.steps, p.subjects, p.agency, p.requirements or ""]
            rest.append(self.responses("documents_count", originals=1, copies=1))
            rest += [f"{d.name} {d.condition or ''}" for d in p.documents]
            mine = phrases(own)
            found = RecordPhrases(everything=mine | phrases(rest), own=mine)
            if len(cache) < 5000:
                cache[code] = found
        return found

    def unit(self, code: str | None) -> UnitInfo | None:
        units = self.snapshot().units
        if code and code in units:
            return units[code]
        if self.settings.default_unit and self.settings.default_unit in units:
            return units[self.settings.default_unit]
        return next(iter(units.values()), None)

    # --- one message ----------------------------------------------------------------------

    def stored_sender(self, sender: str) -> str:
        """The id a conversation is kept under: a sender id that is a personal number (a phone
        number as a REST sender, a numeric chat id) becomes a keyed pseudonym, the same for
        the same sender in every worker, so the conversation goes on."""
        if not has_personal_number(sender):
            return sender
        if self._sender_key is None:
            try:
                self._sender_key = self.store.sender_key()
            except Exception:
                # The database is away and the key was never read: never store the number itself.
                log.warning("no key for sender pseudonyms yet; the sender id is masked instead")
                return mask(sender)
        return pseudonym(sender, self._sender_key)

    def handle(self, msg: IncomingMessage) -> list[Reply]:
        return list(self.respond(msg).replies)

    def respond(self, msg: IncomingMessage) -> Turn:
        text = (msg.text if isinstance(msg.text, str) else "")[:MAX_TEXT]
        unit = self.unit(msg.unit)
        sender = self.stored_sender(msg.sender)
        ref = secrets.token_hex(6)
        arrived = datetime.now(UTC)
        self.pending.flush(FLUSH_PER_MESSAGE)
        try:
            memory = self.store.recall(msg.channel, sender)
        except StorageUnavailable as exc:
            kept = TurnRecord(
                channel=msg.channel,
                sender=sender,
                unit=unit.code if unit else None,
                question=mask(text),
                ref=ref,
                replies=[],
                state=None,
                outcome=Outcome.ERROR,
                at=arrived,
            )
            return self._keep(kept, unit, exc)
        state = DialogueState.from_json(memory.state)
        try:
            exchange = self.converse(text, state, unit, channel=msg.channel, sender=sender, ref=ref)
        except Exception:
            # Whatever went wrong, the question is kept and the citizen gets an answer.
            log.exception("failed to answer a message on %s", msg.channel)
            error = Turn(OUT_OF_SCOPE, None, (Reply(_say(self, unit, "error")),), outcome=Outcome.ERROR)
            exchange = Exchange(error, state, None, None)
        turn = exchange.turn
        replies = turn.replies
        record = TurnRecord(
            channel=msg.channel,
            sender=sender,
            unit=unit.code if unit else None,
            question=mask(text),
            ref=ref,
            replies=[mask_reply(r.text) for r in replies],
            state=exchange.state.to_json(),
            intent=turn.intent,
            confidence=exchange.confidence,
            procedure=turn.procedure,
            outcome=turn.outcome,
            inbox_reason=exchange.inbox,
            at=arrived,
        )
        try:
            message_id = self.store.record(memory, record)
        except StorageUnavailable as exc:
            # The citizen gets the apology, not an answer whose state and rating buttons were
            # never stored; what the NLU found is kept with the question for the staff pages.
            return self._keep(replace(record, state=None, outcome=Outcome.ERROR), unit, exc, turn)
        return replace(turn, replies=replies, message_id=message_id)

    def _keep(
        self, record: TurnRecord, unit: UnitInfo | None, exc: StorageUnavailable, turn: Turn | None = None
    ) -> Turn:
        """The database could not be used: keep the turn in memory for a later write and
        apologise. Raises `RetryQueueFull` when the queue is full (the client is told 503)."""
        apology = Reply(_say(self, unit, "error"))
        self.pending.add(replace(record, replies=[mask(apology.text)]), str(exc))
        intent = turn.intent if turn else OUT_OF_SCOPE
        return Turn(intent, None, (apology,), outcome=Outcome.ERROR)

    def maintain(self) -> None:
        """For a long-running process, every `MAINTAIN_SECONDS`: close connections to a SQLite
        file that was deleted or replaced, write the messages kept while the database was away,
        and checkpoint the write-ahead log (so that no message's commit has to)."""
        self.db.ensure_current()
        self.pending.flush()
        self.db.checkpoint()

    @contextmanager
    def maintained(self, interval: float = MAINTAIN_SECONDS) -> Iterator[None]:
        """Run `maintain` in a background thread while the block runs."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.maintain()
                except Exception:
                    log.exception("database upkeep failed")

        thread = threading.Thread(target=loop, name="db-upkeep", daemon=True)
        self.db.defer_checkpoints()
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)
            self.db.defer_checkpoints(False)
            self.pending.flush()  # a last try before the process ends
            for kept in self.pending.drain():
                log.error(
                    "stopping before this %s message from %s at %s could be stored: %r",
                    kept.channel,
                    kept.sender,
                    kept.at,
                    kept.question,
                )

    def converse(
        self,
        text: str,
        state: DialogueState,
        unit: UnitInfo | None,
        *,
        channel: str,
        sender: str,
        ref: str | None = None,
        intent: str | None = None,
        confidence: float = 1.0,
        procedure: str | None = None,
    ) -> Exchange:
        """One turn, without storage: what to reply and the state after it. `respond` stores the
        result; the Rasa action server keeps the state in Rasa's tracker instead. `intent`, when
        given, replaces the classifier's (with Rasa's `confidence`) and `procedure` (a national
        code) stands for a name the turn mentions: Rasa has classified the message and found its
        entity already. `ref` is carried by the rating buttons (none without storage)."""
        ctx = _Turn(self, unit, state, channel, self.stored_sender(sender), ref)
        turn = ctx.run(text[:MAX_TEXT], intent, confidence, procedure)
        # Every entry point gets answers fitted to its screen (the Rasa action server too).
        turn = replace(turn, replies=tuple(render.fit(r, channel, self.responses) for r in turn.replies))
        now = datetime.now(UTC)
        return Exchange(turn, ctx.state.next(now), ctx.inbox, ctx.confidence)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One turn's outcome before it is stored."""

    turn: Turn
    state: DialogueState
    """The conversation's state after the turn."""
    inbox: InboxReason | None
    """Why the question goes to the staff inbox, if it does."""
    confidence: float | None
    """The classifier's confidence, for analytics (None for button presses)."""


def _say(assistant: Assistant, unit: UnitInfo | None, name: str, **values: Any) -> str:
    base = {
        "unit": unit.name if unit else "Bộ phận Một cửa",
        "hotline": unit.hotline if unit and unit.hotline else "đường dây nóng của phường, xã",
        "hours": unit.hours if unit else "",
        "address": unit.address if unit else "",
    }
    return assistant.responses(name, **(base | values))


class _Turn:
    """Everything that happens for one incoming message: the policy decides, this acts."""

    def __init__(
        self,
        assistant: Assistant,
        unit: UnitInfo | None,
        state: DialogueState,
        channel: str,
        sender: str,
        ref: str | None,
    ) -> None:
        self.a = assistant
        self.unit = unit
        self.state = state
        self.channel = channel
        self.sender = sender
        self.ref = ref
        self.confidence: float | None = None
        self.inbox: InboxReason | None = None
        self.also: tuple[str, ...] = ()
        """Further aspects a two-part question asks, answered after the main one."""

    def say(self, name: str, **values: Any) -> str:
        return _say(self.a, self.unit, name, **values)

    def run(self, text: str, intent: str | None = None, confidence: float = 1.0, procedure: str | None = None) -> Turn:
        if not text.strip() and intent in INTENTS:
            text = payloads.make(intent)  # Rasa ran the action without a text: the intent alone
        if not text.strip():
            return self.chat_reply("empty", OUT_OF_SCOPE)
        payload = payloads.read(text)
        if payload is payloads.MALFORMED:
            return self.chat_reply("button_unknown", OUT_OF_SCOPE)
        if payload is not None:
            return self.from_payload(payload.intent, payload.entities)
        snap = self.a.snapshot()
        result = snap.engine.parse(text)
        if intent is None and result.intent in _COURTESIES:
            result = self._past_courtesy(text, result)
        if intent is not None and intent in INTENTS:
            result = replace(result, intent=intent, confidence=confidence)
        entity = self.a.procedure(procedure) if procedure else None
        if entity is not None:
            named = Candidate(entity.code, entity.name, 1.0)
            result = replace(result, named=named, procedure=named, coverage=(1.0, 1.0), candidates=(named,))
        self.confidence = result.confidence
        if intent is None:
            self.also = self._other_aspects(text, result)
        faq = self.faq(text, FAQ_FIRST, result.intent)
        if faq is not None:
            return faq
        return self.act(snap.policy.decide(result, self.state), text)

    def _other_aspects(self, text: str, result: NluResult) -> tuple[str, ...]:
        """The other aspects a two-part question asks ("cần mang gì, mất bao nhiêu tiền",
        "xin ở đâu, mấy ngày thì có"): each clause classified on its own; those sure of a
        different aspect are answered too, after the main one."""
        clauses = [c for c in _CLAUSE.split(text.strip()) if c.strip()]
        if len(clauses) < 2 or result.intent not in ASPECT_INTENTS:
            return ()
        found: list[str] = []
        for parsed in self.a.snapshot().engine.parse_many(clauses[:MAX_CLAUSES]):
            aspect = parsed.intent
            sure = aspect in ASPECT_INTENTS and aspect != "ask_overview" and parsed.confidence >= CLAUSE_SURE
            if sure and aspect != result.intent and aspect not in found:
                found.append(aspect)
        return tuple(found[:MAX_EXTRA_ASPECTS])

    def _past_courtesy(self, text: str, result: NluResult) -> NluResult:
        """ "Cảm ơn nhé. Vậy cấp lại mất bao lâu", "Chào bạn, cho hỏi lệ phí kết hôn": a courtesy
        opening a question is let pass, and the question is answered."""
        parts = _CLAUSE.split(text.strip(), maxsplit=1)
        if len(parts) < 2 or not parts[1].strip():
            return result
        rest = self.a.snapshot().engine.parse(parts[1])
        sure = rest.intent in ASPECT_INTENTS and rest.confidence >= COURTESY_SURE
        return rest if sure else result

    def act(self, d: Decision, text: str) -> Turn:
        if d.procedure is not None:  # NEW, KEEP, SWITCH, REFINE, CHOOSE
            return self.answer(d.intent, d.procedure)
        if d.move is Move.CLARIFY:
            return self.clarify(d.intent, d.options)
        if d.move is Move.ASK_WHICH:
            return self.ask_which(d.intent)
        if d.move is Move.UNKNOWN:
            self.state = replace(self.state, procedure=None, aspect=d.intent, pending=None)
            return self.unanswered(d.intent, d.options)
        if d.move is Move.DECLINE:
            self.state = replace(self.state, pending=None)
            return self.chat_reply("deny", "deny")
        return self.conversation(d.intent, text)

    # --- replies ----------------------------------------------------------------------------

    def chat_reply(self, template: str, intent: str, buttons: tuple[Button, ...] = ()) -> Turn:
        return Turn(intent, None, (Reply(self.say(template), buttons),), outcome=Outcome.CHAT)

    def conversation(self, intent: str, text: str) -> Turn:
        """Greetings, thanks, office hours, a request for staff, out of scope: the state is kept,
        so the next follow-up still answers about the procedure being discussed."""
        if intent == "greet":
            return self.chat_reply("greet", intent, self.popular_buttons())
        if intent == "ask_office_hours":
            return self.chat_reply("office_hours", intent)
        if intent == NOTHING_TO_CHOOSE:
            # a reply to the assistant, not a question: reported as one ("affirm")
            return self.chat_reply(NOTHING_TO_CHOOSE, "affirm")
        if intent == "ask_human":
            self.inbox = InboxReason.HUMAN
            return Turn(intent, None, (Reply(self.say("human")),), outcome=Outcome.HUMAN)
        if intent in ("thank", "goodbye", "affirm", "deny"):
            return self.chat_reply(intent, intent)
        faq = self.faq(text, FAQ_FALLBACK, intent)
        if faq is not None:
            return faq
        return Turn(
            OUT_OF_SCOPE, None, (Reply(self.say("out_of_scope"), self.popular_buttons()),), outcome=Outcome.OUT_OF_SCOPE
        )

    def clarify(self, intent: str, options: tuple[Candidate, ...]) -> Turn:
        pending = PendingChoice(tuple(c.code for c in options), intent)
        self.state = replace(self.state, aspect=intent, pending=pending)
        buttons = tuple(Button(_title(c), payloads.make(intent, procedure=c.code)) for c in options)
        return Turn(intent, None, (Reply(self.say("clarify"), buttons),), outcome=Outcome.CLARIFY)

    def ask_which(self, intent: str) -> Turn:
        """An aspect with no procedure: offer the most asked ones; a typed name or "số 2" answers."""
        most_asked = self.a.snapshot().most_asked[:POPULAR]
        pending = PendingChoice(tuple(code for code, _ in most_asked), intent) if most_asked else None
        self.state = replace(self.state, aspect=intent, pending=pending)
        return Turn(
            intent,
            None,
            (Reply(self.say("ask_which_procedure"), self.popular_buttons(intent)),),
            outcome=Outcome.CLARIFY,
        )

    def answer(self, intent: str, code: str) -> Turn:
        p = self.a.procedure(code)
        if p is None or intent not in ACTIONS:
            # A button naming a procedure that is gone (or never was): say so, keep the state.
            return self.chat_reply("button_unknown", intent if intent in INTENTS else OUT_OF_SCOPE)
        self.state = replace(self.state, procedure=p.code, aspect=intent, pending=None)
        if not p.active:
            return Turn(intent, p.code, (Reply(self.say("inactive", procedure=p.name)),), outcome=Outcome.ANSWERED)
        page = f"{self.a.settings.public_url}/thu-tuc/{p.code}"
        ctx = ActionContext(p, self.unit, self.a.responses, self.a.settings.portal_url, page)
        replies = ACTIONS[intent](ctx)
        for other in self.also if intent != "ask_overview" else ():
            if other != intent:
                # the first answers of a two-part question end without buttons; the last has them
                replies = [replace(r, buttons=()) for r in replies] + ACTIONS[other](ctx)
        last = replies[-1]
        feedback: tuple[Button, ...] = ()
        if self.ref is not None:
            rated = payloads.make("feedback", useful=True, ref=self.ref)
            wrong = payloads.make("feedback", useful=False, ref=self.ref)
            feedback = (Button(self.say("button_useful"), rated), Button(self.say("button_wrong"), wrong))
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
            # a typed pick of one of them ("số 2", "thế cấp đổi thì cần gì") answers it
            pending = PendingChoice(tuple(c.code for c in close), target, suggested=True)
            self.state = replace(self.state, aspect=target, pending=pending)
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
            stored = self.a.store.rate(ref, useful, self.channel, self.sender)
            name = (
                "feedback_unknown" if not stored else ("feedback_thanks_useful" if useful else "feedback_thanks_wrong")
            )
            return Turn("feedback", None, (Reply(self.say(name)),), outcome=Outcome.FEEDBACK)
        if intent in ACTIONS:
            code = entities.get("procedure")
            if isinstance(code, str):
                return self.answer(intent, code)
            if code is not None:
                return self.chat_reply("button_unknown", intent)
            if self.state.procedure:
                return self.answer(intent, self.state.procedure)
            return self.ask_which(intent)
        if intent in CONVERSATION_INTENTS:
            return self.conversation(intent, "")
        return self.chat_reply("button_unknown", OUT_OF_SCOPE)

    def popular_buttons(self, intent: str = "ask_overview") -> tuple[Button, ...]:
        most_asked = self.a.snapshot().most_asked[:POPULAR]
        return tuple(Button(title, payloads.make(intent, procedure=code)) for code, title in most_asked)


def _short_title(name: str) -> str:
    """A button's title: the procedure's heading name ("Chứng thực bản sao từ bản chính giấy tờ,
    văn bản"), cut only at a phrase or a word, so the chip shows and echoes it whole."""
    title = title_name(name)
    return title[:1].upper() + title[1:]


def _title(c: Candidate) -> str:
    return _short_title(c.name)


def build_assistant(settings: Settings, announce: Any = None, *, build_missing: bool = True) -> Assistant:
    """The assistant over the configured database, training the NLU model if none is saved
    (`build_missing`: see `open_repository`)."""
    from bot.runtime import load_engine, open_repository

    db, repo = open_repository(settings, announce=announce, build_missing=build_missing)
    engine = load_engine(settings, repo, announce=announce)
    return Assistant(settings, db, engine)
