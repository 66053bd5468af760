"""Keep secrets out of log lines written by code that is not ours.

* Tornado's HTTP server logs a request it cannot parse as ``Malformed HTTP
  message from <address>: <reason>``, and the reason quotes what was sent: a
  header value with a NUL byte or a bare CR is logged whole, ``Authorization:
  token <token>`` and any key in it included. A filter on Tornado's
  ``tornado.general`` logger keeps the reason's words and drops the quoted part.
* traitlets' ``Application`` logs its whole configuration at debug level
  (``Config changed: {...}``, once per application and extension), so
  ``c.OpenNotebookApp.encryption_key = "..."`` or ``--IdentityProvider.token=...``
  would be printed by ``--debug``. Those lines come from loggers named after
  each application class (``ServerApp``, ``LabApp``, every extension's), so the
  masking sits in the log record factory, which every logger uses: any
  ``traitlets.config.Config`` passed as a log argument is replaced by a copy with
  secret-named values (``*token``, ``*password``, ``*secret``,
  ``encryption_key(s)``, ``api_key`` ...) hidden and passwords in URLs
  (``db_url``) masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from traitlets.config import Config

MALFORMED = "Malformed HTTP message from %s: %s"


def withhold_quoted(reason: object) -> str:
    """``Invalid header value 'token ...'`` -> ``Invalid header value``."""
    text = str(reason)
    cut = min((i for i in (text.find("'"), text.find('"')) if i >= 0), default=len(text))
    return text[:cut].rstrip(" :")[:120] or type(reason).__name__


class MalformedRequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == MALFORMED and isinstance(record.args, tuple) and len(record.args) == 2:
            record.args = (record.args[0], withhold_quoted(record.args[1]) + " (details withheld)")
        return True


def install() -> None:
    """Add both scrubbers once (idempotent: several extension instances may start)."""
    logger = logging.getLogger("tornado.general")
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
    install_config_masking()


# -- configuration dumps -------------------------------------------------------------

# token, auth_token, password, hashed_password, cookie_secret, encryption_key(s),
# api_key, Session.key; not generate_key, keyfile or token_file (no secret in them).
SECRET_NAME = re.compile(
    r"(?:^|_)(?:token|password|passwd|secret)$|(?:^|_)(?:encryption|api|private|signing"
    r"|hmac)_keys?$|^keys?$",
    re.IGNORECASE,
)
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@/\s]+(?=@)", re.IGNORECASE)
HIDDEN = "<hidden>"


def is_secret_name(name: str) -> bool:
    """``encryption_key``, ``token``, ``hashed_password``, ``cookie_secret`` ..."""
    return bool(SECRET_NAME.search(name))


def mask_url_password(text: str) -> str:
    """``postgresql://u:pw@h/db`` -> ``postgresql://u:***@h/db``."""
    return URL_PASSWORD.sub(r"\g<head>***", text)


def mask_config(value: Any, name: str = "") -> Any:
    """A copy of a (nested) configuration with secret values hidden, for logging."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    if name and is_secret_name(name):
        return HIDDEN if value else value
    if isinstance(value, Mapping):
        return {k: mask_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, str):
        return mask_url_password(str(value))
    if isinstance(value, list | tuple | set):
        return [mask_config(v) for v in value]
    return value


def _masked_args(args: Any) -> Any:
    # LogRecord turns a lone mapping argument into ``record.args`` itself.
    if isinstance(args, Config):
        return mask_config(args)
    if isinstance(args, tuple) and any(isinstance(a, Config) for a in args):
        return tuple(mask_config(a) if isinstance(a, Config) else a for a in args)
    return args


def install_config_masking() -> None:
    """Wrap the log record factory once, whoever set it before (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_config", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.args:
            record.args = _masked_args(record.args)
        if isinstance(record.msg, Config):
            record.msg = mask_config(record.msg)
        return record

    factory.masks_config = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def command_line_secrets(cli_config: Mapping[str, Any]) -> list[str]:
    """``Section.trait`` of each secret given on the command line (``--X.token=...``)."""
    found = []
    for section, traits in cli_config.items():
        if not isinstance(traits, Mapping):
            continue
        for name, value in traits.items():
            text = str(value) if isinstance(value, str) else ""
            if value and (is_secret_name(name) or (text and mask_url_password(text) != text)):
                found.append(f"{section}.{name}")
    return sorted(found)
