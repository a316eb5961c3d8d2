"""The simulator against the real lab: the same scenario's run directories, compared quantity by
quantity, with the error rate an admissibility challenge asks for.

For each quantity: the lab's median and range over its runs, the simulator's median and 90%
interval (5th–95th percentile) over its replications, the relative error of the medians, and
whether every lab run falls inside the simulator's interval. How precisely a few lab runs fix the
lab's own median is reported beside it: a distribution-free interval for the median from the runs'
order statistics (``median_interval``), and whether the simulator's median lies inside it. Targets (issue "Validation"): upload
while leeching within ±10% and every lab run inside the interval; download time and upload after
completion within ±15%. The per-peer distribution of the subject's upload (the share of it that
the k-th largest recipient got) is compared as well, and reported without a target.

Two more numbers per comparison say how much a hit or a miss means:
- ``crps_scaled``: the continuous ranked probability score of every lab run under the simulator's
  replications (a proper scoring rule: lower is better; it rewards a distribution both centred and
  as narrow as the lab's spread allows), averaged over the lab runs and divided by the lab median
  (by ZERO_FRACTION of the torrent where that is larger). It uses every lab run, not only the median.
- ``exact_pass_probability``: if the simulator were exact, the lab runs would be draws from its own
  distribution; the probability that the comparison would then be met with this many lab runs
  (estimated from EXACT_DRAWS sets of draws, seeded by the scenario and quantity, so the same inputs
  give the same number). Few lab runs make a target a coin toss even for an exact model.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..rundir import RunData, RunDirError, load_run
from .exposure import ranked_recipients

# (quantity, relative tolerance of the medians, must every lab run be inside the sim interval?)
QUANTITIES: tuple[tuple[str, float, bool], ...] = (
    ("subject_upload_leech_bytes", 0.10, True),
    ("subject_upload_seed_bytes", 0.15, False),
    ("subject_download_time_s", 0.15, False),
)
# A lab median this close to zero (share of the torrent) is compared in absolute terms instead.
ZERO_FRACTION = 0.01
TOP_K = 3
# The least confidence of the lab median's interval: the narrowest pair of order statistics that
# covers the median with at least this probability (three runs reach exactly 75%: their range)
MEDIAN_CI_LEVEL = 0.75
EXACT_DRAWS = 20000  # sets of lab runs drawn from the simulator's replications (exact_pass_probability)


def median_interval(values) -> tuple[float, float, float]:
    """A distribution-free interval for the median of the distribution ``values`` were drawn from
    (independent runs, any continuous distribution): the order statistics [x(k), x(n+1-k)] with
    the largest k whose coverage, 1 - 2 P(Binomial(n, 1/2) <= k - 1), is at least MEDIAN_CI_LEVEL.
    Returns (low, high, coverage). With too few runs for that level (one or two), their range and
    its coverage (0 and 0.5)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0:
        raise ValueError("no values")

    def coverage(k: int) -> float:
        return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0 ** n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= MEDIAN_CI_LEVEL:
        k += 1
    return float(x[k - 1]), float(x[n - k]), coverage(k)


@dataclass
class Comparison:
    scenario: str
    quantity: str
    lab_runs: int
    lab_median: float
    lab_min: float
    lab_max: float
    sim_replications: int
    sim_median: float
    sim_p5: float
    sim_p95: float
    rel_error: float | None  # (sim - lab) / lab of the medians; None when the lab median is ~0
    abs_error: float
    lab_inside: int  # lab runs inside the simulator's 90% interval
    tolerance: float
    needs_inside: bool
    met: bool
    # the lab median's own interval (median_interval) and whether the simulator's median is inside
    lab_median_low: float = math.nan
    lab_median_high: float = math.nan
    lab_median_level: float = math.nan
    sim_in_lab_median_interval: bool = False
    crps_scaled: float = math.nan  # the lab runs' mean CRPS under the simulator, divided by the scale
    exact_pass_probability: float = math.nan  # P(met) if the lab runs were draws from the simulator

    def row(self) -> dict:
        return dict(self.__dict__)


def _column(run: RunData, key: str) -> np.ndarray:
    vals = np.asarray(run.results[key], dtype=np.float64)
    return vals[~np.isnan(vals)]


def crps(sim: np.ndarray, x: float) -> float:
    """The CRPS of observation x under the empirical distribution of ``sim``:
    E|S - x| - E|S - S'| / 2, the second term from the sorted sample."""
    s = np.sort(np.asarray(sim, dtype=np.float64))
    n = len(s)
    i = np.arange(1, n + 1)
    mean_pair_gap = 2.0 * float(np.sum((2 * i - n - 1) * s)) / (n * n)
    return float(np.mean(np.abs(s - x))) - 0.5 * mean_pair_gap


def meets(sim_med: float, lab_medians: np.ndarray, tol: float, zero_bytes: float | None) -> np.ndarray:
    """The tolerance rule for one simulator median against many lab medians: relative, or absolute
    (within ``zero_bytes``) where the lab median is within ``zero_bytes`` of zero."""
    lab_medians = np.asarray(lab_medians, dtype=np.float64)
    rel_ok = np.abs(sim_med - lab_medians) <= tol * np.abs(lab_medians)
    if zero_bytes is None:
        return rel_ok
    return np.where(np.abs(lab_medians) <= zero_bytes, np.abs(sim_med - lab_medians) <= zero_bytes, rel_ok)


def exact_pass_probability(sim: np.ndarray, n_lab: int, tol: float, inside: bool, zero_bytes: float | None,
                           seed_text: str, draws: int = EXACT_DRAWS) -> float:
    """P(the comparison is met) if the ``n_lab`` lab runs were draws from the simulator's own
    replications: ``draws`` such sets, from a generator seeded by ``seed_text``."""
    sim = np.asarray(sim, dtype=np.float64)
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    runs = rng.choice(sim, size=(draws, n_lab))
    ok = meets(float(np.median(sim)), np.median(runs, axis=1), tol, zero_bytes)
    if inside:
        p5, p95 = np.percentile(sim, [5, 95])
        ok &= np.all((runs >= p5) & (runs <= p95), axis=1)
    return float(ok.mean())


def compare_quantity(name: str, quantity: str, lab: np.ndarray, sim: np.ndarray, tol: float, inside: bool,
                     torrent_bytes: int) -> Comparison:
    lab_med, sim_med = float(np.median(lab)), float(np.median(sim))
    p5, p95 = (float(x) for x in np.percentile(sim, [5, 95]))
    zero = ZERO_FRACTION * torrent_bytes if quantity.endswith("_bytes") else None
    near_zero = zero is not None and abs(lab_med) <= zero
    rel = None if near_zero or lab_med == 0 else (sim_med - lab_med) / lab_med
    n_in = int(np.sum((lab >= p5) & (lab <= p95)))
    if near_zero:  # both must be ~0: within ZERO_FRACTION of the torrent
        ok = abs(sim_med - lab_med) <= zero
    else:
        ok = rel is not None and abs(rel) <= tol
    if inside:
        ok = ok and n_in == len(lab)
    lo, hi, level = median_interval(lab)
    scale = max(abs(lab_med), zero or 0.0)
    score = float(np.mean([crps(sim, float(x)) for x in lab])) / scale if scale > 0 else math.nan
    p_exact = exact_pass_probability(sim, len(lab), tol, inside, zero, f"{name}|{quantity}")
    return Comparison(name, quantity, len(lab), lab_med, float(lab.min()), float(lab.max()), len(sim), sim_med,
                      p5, p95, rel, sim_med - lab_med, n_in, tol, inside, bool(ok), lo, hi, level,
                      bool(lo <= sim_med <= hi), score, p_exact)


def recipient_shares(run: RunData) -> np.ndarray:
    """Per replication, the share of the subject's upload received by its 1st, 2nd, ... k-th largest recipient."""
    out = []
    for i in range(run.replications):
        got = ranked_recipients(run.peers(i))
        total = got.sum()
        top = got[:TOP_K] / total if total > 0 else np.zeros(TOP_K)
        out.append(np.pad(top, (0, TOP_K - len(top))))
    return np.array(out).reshape(-1, TOP_K)


def compare_sim_with_lab(name: str, lab_dir: Path, sim_dir: Path) -> dict:
    """Compare a lab run directory with a simulate run directory of the same scenario."""
    lab, sim = load_run(lab_dir), load_run(sim_dir)
    if lab.manifest.get("scenario_sha256") != sim.manifest.get("scenario_sha256"):
        raise RunDirError(f"{lab_dir} and {sim_dir} were made from different scenario files (SHA-256 differs)")
    size = sim.layout.total_bytes
    rows = []
    for quantity, tol, inside in QUANTITIES:
        lab_vals, sim_vals = _column(lab, quantity), _column(sim, quantity)
        if len(lab_vals) == 0 or len(sim_vals) == 0:
            raise RunDirError(f"{name}: no value of {quantity} in {'the lab' if len(lab_vals) == 0 else 'the simulator'} "
                              "runs (did the subject complete?)")
        rows.append(compare_quantity(name, quantity, lab_vals, sim_vals, tol, inside, size))
    lab_sh, sim_sh = recipient_shares(lab), recipient_shares(sim)
    shares = {"lab_mean": lab_sh.mean(axis=0).tolist(), "sim_median": np.median(sim_sh, axis=0).tolist(),
              "max_abs_difference": float(np.max(np.abs(lab_sh.mean(axis=0) - np.median(sim_sh, axis=0))))}
    return {"scenario": name, "comparisons": rows, "recipient_shares": shares,
            "lab_libtorrent": lab.manifest.get("software", {}).get("libtorrent"),
            "lab_runs": lab.replications, "sim_replications": sim.replications}


def error_rate(results: list[dict]) -> dict:
    """The measured error of the model over a set of scenarios: what a report cites."""
    by_q: dict[str, list[Comparison]] = {}
    for r in results:
        for c in r["comparisons"]:
            by_q.setdefault(c.quantity, []).append(c)
    out = {}
    for q, cs in by_q.items():
        rels = [abs(c.rel_error) for c in cs if c.rel_error is not None]
        out[q] = {"scenarios": len(cs), "met": sum(c.met for c in cs),
                  "median_abs_rel_error": float(np.median(rels)) if rels else None,
                  "max_abs_rel_error": float(max(rels)) if rels else None,
                  "lab_runs_inside_interval": f"{sum(c.lab_inside for c in cs)}/{sum(c.lab_runs for c in cs)}",
                  "sim_median_in_lab_median_interval": f"{sum(c.sim_in_lab_median_interval for c in cs)}/{len(cs)}",
                  "median_crps_scaled": _median_finite([c.crps_scaled for c in cs]),
                  "exact_model_expected_met": float(sum(c.exact_pass_probability for c in cs)),
                  "exact_model_met_counts": [float(p) for p in met_count_distribution(
                      [c.exact_pass_probability for c in cs])]}
    return out


def _median_finite(values: list[float]) -> float | None:
    v = [x for x in values if math.isfinite(x)]
    return float(np.median(v)) if v else None


def met_count_distribution(probs: list[float]) -> np.ndarray:
    """P(exactly k comparisons are met), k = 0..len(probs), for independent comparisons."""
    dist = np.array([1.0])
    for p in probs:
        dist = np.convolve(dist, [1.0 - p, p])
    return dist
