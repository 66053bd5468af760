"""The database: engine, ORM, migrations, and opening the storage side once (bootstrap)."""
