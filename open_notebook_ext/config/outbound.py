"""Requests the server makes: link fetching, provider connection tests, SSRF guard.

Mixed into ``OpenNotebookApp`` (app.py): the settings stay ``c.OpenNotebookApp.<name>``.
"""

from __future__ import annotations

from traitlets import Bool, Float, HasTraits, Int


class OutboundSettings(HasTraits):
    """Outbound-request settings of OpenNotebookApp (``c.OpenNotebookApp.*``)."""

    fetch_links = Bool(
        True,
        config=True,
        help="""Fetch a link source's page when it is created and keep its text (for
        search). The fetch goes through the SSRF guard (see allow_private_targets).
        When False, a link is only validated and stored.""",
    )

    connection_test_timeout = Float(
        10.0,
        config=True,
        help="""Seconds a provider connection test (POST credentials/{id}/test) may take.
        The provider's URL goes through the same SSRF guard as link fetching
        (allow_private_targets applies: a provider on localhost, e.g. Ollama, needs it).""",
    )

    allow_private_targets = Bool(
        False,
        config=True,
        help="""Let outbound requests (fetching link sources) reach loopback and private
        addresses (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10, ...),
        for tests and intranets. Link-local and cloud-metadata addresses stay refused.""",
    )

    fetch_timeout = Float(
        20.0,
        config=True,
        help="Seconds a link fetch may take in all (DNS, connect, redirects, body).",
    )

    fetch_max_bytes = Int(
        5 * 1024 * 1024,
        config=True,
        help="Largest page body a link fetch reads, after decompression (502 above it).",
    )
