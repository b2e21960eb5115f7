"""How long the first answers are: documents, fee, time and where, for the 60 most asked
procedures (staff popularity from knowledge/data/aliases.yml), as the widget shows them.

For each answer it prints characters, text lines and the lines the widget really draws: every
answer is put into a bot bubble of the real widget (widget.js served by the app) in headless
Chromium at a 390x844 phone viewport, and its height is divided by the bubble's line height.
Target: every first answer <= 12 widget lines.
Run: .venv/bin/python benchmarks/answers.py [--top 60] [--no-browser] [--show CODE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from _setup import ROOT, fresh_kb, train

from bot import payloads
from bot.assistant import Assistant
from bot.settings import Settings
from bot.types import IncomingMessage
from knowledge.repository import Repository

ASPECTS = {
    "ask_documents": "documents",
    "ask_fee": "fee",
    "ask_processing_time": "time",
    "ask_where": "where",
}
WIDGET_LINES = 12
CHROMIUM = "/usr/bin/chromium"


def answers(assistant: Assistant, codes: list[str]) -> dict[str, list[tuple[str, str]]]:
    """(code, text of the whole first answer) per aspect, as the widget channel gets it."""
    out: dict[str, list[tuple[str, str]]] = {a: [] for a in ASPECTS}
    for code in codes:
        for intent in ASPECTS:
            turn = assistant.respond(IncomingMessage("web", f"bench-{code}", payloads.make(intent, procedure=code)))
            out[intent].append((code, "\n\n".join(r.text for r in turn.replies)))
    return out


def widget_lines(assistant: Assistant, settings: Settings, texts: list[str]) -> list[int]:
    """Lines each text takes in a bot bubble of the real widget at 390x844."""
    from playwright.sync_api import sync_playwright

    from channels.web.app import create_app
    from tests.live_server import CHROMIUM_ARGS, serve

    app = create_app(settings, assistant)
    with serve(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(base + "/")
        page.get_by_role("button", name="Mở Trợ lý Một cửa").click()
        page.locator(".mc-log").wait_for()
        counts = page.evaluate(
            """(texts) => {
              const log = document.querySelector('.mc-log');
              return texts.map((t) => {
                const b = document.createElement('div');
                b.className = 'mc-msg mc-bot';
                // As the widget shows it: a procedure page's address reads "trang thủ tục CODE".
                b.textContent = t.replace(/https?:\\/\\/\\S+\\/thu-tuc\\/(\\d+\\.\\d{6})/g, 'trang thủ tục $1');
                log.appendChild(b);
                const cs = getComputedStyle(b);
                const inner = b.getBoundingClientRect().height
                  - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
                const n = Math.round(inner / parseFloat(cs.lineHeight));
                b.remove();
                return n;
              });
            }""",
            texts,
        )
        browser.close()
    return [int(n) for n in counts]


def describe(label: str, values: list[int]) -> str:
    return f"{label} median {statistics.median(values):g}, max {max(values)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--no-browser", action="store_true", help="characters and text lines only")
    parser.add_argument("--show", help="print the answers of this procedure code")
    args = parser.parse_args()
    print("load:", os.getloadavg(), "| code:", ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_kb(Path(tmp))
        engine, _ = train(db)
        settings = Settings.from_env({"MOTCUA_DATABASE_URL": db.url})
        assistant = Assistant(settings, db, engine)
        catalog = [p for p in Repository(db).catalog() if p.popularity > 0]
        codes = [p.code for p in sorted(catalog, key=lambda p: (-p.popularity, p.code))[: args.top]]
        got = answers(assistant, codes)
        print(f"{len(codes)} most asked procedures (popularity {catalog and max(p.popularity for p in catalog)}..)")
        over: list[str] = []
        for intent, rows in got.items():
            texts = [t for _, t in rows]
            chars = [len(t) for t in texts]
            lines = [t.count("\n") + 1 for t in texts]
            parts = [f"{ASPECTS[intent]:>9}:", describe("chars", chars) + ";", describe("text lines", lines)]
            if not args.no_browser:
                drawn = widget_lines(assistant, settings, texts)
                parts.append("; " + describe("widget lines", drawn))
                late = [code for (code, _), n in zip(rows, drawn, strict=True) if n > WIDGET_LINES]
                parts.append(f"; over {WIDGET_LINES} widget lines: {len(late)}/{len(rows)}")
                over += [f"{ASPECTS[intent]} {code}" for code in late]
            print(" ".join(parts))
            if args.show:
                for code, text in rows:
                    if code == args.show:
                        print(f"--- {ASPECTS[intent]} {code}\n{text}")
        if over:
            print("over the budget:", ", ".join(over))
        db.dispose()


if __name__ == "__main__":
    main()
