"""Where each scenario parameter came from: evidence, assumption, or a default.

A scenario marks sources in either of two ways (both read from the run's own ``scenario.toml``):

- a top-level ``[sources]`` table mapping dotted keys (or table prefixes) to text starting with
  ``evidence:`` or ``assumed:``::

      [sources]
      "subject.upload" = "evidence: ISP contract, exhibit 12"
      "swarm.leechers" = "assumed: typical LibGen torrent, archive statistics"

  (needs the scenario schema to accept ``[sources]``; until it does, use comments), or
- a trailing comment on the key's line (or on a table header, for the whole table)::

      upload = "2MB/s"    # evidence: ISP contract, exhibit 12
      [swarm.leechers]    # assumed: typical LibGen torrent

The most specific marking wins; ``[sources]`` wins over a comment for the same key. Unmarked
parameters are "scenario file (source not stated)", "command line (--set)", "libtorrent default"
(a settings_pack value the file did not give) or "leechsim default".
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from sim.scenario import LibtorrentSettings, Scenario

from .. import fmt

_MARK = re.compile(r"^\s*(evidence|assumed|assumption|source)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\s*(#.*)?$")
_KEYLINE = re.compile(r"^\s*([A-Za-z0-9_.\-\"']+)\s*=")
_RATE_KEYS = {"upload", "download", "upload_rate_limit", "download_rate_limit"}
_SIZE_KEYS = {"piece_size", "total_size"}


@dataclass(frozen=True)
class Parameter:
    key: str
    value: str
    source: str  # evidence | assumed | scenario file | command line | libtorrent default | leechsim default
    note: str


def _comment(line: str) -> str | None:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[i + 1:]
    return None


def _unquote(key: str) -> str:
    return ".".join(p.strip().strip("\"'") for p in key.split("."))


def marks_from_comments(text: str) -> dict[str, str]:
    marks: dict[str, str] = {}
    table = ""
    for line in text.splitlines():
        if line.lstrip().startswith("[["):
            continue
        h = _HEADER.match(line)
        if h:
            table = _unquote(h[1])
            key = table
        else:
            k = _KEYLINE.match(line)
            if not k:
                continue
            key = f"{table}.{_unquote(k[1])}" if table else _unquote(k[1])
        c = _comment(line)
        m = _MARK.match(c) if c is not None else None
        if m:
            marks[key] = f"{m[1].lower().replace('assumption', 'assumed')}: {m[2]}"
    return marks


def marks_from_table(text: str) -> dict[str, str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    table = data.get("sources", {})
    return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}


def _given_keys(text: str) -> set[str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return set()
    out: set[str] = set()

    def walk(node: dict, prefix: str) -> None:
        for k, v in node.items():
            key = f"{prefix}{k}"
            out.add(key)
            if isinstance(v, dict):
                walk(v, key + ".")

    walk(data, "")
    return out


def _leaves(node: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not ("classes" in v or "dist" in v):
            out += _leaves(v, key + ".")
        else:
            out.append((key, v))
    return out


def format_value(key: str, v: object) -> str:
    name = key.rsplit(".", 1)[-1]
    if name == "files" and isinstance(v, list):
        total = sum(int(f["size"]) for f in v)
        return f"{len(v)} files, {fmt.nbytes_exact(total)} in total (full list in scenario.resolved.toml)"
    if name == "peer" and isinstance(v, list):
        seeds = sum(1 for p in v if p.get("role") == "seed")
        return (f"{len(v)} explicit peers ({seeds} seeds, {len(v) - seeds} leechers; "
                "full list in scenario.resolved.toml)")
    if name == "rate_per_s" and isinstance(v, (int, float)):
        return f"{v:g} arrivals per second (one every {1 / v:,.0f} s)" if v else "0 arrivals per second"
    one = (fmt.rate if name in _RATE_KEYS else fmt.nbytes_exact if (name in _SIZE_KEYS or name.endswith("_bytes"))
           else fmt.seconds if (name.endswith("_s") or name == "seed_time") else None)
    if one is None or isinstance(v, bool):
        return str(v).lower() if isinstance(v, bool) else str(v)
    if name in ("upload_rate_limit", "download_rate_limit") and v == 0:
        return "0 (unlimited)"
    if isinstance(v, (int, float)):
        return one(v)
    if isinstance(v, dict) and "classes" in v:
        return "; ".join(f"{100 * c['share']:g}% {one(c['value'])}" for c in v["classes"])
    if isinstance(v, dict):
        parts = [f"{k} {one(x) if k != 'sigma' else x}" for k, x in v.items() if k != "dist"]
        return f"{v['dist']}: " + ", ".join(parts)
    return str(v)


def parameter_table(sc: Scenario, scenario_raw: str, overrides: list[str]) -> list[Parameter]:
    marks = marks_from_comments(scenario_raw)
    marks.update(marks_from_table(scenario_raw))
    given = _given_keys(scenario_raw)
    overridden = {o.partition("=")[0].strip() for o in overrides}
    lt_fields = set(LibtorrentSettings.model_fields)
    rows = []
    for key, v in _leaves(sc.to_dict()):
        if key == "sources" or key.startswith("sources."):
            continue  # the markings themselves are shown as the rows' sources, not as parameters
        mark = next((marks[p] for p in _prefixes(key) if p in marks), None)
        if mark:
            kind, _, note = mark.partition(":")
            source, note = (kind.strip(), note.strip()) if kind.strip() in ("evidence", "assumed", "source") else ("stated", mark)
        elif key in overridden:
            source, note = "command line", "--set " + next(o for o in overrides if o.partition("=")[0].strip() == key)
        elif key in given:
            source, note = "scenario file", "source not stated"
        elif key.rsplit(".", 1)[-1] in lt_fields and ".libtorrent." in key:
            source, note = "libtorrent default", "settings_pack default (not given in the scenario)"
        else:
            source, note = "leechsim default", "not given in the scenario"
        if key in overridden and mark:
            note += " (set with --set on the command line)"
        rows.append(Parameter(key, format_value(key, v), source, note))
    return rows


def _prefixes(key: str) -> list[str]:
    """'a.b.c' -> ['a.b.c', 'a.b', 'a']: the most specific first."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
