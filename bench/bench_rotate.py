"""Rotate 10,000 credentials with `jupyter open-notebook rotate` (target: <= 5 s).

Setup writes the rows in one transaction under the old key; the measured run
is the real command line against that SQLite file. Prints the command's own
rotation time (excluding interpreter start-up) and the wall time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from open_notebook_ext.keyring import KeyRing
from open_notebook_ext.store import Database
from open_notebook_ext.store.credentials import key_hint, new_id
from open_notebook_ext.store.orm import Credential, utcnow

N = int(os.environ.get("BENCH_ROTATE_N", "10000"))


def main() -> dict[str, float]:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        db_file = Path(tmp) / "bench.db"
        db = Database(f"sqlite:///{db_file}")
        db.upgrade()
        ring = KeyRing([old])
        now = utcnow()
        rows = []
        for i in range(N):
            secret = f"sk-bench-{i:08d}-{os.urandom(8).hex()}"
            token, kid = ring.encrypt(secret)
            rows.append(
                Credential(
                    id=new_id("credential"),
                    owner="bench",
                    name=f"c{i}",
                    provider="openai",
                    modalities=["language"],
                    api_key_encrypted=token,
                    key_id=kid,
                    api_key_hint=key_hint(secret),
                    created=now,
                    updated=now,
                )
            )
        with db.session(write=True) as s:
            s.add_all(rows)
        db.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN_NOTEBOOK_")}
        env.update(
            OPEN_NOTEBOOK_DB_URL=f"sqlite:///{db_file}",
            OPEN_NOTEBOOK_DATA_DIR=tmp,
            OPEN_NOTEBOOK_ENCRYPTION_KEYS=f"{new.decode()},{old.decode()}",
            JUPYTER_CONFIG_DIR=str(Path(tmp) / "cfg"),
        )
        cli = Path(sys.executable).parent / "jupyter-open-notebook"
        start = time.perf_counter()
        out = subprocess.run(
            [str(cli), "rotate", "--quiet"], env=env, capture_output=True, text=True, check=True
        )
        wall = time.perf_counter() - start
        internal = float(out.stdout.split("time: ")[1].split("s")[0])
        assert f"re-encrypted: {N}" in out.stdout, out.stdout
    return {"n": N, "rotation_s": internal, "wall_s": wall}


if __name__ == "__main__":
    result = main()
    print(
        f"rotate {result['n']} credentials: {result['rotation_s']:.2f} s "
        f"(command wall time {result['wall_s']:.2f} s incl. start-up); target <= 5 s"
    )
