"""The names under which the extension app publishes its request policy objects in
Tornado's settings (read by the handlers' base classes).

Names only, so the app can publish them at start-up without importing the handlers.
"""

from __future__ import annotations

BODY_LIMIT_SETTING = "open_notebook_max_body_bytes"
BODY_TIMEOUT_SETTING = "open_notebook_body_timeout"
LIMITER_SETTING = "open_notebook_auth_limiter"
POLICY_SETTING = "open_notebook_origin_policy"
TRUSTED_PROXIES_SETTING = "open_notebook_trusted_proxies"
