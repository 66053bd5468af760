"""What loading the extension imports: nothing heavy before the server listens.

The server loads ``open_notebook_ext.app`` (and the routes' stand-ins) while it starts;
SQLAlchemy, Alembic, pydantic and jupyterhub are imported later, with the database
(``startlater.py``; the ``make bench`` start-up target). One import at module level in
the wrong place costs every ``jupyter server`` start (a type annotation's import did:
+6-8 % in ``make bench``).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "pydantic", "jupyterhub", "cryptography")

CODE = """
import json, sys
import open_notebook_ext
from open_notebook_ext import app
from open_notebook_ext.http import deferred
deferred.deferred_routes()
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_loading_the_extension_imports_nothing_heavy():
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "open_notebook_ext" in loaded
    assert sorted(loaded & set(HEAVY)) == []
