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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_within(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that a file imports, anywhere in it (function-level imports too)."""
    me = _module_name(path)
    base = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            stem = ".".join(base[: len(base) - node.level + 1]) if node.level else ""
            mod = ".".join(x for x in (stem, node.module or "") if x)
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        out.update(n for n in names if n == package or n.startswith(package + "."))
    return out


def test_the_library_has_no_import_cycles():
    """forensics/ reads in one direction: no module reaches itself again through its imports."""
    files = {_module_name(p): p for p in (ROOT / "forensics").rglob("*.py")}
    graph = {m: {i for i in _imports_within(p, "forensics") if i in files and i != m and not m.startswith(i + ".")
                 and i != "forensics"} for m, p in files.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path + [m, n]
            if n not in state and (cycle := visit(n, path + [m])):
                return cycle
        state[m] = 2
        return None

    cycles = [c for m in sorted(graph) if m not in state and (c := visit(m, []))]
    assert cycles == [], " -> ".join(cycles[0]) if cycles else ""
