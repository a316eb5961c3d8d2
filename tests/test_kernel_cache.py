"""The compiled-kernel cache is keyed to the kernels' sources (sim/kernels/__init__.py)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "from sim.kernels.bandwidth import send_buffer_bytes; print(int(send_buffer_bytes(0.0, 10240.0, 512000.0, 0.5)))"


def _probe(tree: Path, cache: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_an_edited_callee_module_is_recompiled(tmp_path):
    """send_buffer_bytes (bandwidth.py) uses BLOCK_BYTES from sim/protocol.py. numba's own cache
    would keep the compiled value after protocol.py changes, since bandwidth.py did not; keyed to
    every kernel source, the edited copy compiles anew and the result follows the edit."""
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "sim", tree / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    assert _probe(tree, cache) == 16384
    assert _probe(tree, cache) == 16384  # from the cache
    first = {p.name for p in cache.iterdir()}
    assert len(first) == 1 and any((cache / next(iter(first))).rglob("*.nbi"))
    proto = tree / "sim" / "protocol.py"
    text = proto.read_text()
    assert "BLOCK_BYTES = 16 * 1024" in text
    proto.write_text(text.replace("BLOCK_BYTES = 16 * 1024", "BLOCK_BYTES = 32 * 1024"))
    assert _probe(tree, cache) == 32768
    assert len({p.name for p in cache.iterdir()} - first) == 1  # a new cache directory
