"""Alembic environment: the URL comes from the caller, never from a file."""

from alembic import context
from sqlalchemy import text

from app.models import Base
from app.store import make_engine

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")


def run_migrations_online() -> None:
    engine = make_engine(url, for_writing=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together migrate one after another.
                connection.execute(text("SELECT pg_advisory_xact_lock(7277001)"))
            context.run_migrations()
    engine.dispose()


run_migrations_online()
