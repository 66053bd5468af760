"""Storage: the database (SQLAlchemy) and the stores built on it."""

from .credentials import CredentialStore
from .db import Database
from .grants import GrantStore

__all__ = ["CredentialStore", "Database", "GrantStore"]
