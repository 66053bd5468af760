"""The provider proxy: notebook code uses a key without ever holding it.

``{base_url}open-notebook/api/proxy/{credential_id}/{path}`` forwards a
provider API call to the credential's base URL (or the provider's default),
with the real key put in that provider's header. The caller authenticates with
its kernel token, sent where the provider's SDK sends its key, so
``OpenAI(base_url=p.base_url, api_key=p.api_key)`` works unchanged with
``p = secrets.proxy("Work")``.

* ``table``: per provider, where the key goes, which paths are forwarded and
  where the SDK's base URL is;
* ``forward``: the outbound request (SSRF guard, pinned address, no redirects,
  time limits), streamed both ways, hop-by-hop and cookie headers dropped,
  error bodies scrubbed of anything that looks like the key;
* ``usage``: model and token counts read from requests and answers (never the
  prompt or the answer itself);
* ``handlers``: the route, authenticated and granted exactly like ``secrets.get``.
"""
