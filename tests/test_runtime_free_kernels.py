"""The kernels compiled without numba's runtime (``_nrt=False``, see sim/kernels/__init__.py) give
bit-identical results: every array of the swarm's end state, compiled and interpreted
(NUMBA_DISABLE_JIT=1, where no kernel is compiled and nothing is reference-counted by numba), on
example scenarios that exercise whole-piece runs, choking and the allowed fast set, seeds and
departures. tests/test_kernels_interpreted.py compares the results; this compares the whole state.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import hashlib, sys
import numpy as np
from sim.engine import SwarmRun
from sim.scenario import load_scenario
sc = load_scenario(sys.argv[1])
run = SwarmRun(sc, 0, np.random.SeedSequence(sc.simulation.seed))
r = run.run()
h = hashlib.sha256()
for state in (run.pa, run.ea, run.pc):
    for name, a in zip(state._fields, state):
        h.update(name.encode() + np.ascontiguousarray(a).tobytes())
for col in r.log.columns().values():
    h.update(np.ascontiguousarray(col).tobytes())
print(h.hexdigest(), r.headline["subject_upload_total_bytes"])
"""


def end_state(scenario: str, jit: bool) -> str:
    env = dict(os.environ)
    if not jit:
        env["NUMBA_DISABLE_JIT"] = "1"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT, str(ROOT / "examples" / scenario)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("scenario", ["lab-small.toml", "seniority.toml", "one-slot.toml", "capped-subject.toml"])
def test_end_state_compiled_equals_interpreted(scenario):
    """Every state array and the transfer log are the same bit for bit, compiled and interpreted."""
    compiled, interpreted = end_state(scenario, True), end_state(scenario, False)
    assert compiled == interpreted
    assert int(compiled.split()[1]) > 0
