"""Scenario overrides and parameter grids: ``--set KEY=VALUE`` and ``--vary KEY=V1,V2,...``.

An override's value is read as TOML (numbers, booleans, strings, arrays, tables; a bare word is a
string). A ``--vary`` value is read the same way; a bare number with a unit prefix — ``50k``,
``1.5M``, ``256Ki`` — is shorthand for a rate (``50kB/s``) or, where the key is a size, a size
(``50kB``): the prefixes are those of ``sim.units`` (k, M, G, T = powers of 1000; Ki, Mi, Gi, Ti =
powers of 1024), and the scenario's own validation decides which of the two the key takes.
A grid is the cartesian product of the ``--vary`` lists, one ``Cell`` per combination.
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sim.scenario import Scenario, ScenarioError, default_scenario_path, read_scenario_bytes, scenario_from_bytes

from .errors import UserError


def parse_override(text: str) -> tuple[str, object]:
    """``key.path=value``; the value is read as TOML (numbers, booleans, strings, arrays, tables)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"--set {text!r}: expected KEY=VALUE, e.g. subject.on_complete=stop")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word: take it as a string
    except RecursionError:
        raise UserError(f"{key.strip()}=...: the value is nested too deeply to read") from None
    return key.strip(), value


def load_with_overrides(path: str | Path | None, overrides: list[str]) -> tuple[Scenario, Path, bytes]:
    """The scenario file (default: the built-in one) with ``KEY=VALUE`` overrides applied and validated;
    returns (scenario, its path, the file's bytes as given)."""
    scenario_path = Path(path) if path else default_scenario_path()
    raw = read_scenario_bytes(scenario_path)  # once: a pipe gives its bytes only once
    sc = scenario_from_bytes(raw, str(scenario_path))
    if overrides:
        changes = dict(parse_override(o) for o in overrides)
        try:
            sc = sc.with_changes(**changes)
        except ScenarioError as e:
            raise ScenarioError(str(e).replace("<override>", f"{scenario_path} with --set {' '.join(overrides)}")) from None
    return sc, scenario_path, raw


_SHORTHAND = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)\s*$")


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

    def overrides(self) -> list[str]:
        """The cell's values as ``KEY=VALUE`` overrides in TOML, so its manifest records them exactly."""
        return [f"{k}={toml_inline(v)}" for k, v in self.values.items()]


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


def dotted_value(sc: Scenario, key: str) -> object:
    """The value of a dotted key in the resolved scenario (None if unset)."""
    node: object = sc.to_dict()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
