"""work_calendar (admin-edited holidays and 调休, read by every process) and
human_task.due_provisional (a deadline computed from an estimated year) (issue 13)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 00:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'work_calendar',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('years', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('updated_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.add_column('human_task', sa.Column('due_provisional', sa.Boolean(), server_default=sa.text('false'),
                                          nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('due_provisional')
    op.drop_table('work_calendar')
