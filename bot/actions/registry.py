"""The one explicit mapping from aspect intent to the action that answers it."""

from __future__ import annotations

from bot.actions import channels, documents, info, overview
from bot.actions.base import Action

ACTIONS: dict[str, Action] = {
    "ask_documents": documents.documents,
    "ask_forms": documents.forms,
    "ask_fee": channels.fee,
    "ask_processing_time": channels.processing_time,
    "ask_methods": channels.methods,
    "ask_where": info.where,
    "ask_steps": info.steps,
    "ask_legal_basis": info.legal_basis,
    "ask_requirements": info.requirements,
    "ask_result": info.result,
    "ask_overview": overview.overview,
}
