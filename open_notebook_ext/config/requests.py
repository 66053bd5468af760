"""How requests reach the API: origins, CORS, rate limits, proxies, body limits.

Mixed into ``OpenNotebookApp`` (app.py): the settings stay ``c.OpenNotebookApp.<name>``.
"""

from __future__ import annotations

import logging
import os

from traitlets import Bool, Float, HasTraits, Int, List, Unicode, default

from open_notebook_ext.security.origin import DEFAULT_ALLOW_HEADERS

DEFAULT_MAX_UPLOAD_MB = 100.0


class RequestSettings(HasTraits):
    """Request-side settings of OpenNotebookApp (``c.OpenNotebookApp.*``)."""

    log: logging.Logger  # the app's (these defaults may warn or stop start-up)

    allowed_origins = List(
        Unicode(),
        config=True,
        help="""Browser origins allowed to call the API cross-origin, exactly
        (scheme://host[:port], e.g. https://lab.example.org). Default: none (same-origin
        only). Allowed origins are reflected with credentials allowed; "*" allows any
        origin but then without credentials. Entries are normalised; an invalid entry
        stops start-up. ServerApp.allow_origin does not apply to these routes.
        Environment: OPEN_NOTEBOOK_CORS_ORIGINS (comma-separated; CORS_ORIGINS, Open
        Notebook's name, is accepted too).""",
    )

    @default("allowed_origins")
    def _allowed_origins_default(self) -> list[str]:
        raw = os.environ.get("OPEN_NOTEBOOK_CORS_ORIGINS") or os.environ.get("CORS_ORIGINS", "")
        return [part.strip() for part in raw.split(",") if part.strip()]

    cors_max_age = Int(600, config=True, help="Seconds a browser may cache a preflight answer.")

    cors_allow_headers = List(
        Unicode(),
        default_value=list(DEFAULT_ALLOW_HEADERS),
        config=True,
        help="Request headers allowed in cross-origin requests (answered to preflights).",
    )

    auth_failure_limit = Int(
        10,
        config=True,
        help="""Failed authentication attempts (a wrong token) a client address may make
        within auth_failure_window seconds before it gets 429 until the window passes.
        0 turns rate limiting off. Counted per server process, or in the database
        with shared_rate_limits (the hub service's default).""",
    )

    auth_failure_window = Float(
        60.0, config=True, help="Window, in seconds, for auth_failure_limit."
    )

    shared_rate_limits = Bool(
        None,
        allow_none=True,
        config=True,
        help="""Count failed authentication attempts (auth_failure_limit) in the
        database, so that every server sharing it (several replicas of `jupyter
        open-notebook hub-service` behind a load balancer) counts one total per client
        address instead of one per process. Default (None): on in hub service mode, off
        in every other server, which keeps its count in memory. Costs one short write
        transaction per wrong token (none for a valid one, none while the address is
        known to be blocked here); rows older than the window are pruned.""",
    )

    auth_failure_max_tracked = Int(
        10_000,
        config=True,
        help="Most client addresses remembered by the rate limiter (oldest forgotten first).",
    )

    max_body_bytes = Int(
        1024 * 1024,
        config=True,
        help="""Largest request body accepted by the JSON routes (413 above it); also the
        most the non-file fields of a multipart source upload may add up to.""",
    )

    max_upload_mb = Float(
        config=True,
        help="""Largest multipart upload to POST sources, in MiB (the whole request body;
        413 above it, checked while the file streams to disk). Default 100.
        Environment: OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB (as Open Notebook).""",
    )

    @default("max_upload_mb")
    def _max_upload_mb_default(self) -> float:
        raw = os.environ.get("OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB", "").strip()
        if not raw:
            return DEFAULT_MAX_UPLOAD_MB
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not value > 0:
            self.log.warning(
                "OPEN_NOTEBOOK_MAX_UPLOAD_SIZE_MB=%r is not a positive size; using %g",
                raw,
                DEFAULT_MAX_UPLOAD_MB,
            )
            return DEFAULT_MAX_UPLOAD_MB
        return value

    trusted_proxies = List(
        Unicode(),
        config=True,
        help="""Addresses and networks (CIDR; "unix:" for a Unix socket) of the reverse
        proxies whose X-Forwarded-For, X-Real-Ip, X-Forwarded-Proto and X-Forwarded-Host
        are believed, as nginx's set_real_ip_from: only from these peers, and only while
        ServerApp.trust_xheaders is on. X-Forwarded-For is read right to left past
        trusted proxies (nginx's real_ip_recursive). Default: none, so no forwarded
        header counts: loopback is not trusted by default because every kernel and
        local process reaches Jupyter from there and could write any address. List the
        proxy's own address (the compose deployment's is on its backend network).
        Environment: OPEN_NOTEBOOK_TRUSTED_PROXIES (comma-separated).""",
    )

    @default("trusted_proxies")
    def _trusted_proxies_default(self) -> list[str]:
        raw = os.environ.get("OPEN_NOTEBOOK_TRUSTED_PROXIES", "")
        return [part.strip() for part in raw.split(",") if part.strip()]

    body_timeout = Float(
        60.0,
        config=True,
        help="""Seconds a client may take to send a request body to these routes (408 and
        the connection closed after that); Tornado sets no limit of its own. 0: none.""",
    )

    upload_timeout = Float(
        1800.0,
        config=True,
        help="""Seconds a multipart upload to POST sources may take to arrive (408 after
        that); 1800 s lets 100 MiB through at 60 KB/s. 0: no limit.""",
    )
