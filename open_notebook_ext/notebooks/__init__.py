"""Open Notebook's notebooks, notes and sources: models, stores, ingest, search, handlers."""
