"""deployment.origin (files / web / api) and process_version.base_version (the version a
web or API deploy was based on) (issue 15)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 00:55:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deployment', sa.Column('origin', sa.String(length=20), server_default='files', nullable=False))
    op.add_column('process_version', sa.Column('base_version', sa.Integer(), nullable=True))
    # deploys made before this column: the web and the API said so in their source
    op.execute("UPDATE deployment SET origin = 'web' WHERE source LIKE 'web%'")
    op.execute("UPDATE deployment SET origin = 'api' WHERE source = 'api'")


def downgrade() -> None:
    with op.batch_alter_table('process_version') as batch:
        batch.drop_column('base_version')
    with op.batch_alter_table('deployment') as batch:
        batch.drop_column('origin')
