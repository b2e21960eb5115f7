"""The fields parsed at import (document roles, fee clauses, the receiving office) stay true to
their source text: after a staff edit, after the spreadsheet round trip of every procedure, and
in a knowledge base upgraded by migration 0003 — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from knowledge.db import MIGRATIONS, Database
from knowledge.editing import get_procedure_snapshot, update_procedure
from knowledge.importer import import_national
from knowledge.repository import Repository
from knowledge.transfer import apply_import, export_xlsx, export_yaml, plan_import
from knowledge.types import DocumentRole, FeeKind, Receiver
from tests.conftest import FIXTURES

SAMPLE = FIXTURES / "national_sample.jsonl"


def _alembic(db: Database, target: str, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def test_a_staff_edit_recomputes_roles_and_fees(db: Database) -> None:
    import_national(db, SAMPLE)
    snapshot, version = get_procedure_snapshot(db, "1.001193")
    proof = next(d for d in snapshot["documents"] if d["name"].startswith("Giấy chứng sinh"))
    proof["condition"] = "Trường hợp sinh tại cơ sở y tế"
    snapshot["channels"][0]["fee_text"] = "Miễn phí(- Lệ phí cấp bản sao: 8.000 đồng/bản.)"
    update_procedure(db, "1.001193", snapshot, "lan", version)
    p = Repository(db).procedure("1.001193")
    assert p is not None
    edited = next(d for d in p.documents if d.name.startswith("Giấy chứng sinh"))
    assert edited.role is DocumentRole.CASE
    forms = [d for d in p.documents if d.name.startswith("Tờ khai đăng ký khai sinh")]
    assert forms and forms[0].role is DocumentRole.FORM
    fee = p.channels[0].fee
    assert fee.conflict and [(c.kind, c.amounts[0].value) for c in fee.clauses] == [(FeeKind.AMOUNT, 8000)]


def test_round_trip_of_every_procedure_changes_nothing(full_sqlite: Database, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy.db"
    shutil.copyfile(str(full_sqlite.engine.url.database), copy)
    db = Database(f"sqlite:///{copy}")
    before = Repository(db).all_procedures()
    for name, content in (("all.yaml", export_yaml(db)), ("all.xlsx", export_xlsx(db))):
        plan = plan_import(db, content, name)
        assert plan.errors == [] and len(plan.procedures) == 2642
        result = apply_import(db, plan, "lan")
        assert (result.procedures_changed, result.faqs_changed) == (0, 0), name
    assert Repository(db).all_procedures() == before
    db.dispose()


def test_migration_0003_fills_existing_rows_like_the_importer(db: Database) -> None:
    import_national(db, SAMPLE)
    imported = {p.code: p for p in Repository(db).all_procedures()}
    _alembic(db, "0002", down=True)
    _alembic(db, "head")
    upgraded = {p.code: p for p in Repository(db).all_procedures()}
    assert upgraded == imported
    assert upgraded["1.004194"].receiver is Receiver.POLICE
    assert upgraded["1.001193"].receiver is Receiver.WARD_DESK
    assert any(d.role is DocumentRole.CASE for d in upgraded["1.001193"].documents)
