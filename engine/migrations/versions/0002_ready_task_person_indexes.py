"""partial indexes: a person's ready tasks (assignee, delegated_from)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

READY = sa.text("state = 'ready'")


def upgrade() -> None:
    for name, column in (("ix_human_task_ready_assignee", "assignee"),
                         ("ix_human_task_ready_delegated_from", "delegated_from")):
        op.create_index(name, "human_task", [column], unique=False, postgresql_where=READY, sqlite_where=READY)


def downgrade() -> None:
    op.drop_index("ix_human_task_ready_delegated_from", table_name="human_task")
    op.drop_index("ix_human_task_ready_assignee", table_name="human_task")
