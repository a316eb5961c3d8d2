"""Parameter grids: one run directory per cell of a cartesian product, plus a summary table.

``--vary KEY=V1,V2,...`` values are read exactly like ``simulate --set`` values (as TOML, a bare
word as a string). A value written as a bare number with a unit prefix — ``50k``, ``1.5M``,
``256Ki`` — is shorthand for a rate (``50kB/s``) or, where the key is a size, a size (``50kB``):
the prefixes are those of ``sim.units`` (k, M, G, T = powers of 1000; Ki, Mi, Gi, Ti = powers of
1024), and the scenario's own validation decides which of the two the key takes.
Every cell is written by the ``simulate`` command itself, so each cell directory carries its own
manifest (whose command line re-creates it) and can be checked with ``leechsim verify``.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from sim.results import HEADLINE_FIELDS
from sim.scenario import Scenario, ScenarioError

from .errors import UserError

_SHORTHAND = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)\s*$")
SWEEP_QUANTITIES = HEADLINE_FIELDS


def split_values(text: str) -> list[str]:
    """Split on commas that are not inside quotes, brackets or braces (TOML arrays and tables)."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def parse_value(sc: Scenario, key: str, raw: str, option: str = "--vary") -> object:
    """One value for ``key``, as ``--set`` reads it, with rate/size shorthand; validated against ``sc``."""
    from .cli.simulate_cmd import parse_override

    _, value = parse_override(f"{key}={raw}")
    candidates = [value]
    m = _SHORTHAND.match(raw) if isinstance(value, str) else None
    if m:
        candidates = [f"{m[1]}{m[2]}B/s", f"{m[1]}{m[2]}B"]
    first_error = None
    for cand in candidates:
        try:
            sc.with_changes(**{key: cand})
            return cand
        except ScenarioError as e:
            first_error = first_error or e
    detail = str(first_error).split("\n", 1)[-1].strip()
    hint = f" ('{raw}' was read as the rate {candidates[0]!r} or the size {candidates[1]!r})" if m else ""
    raise UserError(f"{option} {key}={raw}: not a valid value for {key}{hint}: {detail}")


def parse_vary(sc: Scenario, text: str, option: str = "--vary") -> tuple[str, list[str], list[object]]:
    """``KEY=V1,V2,...`` -> (key, the values as given, the values as they go into the scenario)."""
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise UserError(f"{option} {text!r}: expected KEY=V1,V2,..., e.g. subject.libtorrent.upload_rate_limit=0,50k,1M")
    given = split_values(rest)
    if any(not g for g in given):
        raise UserError(f"{option} {text!r}: empty value in the list")
    if len(set(given)) != len(given):
        raise UserError(f"{option} {text!r}: a value is listed twice")
    return key, given, [parse_value(sc, key, g, option) for g in given]


@dataclass(frozen=True)
class Cell:
    index: int
    given: dict[str, str]  # key -> value as written on the command line
    values: dict[str, object]  # key -> value as set into the scenario

    @property
    def name(self) -> str:
        return f"cell-{self.index:03d}"

    def set_args(self) -> list[str]:
        """``--set`` arguments for simulate, as TOML, so the cell's manifest records them exactly."""
        out = []
        for k, v in self.values.items():
            out += ["--set", f"{k}={toml_inline(v)}"]
        return out


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_inline(v: object) -> str:
    """One TOML value on one line (inline tables and arrays), as ``--set`` reads it back."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "inf" if v == float("inf") else "-inf" if v == float("-inf") else "nan" if v != v else repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = (k if _BARE_KEY.match(str(k)) else json.dumps(str(k)) for k in v)
        return "{" + ", ".join(f"{k} = {toml_inline(x)}" for k, x in zip(keys, v.values())) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def grid(varies: list[tuple[str, list[str], list[object]]]) -> list[Cell]:
    """The cartesian product, first ``--vary`` varying slowest."""
    keys = [k for k, _, _ in varies]
    if len(set(keys)) != len(keys):
        raise UserError(f"--vary: a key is varied twice: {sorted(k for k in keys if keys.count(k) > 1)[0]}")
    cells = []
    for i, combo in enumerate(itertools.product(*[list(zip(g, v)) for _, g, v in varies])):
        cells.append(Cell(i, {k: g for k, (g, _) in zip(keys, combo)}, {k: v for k, (_, v) in zip(keys, combo)}))
    return cells


def check_cells(sc: Scenario, cells: list[Cell]) -> None:
    """Every combination must be a valid scenario before any cell runs (values can clash)."""
    for c in cells:
        try:
            sc.with_changes(**c.values)
        except ScenarioError as e:
            raise UserError(f"sweep cell {c.name} ({', '.join(f'{k}={v}' for k, v in c.given.items())}) is not a valid "
                            f"scenario: {str(e).split(chr(10), 1)[-1].strip()}") from None


def run_cell(scenario_path: Path, cell: Cell, out: Path, runs: int | None, seed: int | None,
             workers: int | None, overrides: list[str]) -> None:
    """Write one cell's run directory with the simulate command; a UserError if it fails."""
    from .cli.env import Environment
    from .cli.main import main

    args = ["simulate", str(scenario_path), "--out", str(out)]
    if runs:
        args += ["--runs", str(runs)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if workers:
        args += ["--workers", str(workers)]
    for o in overrides:
        args += ["--set", o]
    args += cell.set_args()
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), progress=False)
    code = main(args, env)
    if code != 0:
        raise UserError(f"sweep cell {cell.name} ({cell.given}) failed: {env.stderr.getvalue().strip()}")


def resolved_value(sc: Scenario, key: str) -> object:
    """The value of a dotted key in the resolved scenario (None if unset)."""
    node: object = sc.to_dict()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def summary_rows(out: Path, cells: list[Cell], scenario: Scenario) -> tuple[list[str], list[list[object]]]:
    """sweep.csv: one row per cell — its parameters (as resolved) and median/p5/p95 of each quantity."""
    from .report.rundata import read_columns
    from .report.stats import describe

    keys = list(cells[0].values)
    header = ["cell", "run_dir", *keys]
    for q in SWEEP_QUANTITIES:
        header += [f"{q}_median", f"{q}_p5", f"{q}_p95"]
    rows = []
    for c in cells:
        res = read_columns(out / "cells" / c.name / "results.csv")
        sc = scenario.with_changes(**c.values)
        row: list[object] = [c.name, f"cells/{c.name}"]
        for k in keys:
            v = resolved_value(sc, k)
            row.append(v if not isinstance(v, (dict, list)) else c.given[k])
        for q in SWEEP_QUANTITIES:
            st = describe(res[q])
            row += [st.median, st.p5, st.p95]
        rows.append(row)
    return header, rows
