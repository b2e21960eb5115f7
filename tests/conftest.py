"""Shared fixtures: real databases (a SQLite file and the PostgreSQL server on 127.0.0.1)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from knowledge.db import Database

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "knowledge" / "fixtures"
PG_BASE = os.environ.get("MOTCUA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ARTIFACTS = ROOT / "var" / "test-artifacts"


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


PG_UP = _pg_available()


def _fresh_pg_url() -> tuple[str, str]:
    """A URL whose search_path is a new, empty schema of its own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{PG_BASE}?options=-csearch_path%3D{schema}", schema


def _drop_pg_schema(schema: str) -> None:
    engine = create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def make_url(backend: str, tmp_path: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'motcua.db'}", None
    if not PG_UP:
        # The suite is meant to run against the real server: fail loudly rather than skip.
        pytest.fail(f"PostgreSQL is not reachable at {PG_BASE}; start it (see README).")
    return _fresh_pg_url()


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend."""
    url, schema = make_url(request.param, tmp_path)
    yield url
    if schema:
        _drop_pg_schema(schema)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def full_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The shipped knowledge base, built once into a SQLite file (read-only use)."""
    from knowledge.seed import initialise

    database = Database(f"sqlite:///{tmp_path_factory.mktemp('kb') / 'motcua.db'}")
    initialise(database)
    return database


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def trained_model(full_sqlite: Database, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NLU model trained once over the shipped knowledge base and saved like `nlu train` does."""
    from bot.nlu.engine import DEFAULT_DATA, NluEngine, data_fingerprint
    from bot.runtime import catalog_entries
    from knowledge.repository import Repository

    engine, _ = NluEngine.train(catalog_entries(Repository(full_sqlite).catalog()))
    path = tmp_path_factory.mktemp("model") / "nlu-model.pkl"
    engine.save(path, fingerprint=data_fingerprint(DEFAULT_DATA))
    return path


@pytest.fixture(scope="session")
def nlu_engine(full_sqlite: Database, trained_model: Path):
    from bot.nlu.engine import NluEngine
    from bot.runtime import catalog_entries
    from knowledge.repository import Repository

    return NluEngine.load(trained_model, catalog_entries(Repository(full_sqlite).catalog()))


@pytest.fixture
def kb_copy(full_sqlite: Database, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the shipped knowledge base that a test may write to."""
    import shutil

    src = Path(str(full_sqlite.engine.url.database))
    dst = tmp_path / "motcua.db"
    shutil.copyfile(src, dst)
    for suffix in ("-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")
    database = Database(f"sqlite:///{dst}")
    yield database
    database.dispose()


@pytest.fixture
def settings_for(trained_model: Path):
    from bot.settings import Settings

    def make(db: Database, **overrides: object) -> Settings:
        base = Settings.from_env(
            {"MOTCUA_DATABASE_URL": db.url, "MOTCUA_MODEL_PATH": str(trained_model), "MOTCUA_SECRET_KEY": "test-secret"}
        )
        from dataclasses import replace

        return replace(base, **overrides)  # type: ignore[arg-type]

    return make


@pytest.fixture
def assistant(kb_copy: Database, nlu_engine, settings_for):
    from bot.assistant import Assistant

    return Assistant(settings_for(kb_copy), kb_copy, nlu_engine)
