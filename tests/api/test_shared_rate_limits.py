"""c.OpenNotebookApp.shared_rate_limits: failed authentication counted in the database
(security/dblimiter.py), as the hub service does by default for its replicas; an ordinary
server keeps counting in memory. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from open_notebook_ext.security.dblimiter import DatabaseAuthLimiter
from open_notebook_ext.security.identity import AuthFailureLimiter


async def test_an_ordinary_server_counts_in_memory(api, ext):
    assert (await api.get("credentials")).status == 200
    assert type(ext.auth_limiter) is AuthFailureLimiter
    assert ext.shared_rate_limits is None


class TestSharedRateLimits:
    @pytest.fixture
    def jp_server_config(self):
        return {
            "ServerApp": {"jpserver_extensions": {"open_notebook_ext": True}},
            "OpenNotebookApp": {"shared_rate_limits": True, "auth_failure_limit": 3},
        }

    async def test_wrong_tokens_are_counted_in_the_database(self, api, ext):
        assert (await api.get("credentials")).status == 200  # started (startlater.py)
        assert isinstance(ext.auth_limiter, DatabaseAuthLimiter)
        for i in range(3):
            r = await api.get("credentials", auth=None, headers={"Authorization": f"token g{i}"})
            assert r.status == 401, r
        blocked = await api.get("credentials", auth=None, headers={"Authorization": "token g"})
        assert blocked.status == 429
        assert blocked.json == {"detail": "Too many failed authentication attempts"}
        assert blocked.headers["Retry-After"] == "60"
        # a valid token from the blocked address is never refused
        assert (await api.get("credentials")).status == 200
        # the count is in the table, where another server on the database sees it
        other = DatabaseAuthLimiter(ext.db, 3, 60.0)
        assert other.retry_after("127.0.0.1") in (59, 60)
        assert len(other) == 1

    async def test_wrong_kernel_tokens_count_too(self, api, ext):
        assert (await api.get("credentials")).status == 200
        guess = {"Authorization": "Bearer onk_" + "x" * 40}
        for _ in range(3):
            r = await api.post("secrets/get", {"name": "Work"}, auth=None, headers=guess)
            assert r.status == 401, r
        r = await api.post("secrets/get", {"name": "Work"}, auth=None, headers=guess)
        assert r.status == 429, r
        assert DatabaseAuthLimiter(ext.db, 3, 60.0).retry_after("127.0.0.1") is not None
