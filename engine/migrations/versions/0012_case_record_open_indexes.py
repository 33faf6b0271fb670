"""case_record: partial indexes for the dashboard's open-case counts (issue 18, (e))

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index('ix_case_record_open_received', ['received_at', 'deadline', 'county'], unique=False,
                              postgresql_where=sa.text('is_open'), sqlite_where=sa.text('is_open'))
        batch_op.create_index('ix_case_record_awaiting_intake', ['received_at', 'county'], unique=False,
                              postgresql_where=sa.text('is_open AND accepted_at IS NULL'),
                              sqlite_where=sa.text('is_open AND accepted_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_record_awaiting_intake')
        batch_op.drop_index('ix_case_record_open_received')
