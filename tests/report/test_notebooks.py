"""The notebooks execute without error (jupytext -> nbclient), as scripts/run-notebooks.sh runs them.

Select with ``-m notebooks``; deselect with ``-m 'not notebooks'``. About a minute in all.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.notebooks
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MISSING = [m for m in ("jupytext", "nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]


def _execute_module():
    spec = importlib.util.spec_from_file_location("notebooks_execute", NOTEBOOKS / "execute.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(bool(MISSING), reason=f"notebook tools not installed: {MISSING} (pip install jupytext nbclient ipykernel)")
@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")))
def test_notebook_executes(name, tmp_path, monkeypatch):
    """Every cell runs; the last cell prints the provenance."""
    import nbformat

    monkeypatch.setenv("LEECHSIM_NOTEBOOK_BUILD", str(tmp_path / "build"))  # the kernel inherits it

    out = _execute_module().execute(NOTEBOOKS / name, tmp_path)
    nb = nbformat.read(out, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not any(o.get("output_type") == "error" for o in c.get("outputs", [])) for c in code_cells)
    last = "".join(o.get("text", "") for o in code_cells[-1].outputs)
    assert "scenario_sha256" in last and "numba" in last


def test_notebook_two_reads_recorded_lab_runs():
    """Notebook (2), simulator vs lab, works from the recorded validation data, which must exist."""
    text = (NOTEBOOKS / "02_simulator_vs_lab.py").read_text()
    assert "validation\" / \"recorded" in text or '"validation" / "recorded"' in text
    recorded = NOTEBOOKS.parent / "validation" / "recorded"
    assert sorted(p.name for p in recorded.iterdir() if (p / "results.csv").is_file())
