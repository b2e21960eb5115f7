"""Rasa interoperability without installing Rasa: the exported project is checked against
Rasa 3's file formats, and the rasa-sdk action server is called with Rasa's webhook request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from bot.nlu.types import ASPECT_INTENTS, INTENTS
from bot.responses import load as load_responses
from channels.rasa.actions import build_executor
from channels.rasa.export import action_names, export_project
from knowledge.repository import Repository
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(full_sqlite, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("rasa")
    repo = Repository(full_sqlite)
    export_project(target, repo.catalog(), load_responses(), repo.unit(None))
    return target


def load(project: Path, name: str) -> dict:
    data = yaml.safe_load((project / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_project_has_every_file(project: Path) -> None:
    for name in [
        "config.yml",
        "domain.yml",
        "endpoints.yml",
        "credentials.yml",
        "data/nlu.yml",
        "data/rules.yml",
        "data/stories.yml",
    ]:
        assert (project / name).is_file(), name
    config = load(project, "config.yml")
    assert config["language"] == "vi" and any(p["name"] == "DIETClassifier" for p in config["pipeline"])
    assert load(project, "endpoints.yml")["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    credentials = load(project, "credentials.yml")
    assert "rest" in credentials and "socketio" in credentials


def test_every_intent_has_examples_and_entities_are_codes(project: Path, full_sqlite) -> None:
    nlu = load(project, "data/nlu.yml")
    assert nlu["version"] == "3.1"
    examples = {item["intent"]: item["examples"] for item in nlu["nlu"] if "intent" in item}
    domain = load(project, "domain.yml")
    assert set(domain["intents"]) == set(INTENTS)
    for intent in domain["intents"]:
        lines = [ln for ln in examples[intent].splitlines() if ln.startswith("- ")]
        assert len(lines) >= 20, intent
    repo = Repository(full_sqlite)
    synonyms = [item for item in nlu["nlu"] if "synonym" in item]
    assert synonyms and all(repo.procedure(item["synonym"]) is not None for item in synonyms)
    assert any(item.get("lookup") == "procedure" for item in nlu["nlu"])
    annotated = [ln for text in examples.values() for ln in text.splitlines() if '"entity": "procedure"' in ln]
    assert len(annotated) > 100


def test_domain_rules_and_stories_agree(project: Path, full_sqlite, nlu_engine) -> None:
    domain = load(project, "domain.yml")
    known = set(domain["actions"]) | set(domain["responses"])
    for name in ("data/rules.yml", "data/stories.yml"):
        data = load(project, name)
        assert data["version"] == "3.1"
        for item in data.get("rules", []) + data.get("stories", []):
            for step in item["steps"]:
                if "action" in step:
                    assert step["action"] in known, (name, step)
                if "intent" in step:
                    assert step["intent"] in set(domain["intents"]) | {"nlu_fallback"}
    executor = build_executor(_assistant(full_sqlite, nlu_engine))
    served = {a.name for a in executor.list_actions()}
    assert set(domain["actions"]) <= served
    assert set(domain["actions"]) == set(action_names())


def _assistant(db, engine):
    from bot.assistant import Assistant
    from bot.settings import Settings

    return Assistant(Settings.from_env({"MOTCUA_DATABASE_URL": db.url}), db, engine)


def _request(
    action: str, text: str, slot: str | None = None, entities: list | None = None, state: dict | None = None
) -> dict:
    return {
        "next_action": action,
        "sender_id": "rasa-user",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "rasa-user",
            "slots": {"procedure": slot, "dialogue_state": state},
            "latest_message": {
                "text": text,
                "intent": {"name": action[len("action_") :], "confidence": 0.9},
                "entities": entities or [],
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


@pytest.fixture(scope="module")
def action_server(full_sqlite, trained_model):
    port = free_port()
    env = {**os.environ, "MOTCUA_DATABASE_URL": full_sqlite.url, "MOTCUA_MODEL_PATH": str(trained_model)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "actions", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("action server exited: " + proc.stderr.read().decode()[-1500:])  # type: ignore[union-attr]
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)
    if proc.stderr is not None:
        proc.stderr.close()


def test_action_server_answers_rasa_webhook_requests(action_server: str) -> None:
    r = httpx.post(action_server + "/webhook", json=_request("action_ask_fee", "lệ phí đăng ký kết hôn bao nhiêu"))
    assert r.status_code == 200
    body = r.json()
    assert {"event": "slot", "timestamp": None, "name": "procedure", "value": "1.000894"} in body["events"]
    assert "Miễn phí" in body["responses"][0]["text"]
    assert {"title": "Hồ sơ", "payload": '/ask_documents{"procedure":"1.000894"}'} in body["responses"][0]["buttons"]


def test_entity_code_from_rasa_and_follow_up_from_the_slot(action_server: str) -> None:
    entity = [{"entity": "procedure", "value": "1.001193", "start": 0, "end": 9}]
    r = httpx.post(action_server + "/webhook", json=_request("action_ask_documents", "khai sinh", entities=entity))
    assert "Giấy chứng sinh" in r.json()["responses"][0]["text"]
    r = httpx.post(
        action_server + "/webhook", json=_request("action_ask_processing_time", "mất mấy ngày", slot="1.001193")
    )
    assert "Thời hạn giải quyết thủ tục đăng ký khai sinh" in r.json()["responses"][0]["text"]


def test_unknown_procedure_is_not_answered_with_another(action_server: str) -> None:
    r = httpx.post(
        action_server + "/webhook",
        json=_request("action_ask_documents", "hồ sơ thông báo tập trung kinh tế gồm gì", slot="1.001193"),
    )
    body = r.json()
    assert "chưa có thông tin chính xác" in body["responses"][0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "procedure", "value": None} in body["events"]


def _slots(body: dict) -> dict:
    return {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}


def test_a_conversation_through_rasa_follows_the_same_policy(action_server: str) -> None:
    """Follow-up, refinement and switch, with the state carried in Rasa's tracker slot."""
    turns = [
        ("action_ask_documents", "đăng ký kết hôn cần giấy tờ gì", "1.000894"),
        ("action_ask_where", "nop o dau", "1.000894"),
        ("action_ask_overview", "chồng em là người Hàn Quốc", "2.000806"),
        ("action_ask_fee", "con le phi bao nhieu", "2.000806"),
        ("action_ask_overview", "còn khai sinh thì sao", "1.001193"),
    ]
    state = None
    for action, text, code in turns:
        body = httpx.post(action_server + "/webhook", json=_request(action, text, state=state)).json()
        slots = _slots(body)
        assert slots["procedure"] == code, (text, body["responses"][0]["text"][:200])
        state = slots["dialogue_state"]
        assert state["v"] == 2 and state["procedure"] == code
    # the switch kept the aspect asked before it (fee), as on every other channel
    assert state["aspect"] == "ask_fee"
    assert "Phí, lệ phí thủ tục đăng ký khai sinh" in body["responses"][0]["text"]


def test_unknown_action_is_a_clear_error(action_server: str) -> None:
    r = httpx.post(action_server + "/webhook", json=_request("action_does_not_exist", "x"))
    assert r.status_code == 404


@pytest.mark.parametrize("intent", ASPECT_INTENTS)
def test_every_aspect_action_runs(action_server: str, intent: str) -> None:
    r = httpx.post(action_server + "/webhook", json=_request(f"action_{intent}", "", slot="1.004222"))
    assert r.status_code == 200 and r.json()["responses"][0]["text"]
