"""Summary statistics over replications, with the same conventions as ``sim.results.aggregate``.

NaN (an event that did not happen in a replication) is left out; ``n`` says how many values a
statistic rests on. The 90% interval is the 5th–95th percentile of the replications: the spread of
the quantity over what is unknown about the swarm, not a confidence interval for the median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stat:
    n: int
    median: float
    mean: float
    p5: float
    p95: float
    min: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "median": self.median, "mean": self.mean, "p5": self.p5, "p95": self.p95,
                "min": self.min, "max": self.max}


def describe(values) -> Stat:
    vals = np.asarray(values, dtype=np.float64)
    ok = vals[~np.isnan(vals)]
    if not len(ok):
        nan = float("nan")
        return Stat(0, nan, nan, nan, nan, nan, nan)
    p5, med, p95 = np.percentile(ok, [5, 50, 95])
    return Stat(int(len(ok)), float(med), float(ok.mean()), float(p5), float(p95), float(ok.min()), float(ok.max()))
