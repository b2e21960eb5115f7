#!/usr/bin/env bash
# End-to-end check of the Rasa interoperability, kept out of `make test` (it downloads ~2 GB):
# a Python 3.10 virtual environment with rasa==3.6.21, our project exported to Rasa, trained,
# Rasa and our rasa-sdk action server started on 127.0.0.1, questions asked through Rasa's REST
# channel and the answers checked. Everything it starts is stopped at the end.
#
# Usage: scripts/rasa_e2e.sh            (PY310=/path/to/python3.10 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY310=${PY310:-$HOME/.pyenv/versions/3.10.13/bin/python}
RASA_VENV=${RASA_VENV:-$ROOT/.venv-rasa}
WORK=$(mktemp -d /tmp/motcua-rasa-e2e.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 1
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "Our side: virtual environment and knowledge base"
make -s setup
.venv/bin/motcua kb init >/dev/null

step "Rasa 3.6.21 in its own Python 3.10 environment ($RASA_VENV)"
if [ ! -x "$RASA_VENV/bin/rasa" ]; then
  "$PY310" -m venv "$RASA_VENV"
  "$RASA_VENV/bin/pip" install --quiet --upgrade pip
  "$RASA_VENV/bin/pip" install --quiet "rasa==3.6.21"
fi
"$RASA_VENV/bin/rasa" --version 2>/dev/null | grep -E "^Rasa (Version|SDK)" || true

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
APORT=$(free_port)
RPORT=$(free_port)

step "Export the Rasa project to $WORK/project"
.venv/bin/motcua rasa export "$WORK/project" --action-port "$APORT" | tail -n 1

step "Train (rasa train)"
( cd "$WORK/project" && "$RASA_VENV/bin/rasa" train --fixed-model-name motcua --out models --quiet ) \
  > "$WORK/train.log" 2>&1 || { tail -n 40 "$WORK/train.log"; exit 1; }
ls -l "$WORK/project/models"

step "Start our action server (port $APORT) and Rasa (port $RPORT)"
.venv/bin/motcua actions --port "$APORT" > "$WORK/actions.log" 2>&1 &
PIDS+=($!)
( cd "$WORK/project" && exec "$RASA_VENV/bin/rasa" run --enable-api --port "$RPORT" -i 127.0.0.1 \
    -m models/motcua.tar.gz --cors "*" ) > "$WORK/rasa.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 180); do
  if curl -sf "http://127.0.0.1:$RPORT/status" >/dev/null && curl -sf "http://127.0.0.1:$APORT/health" >/dev/null; then
    break
  fi
  sleep 1
done
curl -sf "http://127.0.0.1:$RPORT/status" >/dev/null || { tail -n 30 "$WORK/rasa.log"; exit 1; }

step "Ask through Rasa's REST channel"
.venv/bin/python - "$RPORT" <<'PY'
import json, sys, urllib.request

port = sys.argv[1]
checks = [
    ("e2e-1", "làm giấy khai sinh cần gì", "Giấy chứng sinh"),
    ("e2e-1", "thế lệ phí bao nhiêu?", "Miễn phí"),
    ("e2e-2", "le phi dang ky ket hon bao nhieu", "kết hôn"),
    ("e2e-3", "đăng ký tạm trú mất mấy ngày", "Thời hạn giải quyết"),
    ("e2e-4", "xin chào", "Xin chào"),
    ("e2e-5", "/ask_where{\"procedure\":\"1.000894\"}", "Nơi thực hiện"),
]
failed = 0
for sender, text, expected in checks:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                 data=json.dumps({"sender": sender, "message": text}).encode(),
                                 headers={"Content-Type": "application/json"})
    replies = json.load(urllib.request.urlopen(req, timeout=60))
    answer = "\n".join(r.get("text", "") for r in replies)
    ok = expected in answer
    failed += not ok
    print(f"[{'OK' if ok else 'FAIL'}] {text!r} -> {answer[:110]!r}")
sys.exit(1 if failed else 0)
PY

step "E2E OK: Rasa 3.6.21 answered from our knowledge base through our action server"
