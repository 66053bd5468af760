"""Read and edit ``.env`` files (the format python-dotenv and jupyter-ai use), stdlib only.

Only what an import needs: ``NAME=value`` lines, optionally ``export NAME=value``,
values bare, single-quoted (literal) or double-quoted (``\\n``, ``\\"`` and ``\\\\``
escapes), ``#`` comments. Variable references (``${OTHER}``) are kept literally.
Nothing here logs or raises with a value in the message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

DOTENV_NAME = ".env"
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class DotenvError(Exception):
    """The file cannot be used; the message names the file and line, never a value."""


def _unquote(raw: str) -> str:
    if raw[:1] == "'":
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 else raw[1:]
    if raw[:1] == '"':
        out, i = [], 1
        while i < len(raw):
            c = raw[i]
            if c == "\\" and i + 1 < len(raw):
                out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
                continue
            if c == '"':
                break
            out.append(c)
            i += 1
        return "".join(out)
    # bare: a " #" starts a comment
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def parse(text: str) -> dict[str, str]:
    """``NAME -> value`` for every assignment (the last one wins, as python-dotenv)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = _unquote(match.group(2))
    return values


def read(path: Path) -> dict[str, str]:
    """The assignments of the file at ``path`` ({} when there is none)."""
    try:
        if path.is_symlink():
            raise DotenvError(f"{path} is a symbolic link; refusing to follow it")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise DotenvError(f"cannot read {path}: {type(e).__name__}") from None
    return parse(text)


def remove_names(path: Path, names: set[str]) -> bool:
    """Drop the assignments of ``names`` from the file; delete it when no assignment is
    left. Returns True when the file was deleted. Comments and other lines stay."""
    text = path.read_text(encoding="utf-8")
    kept = []
    for line in text.splitlines(keepends=True):
        match = _LINE.match(line.rstrip("\r\n"))
        if match and match.group(1) in names:
            continue
        kept.append(line)
    if not parse("".join(kept)):
        path.unlink()
        return True
    # replace atomically, keeping the file private
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(kept))
    os.replace(tmp, path)
    return False


def contents_root(ext: Any) -> Path:
    """The directory Jupyter serves (where the ``.env`` of the project is looked for)."""
    cm = ext.serverapp.contents_manager
    return Path(getattr(cm, "root_dir", None) or ext.serverapp.root_dir)
