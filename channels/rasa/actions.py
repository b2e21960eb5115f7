"""rasa-sdk actions over our assistant: the same dialogue policy, actions and knowledge base.

Rasa classifies the message and picks the action; the action hands the turn to
`Assistant.converse` with Rasa's intent (and its `procedure` entity, when Rasa found one), so
the procedure is chosen by the one policy every other channel uses. The conversation state
lives in Rasa's tracker: the `dialogue_state` slot carries it between turns, and the
`procedure` slot mirrors the procedure being discussed for Rasa's own stories.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.assistant import Assistant
from bot.dialogue import DialogueState
from bot.nlu.types import ASPECT_INTENTS
from bot.types import Reply

log = logging.getLogger(__name__)

STATE_SLOT = "dialogue_state"
PROCEDURE_SLOT = "procedure"


def utter(dispatcher: CollectingDispatcher, replies: tuple[Reply, ...]) -> None:
    for r in replies:
        dispatcher.utter_message(text=r.text, buttons=[{"title": b.title, "payload": b.payload} for b in r.buttons])


def tracker_state(tracker: Tracker) -> DialogueState:
    """The state stored in the tracker; a tracker of an older export has only the procedure."""
    stored = tracker.get_slot(STATE_SLOT)
    state = DialogueState.from_json(stored)
    if state.procedure is None and not stored:
        code = tracker.get_slot(PROCEDURE_SLOT)
        state = DialogueState.from_json({"procedure": code} if isinstance(code, str) else None)
    return state


class TurnAction(Action):
    """Answers one intent through the assistant's dialogue policy."""

    def __init__(self, action: str, intent: str, assistant: Assistant) -> None:
        self.action = action
        self.intent = intent
        self.assistant = assistant

    def name(self) -> str:
        return self.action

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        text = str(message.get("text") or "")
        entity = next(tracker.get_latest_entity_values(PROCEDURE_SLOT), None)
        ranked = message.get("intent")
        confidence = ranked.get("confidence") if isinstance(ranked, dict) else None
        exchange = self.assistant.converse(
            text,
            tracker_state(tracker),
            self.assistant.unit(None),
            channel="rasa",
            sender=str(tracker.sender_id),
            intent=self.intent,
            confidence=float(confidence) if isinstance(confidence, int | float) else 1.0,
            procedure=entity if isinstance(entity, str) else None,
        )
        utter(dispatcher, exchange.turn.replies)
        return [
            SlotSet(STATE_SLOT, exchange.state.to_json()),
            SlotSet(PROCEDURE_SLOT, exchange.state.procedure),
        ]


def build_executor(assistant: Assistant) -> ActionExecutor:
    """Every action of the exported domain, registered one by one (no package scanning)."""
    executor = ActionExecutor()
    for intent in ASPECT_INTENTS:
        executor.register_action(TurnAction(f"action_{intent}", intent, assistant))
    executor.register_action(TurnAction("action_ask_office_hours", "ask_office_hours", assistant))
    executor.register_action(TurnAction("action_ask_human", "ask_human", assistant))
    return executor
