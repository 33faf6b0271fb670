"""files in the database: stored_file and its chunks (bytea on PostgreSQL, BLOB on SQLite)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 23:59:00
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_file',
                    sa.Column('key', sa.String(length=100), nullable=False),
                    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('chunks', sa.Integer(), nullable=False),
                    sa.Column('created_at', engine.models.UtcDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('key'))
    op.create_table('stored_file_chunk',
                    sa.Column('file_key', sa.String(length=100), nullable=False),
                    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column('data', sa.LargeBinary(), nullable=False),
                    sa.ForeignKeyConstraint(['file_key'], ['stored_file.key'], ondelete='CASCADE'),
                    sa.PrimaryKeyConstraint('file_key', 'seq'))


def downgrade() -> None:
    op.drop_table('stored_file_chunk')
    op.drop_table('stored_file')
