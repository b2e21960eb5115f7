"""`motcua chat` (terminal chat) and `motcua converse` (JSON lines, for scripts)."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import click

from bot.assistant import build_assistant
from bot.settings import Settings
from bot.types import IncomingMessage, Turn


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def turn_json(conversation: str, text: str, turn: Turn) -> dict[str, Any]:
    """The `motcua converse` line of DESIGN.md."""
    return {
        "conversation": conversation,
        "text": text,
        "intent": turn.intent,
        "procedure": turn.procedure,
        "replies": [
            {"text": r.text, "buttons": [{"title": b.title, "payload": b.payload} for b in r.buttons]}
            for r in turn.replies
        ],
    }


@click.command()
@click.option("--unit", help="Mã đơn vị (phường, xã); mặc định: MOTCUA_UNIT hoặc đơn vị đầu tiên.")
@click.pass_obj
def chat(settings: Settings, unit: str | None) -> None:
    """Trò chuyện với trợ lý trong terminal (nút bấm hiện thành lựa chọn đánh số)."""
    assistant = build_assistant(settings, announce=_stderr)
    sender = f"cli-{uuid.uuid4().hex[:8]}"
    u = assistant.unit(unit)
    click.echo(f"Trợ lý Một cửa — {u.name if u else 'chưa có đơn vị'}. Gõ câu hỏi; Enter trống hoặc Ctrl+D để thoát.")
    with assistant.maintained():  # messages kept while the database was away are written
        choices: list[str] = []
        while True:
            try:
                text = click.prompt("Bạn", default="", show_default=False, prompt_suffix="> ")
            except (EOFError, click.Abort):
                break
            if not text.strip():
                break
            if text.strip().isdigit() and 0 < int(text.strip()) <= len(choices):
                text = choices[int(text.strip()) - 1]
            turn = assistant.respond(IncomingMessage(channel="cli", sender=sender, text=text, unit=unit))
            choices = []
            for reply in turn.replies:
                click.echo(f"\nTrợ lý: {reply.text}")
                for b in reply.buttons:
                    choices.append(b.payload)
                    click.echo(f"  [{len(choices)}] {b.title}")
            click.echo("")
    click.echo("Tạm biệt!")


@click.command()
@click.option("--unit", help="Mã đơn vị (phường, xã).")
@click.pass_obj
def converse(settings: Settings, unit: str | None) -> None:
    """Hội thoại qua JSON lines: mỗi dòng {"conversation": "id", "text": "..."}; in một dòng JSON mỗi lượt."""
    assistant = build_assistant(settings, announce=_stderr)
    run = uuid.uuid4().hex[:8]  # conversations of one run never meet earlier runs' state
    stdin: Any = click.get_text_stream("stdin", errors="replace")  # type: ignore[operator]
    with assistant.maintained():
        for n, raw in enumerate(stdin, start=1):
            line = raw.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                _emit({"error": f"dòng {n}: JSON không hợp lệ ({exc.msg})"})
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                _emit({"error": f'dòng {n}: cần {{"conversation": ..., "text": ...}}'})
                continue
            conversation = str(obj.get("conversation") or "default")
            msg = IncomingMessage(channel="converse", sender=f"{run}:{conversation}", text=obj["text"], unit=unit)
            _emit(turn_json(conversation, obj["text"], assistant.respond(msg)))


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()
