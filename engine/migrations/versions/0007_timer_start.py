"""instance.called_versions (the version each call activity used, engine/binding.py),
timer_start (the schedule of processes with a timer start event) and timer_start_fire
(one row per instance such a timer started, unique per process and fire time) (issue 15)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 01:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import engine.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('instance', sa.Column(
        'called_versions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    op.create_table(
        'timer_start',
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('process_version_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('next_fire_at', engine.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column('cycles_left', sa.Integer(), nullable=False),
        sa.Column('period_seconds', sa.Double(), nullable=False),
        sa.Column('last_fired_at', engine.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['process_version_id'], ['process_version.id']),
        sa.PrimaryKeyConstraint('process_id'),
    )
    op.create_index(op.f('ix_timer_start_next_fire_at'), 'timer_start', ['next_fire_at'], unique=False)
    op.create_table(
        'timer_start_fire',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('process_version_id', sa.Integer(), nullable=False),
        sa.Column('fire_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('started_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column('missed', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instance.id']),
        sa.ForeignKeyConstraint(['process_version_id'], ['process_version.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('process_id', 'fire_at'),
    )
    op.create_index(op.f('ix_timer_start_fire_instance_id'), 'timer_start_fire', ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_timer_start_fire_instance_id'), table_name='timer_start_fire')
    op.drop_table('timer_start_fire')
    op.drop_index(op.f('ix_timer_start_next_fire_at'), table_name='timer_start')
    op.drop_table('timer_start')
    with op.batch_alter_table('instance') as batch:
        batch.drop_column('called_versions')
