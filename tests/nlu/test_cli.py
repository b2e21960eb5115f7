"""`motcua parse`, `motcua nlu train` and `motcua nlu test` as scripts call them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MOTCUA = [sys.executable, "-m", "bot"]


def run(args: list[str], env: dict[str, str], stdin: str = "", timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MOTCUA, *args], input=stdin, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


@pytest.fixture
def env(kb_copy, trained_model: Path, tmp_path: Path) -> dict[str, str]:
    model = tmp_path / "model.pkl"
    model.write_bytes(trained_model.read_bytes())
    return {**os.environ, "MOTCUA_DATABASE_URL": kb_copy.url, "MOTCUA_MODEL_PATH": str(model)}


BAD_LINES = [
    "",
    "   ",
    "x" * 100_000,
    "\x01\x02 lệ phí \x7f",
    "😀😀😀",
    "<script>alert(1)</script> làm căn cước ở đâu",
    "How much is the marriage registration fee?",
    '{"text": "lệ phí đăng ký kết hôn"}',
    '{"text": 5}',
    "{not json",
    '["text"]',
    "dang ky tam tru mat bao lau",
]


def test_parse_streams_one_line_per_input_and_survives_bad_input(env: dict[str, str]) -> None:
    out = run(["parse"], env, "\n".join(BAD_LINES) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(BAD_LINES)
    for row, line in zip(rows, BAD_LINES, strict=True):
        if line.startswith(("{not", '{"text": 5')):  # "[...]" is plain text by the contract
            assert "error" in row
        else:
            assert set(row) == {"text", "intent", "confidence", "procedure", "candidates"}
            assert 0.0 <= row["confidence"] <= 1.0 and len(row["candidates"]) <= 5
    assert rows[7]["intent"] == "ask_fee" and rows[7]["procedure"]["code"] == "1.000894"
    assert rows[-1]["intent"] == "ask_processing_time" and rows[-1]["procedure"]["code"] == "1.004194"
    assert rows[0]["intent"] == "out_of_scope" and rows[0]["procedure"] is None


def test_parse_on_a_fresh_checkout_builds_the_knowledge_base_and_model_and_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in env.items() if k != "MOTCUA_DATABASE_URL"}
    env |= {"MOTCUA_DB_PATH": str(tmp_path / "fresh" / "kb.db"), "MOTCUA_MODEL_PATH": str(tmp_path / "fresh" / "m.pkl")}
    out = run(["parse"], env, "xin chào\nle phi dang ky ket hon\n")
    assert out.returncode == 0, out.stderr
    assert "đang tạo từ dữ liệu kèm theo" in out.stderr and "Đang huấn luyện" in out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["intent"] == "greet" and rows[1]["procedure"]["code"] == "1.000894"
    assert (tmp_path / "fresh" / "m.pkl").exists()
    again = run(["parse"], env, "xin chào\n")
    assert again.returncode == 0 and "đang tạo" not in again.stderr and "Đang huấn luyện" not in again.stderr


def test_first_runs_at_the_same_time_build_the_knowledge_base_once(env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in env.items() if k != "MOTCUA_DATABASE_URL"} | {"MOTCUA_DB_PATH": str(tmp_path / "kb.db")}
    runs = [
        subprocess.Popen(
            [*MOTCUA, "parse"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate("le phi dang ky ket hon\n", timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-500:] for _out, err in outputs]
    assert all(json.loads(out)["procedure"]["code"] == "1.000894" for out, _err in outputs)
    assert sum("đang tạo từ dữ liệu kèm theo" in err for _out, err in outputs) == 1
    assert not list(tmp_path.glob("kb.db.building*"))


def test_an_existing_empty_database_is_not_filled_silently(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    env = {k: v for k, v in env.items() if k != "MOTCUA_DATABASE_URL"} | {"MOTCUA_DB_PATH": str(tmp_path / "empty.db")}
    out = run(["parse"], env, "xin chào\n")
    assert out.returncode != 0 and "motcua kb init" in out.stderr


def test_nlu_train_and_test_on_any_rasa_data(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "nlu.yml"
    data.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: greet\n  examples: |\n    - xin chào\n    - chào bạn\n    - hello\n    - chao ad\n"
        "- intent: ask_fee\n  examples: |\n    - lệ phí bao nhiêu\n    - mất bao nhiêu tiền\n"
        "    - phi la bao nhieu\n    - có mất phí không\n",
        encoding="utf-8",
    )
    model = tmp_path / "small.pkl"
    trained = run(["nlu", "train", "--data", str(data), "--out", str(model), "--no-generated"], env)
    assert trained.returncode == 0, trained.stderr
    assert "2 ý định" in trained.stdout and model.exists()
    report = tmp_path / "report.json"
    tested = run(["nlu", "test", "--data", str(data), "--model", str(model), "--report", str(report)], env)
    assert tested.returncode == 0, tested.stderr
    assert "Độ chính xác ý định" in tested.stdout and "precision" in tested.stdout
    data_json = json.loads(report.read_text(encoding="utf-8"))
    assert {"accuracy", "macro_f1", "per_intent"} <= set(data_json)
    assert set(data_json["per_intent"]) == {"greet", "ask_fee"}


def test_nlu_train_rejects_malformed_data(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("nlu:\n- intent: greet\n  examples: not a block\n", encoding="utf-8")
    out = run(["nlu", "train", "--data", str(bad), "--out", str(tmp_path / "m.pkl")], env)
    assert out.returncode == 2 and "ví dụ" in out.stderr
