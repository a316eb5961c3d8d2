"""The error-rate section: the model's measured error against real libtorrent, or an honest absence.

Reads the ``validation.json`` that ``leechsim validate`` writes (``summary``, ``error_rate`` per
quantity, ``rows`` per comparison). Looked for, in order: the file given with
``report --validation``, ``validation.json`` in the run directory, and the validation table that
ships with the package (``forensics/data/validation.json``: in the source tree a link to
``docs/validation.json``, copied into the wheel when it is built, so an installed leechsim states
the error rate of its own model version). Without one the section says that no error rate can be
stated.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from ..provenance import sha256_file

PACKAGED_VALIDATION = Path(__file__).resolve().parents[1] / "data" / "validation.json"
ABSENT = ("Validation results are not yet available. The model has not yet been measured against real libtorrent "
          "swarms for this report (no validation.json was found: pass `--validation FILE` with the output of "
          "`leechsim validate`), so no error rate can be stated for it. Until then the figures above are model "
          "estimates whose error against real clients is unknown; docs/model.md lists the model's known "
          "simplifications and the analytic checks it passes.")


def _pct(x: object) -> str:
    return "—" if x is None else f"{100 * float(x):.1f}%"


def _expected(e: dict) -> str:
    x = e.get("exact_model_expected_met")
    return "—" if x is None else f"{float(x):.1f}"


def error_rate_section(run_root: Path, given: Path | None = None) -> dict:
    candidates = [given] if given else [run_root / "validation.json", PACKAGED_VALIDATION]
    path = next((p for p in candidates if p is not None and p.is_file()), None)
    if given and path is None:
        raise UserError(f"--validation {given}: no such file")
    if path is None:
        return {"text": ABSENT, "header": [], "rows": []}
    try:
        v = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a validation.json written by 'leechsim validate' ({e})") from None
    if not isinstance(v, dict) or not isinstance(v.get("error_rate"), dict):
        raise UserError(f"{path}: not a validation.json written by 'leechsim validate' (no 'error_rate' table)")
    header = ["Quantity", "Scenarios", "Within target", "Median |relative error|", "Max |relative error|",
              "Lab runs inside the 90% interval", "An exact model would meet"]
    rows = [[q.replace("subject_", ""), e.get("scenarios", "—"), e.get("met", "—"), _pct(e.get("median_abs_rel_error")),
             _pct(e.get("max_abs_rel_error")), e.get("lab_runs_inside_interval", "—"), _expected(e)]
            for q, e in v["error_rate"].items()]
    text = (f"Measured error of the model against real libtorrent swarms in the lab, from {path.name} "
            f"(SHA-256 {sha256_file(path)}). {v.get('summary', '')} Relative error is (simulated median − lab median) / "
            f"lab median per scenario; the scenarios are the validation matrix, not this case's scenario. The last "
            f"column is how many scenarios' targets the model would meet on average if it were exact (the lab runs "
            f"then being draws from its own distribution): with a few lab runs per scenario, even an exact model "
            f"misses some.")
    return {"text": text, "header": header, "rows": rows}
