"""`motcua parse` and `motcua nlu train|test`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.nlu.engine import DEFAULT_DATA, RERANKER, NluEngine, data_fingerprint
from bot.nlu.evaluate import evaluate, format_report
from bot.nlu.training import load_rasa
from bot.runtime import catalog_entries, load_engine, open_repository
from bot.settings import Settings


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def read_requests(stream: Any) -> Any:
    """(line number, text or None, error or None) for each stdin line: plain text or {"text": ...}."""
    for n, raw in enumerate(stream, start=1):
        line = raw.rstrip("\r\n")
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"dòng {n}: JSON không hợp lệ ({exc.msg})", None
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                yield n, None, f'dòng {n}: cần một đối tượng có trường "text" kiểu chuỗi', obj
                continue
            yield n, obj["text"], None, obj
        else:
            yield n, line, None, None


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@click.command()
@click.pass_obj
def parse(settings: Settings) -> None:
    """Phân tích câu hỏi (mỗi dòng stdin: văn bản hoặc {"text": ...}) thành ý định và thủ tục, in JSON lines."""
    db, repo = open_repository(settings, announce=_stderr)
    engine = load_engine(settings, repo, announce=_stderr)
    db.dispose()
    stdin: Any = click.get_text_stream("stdin", errors="replace")  # type: ignore[operator]
    for _n, text, error, _obj in read_requests(stdin):
        if error is not None:
            emit({"error": error})
            continue
        emit(engine.parse(text or "").to_json())


@click.group()
def nlu() -> None:
    """Hiểu câu hỏi: huấn luyện và đánh giá mô hình."""


@nlu.command()
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=DEFAULT_DATA,
    show_default=True,
    help="Tệp hoặc thư mục dữ liệu huấn luyện định dạng Rasa 3 (YAML).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Nơi lưu mô hình (mặc định: MOTCUA_MODEL_PATH).")
@click.option("--no-generated", is_flag=True, help="Không sinh thêm ví dụ từ tên thủ tục trong cơ sở tri thức.")
@click.option(
    "--reranker",
    type=click.Choice(["none", "hgb", "logreg"]),
    default=RERANKER or "none",
    show_default=True,
    help="Chọn thủ tục bằng bộ xếp hạng học được (hgb, logreg) hay bằng điểm chỉnh tay (none).",
)
@click.pass_obj
def train(settings: Settings, data: Path, out: Path | None, no_generated: bool, reranker: str) -> None:
    """Huấn luyện bộ phân loại ý định từ dữ liệu Rasa và lưu mô hình."""
    db, repo = open_repository(settings, announce=_stderr)
    catalog = catalog_entries(repo.catalog())
    db.dispose()
    _stderr(f"Huấn luyện từ {data} ...")
    templates = None if no_generated else (DEFAULT_DATA / "templates.yml")
    engine, report = NluEngine.train(
        catalog, data=data, templates=templates, reranker=None if reranker == "none" else reranker
    )
    target = out or settings.model_path
    custom = data.resolve() != DEFAULT_DATA.resolve() or templates is None or reranker != (RERANKER or "none")
    engine.save(target, fingerprint=data_fingerprint(data), custom=custom)
    click.echo(
        f"Đã huấn luyện {len(report.intents)} ý định trên {report.examples} ví dụ "
        f"({report.from_files} từ tệp, {report.generated} sinh từ tên thủ tục) trong {report.seconds:.1f} giây."
    )
    if report.reranker is not None:
        rr = report.reranker
        click.echo(
            f"Bộ xếp hạng thủ tục '{rr.kind}': {rr.questions} câu hỏi huấn luyện, ngưỡng từ chối {rr.threshold:.2f}."
        )
    click.echo(f"Mô hình: {target}")


@nlu.command("test")
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    required=True,
    help="Dữ liệu đánh giá: tệp/thư mục Rasa YAML hoặc JSON lines {text, intent[, procedure]}.",
)
@click.option("--model", type=click.Path(path_type=Path), help="Mô hình cần đánh giá (mặc định: MOTCUA_MODEL_PATH).")
@click.option("--report", "report_path", type=click.Path(path_type=Path), help="Ghi báo cáo JSON vào tệp này.")
@click.pass_obj
def test_cmd(settings: Settings, data: Path, model: Path | None, report_path: Path | None) -> None:
    """Đánh giá mô hình: độ chính xác, precision, recall và F1 theo ý định, các cặp ý định hay bị nhầm."""
    db, repo = open_repository(settings, announce=_stderr)
    if model is not None:
        engine = NluEngine.load(model, catalog_entries(repo.catalog()))
    else:
        engine = load_engine(settings, repo, announce=_stderr)
    db.dispose()
    items = load_eval_items(data)
    report = evaluate(engine, items)
    click.echo(format_report(report))
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        click.echo(f"Báo cáo: {report_path}")


def load_eval_items(path: Path) -> list[dict[str, Any]]:
    """Labelled questions from JSON lines ({text, intent, procedure?, ...}) or Rasa YAML."""
    if path.is_file() and path.suffix in {".jsonl", ".json"}:
        items = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.ClickException(f"{path}: dòng {n}: JSON không hợp lệ ({exc.msg})") from exc
            if not isinstance(obj, dict) or "text" not in obj or "intent" not in obj:
                raise click.ClickException(f"{path}: dòng {n}: cần các trường text và intent")
            items.append(obj)
        return items
    return [{"text": ex.text, "intent": ex.intent} for ex in load_rasa(path)]
