"""notification.groups: task and warning notifications name their groups; the worker resolves
the people at send time (issue 18)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('groups', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                        'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('groups')
