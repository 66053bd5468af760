"""``key_access`` on credentials: "read" (default) or "proxy" (the key is never handed out).

On both database backends (the in-process server's db_backend parametrization).
"""

from __future__ import annotations

from support.leaks import random_api_key


async def test_key_access_defaults_to_read_and_is_validated(api):
    cred = await api.create_credential()
    assert cred["key_access"] == "read"
    for bad in ("write", None, 1, ""):
        r = await api.put(f"credentials/{cred['id']}", {"key_access": bad})
        assert r.status == 422, (bad, r)
        assert r.json["errors"][0]["field"] == "key_access"
    r = await api.post(
        "credentials",
        {"name": "x", "provider": "openai", "api_key": random_api_key(), "key_access": "nope"},
    )
    assert r.status == 422 and "nope" not in r.text


async def test_a_proxy_only_key_is_returned_by_no_endpoint(api):
    key = random_api_key()
    r = await api.post(
        "credentials", {"name": "P", "provider": "openai", "api_key": key, "key_access": "proxy"}
    )
    assert r.status == 201 and r.json["key_access"] == "proxy"
    cid = r.json["id"]
    refused = [
        await api.post(f"credentials/{cid}/secret", {}),
        await api.post("secrets/get", {"name": "P"}),
    ]
    for reply in refused:
        assert reply.status == 403, reply
        assert reply.json["key_access"] == "proxy"
        assert "secrets.proxy('P')" in reply.json["detail"]
    listed = await api.get("secrets")
    assert [c["key_access"] for c in listed.json] == ["proxy"]
    for reply in [
        *refused,
        listed,
        await api.get("credentials"),
        await api.get(f"credentials/{cid}"),
        await api.get("credentials/by-provider/openai"),
    ]:
        assert key not in reply.text


async def test_proxy_back_to_read_and_moving_the_key_need_the_key_again(api):
    key = random_api_key()
    cred = await api.create_credential(api_key=key)
    cid = cred["id"]
    r = await api.put(f"credentials/{cid}", {"key_access": "proxy"})  # stricter: no key needed
    assert r.status == 200 and r.json["key_access"] == "proxy"
    r = await api.put(f"credentials/{cid}", {"key_access": "read"})
    assert r.status == 422 and r.json["errors"][0]["field"] == "api_key"
    assert "proxy back to read" in r.json["errors"][0]["message"]
    r = await api.put(f"credentials/{cid}", {"base_url": "https://elsewhere.example.com/v1"})
    assert r.status == 422 and r.json["errors"][0]["field"] == "api_key"
    assert (await api.get(f"credentials/{cid}")).json["key_access"] == "proxy"  # unchanged
    assert (await api.post(f"credentials/{cid}/secret", {})).status == 403
    new_key = random_api_key()
    r = await api.put(f"credentials/{cid}", {"key_access": "read", "api_key": new_key})
    assert r.status == 200 and r.json["key_access"] == "read"
    r = await api.post(f"credentials/{cid}/secret", {})
    assert r.status == 200 and r.json["api_key"] == new_key
