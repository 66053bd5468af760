"""credentials/status reports how kernels are isolated (issue 17)."""

from __future__ import annotations

import pytest

from open_notebook_ext.security import procsec


@pytest.mark.sqlite_only
async def test_status_reports_the_kernel_isolation(api):
    r = await api.get("credentials/status")
    assert r.status == 200
    assert r.json["kernel_isolation"] == "none"
    assert r.json["non_dumpable"] is procsec.available()
