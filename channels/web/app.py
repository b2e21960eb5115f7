"""The web app: Rasa-compatible REST channel, health check, chat widget, demo ward page and
procedure pages; Telegram and Zalo webhooks and the admin pages are mounted when configured."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.assistant import Assistant
from bot.settings import Settings
from bot.types import IncomingMessage, Turn
from channels.web import limits
from channels.web.limits import BodyLimit, BoundedJsonRoute
from knowledge.errors import RetryQueueFull

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))


class RestMessage(BaseModel):
    """A message in Rasa's REST channel format."""

    sender: str = Field(min_length=1, max_length=200, description="Mã người gửi (giữ nguyên để tiếp tục hội thoại)")
    message: str = Field(max_length=4000, description="Câu hỏi, hoặc payload của nút bấm")
    metadata: dict[str, Any] | None = Field(default=None, description='Tùy chọn: {"unit": mã đơn vị}')


class RestButton(BaseModel):
    title: str
    payload: str


class RestReply(BaseModel):
    recipient_id: str
    text: str
    buttons: list[RestButton] = []


_FIELD_NAMES = {"sender": "sender (mã người gửi)", "message": "message (nội dung tin nhắn)", "metadata": "metadata"}


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        kind = err.get("type", "")
        where = [str(p) for p in err.get("loc", ()) if p != "body"]
        field = _FIELD_NAMES.get(where[0], where[0]) if where else "nội dung"
        if kind == "json_invalid":
            return "Nội dung gửi lên không phải JSON hợp lệ."
        if kind == "missing":
            problems.append(f"thiếu trường {field}")
        elif kind == "string_too_long":
            limit = err.get("ctx", {}).get("max_length")
            problems.append(f"trường {field} quá dài (tối đa {limit} ký tự)")
        elif kind == "string_too_short":
            problems.append(f"trường {field} không được để trống")
        elif kind == "string_unicode":  # a lone surrogate escape ("\ud800"): no text can hold it
            problems.append(f"trường {field} chứa ký tự không hợp lệ")
        elif kind in ("string_type", "dict_type", "model_attributes_type"):
            problems.append(f"trường {field} sai kiểu dữ liệu" if where else "cần một đối tượng JSON")
        else:
            problems.append(f"trường {field} không hợp lệ")
    return "Yêu cầu không hợp lệ: " + "; ".join(problems) + "."


_UNREADABLE: dict[type[BaseException], str] = {UnicodeDecodeError: limits.NOT_UTF8, RecursionError: limits.TOO_DEEP}


def render_rest(sender: str, turn: Turn) -> list[dict[str, Any]]:
    return [
        {
            "recipient_id": sender,
            "text": r.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in r.buttons],
        }
        for r in turn.replies
    ]


def create_app(
    settings: Settings, assistant: Assistant, *, telegram: Any = None, zalo: Any = None, admin: bool = False
) -> FastAPI:
    """The app over an assistant; `telegram` and `zalo` are adapters from their packages."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Notices a replaced database file and writes the messages kept during an outage,
        # also when no message comes in.
        with assistant.maintained():
            yield

    app = FastAPI(
        title="Trợ lý Một cửa",
        description="Hướng dẫn thủ tục hành chính cho người dân. Kênh REST tương thích Rasa.",
        version="0.1.0",
        lifespan=lifespan,
    )
    # JSON bodies of the app's own routes are read within bounds (UTF-8, depth; see limits.py).
    app.router.route_class = BoundedJsonRoute
    app.state.settings = settings
    app.state.assistant = assistant
    if settings.answer_threads > 0:
        # A pool of its own, for a server database whose round trips leave the CPU idle.
        pool = ThreadPoolExecutor(max_workers=settings.answer_threads, thread_name_prefix="answer")

        async def respond(msg: IncomingMessage) -> Turn:
            return await asyncio.get_running_loop().run_in_executor(pool, assistant.respond, msg)

    else:
        # By default a worker answers on its event loop, one message at a time, each in a few
        # milliseconds. Answering is CPU work that holds Python's interpreter lock wherever it
        # runs, so a thread would only add a hand-off and a second thread contending for that
        # lock (`benchmarks/web_load.py --answer-threads 1` compares the capacity). SQLite
        # writes of one worker stay in order as well.
        async def respond(msg: IncomingMessage) -> Turn:
            return assistant.respond(msg)

    app.state.respond = respond

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(exc)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and "text/html" in request.headers.get("accept", ""):
            return templates.TemplateResponse(request, "not_found.html", {"settings": settings}, status_code=404)
        detail = exc.detail if isinstance(exc.detail, str) else "Lỗi"
        if exc.status_code == 400 and type(exc).__module__.startswith("fastapi") and exc.__cause__ is not None:
            # FastAPI could not read a body (a form, or JSON outside our bounded routes): it
            # chains the reading error to an English message; the citizen gets ours.
            detail = _UNREADABLE.get(type(exc.__cause__), limits.UNREADABLE)
        messages = {404: "Không tìm thấy địa chỉ này.", 405: "Phương thức không được hỗ trợ."}
        return JSONResponse(
            {"error": messages.get(exc.status_code, detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RetryQueueFull)
    async def _not_stored(_request: Request, exc: RetryQueueFull) -> JSONResponse:
        # Not accepted, and said so: the sender (a person or Telegram, Zalo) may send it again.
        return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", exc)
        return JSONResponse({"error": "Hệ thống đang gặp sự cố, vui lòng thử lại sau ít phút."}, status_code=500)

    @app.post(
        "/webhooks/rest/webhook",
        tags=["REST"],
        summary="Gửi tin nhắn (định dạng kênh REST của Rasa)",
        responses={
            200: {
                "model": list[RestReply],
                "description": "Các câu trả lời của trợ lý. Khi cơ sở dữ liệu tạm thời không ghi được, câu "
                "trả lời là lời xin lỗi và tin nhắn được giữ lại để ghi sau.",
            },
            503: {
                "description": "Cơ sở dữ liệu không ghi được và hàng đợi trong bộ nhớ đã đầy: tin nhắn "
                "KHÔNG được nhận, hãy gửi lại sau (xem Retry-After)."
            },
        },
    )
    async def rest_webhook(body: RestMessage) -> JSONResponse:
        meta = body.metadata or {}
        unit = meta.get("unit") if isinstance(meta.get("unit"), str) else None
        channel = "web" if meta.get("source") == "widget" else "rest"
        msg = IncomingMessage(channel=channel, sender=body.sender, text=body.message, unit=unit)
        turn = await respond(msg)
        return JSONResponse(render_rest(body.sender, turn))

    @app.get(
        "/healthz",
        tags=["Vận hành"],
        summary="Kiểm tra dịch vụ và cơ sở dữ liệu",
        responses={503: {"description": "Cơ sở dữ liệu không dùng được (lý do trong database và message)"}},
    )
    def healthz() -> JSONResponse:
        health = assistant.db.health()
        body: dict[str, Any] = {
            "status": "ok" if health.ok else "error",
            "database": health.problem or "ok",
            "message": health.message,
            "pending_messages": len(assistant.pending),
            "worker": os.getpid(),
        }
        if not health.ok:  # the database layer logged why
            return JSONResponse(body, status_code=503)
        return JSONResponse(body | {"knowledge_revision": health.revision})

    @app.get("/widget.js", include_in_schema=False)
    def widget_js() -> FileResponse:
        return FileResponse(
            STATIC / "widget.js",
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def demo(request: Request) -> HTMLResponse:
        unit = assistant.unit(None)
        base = str(request.base_url).rstrip("/")
        return templates.TemplateResponse(request, "demo.html", {"unit": unit, "base": base})

    @app.get("/thu-tuc/{code}", response_class=HTMLResponse, include_in_schema=False)
    def procedure_page(request: Request, code: str) -> HTMLResponse:
        p = assistant.procedure(code)
        if p is None:
            raise StarletteHTTPException(404)
        return templates.TemplateResponse(
            request,
            "procedure.html",
            {
                "p": p,
                "unit": assistant.unit(None),
                "portal": settings.portal_url,
                "papers": [d for d in p.documents if not d.is_note],
                "notes": [d for d in p.documents if d.is_note],
            },
        )

    if telegram is not None:
        telegram.mount(app)
    if zalo is not None:
        zalo.mount(app)
    uploads: dict[str, int] = {}
    if admin:
        from channels.web.admin import UPLOAD_LIMITS, mount_admin

        mount_admin(app, settings, assistant)
        uploads.update(UPLOAD_LIMITS)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    app.add_middleware(BodyLimit, overrides=uploads)
    return app


def factory() -> FastAPI:
    """For `uvicorn --factory` (each worker): settings from the environment, saved model."""
    from bot.assistant import build_assistant
    from channels.telegram.adapter import TelegramAdapter
    from channels.zalo.adapter import ZaloAdapter

    settings = Settings.from_env()
    assistant = build_assistant(settings, build_missing=False)  # `serve` built it before the workers
    assistant.warm_up()
    telegram = TelegramAdapter.from_settings(settings, assistant)
    zalo = ZaloAdapter.from_settings(settings, assistant)
    return create_app(settings, assistant, telegram=telegram, zalo=zalo, admin=True)
