"""document roles, parsed fees, receiving office, unit offices

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00

Adds the fields parsed from the records' own text at import time, beside that text:
document.role (core paper or case paper), submission_channel.fee_parts (the fee cell read
clause by clause), procedure.receiver (which office takes the file) and unit.offices (the
commune police and other offices from units.yml). Existing rows are filled from the text
already stored, with the same parsers the importer uses, so an upgraded knowledge base answers
like a freshly imported one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


COLUMNS = (
    ("procedure", sa.Column("receiver", sa.String(length=20), server_default="mot_cua", nullable=False)),
    ("document", sa.Column("role", sa.String(length=20), server_default="core", nullable=False)),
    ("submission_channel", sa.Column("fee_parts", sa.JSON(), server_default="{}", nullable=False)),
    ("unit", sa.Column("offices", sa.JSON(), server_default="[]", nullable=False)),
)


def upgrade() -> None:
    # Plain ADD COLUMN on every backend: a batch "move and copy" of these tables on SQLite
    # would drop them, and their rows' children with them (ON DELETE CASCADE).
    for table, column in COLUMNS:
        op.add_column(table, column)
    _fill()


def _fill() -> None:
    from knowledge import fees
    from knowledge.parsing import document_role, one_line, parse_receiver

    bind = op.get_bind()
    meta = sa.MetaData()
    procedure = sa.Table("procedure", meta, autoload_with=bind)
    document = sa.Table("document", meta, autoload_with=bind)
    channel = sa.Table("submission_channel", meta, autoload_with=bind)
    rows = bind.execute(sa.select(procedure.c.id, procedure.c.levels, procedure.c.agency)).all()
    if rows:
        bind.execute(
            procedure.update().where(procedure.c.id == sa.bindparam("b_id")),
            [
                {"b_id": r.id, "receiver": parse_receiver(frozenset(r.levels or ()), one_line(r.agency or "")).value}
                for r in rows
            ],
        )
    docs = bind.execute(
        sa.select(document.c.id, document.c.name, document.c.condition, document.c.doc_group, document.c.forms)
    ).all()
    if docs:
        bind.execute(
            document.update().where(document.c.id == sa.bindparam("b_id")),
            [
                {
                    "b_id": d.id,
                    "role": document_role(d.name or "", d.condition, d.doc_group or "nop", d.forms or ()).value,
                }
                for d in docs
            ],
        )
    channels = bind.execute(sa.select(channel.c.id, channel.c.fee_text, channel.c.description)).all()
    if channels:
        bind.execute(
            channel.update().where(channel.c.id == sa.bindparam("b_id")),
            [
                {"b_id": c.id, "fee_parts": fees.to_json(fees.parse_fee_info(c.fee_text or "", c.description or ""))}
                for c in channels
            ],
        )


def downgrade() -> None:
    bind = op.get_bind()
    for table, column in reversed(COLUMNS):
        if bind.dialect.name == "sqlite":
            # SQLite 3.35+ drops a column in place; a batch copy would cascade-delete children.
            op.execute(sa.text(f'ALTER TABLE "{table}" DROP COLUMN "{column.name}"'))
        else:
            op.drop_column(table, column.name)
