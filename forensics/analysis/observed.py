"""Observed against simulated: is what the client's own counter says consistent with a policy?

For each observed value (``[evidence]``) and each completion policy simulated on the same seeds:

- the **percentile** of the observed value in the simulated distribution (mid-rank: ties count
  half, so a value equal to every replication sits at the 50th percentile);
- whether it lies inside the **90% interval widened by the validated model error**: the
  interval [p5, p95] of the replications, each end moved outwards by the model's median absolute
  relative error against real libtorrent for that quantity (``docs/validation.json``, written by
  ``leechsim validate``). The total upload is the sum of the upload while leeching and after
  completion, so its relative error is at most the larger of theirs; a quantity that was not
  validated is not widened, and the table says so; the lower end stops at 0 (no
  [evidence] quantity is negative);
- the **likelihood ratio** between policies: the density of the observed value under each
  policy, estimated from its replications with one Gaussian kernel per replication whose width is
  the model error at that value (at least the sample's Silverman bandwidth and one unit of
  granularity: a 16 KiB block, a second, a peer), divided by the density under the policy as
  run. A ratio of 100 means the observation is 100 times more probable under that policy.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.layout import BLOCK_BYTES
from sim.scenario import Scenario

from .counterfactuals import DEFAULT_CAP_BPS, Variant

DOCS_VALIDATION = Path(__file__).resolve().parents[2] / "docs" / "validation.json"
DEFAULT_SEED_FOR_S = 3600.0
DEFAULT_RATIO = 1.0
# the smallest meaningful difference of each quantity: the width no kernel goes below
GRANULARITY = {"subject_upload_total_bytes": BLOCK_BYTES, "subject_upload_leech_bytes": BLOCK_BYTES,
               "subject_download_bytes": BLOCK_BYTES, "subject_download_time_s": 1.0, "peers_received_block": 1.0}
# a quantity whose model error is bounded by that of others (a sum: at most the larger relative error)
ERROR_FROM_PARTS = {"subject_upload_total_bytes": ("subject_upload_leech_bytes", "subject_upload_seed_bytes")}


def policy_variants(sc: Scenario, seed_for_s: float = DEFAULT_SEED_FOR_S, ratio: float = DEFAULT_RATIO,
                    cap_bps: int = DEFAULT_CAP_BPS) -> list[Variant]:
    """The completion policies the observation is tested against (the subject's other settings as run)."""
    clear = {"subject.seed_for_s": None, "subject.seed_until_ratio": None}
    return [
        Variant("stop", "stops at completion", {"subject.on_complete": "stop", **clear}),
        Variant("seed_for", f"seeds for {seed_for_s:g} s", {**clear, "subject.on_complete": "seed_for",
                                                            "subject.seed_for_s": seed_for_s}),
        Variant("seed_until_ratio", f"seeds until ratio {ratio:g}", {**clear, "subject.on_complete": "seed_until_ratio",
                                                                     "subject.seed_until_ratio": ratio}),
        Variant("never_stop", "never stops", {"subject.on_complete": "never_stop", **clear}),
        Variant("capped", f"never stops with upload capped at {cap_bps:,} B/s",
                {"subject.on_complete": "never_stop", **clear, "subject.libtorrent.upload_rate_limit": cap_bps}),
    ]


@dataclass(frozen=True)
class ModelError:
    rel_error: float  # 0 when not validated
    source: str  # how it was obtained, for the report


def validated_errors(path: Path | None = None) -> dict[str, ModelError]:
    """Median |relative error| per quantity from a validation.json (default: the project's)."""
    path = path or DOCS_VALIDATION
    try:
        table = json.loads(path.read_text())["error_rate"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    import hashlib
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    out = {q: ModelError(float(e["median_abs_rel_error"]), f"median |relative error|, {path.name} sha256 {sha}")
           for q, e in table.items() if isinstance(e, dict) and e.get("median_abs_rel_error") is not None}
    for q, parts in ERROR_FROM_PARTS.items():
        if q not in out and all(p in out for p in parts):
            out[q] = ModelError(max(out[p].rel_error for p in parts),
                                f"the larger of {', '.join(parts)} ({path.name} sha256 {sha}): a sum's relative error "
                                "is at most its parts'")
    return out


@dataclass(frozen=True)
class Comparison:
    policy: str
    label: str
    quantity: str
    observed: float
    n: int
    percentile: float
    p5: float
    p95: float
    low: float  # the widened interval
    high: float
    rel_error: float  # the widening used (0: not validated)
    inside: bool
    log_density: float  # natural log of the estimated density at the observed value

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def percentile_of(x: float, values: np.ndarray) -> float:
    """Mid-rank percentile of x among the values (NaN left out): ties count half."""
    v = values[~np.isnan(values)]
    if not len(v):
        return math.nan
    return 100.0 * (np.count_nonzero(v < x) + 0.5 * np.count_nonzero(v == x)) / len(v)


def log_density(x: float, values: np.ndarray, rel_error: float, granularity: float) -> float:
    """log of mean_i N(x; y_i, s_i), s_i = max(rel_error |y_i|, Silverman bandwidth, granularity)."""
    v = values[~np.isnan(values)]
    if not len(v):
        return -math.inf
    sd = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
    iqr = float(np.subtract(*np.percentile(v, [75, 25])))
    spread = min(sd, iqr / 1.34) if iqr > 0 else sd
    silverman = 0.9 * spread * len(v) ** -0.2
    s = np.maximum(np.maximum(rel_error * np.abs(v), silverman), granularity)
    z = -0.5 * ((x - v) / s) ** 2 - np.log(s) - 0.5 * math.log(2 * math.pi)
    m = float(z.max())
    return m + math.log(float(np.exp(z - m).mean()))


def compare(observed: dict[str, float], policy: str, label: str, samples: dict[str, np.ndarray],
            errors: dict[str, ModelError]) -> list[Comparison]:
    out = []
    for q, x in observed.items():
        v = np.asarray(samples[q], dtype=np.float64)
        ok = v[~np.isnan(v)]
        e = errors[q].rel_error if q in errors else 0.0
        if len(ok):
            p5, p95 = (float(a) for a in np.percentile(ok, [5, 95]))
        else:
            p5 = p95 = math.nan
        low, high = max(0.0, p5 - e * abs(p5)), p95 + e * abs(p95)  # every [evidence] quantity is >= 0
        out.append(Comparison(policy, label, q, float(x), int(len(ok)), percentile_of(float(x), v), p5, p95, low, high,
                              e, bool(low <= x <= high), log_density(float(x), v, e, GRANULARITY.get(q, 1.0))))
    return out


def observed_rows(sc: Scenario, results: dict[str, np.ndarray], errors: dict[str, ModelError] | None = None,
                  validation: Path | None = None) -> list[dict]:
    """The [evidence] values against one run's replications, as rows of observed.csv."""
    if sc.evidence is None:
        return []
    observed = sc.evidence.observed()
    errors = validated_errors(validation) if errors is None else errors
    comps = compare(observed, "as_run", f"as run ({sc.subject.on_complete})", results, errors)
    return [{**{k: v for k, v in c.as_row().items() if k not in ("policy", "label")},
             "model_error_source": errors[c.quantity].source if c.quantity in errors else "not validated"}
            for c in comps]


def likelihood_ratio(a: Comparison, base: Comparison) -> float:
    """How many times more probable the observation is under ``a``'s policy than under ``base``'s."""
    if math.isinf(a.log_density) and math.isinf(base.log_density):
        return math.nan
    return math.exp(min(700.0, max(-700.0, a.log_density - base.log_density)))
