"""Reading the staff forms: the edit form's numbered rows, lists of ids, version numbers."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from knowledge.fields import CHANNEL_FIELDS, DOCUMENT_FIELDS, Rows


def text(form: FormData, key: str, limit: int = 20_000) -> str:
    value = form.get(key)
    return value[:limit] if isinstance(value, str) else ""


def int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def ids(form: FormData, key: str = "ids") -> list[int]:
    out = []
    for item in form.getlist(key):
        for part in str(item).split(","):
            if part.strip().isdigit():
                out.append(int(part.strip()))
    return out


def _rows(form: FormData, prefix: str, rows: Rows) -> list[dict[str, Any]]:
    """The rows of one table of the edit form (fields named `{prefix}-{i}-{key}`), in order,
    without those marked for deletion and the empty row left for adding one."""
    indexes = sorted({int(k.split("-")[1]) for k in form if k.startswith(prefix + "-") and k.split("-")[1].isdigit()})
    out = []
    for i in indexes:
        if form.get(f"{prefix}-{i}-delete") == "on":
            continue
        row = {f.key: form.get(f"{prefix}-{i}-{f.key}") for f in rows.fields}
        title = row.get(rows.title)
        if not (isinstance(title, str) and title.strip()):
            continue  # the blank row for a new entry, left empty
        out.append(row)
    return out


def procedure_from_form(form: FormData) -> dict[str, Any]:
    """The edit form's flat fields (ch-0-fee_amount, doc-3-name, ...) as a procedure snapshot."""
    return {
        "name": form.get("name"),
        "active": form.get("active") == "on",
        "popularity": form.get("popularity"),
        "aliases": text(form, "aliases", 200_000),
        "channels": _rows(form, "ch", CHANNEL_FIELDS),
        "documents": _rows(form, "doc", DOCUMENT_FIELDS),
    }
