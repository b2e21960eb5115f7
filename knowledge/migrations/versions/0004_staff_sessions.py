"""staff sessions kept on the server; user names normalised

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_session_expires_at"), ["expires_at"], unique=False)

    # User names are compared in one form everywhere (NFC, trimmed, lower case). Existing
    # accounts are brought to it unless two would then share a name: those keep theirs and
    # the administrator renames one (a login in that form then reaches neither).
    conn = op.get_bind()
    users = sa.table("staff_user", sa.column("id", sa.Integer), sa.column("username", sa.String))
    rows = conn.execute(sa.select(users.c.id, users.c.username)).all()
    normal = {row.id: unicodedata.normalize("NFC", row.username).strip().lower() for row in rows}
    taken: dict[str, int] = {}
    for name in normal.values():
        taken[name] = taken.get(name, 0) + 1
    for row in rows:
        name = normal[row.id]
        if name != row.username and taken[name] == 1:
            conn.execute(sa.update(users).where(users.c.id == row.id).values(username=name))


def downgrade() -> None:
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_staff_session_user_id"))
    op.drop_table("staff_session")
