"""Golden outputs: the files leechsim writes for five small fixed cases, recorded once and compared.

The cases (all seconds long): a simulated run, a sweep, a report (Markdown, its data and figures),
a validation table (simulator against a recorded lab run of the calibration matrix) and a verify
re-run. ``produce(workdir)`` runs them with the CLI in-process inside ``workdir`` (relative paths,
one worker) and returns the exit codes and printed text; ``normalized(workdir)`` reads every output
file with the parts that legitimately differ between two runs masked: UTC times, the git commit,
the command's absolute paths, the machine's platform string (its kernel release changes when the
host is updated: a CI run on 2026-12-04 had another build of the same kernel), and the hashes of
files that hold them.

Regenerate after a deliberate change of the model or of an output format (the comparison test
fails on any other change):

    PYTHONPATH=. python3 -m tests.golden --update
"""

from __future__ import annotations

import io
import json
import platform
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
SCENARIO = REPO / "tests" / "report" / "data" / "small-books.toml"
MATRIX_CASE = "v01-flash-slow-seed"

# (name, arguments); run in this order inside the work directory.
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("simulate", ("simulate", "scenario.toml", "--runs", "3", "--seed", "5", "--workers", "1", "--out", "run")),
    ("sweep", ("sweep", "scenario.toml", "--vary", "subject.libtorrent.upload_rate_limit=0,50k",
               "--vary", "subject.on_complete=stop,never_stop", "--runs", "2", "--workers", "1", "--out", "sweep")),
    ("report", ("report", "report-run", "--variant-runs", "2", "--workers", "1")),
    ("validate", ("validate", "--matrix", "matrix", "--sim-runs", "3", "--out", "validation",
                  "--doc", "validation.md")),
    ("verify", ("verify", "run", "--workers", "1", "--keep", "verify-rerun")),
)

_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_COMMIT = re.compile(rb"\b[0-9a-f]{40}(?:\+dirty)?(?![0-9a-f])")  # a git commit (SHA-256s are longer)
# Files holding a time, a commit or a path; their digests in hash lists are masked too.
_MASKED_NAMES = {"manifest.json", "sweep.json", "report.md", "report.html", "SHA256SUMS", "report.SHA256SUMS"}


def _cli(args: list[str]) -> tuple[int, str, str]:
    from leechsim.env import Environment
    from leechsim.main import main

    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(args, env)
    return int(code), env.stdout.getvalue(), env.stderr.getvalue()


def produce(work: Path) -> dict[str, dict]:
    """Run every case in ``work`` (which must be empty); {case: {exit, stdout}}."""
    import os

    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCENARIO, work / "scenario.toml")
    (work / "matrix" / "recorded").mkdir(parents=True)
    shutil.copy(REPO / "validation" / f"{MATRIX_CASE}.toml", work / "matrix")
    shutil.copytree(REPO / "validation" / "recorded" / MATRIX_CASE, work / "matrix" / "recorded" / MATRIX_CASE)
    here = Path.cwd()
    os.chdir(work)
    try:
        out = {}
        for name, args in CASES:
            if name == "report":
                shutil.copytree("run", "report-run")
            code, stdout, stderr = _cli(list(args))
            if code != 0:
                raise RuntimeError(f"golden case {name} failed (exit {code}): {stderr}")
            out[name] = {"exit": code, "stdout": stdout}
        return out
    finally:
        os.chdir(here)


def _mask(rel: str, data: bytes, root: Path) -> bytes:
    data = data.replace(str(root).encode(), b"<WORK>")
    data = data.replace(platform.platform().encode(), b"<PLATFORM>")  # as forensics/provenance.py records it
    data = _TIME.sub(b"<UTC>", data)
    data = _COMMIT.sub(b"<COMMIT>", data)
    name = rel.rsplit("/", 1)[-1]
    if name in ("SHA256SUMS", "report.SHA256SUMS"):
        lines = []
        for line in data.decode().splitlines():
            digest, _, listed = line.partition("  ")
            lines.append(f"{'<MASKED>' if listed.rsplit('/', 1)[-1] in _MASKED_NAMES else digest}  {listed}")
        data = ("\n".join(lines) + "\n").encode()
    if name == "report.html":  # figures are compared as PNG files; the page only embeds them
        data = re.sub(rb"data:image/png;base64,[A-Za-z0-9+/=]+", b"data:image/png;base64,<PNG>", data)
    return data


def normalized(work: Path) -> dict[str, bytes]:
    """Every output file under ``work`` (relative path -> masked bytes), inputs left out."""
    inputs = {"scenario.toml"}
    out = {}
    for p in sorted(work.rglob("*")):
        rel = p.relative_to(work).as_posix()
        if p.is_file() and rel not in inputs and not rel.startswith("matrix/"):
            out[rel] = _mask(rel, p.read_bytes(), work)
    return out


def printed(results: dict[str, dict]) -> bytes:
    """What the commands printed, as one JSON document (the verify re-run command line is masked:
    it echoes how the re-run was started, not a result)."""
    shown = {}
    for name, r in results.items():
        text = re.sub(r"(?m)^re-running: .*$", "re-running: <COMMAND>", r["stdout"])
        shown[name] = {"exit": r["exit"], "stdout": _TIME.sub(b"<UTC>", text.encode()).decode()}
    return (json.dumps(shown, indent=2, sort_keys=True) + "\n").encode()
