"""`motcua kb ...` as a user runs it: exit status, messages and files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from knowledge.db import Database
from knowledge.repository import Repository
from tests.conftest import FIXTURES

SAMPLE = FIXTURES / "national_sample.jsonl"


@pytest.fixture
def run(db_url: str):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), env={"MOTCUA_DATABASE_URL": db_url}, input=input)

    return invoke


def test_import_prints_quality_table(run) -> None:
    result = run("kb", "import-national", str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert "Đã nhập 27 thủ tục: 27 mới, 0 cập nhật" in result.output
    assert "Thành phần hồ sơ (≥ 1 giấy tờ)" in result.output
    assert "96.3%" in result.output  # 26 of 27


def test_show_and_json(run) -> None:
    run("kb", "import-national", str(SAMPLE))
    text = run("kb", "show", "1.001193")
    assert text.exit_code == 0 and "Thủ tục đăng ký khai sinh" in text.output
    data = json.loads(run("kb", "show", "1.000894", "--json").output)
    assert data["result"] == "Giấy chứng nhận kết hôn"
    assert [c["fee_amount"] for c in data["channels"]] == [0, 0, 0]
    assert "thanh_phan_ho_so" in data["sources"]
    missing = run("kb", "show", "9.999999")
    assert missing.exit_code == 2 and "Không có thủ tục mã" in missing.output


def test_search_is_accent_insensitive_and_interactive(run) -> None:
    run("kb", "import-national", str(SAMPLE))
    assert "1.000894" in run("kb", "search", "DANG KY KET HON").output
    session = run("kb", "search", input="khai tu\n\n")
    assert session.exit_code == 0 and "1.000656" in session.output


@pytest.mark.parametrize(
    "lines",
    [["{not json"], [json.dumps({"ten_thu_tuc": "Thủ tục không mã"})]],
    ids=["not-json", "no-code"],
)
def test_bad_file_exits_2_and_changes_nothing(run, db_url: str, tmp_path: Path, lines: list[str]) -> None:
    run("kb", "import-national", str(SAMPLE))
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as fh:
        fh.write(SAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\n" + "\n".join(lines) + "\n")
    result = run("kb", "import-national", str(bad))
    assert result.exit_code == 2
    assert "dòng 2" in result.output
    database = Database(db_url)
    assert Repository(database).stats().procedures == 27
    database.dispose()
    skipped = run("kb", "import-national", str(bad), "--skip-bad")
    assert skipped.exit_code == 0 and "Bỏ qua 1 dòng lỗi" in skipped.output and "dòng 2" in skipped.output


def test_missing_and_truncated_files_exit_2(run, tmp_path: Path) -> None:
    assert run("kb", "import-national", str(tmp_path / "nope.gz")).exit_code == 2
    whole = gzip.compress(SAMPLE.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 3])
    result = run("kb", "import-national", str(cut))
    assert result.exit_code == 2 and "bị cắt ngang" in result.output


def test_commands_on_an_uninitialised_database_say_what_to_do(run) -> None:
    result = run("kb", "stats")
    assert result.exit_code != 0 and "motcua kb init" in result.output


def test_export_round_trips(run, tmp_path: Path) -> None:
    run("kb", "import-national", str(SAMPLE))
    out = tmp_path / "kb.yaml"
    assert run("kb", "export", "--format", "yaml", "--out", str(out)).exit_code == 0
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert len(data["procedures"]) == 27
    lines = run("kb", "export", "--format", "jsonl", "--no-sources").output.splitlines()
    rows = [json.loads(line) for line in lines]
    assert {r["code"] for r in rows} >= {"1.000894", "1.001193"} and "sources" not in rows[0]
