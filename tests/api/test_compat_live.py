"""``http.compat``'s Jupyter handler attributes, on the in-process Jupyter server: what
``_jupyter_current_user`` says after Jupyter's ``prepare()``, and that ``untracked``
(``_track_activity``) keeps a handler's requests out of the server's activity."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from open_notebook_ext.http import compat

SEEN: dict[str, Any] = {}
LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)


class Probe(APIHandler):
    async def prepare(self) -> None:  # type: ignore[override]
        SEEN["before_prepare"] = compat.jupyter_found_no_user(self)
        await super().prepare()

    @allow_unauthenticated
    def get(self) -> None:
        SEEN["no_user"] = compat.jupyter_found_no_user(self)
        self.finish("{}")


@compat.untracked
class UntrackedProbe(Probe):
    pass


@pytest.fixture
def probes(jp_serverapp: Any) -> Any:
    base = jp_serverapp.base_url
    jp_serverapp.web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "compat", "probe"), Probe),
            (url_path_join(base, "compat", "untracked"), UntrackedProbe),
        ],
    )
    SEEN.clear()
    return jp_serverapp.web_app.settings


async def test_jupyter_found_no_user(probes, api):
    reply = await api.request("GET", "probe", prefix="compat", auth=None)
    assert reply.status == 200
    assert SEEN == {"before_prepare": False, "no_user": True}
    SEEN.clear()
    reply = await api.request("GET", "probe", prefix="compat")  # with the server's token
    assert reply.status == 200
    assert SEEN == {"before_prepare": False, "no_user": False}


async def test_untracked_requests_are_not_activity(probes, api):
    probes["api_last_activity"] = LONG_AGO
    assert (await api.request("GET", "untracked", prefix="compat")).status == 200
    assert probes["api_last_activity"] == LONG_AGO
    assert (await api.request("GET", "probe", prefix="compat")).status == 200
    assert probes["api_last_activity"] > LONG_AGO  # a tracked one is
