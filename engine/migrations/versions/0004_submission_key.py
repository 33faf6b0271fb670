"""submission_key: idempotency keys of case submissions (issue 13)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 00:30:00
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'submission_key',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=True),
        sa.Column('instance_id', BIG_ID, nullable=True),
        sa.Column('created_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('actor', 'key'),
    )
    op.create_index(op.f('ix_submission_key_instance_id'), 'submission_key', ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_submission_key_instance_id'), table_name='submission_key')
    op.drop_table('submission_key')
