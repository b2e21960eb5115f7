"""What the NLU takes in and gives back: plain frozen dataclasses, no database objects."""

from __future__ import annotations

from dataclasses import dataclass, field

ASPECT_INTENTS: tuple[str, ...] = (
    "ask_documents",
    "ask_fee",
    "ask_processing_time",
    "ask_where",
    "ask_steps",
    "ask_methods",
    "ask_forms",
    "ask_legal_basis",
    "ask_requirements",
    "ask_result",
    "ask_overview",
)
"""Intents about one aspect of one procedure (DESIGN.md)."""

CONVERSATION_INTENTS: tuple[str, ...] = (
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "ask_human",
    "ask_office_hours",
    "out_of_scope",
)
"""Intents about the conversation itself."""

INTENTS: tuple[str, ...] = ASPECT_INTENTS + CONVERSATION_INTENTS
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A procedure as the matcher sees it: handed in by the caller, not read from a database."""

    code: str
    """National code, e.g. "1.001193"."""
    name: str
    """Official name."""
    aliases: tuple[str, ...] = ()
    """Everyday names citizens use."""
    ward_level: bool = False
    """Done at commune/ward level (Cấp xã)."""
    popularity: int = 0
    """0-100: how often citizens ask about it."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A procedure the question may be about."""

    code: str
    name: str
    score: float
    """0-1: how well the question names this procedure (the matcher's overlap score: Tversky
    index, bonuses and priors)."""
    matched: str = ""
    """The name or alias that matched best."""
    probability: float | None = None
    """0-1: the re-ranker's calibrated probability that the question is about this procedure;
    candidates are ordered by it and the matcher abstains below its threshold (None when no
    re-ranker is trained: then they are ordered by `score`)."""


@dataclass(frozen=True, slots=True)
class NluResult:
    """The understanding of one message."""

    text: str
    """The message as received."""
    intent: str
    """One of INTENTS."""
    confidence: float
    """0-1: the classifier's probability for `intent`."""
    procedure: Candidate | None
    """The procedure the question is about, or None when the matcher abstains."""
    candidates: tuple[Candidate, ...] = ()
    """Up to five closest procedures, best first (also when abstaining)."""
    intent_ranking: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    """Every intent with its probability, best first."""
    names_procedure: bool = False
    """True when the text mentions some concrete procedure, known or not."""
    words: str = ""
    """The normalized text (lower case, abbreviations expanded, diacritics kept)."""
    key: str = ""
    """`words` without diacritics: what the matcher reads."""
    named: Candidate | None = None
    """The procedure the matcher is sure the text names, whatever the intent (`procedure` is
    None for conversation intents)."""
    coverage: tuple[float, float] = (0.0, 0.0)
    """For the best candidate: (share of its name the text mentions, share of the text's own
    content its name explains) — how much of the turn a procedure name accounts for."""

    def to_json(self) -> dict[str, object]:
        """The `motcua parse` line of DESIGN.md."""

        def cand(c: Candidate) -> dict[str, object]:
            return {"code": c.code, "name": c.name, "score": round(c.score, 4)}

        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "procedure": cand(self.procedure) if self.procedure else None,
            "candidates": [cand(c) for c in self.candidates[:5]],
        }
