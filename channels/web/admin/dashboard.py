"""The dashboard: questions per day and channel, top procedures and aspects, the unanswered
rate and satisfaction, for a period of the unit's days; and the same figures as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channels.web.admin import charts, labels
from channels.web.admin.context import STAFF_ONLY, AdminContext, Context, Staff, render
from channels.web.admin.errors import PREFIX
from knowledge import analytics
from knowledge.errors import UsageError

router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=STAFF_ONLY)

DEFAULT_DAYS = 30
MAX_DAYS = 367


def period(request: Request, ctx: AdminContext) -> tuple[date, date]:
    """The period asked for (from/to, YYYY-MM-DD), by default the last 30 days up to today
    in the unit's time zone."""
    today = datetime.now(ctx.tz).date()
    try:
        raw_to, raw_from = request.query_params.get("to"), request.query_params.get("from")
        end = date.fromisoformat(raw_to) if raw_to else today
        start = date.fromisoformat(raw_from) if raw_from else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError as exc:
        raise UsageError("Ngày không hợp lệ (cần dạng năm-tháng-ngày, ví dụ 2026-05-31).") from exc
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, ctx: Context, visitor: Staff) -> Response:
    start, end = period(request, ctx)
    d = analytics.dashboard(ctx.db, start, end, ctx.tz)
    return render(
        request,
        "dashboard",
        visitor,
        d=d,
        chart_days=charts.daily([(day.strftime("%d/%m"), n) for day, n in d.per_day]),
        chart_channels=charts.bars([(labels.conversation_channel(c), n) for c, n in d.per_channel]),
        chart_procedures=charts.bars([(name, n) for _, name, n in d.top_procedures]),
        chart_aspects=charts.bars(d.top_aspects, color="#0a8a4a"),
        chart_satisfaction=charts.bars([("Hữu ích", d.useful), ("Chưa đúng", d.rated - d.useful)], color="#e8a317"),
    )


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, ctx: Context) -> Response:
    start, end = period(request, ctx)
    d = analytics.dashboard(ctx.db, start, end, ctx.tz)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Ngày", "Số câu hỏi"])
    w.writerows([(day.strftime("%d/%m/%Y"), n) for day, n in d.per_day])
    w.writerow([])
    w.writerow(["Kênh", "Số câu hỏi"])
    w.writerows([(labels.conversation_channel(c), n) for c, n in d.per_channel])
    w.writerow([])
    w.writerow(["Mã thủ tục", "Tên thủ tục", "Số câu hỏi"])
    w.writerows(d.top_procedures)
    w.writerow([])
    w.writerow(["Tổng số câu hỏi", d.questions])
    w.writerow(["Chưa trả lời được", d.unanswered, f"{d.unanswered_rate:.1%}".replace(".", ",")])
    w.writerow(["Đánh giá hữu ích", d.useful, f"trên {d.rated} lượt đánh giá"])
    name = f"thong-ke-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
