"""Office conventions (issue 19): case_record.search_text with a pg_trgm index (PostgreSQL),
saved filters, 催办 marks on human_task, 抄送 (case_copy), 常用意见 (phrase).

The search text of existing cases starts from their summary (case number, enterprise, title);
descriptions and results join it at the case's next step.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 01:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('case_record', sa.Column('search_text', sa.Text(), server_default='', nullable=False))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # the operator class lives in the extension's schema, which need not be on the search path
        ext_schema = bind.execute(sa.text(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")).scalar()
        op.create_index('ix_case_record_search_trgm', 'case_record', ['search_text'], postgresql_using='gin',
                        postgresql_ops={'search_text': f'{ext_schema}.gin_trgm_ops'})
        op.execute("UPDATE case_record r SET search_text = concat_ws(E'\\n', r.case_no, r.enterprise_name, r.uscc, "
                   "i.summary->>'title') FROM instance i WHERE i.id = r.instance_id")
    else:  # an empty index: SQLite searches by scanning (engine/search.py)
        op.create_index('ix_case_record_search_trgm', 'case_record', ['search_text'], sqlite_where=sa.text('0'))
        op.execute("UPDATE case_record SET search_text = coalesce(case_no, '') || char(10) || "
                   "coalesce(enterprise_name, '') || char(10) || coalesce((SELECT json_extract(summary, '$.title') "
                   "FROM instance WHERE instance.id = case_record.instance_id), '')")
    op.create_table(
        'saved_filter',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('shared_group', sa.String(length=200), nullable=True),
        sa.Column('page', sa.String(length=20), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('query', sa.String(length=2000), nullable=False),
        sa.Column('created_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_saved_filter_owner', 'saved_filter', ['owner'])
    op.create_index('ix_saved_filter_shared_group', 'saved_filter', ['shared_group'])
    op.add_column('human_task', sa.Column('urged_at', engine.models.UtcDateTime(timezone=True), nullable=True))
    op.add_column('human_task', sa.Column('urged_by', sa.String(length=100), nullable=True))
    op.create_table(
        'case_copy',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('recipient', sa.String(length=100), nullable=True),
        sa.Column('group', sa.String(length=200), nullable=True),
        sa.Column('copied_by', sa.String(length=100), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('created_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_case_copy_instance_id', 'case_copy', ['instance_id'])
    op.create_index('ix_case_copy_recipient', 'case_copy', ['recipient'])
    op.create_index('ix_case_copy_group', 'case_copy', ['group'])
    op.create_table(
        'phrase',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('created_at', engine.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_phrase_owner', 'phrase', ['owner'])


def downgrade() -> None:
    op.drop_table('phrase')
    op.drop_table('case_copy')
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('urged_by')
        batch.drop_column('urged_at')
    op.drop_table('saved_filter')
    op.drop_index('ix_case_record_search_trgm', table_name='case_record')
    with op.batch_alter_table('case_record') as batch:
        batch.drop_column('search_text')
