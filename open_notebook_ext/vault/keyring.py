"""The key ring: where the encryption key comes from, and encrypt/decrypt with it.

Shaped like cryptography's Fernet/MultiFernet: a tiny public surface
(:meth:`KeyRing.encrypt`, :meth:`KeyRing.decrypt`) over the care that matters:

* key material is resolved once, at start-up, from (in order) the file named by
  ``OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE``, the ``OPEN_NOTEBOOK_ENCRYPTION_KEY``
  environment variable, the ``encryption_key`` trait, a generated key file;
* a configured value that is a Fernet key is used as is; anything else is a
  passphrase, stretched with PBKDF2-HMAC-SHA256 (600,000 iterations) and a
  random 16-byte salt kept in the database (never an unsalted hash);
* a check value, encrypted under the key and kept in the database, tells at
  start-up whether the key is the one the database was written with.

The key ring knows nothing of databases or HTTP: the salt arrives through a
callable, and the check value is handed in and out as a string.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from open_notebook_ext.security.secretfile import SecretError, read_secret_file
from open_notebook_ext.vault.keyenv import KEY_ENV as KEY_ENV
from open_notebook_ext.vault.keyenv import KEY_FILE_ENV as KEY_FILE_ENV
from open_notebook_ext.vault.keyenv import KEYS_ENV as KEYS_ENV
from open_notebook_ext.vault.keyenv import KEYS_FILE_ENV as KEYS_FILE_ENV

PBKDF2_ITERATIONS = 600_000
SALT_BYTES = 16
NO_KEY_MESSAGE = (
    "Encryption key not configured. "
    "Set OPEN_NOTEBOOK_ENCRYPTION_KEY or OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE."
)
MISMATCH_MESSAGE = "the encryption key does not match the one this database was written with"

_KEY_CHECK_PLAINTEXT = b"open-notebook-ext key check v1"
_KEY_ID_LABEL = b"open-notebook-ext key id v1"
# A Fernet key is exactly 32 bytes in URL-safe base64: 43 characters and one "=".
# Matching the text first keeps base64's lenient decoder from mistaking a
# passphrase that merely contains 44 characters for a key.
_FERNET_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}=")


class KeyConfigError(Exception):
    """The configured key material cannot be used (unreadable file, empty value...)."""


class EncryptionNotConfigured(Exception):
    """A write needs encryption but no key is configured."""

    def __init__(self) -> None:
        super().__init__(NO_KEY_MESSAGE)


class DecryptionError(Exception):
    """A stored value cannot be decrypted with the configured key(s)."""


def is_fernet_key(value: str) -> bool:
    """True when ``value`` is a well-formed Fernet key (URL-safe base64 of 32 bytes)."""
    if not _FERNET_KEY_RE.fullmatch(value):
        return False
    return len(base64.urlsafe_b64decode(value)) == 32


def derive_key(passphrase: str, salt: bytes, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """Stretch a passphrase into a Fernet key with PBKDF2-HMAC-SHA256."""
    raw = hashlib.pbkdf2_hmac("sha256", passphrase.encode("utf-8"), salt, iterations, dklen=32)
    return base64.urlsafe_b64encode(raw)


def key_id(fernet_key: bytes) -> str:
    """A short, non-reversible fingerprint naming a key (to tell which key wrote a row)."""
    raw = base64.urlsafe_b64decode(fernet_key)
    return hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


@dataclass(frozen=True)
class KeyMaterial:
    """Where the key came from and the configured value(s), before derivation.

    ``values`` hold secrets: this object is never logged or returned by the API.
    """

    source: str  # env | file | config | generated | none
    values: tuple[str, ...] = ()
    path: str | None = None  # the key file for "file" and "generated"

    def __repr__(self) -> str:  # never show the values
        return f"KeyMaterial(source={self.source!r}, keys={len(self.values)}, path={self.path!r})"

    @property
    def needs_salt(self) -> bool:
        return any(not is_fernet_key(v) for v in self.values)


def _read_secret_file(path: str, what: str) -> str:
    try:
        return read_secret_file(path, what)
    except SecretError as e:
        raise KeyConfigError(str(e)) from None


def _write_new_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two servers starting at once must not both write a key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(Fernet.generate_key().decode("ascii") + "\n")
        f.flush()
        os.fsync(f.fileno())


def ensure_private(path: Path) -> bool:
    """Tighten a file we own to 0600; True when it had to be changed."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        return True
    return False


def split_keys(text: str) -> tuple[str, ...]:
    """A key list: comma- or newline-separated, primary first, blanks dropped."""
    return tuple(p.strip() for p in re.split(r"[,\n]", text) if p.strip())


def resolve_key_material(
    env: Mapping[str, str],
    configured: str,
    generate: bool,
    generated_path: Path,
    *,
    configured_list: Sequence[str] = (),
    create_missing: bool = True,
) -> KeyMaterial:
    """Find the key(s). First match wins:

    1. ``OPEN_NOTEBOOK_ENCRYPTION_KEYS_FILE`` / ``OPEN_NOTEBOOK_ENCRYPTION_KEYS``
       (several keys, comma- or newline-separated, primary first);
    2. ``OPEN_NOTEBOOK_ENCRYPTION_KEY_FILE`` / ``OPEN_NOTEBOOK_ENCRYPTION_KEY``
       (one key or passphrase, taken whole: a passphrase may contain commas);
    3. the ``encryption_keys`` trait, then the ``encryption_key`` trait;
    4. the generated key file (created when ``create_missing``).

    Raises :class:`KeyConfigError` for material that is configured but unusable:
    a start-up error is better than silently running with another key.
    """
    keys_file = env.get(KEYS_FILE_ENV, "").strip()
    if keys_file:
        values = split_keys(_read_secret_file(keys_file, KEYS_FILE_ENV))
        return KeyMaterial("file", values, keys_file)
    keys_env = split_keys(env.get(KEYS_ENV, ""))
    if keys_env:
        return KeyMaterial("env", keys_env)
    file_env = env.get(KEY_FILE_ENV, "").strip()
    if file_env:
        return KeyMaterial("file", (_read_secret_file(file_env, KEY_FILE_ENV),), file_env)
    env_value = env.get(KEY_ENV, "").strip()
    if env_value:
        return KeyMaterial("env", (env_value,))
    listed = tuple(k.strip() for k in configured_list if k.strip())
    if listed:
        return KeyMaterial("config", listed)
    if configured.strip():
        return KeyMaterial("config", (configured.strip(),))
    if generate and (create_missing or generated_path.exists()):
        if not generated_path.exists():
            # FileExistsError: another process made it first; use theirs.
            with contextlib.suppress(FileExistsError):
                _write_new_key_file(generated_path)
        ensure_private(generated_path)
        key = _read_secret_file(str(generated_path), "the generated key file")
        if not is_fernet_key(key):
            raise KeyConfigError(f"the generated key file {generated_path} is not a Fernet key")
        return KeyMaterial("generated", (key,), str(generated_path))
    return KeyMaterial("none")


# How many verified tokens a key ring remembers (about 150 bytes each).
CURRENT_TOKENS_CACHE = 100_000


class KeyRing:
    """Encrypts with the first key, decrypts with any of them.

    Build it once at start-up with :meth:`from_material`; passphrase stretching
    happens there and never per request.
    """

    def __init__(self, fernet_keys: Sequence[bytes] = ()) -> None:
        self._keys = [bytes(k) for k in fernet_keys]
        self._fernets = [Fernet(k) for k in self._keys]
        self._multi = MultiFernet(self._fernets) if self._fernets else None
        self.key_ids: tuple[str, ...] = tuple(key_id(k) for k in self._keys)
        # Tokens known to decrypt under the primary key. A Fernet token is
        # authenticated (HMAC-SHA256), so the same token decrypts the same way for
        # as long as this key ring lives: listing credentials checks each stored
        # token once per process, not at every request. Holds ciphertext only.
        self._current: set[str] = set()

    def __repr__(self) -> str:
        return f"KeyRing(keys={len(self._keys)}, ids={self.key_ids!r})"

    def known_current(self, token: str) -> bool:
        """Whether ``token`` is known to decrypt under the primary key (it did before)."""
        return token in self._current

    def _remember(self, token: str) -> None:
        if len(self._current) >= CURRENT_TOKENS_CACHE:
            self._current.clear()  # rare; the next reads re-verify
        self._current.add(token)

    @classmethod
    def from_material(
        cls, material: KeyMaterial, salt: Callable[[], bytes] | None = None
    ) -> KeyRing:
        """Turn configured values into Fernet keys; ``salt`` is asked only for passphrases."""
        keys: list[bytes] = []
        salt_value: bytes | None = None
        for value in material.values:
            if is_fernet_key(value):
                keys.append(value.encode("ascii"))
                continue
            if salt is None:
                raise KeyConfigError("a passphrase was configured but no salt is available")
            if salt_value is None:
                salt_value = salt()
            keys.append(derive_key(value, salt_value))
        return cls(keys)

    @property
    def configured(self) -> bool:
        return self._multi is not None

    @property
    def primary_key_id(self) -> str | None:
        return self.key_ids[0] if self.key_ids else None

    def encrypt(self, plaintext: str) -> tuple[str, str]:
        """Encrypt under the primary key; returns (token, key id)."""
        if self._multi is None:
            raise EncryptionNotConfigured()
        token = self._fernets[0].encrypt(plaintext.encode("utf-8")).decode("ascii")
        return token, self.key_ids[0]

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever configured key wrote ``token``."""
        if self._multi is None:
            raise DecryptionError("no encryption key is configured")
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise DecryptionError(
                "cannot be decrypted with the configured encryption key "
                "(the key changed, or the stored value is corrupt)"
            ) from None

    def decrypt_with_index(self, token: str) -> tuple[str, int]:
        """Decrypt and say which key did it (0 = the primary): lazy rotation needs to know."""
        if not self._fernets:
            raise DecryptionError("no encryption key is configured")
        raw = token.encode("ascii", "replace")
        for index, fernet in enumerate(self._fernets):
            try:
                plaintext = fernet.decrypt(raw).decode("utf-8")
            except (InvalidToken, UnicodeError, ValueError):
                continue
            if index == 0:
                self._remember(token)
            return plaintext, index
        raise DecryptionError(
            "cannot be decrypted with the configured encryption key "
            "(the key changed, or the stored value is corrupt)"
        )

    def reencrypt(self, token: str) -> tuple[str, str, bool]:
        """(token under the primary key, primary key id, whether it changed)."""
        plaintext, index = self.decrypt_with_index(token)
        if index == 0:
            return token, self.key_ids[0], False
        return *self.encrypt(plaintext), True

    def make_check(self) -> str:
        """A check value for this key ring's primary key."""
        return self.encrypt(_KEY_CHECK_PLAINTEXT.decode("ascii"))[0]

    def verify_check(self, check: str) -> bool:
        """True when a stored check value was written by one of our keys."""
        return self.check_index(check) is not None

    def check_index(self, check: str) -> int | None:
        """Which of our keys wrote the check value (0 = primary), or None."""
        try:
            plaintext, index = self.decrypt_with_index(check)
        except DecryptionError:
            return None
        return index if plaintext == _KEY_CHECK_PLAINTEXT.decode("ascii") else None
