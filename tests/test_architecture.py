"""House rules that keep the layers honest: sim <- forensics <- leechsim (the CLI), no I/O in the model core."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sim_never_imports_forensics():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "sim").rglob("*.py")
                 if any(m == "forensics" or m.startswith("forensics.") for m in imported_modules(p))]
    assert offenders == []


def _importers_of(package: str, outside: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for folder in outside for p in folder.rglob("*.py")
            if any(m == package or m.startswith(package + ".") for m in imported_modules(p))]


def test_nothing_outside_the_cli_imports_it():
    """The command line (leechsim/) sits on top: the library, the model, notebooks and benchmarks never call it."""
    outside = [ROOT / "sim", ROOT / "forensics", ROOT / "notebooks", ROOT / "benchmarks", ROOT / "scripts"]
    assert _importers_of("leechsim", outside) == []


def test_the_library_has_no_hidden_imports_of_the_cli_through_relative_paths():
    """forensics/ holds no CLI module any more (the old forensics/cli package is gone)."""
    assert not (ROOT / "forensics" / "cli").exists()


def test_kernels_do_no_io_and_draw_no_random_numbers():
    for p in (ROOT / "sim" / "kernels").glob("*.py"):
        text = p.read_text()
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        for banned in ("open(", "np.random", "random.", "print("):
            assert banned not in code, f"{p.name} uses {banned}"
        assert "fastmath" not in text, f"{p.name}: fastmath breaks bit-reproducibility"


def test_console_script_runs_the_default_scenario(tmp_path):
    """The installed `leechsim` entry point, as the README's first command uses it."""
    out = subprocess.run([sys.executable, "-m", "leechsim", "simulate", "--runs", "2", "--out", str(tmp_path / "r")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Subject upload while leeching" in out.stdout
    assert (tmp_path / "r" / "manifest.json").is_file()
