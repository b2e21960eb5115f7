"""Small SVG charts rendered on the server (no script, no network): bars and a daily series."""

from __future__ import annotations

from markupsafe import Markup, escape


def bars(items: list[tuple[str, int]], width: int = 520, color: str = "#0068ff") -> Markup:
    """Horizontal bars, one per (label, value)."""
    if not items:
        return Markup('<p class="muted">Chưa có dữ liệu.</p>')
    row, label_w = 26, 230
    top = max(v for _, v in items) or 1
    height = row * len(items) + 10
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Biểu đồ cột" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = (width - label_w - 60) * value / top
        short = label if len(label) <= 38 else label[:36] + "…"
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{escape(short)}<title>{escape(label)}</title></text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{color}" rx="3"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def daily(series: list[tuple[str, int]], width: int = 720, height: int = 180, color: str = "#0068ff") -> Markup:
    """Vertical bars per day, with the first and last dates labelled."""
    if not series:
        return Markup('<p class="muted">Chưa có dữ liệu.</p>')
    top = max(v for _, v in series) or 1
    pad_l, pad_b = 36, 22
    plot_w, plot_h = width - pad_l - 6, height - pad_b - 8
    step = plot_w / len(series)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Số câu hỏi theo ngày" xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad_l}" y1="{8 + plot_h}" x2="{width - 6}" y2="{8 + plot_h}" stroke="#999"/>',
        f'<text x="0" y="16" font-size="11">{top}</text>',
        f'<text x="0" y="{8 + plot_h}" font-size="11">0</text>',
    ]
    for i, (day, value) in enumerate(series):
        h = plot_h * value / top
        x = pad_l + i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{8 + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{escape(day)}: {value}</title></rect>'
        )
    parts.append(f'<text x="{pad_l}" y="{height - 4}" font-size="11">{escape(series[0][0])}</text>')
    parts.append(
        f'<text x="{width - 6}" y="{height - 4}" font-size="11" text-anchor="end">{escape(series[-1][0])}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
