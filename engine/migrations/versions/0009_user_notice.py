"""user_notice: the in-app notification centre (issue 14)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 01:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_notice',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('level', sa.String(length=20), nullable=True),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('created_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('read_at', engine.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
        sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('user_notice', schema=None) as batch_op:
        batch_op.create_index('ix_user_notice_unread', ['username', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_notice_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_notice_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('user_notice')
