"""Write a complete Rasa 3.6 project from our training data and the knowledge base."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.engine import DEFAULT_DATA
from bot.nlu.training import load_rasa, load_templates
from bot.nlu.types import ASPECT_INTENTS, CONVERSATION_INTENTS, INTENTS
from bot.responses import Responses
from knowledge.text import fold
from knowledge.types import ProcedureSummary, UnitInfo

RASA_VERSION = "3.1"
ACTION_PREFIX = "action_"
EXTRA_ACTIONS = ("action_ask_office_hours", "action_ask_human")
"""Custom actions besides one per aspect intent."""
UTTERED = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thank": "utter_thank",
    "affirm": "utter_affirm",
    "deny": "utter_deny",
    "out_of_scope": "utter_out_of_scope",
}


def action_names() -> list[str]:
    """Every custom action the exported domain declares (the action server serves each)."""
    return [f"{ACTION_PREFIX}{intent}" for intent in ASPECT_INTENTS] + list(EXTRA_ACTIONS)


def _block(lines: list[str]) -> str:
    return "".join(f"- {line}\n" for line in lines)


class _Literal(str):
    """A string dumped as a YAML block (examples: |)."""


def _literal(dumper: yaml.SafeDumper, data: _Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)


def _entity_text(text: str) -> str:
    # Rasa's annotation syntax uses brackets and braces: keep them out of the entity text.
    return text.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")


def nlu_file(catalog: list[ProcedureSummary], per_template: int = 3, seed: int = 7) -> str:
    """Our examples, plus template examples with procedure entities (values are national codes),
    synonyms from aliases and a lookup table of procedure names."""
    examples: dict[str, list[str]] = {intent: [] for intent in INTENTS}
    for ex in load_rasa(DEFAULT_DATA):
        if ex.intent in examples and ex.text not in examples[ex.intent]:
            examples[ex.intent].append(ex.text.replace("\n", " "))
    rng = random.Random(seed)
    popular = [p for p in catalog if p.aliases]
    for intent, templates in load_templates().items():
        for template in templates:
            for p in rng.sample(popular, min(per_template, len(popular))):
                alias = _entity_text(rng.choice(p.aliases))
                unaccented = fold(template.replace("{procedure}", "")) == template.replace("{procedure}", "").lower()
                shown = fold(alias) if unaccented else alias
                annotated = f'[{shown}]{{"entity": "procedure", "value": "{p.code}"}}'
                line = template.replace("{procedure}", annotated)
                if line not in examples[intent]:
                    examples[intent].append(line)
    nlu: list[dict[str, Any]] = [
        {"intent": intent, "examples": _Literal(_block(lines))} for intent, lines in examples.items() if lines
    ]
    for p in popular:
        names = sorted({_entity_text(a) for a in p.aliases} | {_entity_text(fold(a)) for a in p.aliases})
        nlu.append({"synonym": p.code, "examples": _Literal(_block(names))})
    lookup = sorted({_entity_text(a) for p in popular for a in p.aliases})
    nlu.append({"lookup": "procedure", "examples": _Literal(_block(lookup))})
    return _dump({"version": RASA_VERSION, "nlu": nlu})


def domain_file(responses: Responses, unit: UnitInfo | None) -> str:
    values = {
        "unit": unit.name if unit else "Bộ phận Một cửa",
        "hotline": unit.hotline if unit else "đường dây nóng của phường, xã",
        "hours": unit.hours if unit else "",
        "address": unit.address if unit else "",
    }
    texts = {
        name: responses(key, **values)
        for key, name in [
            ("greet", "utter_greet"),
            ("goodbye", "utter_goodbye"),
            ("thank", "utter_thank"),
            ("affirm", "utter_affirm"),
            ("deny", "utter_deny"),
            ("out_of_scope", "utter_out_of_scope"),
            ("ask_which_procedure", "utter_ask_which_procedure"),
        ]
    }
    domain = {
        "version": RASA_VERSION,
        "intents": list(INTENTS),
        "entities": ["procedure"],
        "slots": {
            "procedure": {
                "type": "text",
                "influence_conversation": False,
                "mappings": [{"type": "from_entity", "entity": "procedure"}],
            },
            # The assistant's dialogue state (bot.dialogue.DialogueState as JSON), set by our
            # actions so every turn is decided by the same policy as on our own channels.
            "dialogue_state": {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]},
        },
        "responses": {name: [{"text": text}] for name, text in texts.items()},
        "actions": action_names(),
        "session_config": {"session_expiration_time": 30, "carry_over_slots_to_new_session": False},
    }
    return _dump(domain)


def rules_file() -> str:
    rules = [
        {"rule": f"answer {intent}", "steps": [{"intent": intent}, {"action": f"{ACTION_PREFIX}{intent}"}]}
        for intent in ASPECT_INTENTS
    ]
    rules.append(
        {"rule": "office hours", "steps": [{"intent": "ask_office_hours"}, {"action": "action_ask_office_hours"}]}
    )
    rules.append({"rule": "a staff member", "steps": [{"intent": "ask_human"}, {"action": "action_ask_human"}]})
    for intent in CONVERSATION_INTENTS:
        if intent in UTTERED:
            rules.append({"rule": f"reply to {intent}", "steps": [{"intent": intent}, {"action": UTTERED[intent]}]})
    rules.append({"rule": "low confidence", "steps": [{"intent": "nlu_fallback"}, {"action": "utter_out_of_scope"}]})
    return _dump({"version": RASA_VERSION, "rules": rules})


def stories_file() -> str:
    """Follow-ups: a later question without a procedure keeps the one already named."""
    pairs = [
        ("ask_documents", "ask_fee"),
        ("ask_overview", "ask_documents"),
        ("ask_fee", "ask_processing_time"),
        ("ask_documents", "ask_where"),
        ("ask_overview", "ask_methods"),
    ]
    stories = []
    for first, second in pairs:
        stories.append(
            {
                "story": f"{first} then {second}",
                "steps": [
                    {"intent": first, "entities": [{"procedure": "1.001193"}]},
                    {"slot_was_set": [{"procedure": "1.001193"}]},
                    {"action": f"{ACTION_PREFIX}{first}"},
                    {"intent": second},
                    {"action": f"{ACTION_PREFIX}{second}"},
                ],
            }
        )
    return _dump({"version": RASA_VERSION, "stories": stories})


CONFIG = """\
# Rasa 3.6 configuration for Vietnamese: syllables are space separated, so the whitespace
# tokenizer works; character n-grams of each word make it robust to missing diacritics and typos.
recipe: default.v1
language: vi
assistant_id: tro-ly-mot-cua
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 2
    max_ngram: 5
  - name: DIETClassifier
    epochs: 60
    constrain_similarities: true
  - name: EntitySynonymMapper
  - name: FallbackClassifier
    threshold: 0.3
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
  - name: TEDPolicy
    max_history: 5
    epochs: 20
"""

ENDPOINTS = """\
# Our action server: `motcua actions` (rasa-sdk), on the same machine.
action_endpoint:
  url: "http://127.0.0.1:{port}/webhook"
"""

CREDENTIALS = """\
# REST: POST /webhooks/rest/webhook {"sender": ..., "message": ...} (our chat widget can use it
# with data-server). Socket.IO for Rasa's own web chat clients.
rest:
socketio:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: true
"""


def export_project(
    target: Path, catalog: list[ProcedureSummary], responses: Responses, unit: UnitInfo | None, action_port: int = 5055
) -> list[Path]:
    """Write the project; returns the files written."""
    files = {
        "config.yml": CONFIG,
        "domain.yml": domain_file(responses, unit),
        "endpoints.yml": ENDPOINTS.format(port=action_port),
        "credentials.yml": CREDENTIALS,
        "data/nlu.yml": nlu_file(catalog),
        "data/rules.yml": rules_file(),
        "data/stories.yml": stories_file(),
    }
    written = []
    for name, content in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
