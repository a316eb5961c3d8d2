"""The same model against two sets of recordings (of the matrix, or of the hold-outs): per scenario, the lab median of
upload while leeching and of download time in each, the model's median, and its error against
each — from two validation.json files written by `leechsim validate --matrix`. Prints a Markdown
table (validation/ANALYSIS.md, "The matrix re-recorded with independent tick phases" and "The
hold-outs recorded again with independent tick phases").

    git show 3f6bd3c9:docs/validation.json > /tmp/old.json
    python validation/recordings_compare.py /tmp/old.json docs/validation.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

UP, DOWN = "subject_upload_leech_bytes", "subject_download_time_s"


def _rows(path: Path) -> dict[tuple[str, str], dict]:
    try:
        data = json.loads(Path(path).read_text())
        return {(r["scenario"], r["quantity"]): r for r in data["rows"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"recordings_compare: {path}: not a validation.json with 'rows' ({e})") from None


def _error(r: dict) -> str:
    if r["rel_error"] is None:  # judged in absolute terms (a lab median under 1 % of the torrent)
        return f"{r['abs_error'] / 2**20:+.2f} MiB (abs.)"
    return f"{r['rel_error'] * 100:+.1f} %".replace("-", "−")


def table(old: dict, new: dict) -> list[str]:
    lines = ["| scenario | upload while leeching: lab then (runs) | lab now (runs) [range] | model | error then → now "
             "| download time: lab then → now | model | error then → now |",
             "|---|---|---|---|---|---|---|---|"]
    for sc in sorted(k[0] for k in new if k[1] == UP and k in old):
        o, n, od, nd = old[(sc, UP)], new[(sc, UP)], old[(sc, DOWN)], new[(sc, DOWN)]
        lines.append(
            f"| {sc[:3]} | {o['lab_median'] / 2**20:.2f} MiB ({o['lab_runs']}) | {n['lab_median'] / 2**20:.2f} MiB "
            f"({n['lab_runs']}) [{n['lab_min'] / 2**20:.2f}–{n['lab_max'] / 2**20:.2f}] | {n['sim_median'] / 2**20:.2f} "
            f"MiB | {_error(o)} → {_error(n)} | {od['lab_median']:.1f} → {nd['lab_median']:.1f} s | "
            f"{nd['sim_median']:.1f} s | {_error(od)} → {_error(nd)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="validation.json on the earlier recordings")
    ap.add_argument("new", type=Path, help="validation.json on the later recordings")
    a = ap.parse_args(argv)
    print("\n".join(table(_rows(a.old), _rows(a.new))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
