from alembic import context

from engine.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    from engine.db import make_engine

    connectable = make_engine()
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
