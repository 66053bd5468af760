"""The environment variables that configure the encryption key(s) (see keyring.py).

Names only: start-up checks read them without loading the cryptography.
"""

from __future__ import annotations

KEY_ENV = "OPEN_NOTEBOOK_ENCRYPTION_KEY"
KEY_FILE_ENV = "OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE"
KEYS_ENV = "OPEN_NOTEBOOK_ENCRYPTION_KEYS"
KEYS_FILE_ENV = "OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE"
