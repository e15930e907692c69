"""Exit 0 if the PostgreSQL server at the URL given answers, 1 otherwise."""

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

try:
    engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
except SQLAlchemyError:
    sys.exit(1)
