"""Turning sources into searchable text: uploaded text files and fetched links.

Only text we can read without heavy dependencies is extracted: plain text,
Markdown, CSV, JSON, XML and HTML (tags, scripts and styles dropped). Other
files (PDF, audio, office documents) are stored and listed, with
``full_text`` null. At most ``TEXT_LIMIT`` bytes of a file are read for text.
"""

from __future__ import annotations

import asyncio
import codecs
from html.parser import HTMLParser
from pathlib import Path

from . import netguard
from .errors import BadRequest, UpstreamError

TEXT_LIMIT = 5 * 1024 * 1024
_TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/xhtml+xml",
    "application/x-ndjson",
    "application/javascript",
    "application/yaml",
    "application/x-yaml",
    "application/markdown",
)
_TEXT_SUFFIXES = {
    ".txt",
    ".md",
    ".markdown",
    ".rst",
    ".csv",
    ".tsv",
    ".json",
    ".jsonl",
    ".xml",
    ".html",
    ".htm",
    ".xhtml",
    ".yaml",
    ".yml",
    ".log",
    ".tex",
    ".org",
    ".adoc",
}
_HTML_SUFFIXES = {".html", ".htm", ".xhtml"}


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """('text/html', 'utf-8') from 'text/html; charset=UTF-8'."""
    if not content_type:
        return "", None
    main, *params = content_type.split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return main.strip().lower(), charset


def is_text(mtype: str, filename: str | None = None) -> bool:
    if mtype.startswith("text/") or mtype in _TEXT_TYPES or mtype.endswith(("+json", "+xml")):
        return True
    if mtype in ("", "application/octet-stream") and filename:
        return Path(filename).suffix.lower() in _TEXT_SUFFIXES
    return False


def _is_html(mtype: str, filename: str | None) -> bool:
    if mtype in ("text/html", "application/xhtml+xml"):
        return True
    return (
        mtype in ("", "application/octet-stream", "text/plain")
        and bool(filename)
        and Path(filename or "").suffix.lower() in _HTML_SUFFIXES
    )


def decode(data: bytes, charset: str | None) -> str | None:
    """Text from bytes, or None when it looks binary."""
    if b"\x00" in data[:8192]:
        return None
    encoding = "utf-8"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = "utf-8"
    text = data.decode(encoding, errors="replace")
    return text.lstrip("\ufeff")


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    _BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "blockquote",
        "hr",
        "dd",
        "dt",
        "main",
        "nav",
        "aside",
        "figure",
        "figcaption",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str | None, str]:
    """(title, text) of an HTML document."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: S110 - html.parser is lenient; keep what was parsed
        pass
    title = " ".join("".join(parser.title_parts).split()) or None
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(line for line in lines if line)
    return (title[:500] if title else None), text


def extract(
    data: bytes,
    content_type: str | None,
    filename: str | None = None,
) -> tuple[str | None, str | None]:
    """(title, text) from a document's bytes; (None, None) when it is not text."""
    mtype, charset = media_type(content_type)
    if not is_text(mtype, filename):
        return None, None
    text = decode(data, charset)
    if text is None:
        return None, None
    if _is_html(mtype, filename):
        title, text = html_to_text(text)
        return title, text or None
    return None, text if text.strip() else None


def read_text_file(
    path: Path,
    content_type: str | None,
    filename: str | None,
) -> tuple[str | None, str | None]:
    """(title, text) of an uploaded file, reading at most TEXT_LIMIT bytes (blocking)."""
    mtype, _ = media_type(content_type)
    if not is_text(mtype, filename):
        return None, None
    with open(path, "rb") as f:
        data = f.read(TEXT_LIMIT)
    return extract(data, content_type, filename)


async def fetch_link(
    url: str,
    *,
    allow_private: bool,
    max_bytes: int,
    timeout: float,
) -> tuple[str | None, str | None]:
    """(title, text) of the page at ``url``, fetched through the SSRF guard.

    Refused addresses are BadRequest (400); failures of the remote side are
    UpstreamError (502). Non-text pages give (None, None).
    """
    try:
        result = await netguard.fetch(
            url, allow_private=allow_private, max_bytes=max_bytes, timeout=timeout
        )
    except netguard.URLRefused as e:
        raise BadRequest(str(e)) from None
    except netguard.FetchError as e:
        raise UpstreamError(f"Could not fetch the URL: {e}") from None
    if not 200 <= result.status < 300:
        raise UpstreamError(f"Could not fetch the URL: the server answered {result.status}")
    # Parsing a few MiB of HTML takes a while: not on the event loop.
    return await asyncio.to_thread(extract, result.body, result.content_type, None)
