"""An invalid origin in the configuration stops a real server (see api/test_origin_policy.py)."""

from __future__ import annotations

import pytest

# SQLite only: origin policy; the database plays no part.
pytestmark = pytest.mark.sqlite_only


def test_invalid_origin_stops_start_up(server_factory):
    server = server_factory(env={"OPEN_NOTEBOOK_CORS_ORIGINS": "https://ok.example, not-an-origin"})
    server.start(wait=False)
    assert server.wait_exit(60) != 0
    assert "'not-an-origin' is not a valid origin" in server.log
    assert "open_notebook_ext cannot start" in server.log
