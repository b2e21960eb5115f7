"""rasa-sdk actions that reuse bot/actions and the same knowledge base.

Each aspect intent has one action, registered explicitly. The procedure comes from Rasa's
entity (a national code, thanks to the exported synonyms), else from our own matcher over the
message, else from the slot kept from an earlier turn."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.actions import ACTIONS, ActionContext
from bot.nlu.matcher import ProcedureMatcher
from bot.nlu.normalize import Normalizer
from bot.nlu.types import ASPECT_INTENTS
from bot.responses import Responses
from bot.responses import load as load_responses
from bot.runtime import catalog_entries
from bot.settings import Settings
from bot.types import Reply
from knowledge.repository import Repository
from knowledge.types import ProcedureInfo, UnitInfo

log = logging.getLogger(__name__)


class Knowledge:
    """What the actions share: the repository, our procedure matcher and reply templates."""

    def __init__(self, settings: Settings, repo: Repository, responses: Responses | None = None) -> None:
        self.settings = settings
        self.repo = repo
        self.responses = responses or load_responses()
        self.normalizer = Normalizer()
        self.matcher = ProcedureMatcher(catalog_entries(repo.catalog()), normalizer=self.normalizer)
        self.revision = repo.revision()

    def fresh(self) -> Knowledge:
        """Rebuild the matcher when staff changed names or aliases."""
        revision = self.repo.revision()
        if revision != self.revision:
            self.matcher = ProcedureMatcher(catalog_entries(self.repo.catalog()), normalizer=self.normalizer)
            self.revision = revision
        return self

    def unit(self) -> UnitInfo | None:
        return self.repo.unit(self.settings.default_unit)

    def say(self, name: str) -> str:
        u = self.unit()
        return self.responses(
            name,
            unit=u.name if u else "Bộ phận Một cửa",
            hotline=u.hotline if u else "",
            hours=u.hours if u else "",
            address=u.address if u else "",
        )


def utter(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    for r in replies:
        dispatcher.utter_message(text=r.text, buttons=[{"title": b.title, "payload": b.payload} for b in r.buttons])


class AspectAction(Action):
    """Answers one aspect intent about one procedure."""

    def __init__(self, intent: str, knowledge: Knowledge) -> None:
        self.intent = intent
        self.knowledge = knowledge

    def name(self) -> str:
        return f"action_{self.intent}"

    def resolve(self, tracker: Tracker) -> ProcedureInfo | None:
        k = self.knowledge.fresh()
        value = next(tracker.get_latest_entity_values("procedure"), None)
        found = k.repo.procedure(value) if isinstance(value, str) else None
        if found is not None:
            return found
        text = str((tracker.latest_message or {}).get("text") or "")
        if text and not text.startswith("/"):
            match = k.matcher.match(k.normalizer(text).key)
            if match.best is not None:
                return k.repo.procedure(match.best.code)
            if match.content_words:
                return None  # names a procedure we do not have: never answer another one
        slot = tracker.get_slot("procedure")
        return k.repo.procedure(slot) if isinstance(slot, str) else None

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        p = self.resolve(tracker)
        if p is None:
            dispatcher.utter_message(text=self.knowledge.say("ask_which_procedure"))
            return []
        page = f"{self.knowledge.settings.public_url}/thu-tuc/{p.code}"
        ctx = ActionContext(
            p, self.knowledge.unit(), self.knowledge.responses, self.knowledge.settings.portal_url, page
        )
        utter(dispatcher, ACTIONS[self.intent](ctx))
        return [SlotSet("procedure", p.code)]


class TemplateAction(Action):
    """Replies with one of our templates filled with the unit's details."""

    def __init__(self, action: str, template: str, knowledge: Knowledge) -> None:
        self.action = action
        self.template = template
        self.knowledge = knowledge

    def name(self) -> str:
        return self.action

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=self.knowledge.say(self.template))
        return []


def build_executor(knowledge: Knowledge) -> ActionExecutor:
    """Every action of the exported domain, registered one by one (no package scanning)."""
    executor = ActionExecutor()
    for intent in ASPECT_INTENTS:
        executor.register_action(AspectAction(intent, knowledge))
    executor.register_action(TemplateAction("action_ask_office_hours", "office_hours", knowledge))
    executor.register_action(TemplateAction("action_ask_human", "human", knowledge))
    return executor
