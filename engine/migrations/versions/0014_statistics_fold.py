"""Statistics folded by the worker (issue 18): case_record.rollup_due / rollup_applied (with a
partial index on the due ones), case_unit.counted; notification.insert_sentinel (a step's outbox
rows in one INSERT on SQLite too).

The rollups of existing cases were kept in their steps: every record's snapshot is set to what
the rollups count of it now (the ``Facts`` array of engine/stats/rollups.py, as
``rebuild_rollups`` writes it), nothing is due, every unit is counted.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# the snapshot of a record, as engine/stats/rebuild.py snapshot_sql writes it at this revision
FACTS = ("{received}, county, lead_unit, accepted_at IS NOT NULL, outcome, coalesce(is_open, {false}), "
         "coalesce(ever_overdue, {false}), coalesce(escalated, {false}), leader_mode, category, mode, "
         "{closed}, on_time, coalesce(reopen_count, 0), satisfaction, workdays_to_close, uscc")


def upgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rollup_due', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('rollup_applied', JSON, nullable=True))
    op.create_index('ix_case_record_rollup_due', 'case_record', ['instance_id'],
                    postgresql_where=sa.text('rollup_due'), sqlite_where=sa.text('rollup_due = 1'))
    with op.batch_alter_table('case_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('insert_sentinel', sa.Integer(), nullable=True))
    op.execute(facts_update(op.get_bind().dialect.name))


def facts_update(dialect: str) -> str:
    """UPDATE case_record SET rollup_applied = its Facts (tests/stats/test_rollups.py compares it with
    rebuild_rollups' snapshots)."""
    if dialect == 'postgresql':
        day = "CAST(timezone('UTC', {}) + interval '8 hours' AS date)"
        facts = FACTS.format(received=day.format('received_at'), closed=day.format('closed_at'), false='false')
        return f"UPDATE case_record SET rollup_applied = jsonb_build_array({facts})"
    day = "date({}, '+8 hours')"
    facts = FACTS.format(received=day.format('received_at'), closed=day.format('closed_at'), false='0')
    return f"UPDATE case_record SET rollup_applied = json_array({facts})"


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('insert_sentinel')
    with op.batch_alter_table('case_unit', schema=None) as batch_op:
        batch_op.drop_column('counted')
    op.drop_index('ix_case_record_rollup_due', table_name='case_record')
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_column('rollup_applied')
        batch_op.drop_column('rollup_due')
