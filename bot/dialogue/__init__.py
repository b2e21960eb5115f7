"""The conversation: its typed state, its vocabulary and the one policy every channel uses."""

from bot.dialogue.policy import Decision, DialoguePolicy, Move
from bot.dialogue.state import DialogueState, PendingChoice

__all__ = ["Decision", "DialoguePolicy", "DialogueState", "Move", "PendingChoice"]
