"""The compiled kernels against the same kernels run as plain Python (NUMBA_DISABLE_JIT=1).

The hand-written twins in tests/naive.py check *what* each kernel computes; this checks that
compilation changes nothing: a whole replication, every kernel included, gives bit-identical
results compiled and interpreted (integer widths, unsigned hashing, float order of operations).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import hashlib, json, sys
import numpy as np
from tests.conftest import make_scenario, run_one
sc = make_scenario(**{"swarm.leechers.count": 4, "torrent.total_size": "2MiB",
                      "swarm.leechers.upload": {"classes": [{"share": 0.5, "value": "100kB/s"}, {"share": 0.5, "value": "300kB/s"}]}})
r = run_one(sc, int(sys.argv[1]))
h = hashlib.sha256()
for col in r.log.columns().values():
    h.update(np.ascontiguousarray(col).tobytes())
for k in sorted(r.peers):
    h.update(k.encode() + np.ascontiguousarray(r.peers[k]).tobytes())
print(json.dumps({"digest": h.hexdigest(), "upload": r.headline["subject_upload_total_bytes"]}))
"""


def run(seed: int, jit: bool) -> dict:
    env = dict(os.environ)
    if not jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(seed)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_compiled_equals_interpreted():
    for seed in (0, 1):
        compiled, interpreted = run(seed, True), run(seed, False)
        assert compiled == interpreted
        assert compiled["upload"] > 0
