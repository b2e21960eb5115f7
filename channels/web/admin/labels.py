"""The Vietnamese words staff read for the codes the program stores (roles, where a question
came from), kept in one place so no page shows a code."""

from __future__ import annotations

from knowledge.staff import ROLE_LABELS

CONVERSATION_CHANNELS = {
    "web": "Khung chat trên trang web",
    "rest": "Ứng dụng kết nối",
    "telegram": "Telegram",
    "zalo": "Zalo",
    "cli": "Dòng lệnh",
    "converse": "Dòng lệnh",
}
"""Where a citizen's question came from (Conversation.channel)."""


def role(code: str) -> str:
    return ROLE_LABELS.get(code, code)


def conversation_channel(code: str) -> str:
    return CONVERSATION_CHANNELS.get(code, "Kênh khác")
