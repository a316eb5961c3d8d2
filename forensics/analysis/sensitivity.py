"""Sensitivity: how the headline quantity moves over each uncertain parameter's range (a tornado).

Each parameter is set to the low and then the high end of its range, everything else as run, and
the run's master seed is reused (common random numbers), so a bar shows the parameter's effect on
the median. Default ranges are stated here and printed in the report; ``--range KEY=LOW,HIGH``
replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim.scenario import Scenario

from .. import fmt
from ..errors import UserError
from ..overrides import dotted_value, parse_vary
from .stats import describe
from .variants import run_variants

SENSITIVITY_QUANTITY = "subject_upload_total_bytes"
SUBJECT_CAP_LOW_BPS = 50_000


@dataclass(frozen=True)
class Range:
    key: str
    label: str
    low: object  # values as they go into the scenario (with_changes)
    high: object
    low_text: str
    high_text: str
    why: str


def scale_value(raw: object, factor: float) -> object:
    """A fixed value or a distribution table (resolved form) with every magnitude multiplied."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return raw * factor
    if isinstance(raw, dict):
        if "classes" in raw:
            return {"classes": [{"share": c["share"], "value": scale_value(c["value"], factor)} for c in raw["classes"]]}
        return {k: (scale_value(v, factor) if k in ("low", "high", "mean", "median") else v) for k, v in raw.items()}
    return raw  # "forever" stays forever


def _dist_text(raw: object, kind: str) -> str:
    f = fmt.rate if kind == "rate" else fmt.seconds
    short = (lambda v: f(v).split(" (")[0]) if kind == "rate" else (lambda v: f(v).split(" (")[0])
    if isinstance(raw, (int, float)):
        return short(raw)
    if isinstance(raw, dict) and "classes" in raw:
        return "classes " + " / ".join(short(c["value"]) for c in raw["classes"])
    if isinstance(raw, dict):
        return raw.get("dist", "?") + " " + ", ".join(f"{k} {short(v)}" for k, v in raw.items() if k != "dist" and k != "sigma")
    return str(raw)


def default_ranges(sc: Scenario) -> list[Range]:
    """Ranges for the parameters an expert usually cannot know exactly; halving and doubling by default."""
    out: list[Range] = []
    L = sc.swarm.leechers
    if L.arrival == "flash_crowd" and L.count:
        lo, hi = max(1, L.count // 2), L.count * 2
        out.append(Range("swarm.leechers.count", "other leechers (flash crowd size)", lo, hi, str(lo), str(hi),
                         "the number of other leechers is rarely known; half to double"))
    elif L.arrival == "poisson":
        r = L.rate_per_s
        out.append(Range("swarm.leechers.rate_per_s", "leecher arrival rate", r / 2, r * 2, f"{r / 2:g}/s", f"{r * 2:g}/s",
                         "arrival rate of other leechers; half to double"))
    if sc.swarm.seeds.count > 0:
        raw = dotted_value(sc, "swarm.seeds.upload")
        out.append(Range("swarm.seeds.upload", "seeds' upload capacity", scale_value(raw, 0.5), scale_value(raw, 2),
                         "×½", "×2", "home seeds' capacity is not observed; half to double: "
                         f"{_dist_text(scale_value(raw, 0.5), 'rate')} to {_dist_text(scale_value(raw, 2), 'rate')}"))
    raw = dotted_value(sc, "swarm.leechers.upload")
    out.append(Range("swarm.leechers.upload", "other leechers' upload capacity", scale_value(raw, 0.5), scale_value(raw, 2),
                     "×½", "×2", "other peers' capacities are not observed; half to double: "
                     f"{_dist_text(scale_value(raw, 0.5), 'rate')} to {_dist_text(scale_value(raw, 2), 'rate')}"))
    raw = dotted_value(sc, "swarm.leechers.seed_time")
    if raw == 0 or raw == 0.0:
        out.append(Range("swarm.leechers.seed_time", "other leechers' seeding time", 0.0, 600.0, "leave", "600 s",
                         "as run they leave at completion; up to 10 minutes of seeding"))
    elif raw != "forever":
        out.append(Range("swarm.leechers.seed_time", "other leechers' seeding time", scale_value(raw, 0.5), scale_value(raw, 2),
                         "×½", "×2", "how long other peers keep seeding is not observed; half to double"))
    cap = sc.subject.libtorrent.upload_rate_limit
    if cap == 0:
        out.append(Range("subject.libtorrent.upload_rate_limit", "subject upload cap", SUBJECT_CAP_LOW_BPS, 0,
                         fmt.rate(SUBJECT_CAP_LOW_BPS).split(" (")[0], "unlimited",
                         "as run unlimited; a 50 kB/s cap as the low end"))
    else:
        out.append(Range("subject.libtorrent.upload_rate_limit", "subject upload cap", max(1, cap // 2), cap * 2,
                         fmt.rate(max(1, cap // 2)).split(" (")[0], fmt.rate(cap * 2).split(" (")[0],
                         "the cap as run, half to double"))
    slots = sc.subject.libtorrent.unchoke_slots_limit
    out.append(Range("subject.libtorrent.unchoke_slots_limit", "subject unchoke slots", max(1, slots // 4), slots * 2,
                     str(max(1, slots // 4)), str(slots * 2), "quarter to double the subject's slots"))
    return out


def parse_ranges(sc: Scenario, texts: list[str]) -> list[Range]:
    """``--range KEY=LOW,HIGH`` (values read like --set, with rate shorthand)."""
    out = []
    for t in texts:
        key, given, values = parse_vary(sc, t, option="--range")
        if len(values) != 2:
            raise UserError(f"--range {t!r}: expected exactly two values, LOW,HIGH")
        out.append(Range(key, key, values[0], values[1], given[0], given[1], "given with --range"))
    return out


@dataclass(frozen=True)
class TornadoBar:
    range: Range
    low_median: float
    high_median: float
    low_leech_median: float
    high_leech_median: float

    @property
    def swing(self) -> float:
        return abs(self.high_median - self.low_median)


def run_tornado(sc: Scenario, ranges: list[Range], n: int, master_seed: int, workers: int,
                on_done: Callable[[int], None] | None = None) -> list[TornadoBar]:
    """Both ends of every range on the run's first ``n`` seeds, on one process pool; sorted by swing."""
    scenarios = [sc.with_changes(**{r.key: value}) for r in ranges for value in (r.low, r.high)]
    heads = run_variants(scenarios, n, master_seed, workers, on_done)

    def med(h: list[dict], q: str) -> float:
        return describe(np.array([x[q] for x in h], dtype=np.float64)).median

    bars = [TornadoBar(r, med(heads[2 * k], SENSITIVITY_QUANTITY), med(heads[2 * k + 1], SENSITIVITY_QUANTITY),
                       med(heads[2 * k], "subject_upload_leech_bytes"), med(heads[2 * k + 1], "subject_upload_leech_bytes"))
            for k, r in enumerate(ranges)]
    return sorted(bars, key=lambda b: -b.swing)
