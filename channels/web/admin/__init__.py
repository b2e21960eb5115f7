"""Staff pages at /admin: procedures, FAQs, units, the unanswered inbox, import/export, QR codes,
the dashboard and user accounts. Server-rendered, Vietnamese, CSRF-protected forms."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import segno
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm.exc import StaleDataError

from bot.assistant import Assistant
from bot.settings import Settings
from channels.web.admin import charts
from channels.web.admin.auth import LOGIN_LIMIT, LOGIN_WINDOW, Session, Sessions, csrf_ok, shared_secret
from knowledge import analytics, editing, inbox, staff, transfer
from knowledge.errors import ConflictError, MotcuaError, NotFoundError, UsageError
from knowledge.repository import Repository
from knowledge.types import Channel, DocumentGroup

log = logging.getLogger(__name__)

MAX_UPLOAD = 10 * 1024 * 1024


class _Redirect(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


class _Forbidden(Exception):
    pass


def mount_admin(app: FastAPI, settings: Settings, assistant: Assistant) -> None:
    from channels.web.app import templates

    db = assistant.db
    repo = Repository(db)
    sessions = Sessions(db, shared_secret(db, settings.secret_key), settings.secure_cookies)
    router = APIRouter(prefix="/admin", include_in_schema=False)

    def current(request: Request) -> Session | None:
        return sessions.read(dict(request.cookies))

    def need_user(request: Request, role: str = "editor") -> Session:
        s = current(request)
        if s is None or s.user is None:
            raise _Redirect("/admin/login")
        if role == "admin" and s.user.role != "admin":
            raise _Forbidden
        return s

    async def form_of(request: Request, s: Session) -> dict[str, Any]:
        form = await request.form()
        if not csrf_ok(s, str(form.get("csrf") or "")):
            raise UsageError(
                "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (CSRF). Hãy tải lại trang và thử lại."
            )
        return {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k) for k in form}

    def page(request: Request, name: str, s: Session | None, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.update(session=s, user=s.user if s else None, csrf=s.csrf if s else "", unit=assistant.unit(None))
        return templates.TemplateResponse(request, f"admin/{name}.html", ctx, status_code=status)

    def message(
        request: Request, s: Session | None, text: str, status: int = 400, back: str = "/admin"
    ) -> HTMLResponse:
        return page(request, "message", s, status=status, text=text, back=back)

    def changed() -> None:
        assistant.refresh()  # this worker at once; the others within a second

    @app.exception_handler(_Redirect)
    async def _redirect(_request: Request, exc: _Redirect) -> RedirectResponse:
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(_Forbidden)
    async def _forbidden(request: Request, _exc: _Forbidden) -> HTMLResponse:
        return message(request, current(request), "Tài khoản của anh/chị không có quyền dùng chức năng này.", 403)

    # --- login ----------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        s = current(request)
        if s and s.user:
            return RedirectResponse("/admin", status_code=303)  # type: ignore[return-value]
        cookie, csrf = sessions.issue(None)
        response = page(request, "login", Session(csrf, None), error=None)
        response.set_cookie(value=cookie, **sessions.cookie_args())
        return response

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> HTMLResponse:
        s = current(request)
        form = await request.form()
        if not csrf_ok(s, str(form.get("csrf") or "")):
            return message(
                request, None, "Biểu mẫu đăng nhập đã hết hạn. Hãy tải lại trang đăng nhập.", 400, back="/admin/login"
            )
        username = str(form.get("username") or "")[:100]
        password = str(form.get("password") or "")[:200]
        address = request.client.host if request.client else "?"
        keys = [f"user:{username.lower()}", f"ip:{address}"]
        if await run_in_threadpool(staff.failed_logins, db, keys, LOGIN_WINDOW) >= LOGIN_LIMIT:
            return page(
                request, "login", s, status=429, error="Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút."
            )
        found = await run_in_threadpool(staff.authenticate, db, username, password)
        if found is None:
            await run_in_threadpool(staff.record_failed_login, db, keys)
            return page(request, "login", s, status=401, error="Sai tên đăng nhập hoặc mật khẩu.")
        await run_in_threadpool(staff.clear_failed_logins, db, keys[:1])
        cookie, _ = sessions.issue(found)
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(value=cookie, **sessions.cookie_args())
        return response  # type: ignore[return-value]

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        s = need_user(request)
        await form_of(request, s)
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie("motcua_admin", path="/admin")
        return response

    # --- dashboard ------------------------------------------------------------------------

    def period(request: Request) -> tuple[date, date]:
        today = datetime.now(UTC).date()
        try:
            end = date.fromisoformat(request.query_params.get("to", "")) if request.query_params.get("to") else today
            start = (
                date.fromisoformat(request.query_params["from"])
                if request.query_params.get("from")
                else end - timedelta(days=29)
            )
        except ValueError as exc:
            raise UsageError("Ngày không hợp lệ (định dạng YYYY-MM-DD).") from exc
        if start > end:
            start, end = end, start
        if (end - start).days > 366:
            start = end - timedelta(days=366)
        return start, end

    @router.get("", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        s = need_user(request)
        start, end = period(request)
        d = analytics.dashboard(db, start, end)
        return page(
            request,
            "dashboard",
            s,
            d=d,
            chart_days=charts.daily([(day.strftime("%d/%m"), n) for day, n in d.per_day]),
            chart_channels=charts.bars(d.per_channel),
            chart_procedures=charts.bars([(name, n) for _, name, n in d.top_procedures]),
            chart_aspects=charts.bars(d.top_aspects, color="#0a8a4a"),
            chart_satisfaction=charts.bars([("Hữu ích", d.useful), ("Chưa đúng", d.rated - d.useful)], color="#e8a317"),
        )

    @router.get("/dashboard.csv")
    def dashboard_csv(request: Request) -> Response:
        need_user(request)
        start, end = period(request)
        d = analytics.dashboard(db, start, end)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["Ngày", "Số câu hỏi"])
        w.writerows([(day.isoformat(), n) for day, n in d.per_day])
        w.writerow([])
        w.writerow(["Kênh", "Số câu hỏi"])
        w.writerows(d.per_channel)
        w.writerow([])
        w.writerow(["Mã thủ tục", "Tên thủ tục", "Số câu hỏi"])
        w.writerows(d.top_procedures)
        w.writerow([])
        w.writerow(["Tổng số câu hỏi", d.questions])
        w.writerow(["Chưa trả lời được", d.unanswered, f"{d.unanswered_rate:.1%}"])
        w.writerow(["Đánh giá hữu ích", d.useful, f"trên {d.rated} lượt đánh giá"])
        name = f"thong-ke-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            "\ufeff" + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # --- procedures -----------------------------------------------------------------------

    @router.get("/procedures", response_class=HTMLResponse)
    def procedures(request: Request) -> HTMLResponse:
        s = need_user(request)
        q = request.query_params.get("q", "")[:200]
        hits = repo.search(q, limit=50) if q.strip() else []
        popular = [p for p in repo.catalog() if p.popularity > 0]
        popular.sort(key=lambda p: -p.popularity)
        return page(request, "procedures", s, q=q, hits=hits, popular=popular[:30])

    def edit_page(
        request: Request,
        s: Session,
        code: str,
        error: str | None = None,
        data: dict[str, Any] | None = None,
        version: int | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        snapshot, current_version = editing.get_procedure_snapshot(db, code)
        return page(
            request,
            "procedure_edit",
            s,
            status=status,
            p=data or snapshot,
            version=version if version is not None else current_version,
            error=error,
            channels=list(Channel),
            groups=list(DocumentGroup),
            code=code,
            history=editing.audit_log(db, 20, "procedure", code),
        )

    @router.get("/procedures/{code}", response_class=HTMLResponse)
    def procedure_edit(request: Request, code: str) -> HTMLResponse:
        s = need_user(request)
        return edit_page(request, s, code)

    @router.post("/procedures/{code}", response_class=HTMLResponse)
    async def procedure_save(request: Request, code: str) -> HTMLResponse:
        s = need_user(request)
        form = await form_of(request, s)
        data = procedure_from_form(form)
        version = _int_or_none(form.get("version"))
        try:
            await run_in_threadpool(editing.update_procedure, db, code, data, s.user.username, version)  # type: ignore[union-attr]
        except (ConflictError, StaleDataError) as exc:
            text = str(exc) if isinstance(exc, ConflictError) else "Thủ tục vừa được người khác sửa; hãy tải lại trang."
            return edit_page(request, s, code, error=text, status=409)
        except UsageError as exc:
            return edit_page(request, s, code, error=str(exc), data={**data, "code": code}, version=version, status=400)
        changed()
        return RedirectResponse(f"/admin/procedures/{code}?saved=1", status_code=303)  # type: ignore[return-value]

    # --- FAQs -----------------------------------------------------------------------------

    @router.get("/faqs", response_class=HTMLResponse)
    def faqs(request: Request) -> HTMLResponse:
        s = need_user(request)
        return page(request, "faqs", s, faqs=repo.faqs(include_inactive=True))

    @router.get("/faqs/new", response_class=HTMLResponse)
    def faq_new(request: Request) -> HTMLResponse:
        s = need_user(request)
        question = request.query_params.get("q", "")[:1000]
        return page(
            request,
            "faq_edit",
            s,
            f={"questions": [question] if question else [], "answer": "", "procedure": None, "active": True},
            faq_id=None,
            version=None,
            error=None,
        )

    @router.get("/faqs/{faq_id}", response_class=HTMLResponse)
    def faq_edit(request: Request, faq_id: int) -> HTMLResponse:
        s = need_user(request)
        f, version = editing.get_faq(db, faq_id)
        return page(request, "faq_edit", s, f=f, faq_id=faq_id, version=version, error=None)

    @router.post("/faqs", response_class=HTMLResponse)
    async def faq_create(request: Request) -> HTMLResponse:
        return await faq_save(request, None)

    @router.post("/faqs/{faq_id}", response_class=HTMLResponse)
    async def faq_update(request: Request, faq_id: int) -> HTMLResponse:
        return await faq_save(request, faq_id)

    async def faq_save(request: Request, faq_id: int | None) -> HTMLResponse:
        s = need_user(request)
        form = await form_of(request, s)
        data = {
            "questions": str(form.get("questions") or "").splitlines(),
            "answer": form.get("answer"),
            "procedure": form.get("procedure"),
            "active": form.get("active") == "on",
        }
        version = _int_or_none(form.get("version"))
        try:
            if data["procedure"] and repo.procedure(str(data["procedure"]).strip()) is None:
                raise UsageError(f"Không có thủ tục mã {data['procedure']}.")
            new_id = await run_in_threadpool(editing.save_faq, db, faq_id, data, s.user.username, version)  # type: ignore[union-attr]
        except (ConflictError, StaleDataError, UsageError) as exc:
            status = 409 if not isinstance(exc, UsageError) else 400
            return page(request, "faq_edit", s, status=status, f=data, faq_id=faq_id, version=version, error=str(exc))
        changed()
        return RedirectResponse(f"/admin/faqs/{new_id}?saved=1", status_code=303)  # type: ignore[return-value]

    # --- units ----------------------------------------------------------------------------

    @router.get("/units", response_class=HTMLResponse)
    def units(request: Request) -> HTMLResponse:
        s = need_user(request)
        return page(request, "units", s, units=repo.units(), error=None)

    @router.post("/units/{code}", response_class=HTMLResponse)
    async def unit_save(request: Request, code: str) -> HTMLResponse:
        s = need_user(request)
        form = await form_of(request, s)
        try:
            await run_in_threadpool(
                editing.save_unit,
                db,
                code,
                dict(form),
                s.user.username,  # type: ignore[union-attr]
                _int_or_none(form.get("version")),
            )
        except (ConflictError, StaleDataError, UsageError) as exc:
            return page(
                request,
                "units",
                s,
                status=409 if not isinstance(exc, UsageError) else 400,
                units=repo.units(),
                error=str(exc),
            )
        changed()
        return RedirectResponse("/admin/units?saved=1", status_code=303)  # type: ignore[return-value]

    # --- inbox ----------------------------------------------------------------------------

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox_page(request: Request) -> HTMLResponse:
        s = need_user(request)
        return page(request, "inbox", s, groups=inbox.grouped(db), reasons=inbox.REASONS)

    @router.post("/inbox/handle")
    async def inbox_handle(request: Request) -> Response:
        s = need_user(request)
        form = await form_of(request, s)
        inbox.mark_handled(db, _ids(form.get("ids")), s.user.username)  # type: ignore[union-attr]
        return RedirectResponse("/admin/inbox", status_code=303)

    @router.post("/inbox/alias", response_class=HTMLResponse)
    async def inbox_alias(request: Request) -> HTMLResponse:
        s = need_user(request)
        form = await form_of(request, s)
        code = str(form.get("code") or "").strip()
        alias = str(form.get("alias") or "").strip()
        if not code or not alias:
            return message(request, s, "Cần mã thủ tục và tên gọi.", back="/admin/inbox")
        try:
            await run_in_threadpool(editing.add_alias, db, code, alias, s.user.username)  # type: ignore[union-attr]
        except (NotFoundError, UsageError, ConflictError) as exc:
            return message(request, s, str(exc), back="/admin/inbox")
        inbox.mark_handled(db, _ids(form.get("ids")), s.user.username)  # type: ignore[union-attr]
        changed()
        return RedirectResponse("/admin/inbox", status_code=303)  # type: ignore[return-value]

    @router.post("/inbox/faq", response_class=HTMLResponse)
    async def inbox_faq(request: Request) -> HTMLResponse:
        s = need_user(request)
        form = await form_of(request, s)
        data = {
            "questions": [str(form.get("question") or "")],
            "answer": form.get("answer"),
            "procedure": form.get("procedure") or None,
            "active": True,
        }
        try:
            await run_in_threadpool(editing.save_faq, db, None, data, s.user.username)  # type: ignore[union-attr]
        except UsageError as exc:
            return message(request, s, str(exc), back="/admin/inbox")
        inbox.mark_handled(db, _ids(form.get("ids")), s.user.username)  # type: ignore[union-attr]
        changed()
        return RedirectResponse("/admin/inbox", status_code=303)  # type: ignore[return-value]

    # --- audit ----------------------------------------------------------------------------

    @router.get("/audit", response_class=HTMLResponse)
    def audit(request: Request) -> HTMLResponse:
        s = need_user(request)
        return page(request, "audit", s, entries=editing.audit_log(db, 300))

    @router.post("/audit/{entry_id}/revert", response_class=HTMLResponse)
    async def audit_revert(request: Request, entry_id: int) -> HTMLResponse:
        s = need_user(request)
        await form_of(request, s)
        try:
            await run_in_threadpool(editing.revert, db, entry_id, s.user.username)  # type: ignore[union-attr]
        except (NotFoundError, UsageError) as exc:
            return message(request, s, str(exc), back="/admin/audit")
        changed()
        return RedirectResponse("/admin/audit?reverted=1", status_code=303)  # type: ignore[return-value]

    # --- import / export ------------------------------------------------------------------

    @router.get("/transfer", response_class=HTMLResponse)
    def transfer_page(request: Request) -> HTMLResponse:
        s = need_user(request)
        return page(request, "transfer", s, errors=[], result=None)

    @router.get("/export.{fmt}")
    def export(request: Request, fmt: str) -> Response:
        need_user(request)
        codes = [c for c in request.query_params.get("codes", "").replace(",", " ").split() if c] or None
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        if fmt == "xlsx":
            return Response(
                transfer.export_xlsx(db, codes),
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"Content-Disposition": f'attachment; filename="thu-tuc-{stamp}.xlsx"'},
            )
        if fmt == "yaml":
            return Response(
                transfer.export_yaml(db, codes),
                media_type="application/x-yaml; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="thu-tuc-{stamp}.yaml"'},
            )
        raise NotFoundError("Định dạng không hỗ trợ.")

    @router.post("/import", response_class=HTMLResponse)
    async def import_file(request: Request) -> HTMLResponse:
        s = need_user(request)
        form = await request.form()
        if not csrf_ok(s, str(form.get("csrf") or "")):
            return message(request, s, "Biểu mẫu đã hết hạn (CSRF). Hãy tải lại trang.", back="/admin/transfer")
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return page(request, "transfer", s, status=400, errors=["Chưa chọn tệp."], result=None)
        try:
            content = await upload.read(MAX_UPLOAD + 1)
        finally:
            await upload.close()
        if len(content) > MAX_UPLOAD:
            return page(request, "transfer", s, status=413, errors=["Tệp quá lớn (tối đa 10 MB)."], result=None)
        try:
            plan = await run_in_threadpool(transfer.plan_import, db, content, upload.filename or "")
            if plan.errors:
                return page(
                    request,
                    "transfer",
                    s,
                    status=400,
                    errors=plan.errors[:200],
                    result=None,
                    more=max(0, len(plan.errors) - 200),
                )
            result = await run_in_threadpool(transfer.apply_import, db, plan, s.user.username)  # type: ignore[union-attr]
        except UsageError as exc:
            return page(request, "transfer", s, status=400, errors=[str(exc)], result=None)
        changed()
        return page(request, "transfer", s, errors=[], result=result)

    # --- QR codes -------------------------------------------------------------------------

    def qr_svg(url: str) -> Markup:
        return Markup(segno.make(url, error="m").svg_inline(scale=4, dark="#111", omitsize=False))

    def links(code: str) -> dict[str, str]:
        found = {"web": f"{settings.public_url}/?p={code}"}
        if settings.telegram_bot_name:
            # Telegram allows only letters, digits, "_" and "-" in start parameters.
            found["telegram"] = f"https://t.me/{settings.telegram_bot_name}?start={code.replace('.', '_')}"
        return found

    @router.get("/qr/{code}", response_class=HTMLResponse)
    def qr_page(request: Request, code: str) -> HTMLResponse:
        s = need_user(request)
        p = repo.procedure(code)
        if p is None:
            return message(request, s, f"Không có thủ tục mã {code}.", 404, back="/admin/procedures")
        codes = {k: qr_svg(v) for k, v in links(code).items()}
        return page(request, "qr", s, p=p, links=links(code), codes=codes)

    @router.get("/qr", response_class=HTMLResponse)
    def qr_sheet(request: Request) -> HTMLResponse:
        s = need_user(request)
        items = [
            (p, links(p.code)["web"], qr_svg(links(p.code)["web"])) for p in repo.procedures(analytics.most_asked(db))
        ]
        return page(request, "qr_sheet", s, items=items)

    # --- users ----------------------------------------------------------------------------

    @router.get("/users", response_class=HTMLResponse)
    def users_page(request: Request) -> HTMLResponse:
        s = need_user(request, role="admin")
        return page(request, "users", s, users=staff.users(db), roles=staff.ROLES, error=None)

    @router.post("/users", response_class=HTMLResponse)
    async def users_create(request: Request) -> HTMLResponse:
        s = need_user(request, role="admin")
        form = await form_of(request, s)
        try:
            await run_in_threadpool(
                staff.create_user,
                db,
                str(form.get("username") or ""),
                str(form.get("password") or ""),
                str(form.get("role") or ""),
            )
        except UsageError as exc:
            return page(request, "users", s, status=400, users=staff.users(db), roles=staff.ROLES, error=str(exc))
        return RedirectResponse("/admin/users", status_code=303)  # type: ignore[return-value]

    @router.post("/users/{user_id}/active", response_class=HTMLResponse)
    async def users_active(request: Request, user_id: int) -> HTMLResponse:
        s = need_user(request, role="admin")
        form = await form_of(request, s)
        if s.user and s.user.id == user_id:
            return message(request, s, "Không thể tự khóa tài khoản của mình.", back="/admin/users")
        staff.set_active(db, user_id, form.get("active") == "on")
        return RedirectResponse("/admin/users", status_code=303)  # type: ignore[return-value]

    # UsageError raised inside a handler (bad CSRF, bad dates) becomes a readable page.
    @app.exception_handler(MotcuaError)
    async def _usage(request: Request, exc: MotcuaError) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, ConflictError) else 400
        if request.url.path.startswith("/admin"):
            s = current(request)
            return message(request, s, str(exc), status=403 if "CSRF" in str(exc) else status)
        from fastapi.responses import JSONResponse

        return JSONResponse({"error": str(exc)}, status_code=status)  # type: ignore[return-value]

    app.include_router(router)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    out = []
    for item in items:
        for part in str(item).split(","):
            if part.strip().isdigit():
                out.append(int(part.strip()))
    return out


def procedure_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The edit form's flat fields (ch-0-fee_text, doc-3-name, ...) as a procedure snapshot."""

    def rows(prefix: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
        indexes = sorted(
            {int(k.split("-")[1]) for k in form if k.startswith(prefix + "-") and k.split("-")[1].isdigit()}
        )
        out = []
        for i in indexes:
            row = {f: form.get(f"{prefix}-{i}-{f}") for f in fields}
            if form.get(f"{prefix}-{i}-delete") == "on":
                continue
            if prefix == "doc" and not str(row.get("name") or "").strip():
                continue
            if prefix == "ch" and not row.get("channel"):
                continue
            out.append(row)
        return out

    return {
        "name": form.get("name"),
        "active": form.get("active") == "on",
        "popularity": form.get("popularity") or 0,
        "aliases": str(form.get("aliases") or "").splitlines(),
        "channels": rows(
            "ch", ("channel", "time_value", "time_unit", "time_text", "fee_amount", "fee_text", "description")
        ),
        "documents": [
            {**r, "forms": [f.strip() for f in str(r.get("forms") or "").split("|") if f.strip()]}
            for r in rows("doc", ("name", "originals", "copies", "group", "condition", "forms"))
        ],
    }
