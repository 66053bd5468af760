"""The origin policy: which browser origins may call the API, and the CORS headers.

One object owns the whole policy, as Starlette's CORSMiddleware does: the
allowlist is normalised once at start-up, every request gets a verdict, and the
headers for that verdict are produced in one place (the base handler sets them
in ``set_default_headers`` so they survive ``send_error``).

Verdicts:

* ``none``      no ``Origin`` header (curl, kernels, same-origin GETs in some browsers)
* ``same``      the ``Origin`` is the server's own scheme://host[:port]
* ``allowed``   listed in ``allowed_origins`` (or the list is ``*``)
* ``disallowed`` anything else, including non-canonical spellings, and ``null``
  (an opaque origin: a sandboxed iframe, a ``data:`` or ``file:`` page) even
  when the list is ``*``

Only ``allowed`` gets CORS headers. A listed origin is reflected with
``Access-Control-Allow-Credentials: true`` and ``Vary: Origin``; ``*`` is sent
as ``*`` and never with credentials (browsers refuse that combination).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from open_notebook_ext.errors import ConfigError

WILDCARD = "*"
OPAQUE = "null"  # what browsers send for an opaque origin
DEFAULT_ALLOW_HEADERS = ("Authorization", "Content-Type", "X-XSRFToken", "X-Requested-With")
EXPOSE_HEADERS = ("Retry-After", "WWW-Authenticate")
_DEFAULT_PORTS = {"http": 80, "https": 443}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalise_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, default port dropped, no trailing slash.

    Raises ValueError naming what is wrong.
    """
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise ValueError("the scheme must be http or https")
    if not parts.hostname:
        raise ValueError("there is no host")
    if parts.username or parts.password:
        raise ValueError("an origin has no user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("an origin has no path, query or fragment")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number between 0 and 65535") from None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origin_list(entries: Iterable[str], source: str) -> tuple[str, ...]:
    """Normalise configured origins; an invalid entry is a start-up error naming it."""
    out: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if entry == WILDCARD:
            out.append(WILDCARD)
            continue
        try:
            origin = normalise_origin(entry)
        except ValueError as e:
            raise ConfigError(
                f"{source}: {entry!r} is not a valid origin ({e}); "
                "expected scheme://host[:port], e.g. https://lab.example.org"
            ) from None
        if origin not in out:
            out.append(origin)
    return tuple(out)


@dataclass(frozen=True)
class OriginPolicy:
    """The allowlist and what to answer for each origin."""

    allowed: tuple[str, ...] = ()
    max_age: int = 600
    allow_headers: tuple[str, ...] = DEFAULT_ALLOW_HEADERS

    @property
    def wildcard(self) -> bool:
        return WILDCARD in self.allowed

    def verdict(self, origin: str | None, own_origin: str | None) -> str:
        if origin is None:
            return "none"
        if origin == OPAQUE:
            # Sandboxed iframes, data: and file: pages, some redirects: whoever they are,
            # they are not an origin anyone listed, "*" included.
            return "disallowed"
        if own_origin is not None and origin == own_origin:
            return "same"
        if self.wildcard or origin in self.allowed:
            # Exact match against the header as sent: browsers always send the
            # canonical form, so "https://a.example/" or "HTTPS://A.EXAMPLE"
            # are not browsers and get nothing.
            return "allowed"
        return "disallowed"

    def response_headers(self, origin: str, verdict: str) -> dict[str, str]:
        """CORS headers for an actual (non-preflight) response."""
        if verdict != "allowed":
            return {}
        if self.wildcard:
            return {
                "Access-Control-Allow-Origin": WILDCARD,
                "Access-Control-Expose-Headers": ", ".join(EXPOSE_HEADERS),
            }
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": ", ".join(EXPOSE_HEADERS),
        }

    def preflight_headers(self, methods: Sequence[str]) -> dict[str, str]:
        """Extra headers for a successful preflight (on top of ``response_headers``)."""
        return {
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ", ".join(self.allow_headers),
            "Access-Control-Max-Age": str(self.max_age),
        }


def own_origin(
    protocol: str, host: str | None, headers: Mapping[str, str], trust_xheaders: bool
) -> str | None:
    """The origin this request was addressed to, honouring proxy headers only when trusted."""
    if trust_xheaders:
        proto = headers.get("X-Forwarded-Proto") or headers.get("X-Scheme")
        if proto:
            protocol = proto.split(",")[0].strip().lower()
        forwarded_host = headers.get("X-Forwarded-Host")
        if forwarded_host:
            host = forwarded_host.split(",")[0].strip()
    if not host:
        return None
    try:
        return normalise_origin(f"{protocol}://{host}")
    except ValueError:
        return None
