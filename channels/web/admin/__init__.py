"""Staff pages at /admin: procedures, FAQs, units, the inbox, the audit log, import/export,
QR codes, the dashboard and user accounts. Server-rendered, Vietnamese, CSRF-protected.

One module per area, each with a module-level router whose dependencies sign the visitor in
and check the form's token (FastAPI's "bigger applications" layout); `mount_admin` includes
them and registers the error pages, once, from the app factory."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI

from bot.assistant import Assistant
from bot.settings import Settings
from channels.web.admin import audit, auth, dashboard, faqs, inbox, procedures, qr, transfer, units, users
from channels.web.admin.context import AdminContext, add_exception_handlers, is_loopback
from channels.web.admin.sessions import Cookies, shared_secret

log = logging.getLogger(__name__)

router = APIRouter()
for area in (auth, dashboard, procedures, faqs, units, inbox, audit, transfer, qr, users):
    router.include_router(area.router)
router.include_router(auth.account)

UPLOAD_LIMITS = {"/admin/import": transfer.MAX_UPLOAD + 1024 * 1024}
"""Request body limits of the staff pages that take files (the file plus the form around it)."""


def mount_admin(app: FastAPI, settings: Settings, assistant: Assistant) -> None:
    """Add the staff pages to `app`."""
    cookies = Cookies(assistant.db, shared_secret(assistant.db, settings.secret_key), settings.secure_cookies)
    app.state.admin = AdminContext(settings, assistant, cookies, ZoneInfo(settings.timezone))
    app.include_router(router)
    add_exception_handlers(app)
    if is_loopback(settings.public_url):
        log.warning(
            "MOTCUA_PUBLIC_URL đang là %s, một địa chỉ chỉ mở được trên chính máy chủ này: liên kết và mã QR "
            "in cho người dân sẽ không mở được. Hãy đặt MOTCUA_PUBLIC_URL là địa chỉ công khai của trang.",
            settings.public_url,
        )
