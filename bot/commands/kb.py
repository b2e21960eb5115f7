"""`motcua kb ...`: build, inspect and export the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.settings import Settings
from knowledge.db import Database
from knowledge.errors import NotFoundError, UsageError
from knowledge.export import faq_to_dict, procedure_to_dict, write_jsonl, write_yaml
from knowledge.importer import QUALITY_LABELS, ImportReport, import_national
from knowledge.repository import Repository
from knowledge.seed import duplicate_aliases, initialise
from knowledge.types import ProcedureInfo

err = Console(stderr=True)


def open_db(settings: Settings, require: bool = True) -> Database:
    """The configured database, closed when the command ends."""
    db = Database(settings.database_url)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(db.dispose)
    if require:
        db.require_initialised()
    return db


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@click.group()
def kb() -> None:
    """Cơ sở tri thức thủ tục: khởi tạo, nhập, tra cứu, xuất."""


@kb.command()
@click.option("--force", is_flag=True, help="Nhập lại dữ liệu quốc gia kể cả khi tệp không đổi.")
@click.pass_obj
def init(settings: Settings, force: bool) -> None:
    """Tạo lược đồ và nạp dữ liệu kèm theo: thủ tục quốc gia, tên gọi, đơn vị, câu hỏi thường gặp."""
    db = open_db(settings, require=False)
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = initialise(db, force=force, progress=on_progress)
        if report.national.unchanged_file:
            bar.add_task("Dữ liệu quốc gia đã được nhập trước đó (không đổi)", total=1, completed=1)
    aliases, units, faqs = report.aliases, report.units, report.faqs
    stats = Repository(db).stats()
    click.echo(
        f"Xong: {stats.procedures} thủ tục ({stats.ward_level} cấp xã), {stats.aliases} tên gọi "
        f"(+{aliases.added}), {stats.units} đơn vị (+{units}), {stats.faqs} câu hỏi thường gặp (+{faqs}). "
        f"Cơ sở dữ liệu: {db.safe_url}"
    )
    if aliases.unknown_codes:
        click.echo(f"Cảnh báo: tên gọi cho mã không có trong dữ liệu: {', '.join(aliases.unknown_codes)}", err=True)
    for key, codes in duplicate_aliases(db):
        click.echo(f"Cảnh báo: tên gọi {key!r} thuộc nhiều thủ tục: {', '.join(codes)}", err=True)


def print_quality(report: ImportReport, console: Console) -> None:
    table = Table(title="Chất lượng phân tích (trên các bản ghi có dữ liệu nguồn)")
    table.add_column("Trường")
    table.add_column("Phân tích được", justify="right")
    table.add_column("Có nguồn", justify="right")
    table.add_column("Tỉ lệ", justify="right")
    for key, hit, total, share in report.quality.rows():
        table.add_row(QUALITY_LABELS[key], str(hit), str(total), f"{share:.1%}")
    console.print(table)


@kb.command("import-national")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Bỏ qua dòng lỗi (và liệt kê chúng) thay vì dừng lại.")
@click.pass_obj
def import_national_cmd(settings: Settings, path: Path, skip_bad: bool) -> None:
    """Nhập (hoặc cập nhật theo mã) các bản ghi thủ tục quốc gia từ tệp .jsonl hoặc .jsonl.gz."""
    db = open_db(settings, require=False)
    db.migrate()
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = import_national(db, path, skip_bad=skip_bad, progress=on_progress)
    out = Console()
    out.print(
        f"Đã nhập {report.total} thủ tục: {report.inserted} mới, {report.updated} cập nhật "
        f"trong {report.seconds:.1f} giây."
    )
    print_quality(report, out)
    if report.skipped:
        out.print(f"Bỏ qua {len(report.skipped)} dòng lỗi:")
        for bad in report.skipped:
            out.print(f"  dòng {bad.line}: {bad.reason}")


@kb.command()
@click.pass_obj
def stats(settings: Settings) -> None:
    """Thống kê cơ sở tri thức."""
    s = Repository(open_db(settings)).stats()
    table = Table(show_header=False)
    for label, value in [
        ("Thủ tục", s.procedures),
        ("Thủ tục cấp xã", s.ward_level),
        ("Giấy tờ (thành phần hồ sơ)", s.documents),
        ("Cách thức nộp", s.channels),
        ("Tên gọi thường dùng", s.aliases),
        ("Đơn vị", s.units),
        ("Câu hỏi thường gặp", s.faqs),
        ("Phiên bản tri thức", s.revision),
        ("Cập nhật lần cuối", s.updated_at.strftime("%d/%m/%Y %H:%M") if s.updated_at else "—"),
    ]:
        table.add_row(label, str(value))
    Console().print(table)
    fields = Table("Lĩnh vực", "Số thủ tục", title="Lĩnh vực nhiều thủ tục nhất")
    for name, n in s.by_field:
        fields.add_row(name, str(n))
    Console().print(fields)


def render_procedure(p: ProcedureInfo, console: Console) -> None:
    console.print(f"[bold]{p.name}[/bold]  (mã {p.code})")
    console.print(f"Cấp thực hiện: {', '.join(sorted(p.levels)) or '—'}   Lĩnh vực: {p.field or '—'}")
    console.print(f"Cơ quan thực hiện: {p.agency or '—'}")
    if p.aliases:
        console.print(f"Tên gọi thường dùng: {', '.join(p.aliases)}")
    table = Table("Cách thức", "Thời hạn", "Phí, lệ phí", title="Cách thức thực hiện")
    for c in p.channels:
        time = f"{c.time_value:g} {c.time_unit or '(không rõ đơn vị)'}" if c.time_value else (c.time_text or "—")
        table.add_row(c.channel.label, time, c.fee_text or "—")
    console.print(table)
    docs = [d for d in p.documents if not d.is_note]
    console.print(f"Thành phần hồ sơ ({len(docs)} giấy tờ):")
    for i, d in enumerate(docs, start=1):
        console.print(f"  {i}. {d.name} — {d.originals} bản chính, {d.copies} bản sao", markup=False)
    if p.result:
        console.print(f"Kết quả: {p.result}", markup=False)
    console.print(f"Nguồn: {p.source_url}")


@kb.command()
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="In toàn bộ bản ghi dạng JSON.")
@click.pass_obj
def show(settings: Settings, code: str, as_json: bool) -> None:
    """Xem một thủ tục theo mã quốc gia (ví dụ 1.001193)."""
    p = Repository(open_db(settings)).procedure(code, with_sources=as_json)
    if p is None:
        raise NotFoundError(f"Không có thủ tục mã {code!r}. Dùng 'motcua kb search' để tìm mã.")
    if as_json:
        click.echo(json.dumps(procedure_to_dict(p), ensure_ascii=False, indent=2))
    else:
        render_procedure(p, Console())


@kb.command()
@click.argument("text", required=False)
@click.option("--limit", default=10, show_default=True)
@click.pass_obj
def search(settings: Settings, text: str | None, limit: int) -> None:
    """Tìm thủ tục theo tên hoặc tên gọi (không phân biệt dấu). Không có TEXT: tra cứu tương tác."""
    repo = Repository(open_db(settings))
    console = Console()

    def run(query: str) -> None:
        hits = repo.search(query, limit=limit)
        if not hits:
            console.print("Không tìm thấy thủ tục nào.")
            return
        for h in hits:
            level = "cấp xã" if "Cấp xã" in h.levels else ", ".join(sorted(h.levels)).lower()
            console.print(f"  {h.code:10s} {h.name}  [dim]({level})[/dim]", highlight=False)

    if text is not None:
        run(text)
        return
    console.print("Tra cứu thủ tục. Gõ tên thủ tục (có dấu hay không đều được); Enter trống để thoát.")
    while True:
        try:
            query = console.input("[bold]tìm>[/bold] ")
        except EOFError:
            break
        if not query.strip():
            break
        run(query)


@kb.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "yaml"]), default="jsonl", show_default=True)
@click.option("--what", type=click.Choice(["procedures", "faqs"]), default="procedures", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Tệp đích (mặc định: stdout).")
@click.option("--no-sources", is_flag=True, help="Bỏ văn bản nguồn của từng trường.")
@click.pass_obj
def export(settings: Settings, fmt: str, what: str, out: Path | None, no_sources: bool) -> None:
    """Xuất thủ tục hoặc câu hỏi thường gặp ra JSON lines hoặc YAML."""
    repo = Repository(open_db(settings))
    if what == "procedures":
        procedures = repo.all_procedures(with_sources=not no_sources)
        rows = [procedure_to_dict(p, with_sources=not no_sources) for p in procedures]
    else:
        rows = [faq_to_dict(f) for f in repo.faqs(include_inactive=True)]
    if out is not None and out.is_dir():
        raise UsageError(f"{out} là một thư mục; hãy cho tên tệp.")
    tmp = out.with_suffix(out.suffix + ".tmp") if out else None
    stream = tmp.open("w", encoding="utf-8") if tmp else sys.stdout
    try:
        n = write_jsonl(rows, stream) if fmt == "jsonl" else write_yaml(what, rows, stream)
    finally:
        if tmp:
            stream.close()
    if tmp and out:
        tmp.replace(out)  # written whole or not at all
        click.echo(f"Đã xuất {n} mục ra {out}", err=True)
