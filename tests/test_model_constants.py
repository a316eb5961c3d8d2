"""Every behavioural constant of the model's kernels is documented with its source in docs/model.md
("Every constant of the model"): a libtorrent setting, a constant of libtorrent's source, or a
lab measurement. A kernel module that gains a module-level numeric constant fails this test until
the table (or its list of non-behavioural constants) names it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = [*sorted((ROOT / "sim" / "kernels").glob("*.py")), ROOT / "sim" / "protocol.py",
           ROOT / "sim" / "session.py", ROOT / "sim" / "engine.py", ROOT / "sim" / "warm_start.py"]
NOT_NUMBERS = {"hashing.py",  # SplitMix64's multipliers: a hash, not behaviour
               "connect.py"}  # result codes of a connection attempt, not behaviour


def _is_number(v: ast.expr) -> bool:
    """A number, arithmetic on numbers, or numpy's scalar constructor of one (np.int64(2**31 - 1))."""
    if isinstance(v, ast.Constant):
        return isinstance(v.value, (int, float)) and not isinstance(v.value, bool)
    if isinstance(v, ast.UnaryOp):
        return _is_number(v.operand)
    if isinstance(v, ast.BinOp):
        return _is_number(v.left) and _is_number(v.right)
    if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in ("int64", "float64", "int32"):
        return len(v.args) == 1 and _is_number(v.args[0])
    return False


def _numeric_constants(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if not name.isupper() or name.startswith("_"):
                continue
            if _is_number(node.value):
                names.add(name)
    return names


def test_every_kernel_constant_is_documented():
    doc = (ROOT / "docs" / "model.md").read_text()
    section = doc[doc.index("## Every constant of the model"):doc.index("## Simplifications")]
    missing = sorted(f"{p.name}: {name}" for p in MODULES if p.name not in NOT_NUMBERS
                     for name in _numeric_constants(p) if f"`{name}`" not in section)
    assert not missing, f"constants not in docs/model.md's table: {missing}"


def test_the_check_sees_constants():
    """The parser finds the constants it must: a check that saw none would pass vacuously."""
    found = _numeric_constants(ROOT / "sim" / "kernels" / "bandwidth.py")
    assert {"QUOTA_BURST_S", "REQUEST_TTL_TICKS", "DOWNLOAD_RATE_FACTOR", "REQUEST_QUEUE_MIN_BLOCKS"} <= found
    assert "SERVE_KEY_MAX" in _numeric_constants(ROOT / "sim" / "kernels" / "transfer.py")  # np.int64(2**31 - 1)


def test_every_scenario_setting_is_documented():
    """Each settings_pack field of the scenario's [*.libtorrent] tables is named in the section:
    in its list of scenario settings or in the table."""
    from sim.scenario import LibtorrentSettings

    doc = (ROOT / "docs" / "model.md").read_text()
    section = doc[doc.index("## Every constant of the model"):doc.index("## Simplifications")]
    missing = sorted(name for name in LibtorrentSettings.model_fields if f"`{name}`" not in section)
    assert not missing, f"scenario settings not in docs/model.md's constants section: {missing}"
