"""Alembic environment: runs on the connection the Database hands over.

Migrations run in-process at server start-up (``Database.upgrade``) and from
``jupyter open-notebook migrate``; there is no alembic.ini.
"""

from alembic import context

from open_notebook_ext.db.engine import VERSION_TABLE
from open_notebook_ext.db.orm import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=True,  # SQLite needs batch mode to alter tables
)
with context.begin_transaction():
    context.run_migrations()
