"""Actions: each answers one aspect intent from a procedure of the knowledge base."""

from bot.actions.base import Action, ActionContext
from bot.actions.registry import ACTIONS

__all__ = ["ACTIONS", "Action", "ActionContext"]
