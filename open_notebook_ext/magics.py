"""``%load_ext open_notebook_ext``: the ``%secrets`` line magic.

    %secrets list                    # your credentials: name, provider, granted?, hint
    %secrets env Work                # secrets.env("Work"): OPENAI_API_KEY, ... set
    %secrets env Work --provider openai
    %secrets env                     # every credential granted to this notebook
    %secrets restore                 # undo the %secrets env calls of this session

Nothing it prints contains a key. jupyter-ai's ``%%ai`` (``%load_ext
jupyter_ai_magic_commands``) then finds the key where litellm looks: the variables
``%secrets env`` set. Standard library only, apart from IPython itself.
"""

from __future__ import annotations

import shlex
from typing import Any

from open_notebook_ext import secrets

USAGE = "usage: %secrets list | %secrets env [NAME ...] [--provider PROVIDER] | %secrets restore"

_applied: list[Any] = []


def _parse_env(args: list[str]) -> tuple[list[str], str | None]:
    names: list[str] = []
    provider = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--provider" and i + 1 < len(args):
            provider, i = args[i + 1], i + 2
            continue
        if arg.startswith("--provider="):
            provider = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            raise ValueError(f"unknown option {arg}")
        else:
            names.append(arg)
        i += 1
    return names, provider


def _table(entries: list[dict[str, Any]]) -> str:
    rows = [("name", "provider", "granted", "key")]
    for e in entries:
        key = e.get("api_key_hint") or ("stored" if e.get("has_api_key") else "-")
        if e.get("key_access") == "proxy":
            key += " (proxy only)"
        if e.get("decryption_error"):
            key = "cannot be decrypted"
        rows.append((e["name"], e["provider"], "yes" if e.get("granted") else "no", key))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def secrets_magic(line: str) -> None:
    """``%secrets list`` / ``%secrets env [NAME ...] [--provider P]`` / ``%secrets restore``."""
    try:
        args = shlex.split(line)
    except ValueError as e:
        print(f"%secrets: {e}; {USAGE}")
        return
    command, rest = (args[0], args[1:]) if args else ("", [])
    try:
        if command == "list" and not rest:
            entries = secrets.list()
            print(_table(entries) if entries else "no credentials")
        elif command == "env":
            names, provider = _parse_env(rest)
            applied = secrets.env(*names, provider=provider)
            _applied.append(applied)
            used = ", ".join(f"{n} ({p})" for n, p in applied.credentials)
            print(
                f"{used}: set {', '.join(applied.set) or '-'}"
                + (f"; unset {', '.join(applied.unset)}" if applied.unset else "")
            )
        elif command == "restore" and not rest:
            while _applied:
                _applied.pop().restore()
            print("environment restored")
        else:
            print(USAGE)
    except ValueError as e:
        print(f"%secrets: {e}; {USAGE}")
    except secrets.SecretError as e:
        # shown as one line, like an answer; the messages never carry a key
        print(f"%secrets: {type(e).__name__}: {e}")


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magic_function(secrets_magic, magic_kind="line", magic_name="secrets")
