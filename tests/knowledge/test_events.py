"""Webhook event ids on SQLite and PostgreSQL: claimed once, also by two workers racing on the
same id; expired rows swept; a SQLite file of the previous release gets the table on start."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, inspect, select, update

from bot.runtime import open_repository, schema_is_current
from bot.settings import Settings
from knowledge.db import MIGRATIONS, Database
from knowledge.events import SeenEvents
from knowledge.models import WebhookEvent


def count(db: Database) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WebhookEvent)) or 0)


def test_an_event_is_claimed_once_per_source(db: Database) -> None:
    seen = SeenEvents(db)
    assert seen.first_time("telegram:1", "100") is True
    assert seen.first_time("telegram:1", "100") is False
    assert seen.first_time("telegram:2", "100") is True  # another bot's update 100
    assert seen.first_time("zalo:app", "100") is True
    assert seen.first_time("telegram:1", "101") is True
    assert count(db) == 4


def test_two_workers_racing_on_the_same_events_claim_each_once(db_url: str) -> None:
    """Two engines (as two worker processes have), each claiming the same 50 ids at once."""
    setup = Database(db_url)
    setup.migrate()
    setup.dispose()
    workers = [Database(db_url), Database(db_url)]
    barrier = threading.Barrier(2)
    wins: list[list[str]] = [[], []]

    def work(i: int) -> None:
        seen = SeenEvents(workers[i])
        barrier.wait()
        for n in range(50):
            if seen.first_time("zalo:app", f"msg-{n}"):
                wins[i].append(f"msg-{n}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert sorted(wins[0] + wins[1]) == sorted(f"msg-{n}" for n in range(50))
        assert not set(wins[0]) & set(wins[1])
        assert count(workers[0]) == 50
    finally:
        for w in workers:
            w.dispose()


def test_old_events_are_swept_and_may_come_again(db: Database) -> None:
    seen = SeenEvents(db, keep=timedelta(days=2), sweep_every=0.0)
    assert seen.first_time("telegram:1", "old")
    assert seen.first_time("telegram:1", "recent")
    with db.engine.begin() as conn:
        conn.execute(
            update(WebhookEvent)
            .where(WebhookEvent.event_id == "old")
            .values(received_at=datetime.now(UTC) - timedelta(days=3))
        )
    assert seen.first_time("telegram:1", "new")  # sweeps on the way
    with db.sessions() as s:
        assert sorted(s.scalars(select(WebhookEvent.event_id))) == ["new", "recent"]
    assert seen.first_time("telegram:1", "recent") is False


def test_sweeps_are_spaced(db: Database) -> None:
    seen = SeenEvents(db, keep=timedelta(seconds=0), sweep_every=3600)
    assert seen.first_time("s", "a")  # the first call sweeps (nothing to sweep yet)
    assert seen.first_time("s", "b")  # within the hour: "a" stays though expired
    assert count(db) == 2


def test_a_sqlite_file_of_the_previous_release_is_upgraded_on_start(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(f"sqlite:///{path}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with old.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    assert not schema_is_current(old) and not inspect(old.engine).has_table("webhook_event")
    old.dispose()
    db, _repo = open_repository(Settings.from_env({"MOTCUA_DATABASE_URL": f"sqlite:///{path}"}))
    try:
        assert schema_is_current(db) and inspect(db.engine).has_table("webhook_event")
        assert SeenEvents(db).first_time("telegram:1", "1")
    finally:
        db.dispose()


def test_a_claim_never_answered_is_taken_over_once_stale(db: Database) -> None:
    """A worker killed between the claim and storing the question: the redelivery is answered."""
    waiting = SeenEvents(db)  # a minute to answer
    assert waiting.first_time("telegram:1", "7")
    assert waiting.first_time("telegram:1", "7") is False  # still being answered elsewhere
    impatient = SeenEvents(db, stale=timedelta(seconds=0))
    assert impatient.first_time("telegram:1", "7") is True  # taken over
    impatient.answered("telegram:1", "7")
    assert impatient.first_time("telegram:1", "7") is False  # answered: a replay, however old
    with db.sessions() as s:
        row = s.scalars(select(WebhookEvent)).one()
    assert row.answered_at is not None
