"""Provenance as data: the versioned manifest every run directory carries, and its hash list."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path

MANIFEST_VERSION = 1
HASH_FILE = "SHA256SUMS"


def utc_now(microseconds: bool = True) -> str:
    """UTC time in ISO 8601; manifests keep microseconds (they order events), reports show whole seconds."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if microseconds else "%Y-%m-%dT%H:%M:%SZ")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """The commit of the source tree this code runs from, if it is a git checkout."""
    here = Path(__file__).resolve().parent.parent
    try:
        top = subprocess.run(["git", "-C", str(here), "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                             timeout=5)
        # an installed copy can sit inside some other repository (a venv in a checkout): only a
        # checkout whose top is this source tree has the commit of this code
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != here:
            return None
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def software_stack() -> dict[str, object]:
    stack: dict[str, object] = {
        "leechsim": _version("leechsim"),
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    for dist in ("numpy", "numba", "llvmlite", "simpy", "pydantic", "libtorrent"):
        stack[dist] = _version(dist)
    return stack


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_list(root: Path) -> str:
    """``sha256sum``-compatible listing of every file under root except the list itself."""
    lines = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != HASH_FILE:
            lines.append(f"{sha256_file(p)}  {p.relative_to(root).as_posix()}")
    return "\n".join(lines) + "\n"


def read_hash_list(root: Path, listing: str = HASH_FILE) -> dict[str, str]:
    """{relative path: SHA-256} from a ``sha256sum``-style listing in root (default: SHA256SUMS)."""
    out = {}
    for line in (Path(root) / listing).read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name:
            out[name] = digest
    return out


def check_hash_list(root: Path, also_allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Problems found comparing files with the hash list; empty when everything matches.

    ``also_allowed``: files that may exist without being listed (derived files with their own list).
    """
    if not (root / HASH_FILE).is_file():
        return [f"{HASH_FILE}: missing, so no file of this run can be checked"]
    listed = read_hash_list(root)
    problems = []
    for name, digest in listed.items():
        f = root / name
        if not f.is_file():
            problems.append(f"{name}: listed in {HASH_FILE} but missing")
        elif sha256_file(f) != digest:
            problems.append(f"{name}: content differs from its SHA-256 in {HASH_FILE}")
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and p.name != HASH_FILE and rel not in listed and rel not in also_allowed:
            problems.append(f"{rel}: not in {HASH_FILE} (added after the run was written)")
    return problems
