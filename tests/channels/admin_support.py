"""Helpers shared by the staff-page tests: logging in, reading the edit form, asking the assistant."""

from __future__ import annotations

import html
import io
import re
import time
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.workbook import Workbook

PASSWORD = "mat-khau-du-dai-123"
"""Strong enough for zxcvbn (score 4)."""
ADMIN_PASSWORD = "cay bang truoc ngo nha"


def client_for(app: Any) -> TestClient:
    return TestClient(app, base_url="http://testserver")


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(app: Any, username: str = "lan", password: str = PASSWORD) -> tuple[TestClient, str]:
    c = client_for(app)
    token = csrf_of(c.get("/admin/login").text)
    r = c.post("/admin/login", data={"csrf": token, "username": username, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    return c, csrf_of(c.get("/admin").text)


def edit_fields(c: TestClient, code: str) -> dict[str, str]:
    """Every field of the procedure edit form as a browser would submit it unchanged."""
    page = c.get(f"/admin/procedures/{code}").text
    fields: dict[str, str] = {}
    for m in re.finditer(r'<input type="(?:hidden|text|number)"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        fields[m.group(1)] = html.unescape(m.group(2))
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        fields[m.group(1)] = html.unescape(m.group(2))
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', m.group(2))
        fields[m.group(1)] = chosen.group(1) if chosen else ""
    if re.search(r'name="active" checked', page):
        fields["active"] = "on"
    return fields


def ask(app: Any, text: str, sender: str = "citizen") -> str:
    with client_for(app) as c:
        replies = c.post("/webhooks/rest/webhook", json={"sender": sender, "message": text}).json()
    return "\n".join(r["text"] for r in replies)


def message(text: str) -> Any:
    from bot.types import IncomingMessage

    return IncomingMessage("web", f"w-{time.monotonic()}", text)


def workbook(content: bytes) -> Workbook:
    return load_workbook(io.BytesIO(content))


def saved(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def column_of(ws: Any, header: str) -> int:
    """The 1-based column whose header is `header`."""
    for cell in ws[1]:
        if cell.value == header:
            return int(cell.column)
    raise AssertionError(f"no column {header!r} in {[c.value for c in ws[1]]}")


def rows_of(ws: Any, code: str) -> list[int]:
    """The Excel row numbers of procedure `code` in a sheet whose first column is the code."""
    return [cell.row for cell in ws["A"][1:] if cell.value == code]
