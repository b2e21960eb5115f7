"""Papers to prepare (thành phần hồ sơ) and forms (mẫu đơn, tờ khai)."""

from __future__ import annotations

from bot.actions.base import ActionContext, aspect_buttons
from bot.types import Reply
from knowledge.types import DocumentGroup, DocumentInfo


def _count(ctx: ActionContext, d: DocumentInfo) -> str:
    if d.originals and d.copies:
        return ctx.say("documents_count", originals=d.originals, copies=d.copies)
    if d.originals:
        return ctx.say("documents_count_originals", originals=d.originals)
    if d.copies:
        return ctx.say("documents_count_copies", copies=d.copies)
    return ctx.say("documents_count_unknown")


def document_line(ctx: ActionContext, d: DocumentInfo) -> str:
    return f"{d.name.rstrip(' ;.')} — {_count(ctx, d)}"


def documents(ctx: ActionContext) -> list[Reply]:
    papers = [d for d in ctx.procedure.documents if not d.is_note]
    if not papers:
        return [Reply(ctx.say("documents_none"), aspect_buttons(ctx, "fee", "time", "where"))]
    sections = [
        ("documents_submit_header", [d for d in papers if d.group is not DocumentGroup.PRESENT and not d.condition]),
        ("documents_conditional_header", [d for d in papers if d.group is not DocumentGroup.PRESENT and d.condition]),
        ("documents_present_header", [d for d in papers if d.group is DocumentGroup.PRESENT]),
    ]
    lines = [ctx.say("documents_header")]
    n = 0
    for header, group in sections:
        if not group:
            continue
        lines.append(ctx.say(header))
        for d in group:
            n += 1
            lines.append(f"{n}. {document_line(ctx, d)}")
    return [Reply("\n".join(lines), aspect_buttons(ctx, "forms", "fee", "where"))]


def forms(ctx: ActionContext) -> list[Reply]:
    names = ctx.procedure.forms
    if names:
        text = "\n".join([ctx.say("forms_header"), *(f"• {f}" for f in names), ctx.say("forms_portal")])
        return [Reply(text, aspect_buttons(ctx, "documents", "online"))]
    # No attached files: point to the declarations named among the documents.
    declared = [
        d
        for d in ctx.procedure.documents
        if not d.is_note and any(w in d.name.lower() for w in ("tờ khai", "mẫu", "đơn"))
    ]
    lines = [ctx.say("forms_none")] if declared else []
    lines += [f"• {document_line(ctx, d)}" for d in declared]
    lines.append(ctx.say("forms_portal"))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "online"))]
