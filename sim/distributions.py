"""Parameter distributions a scenario may give instead of a fixed value.

A scenario writes either a fixed value (``upload = "1MiB/s"``) or a table:

- ``{ classes = [ { share = 0.7, value = "500kB/s" }, { share = 0.3, value = "5MB/s" } ] }``
- ``{ dist = "uniform", low = ..., high = ... }``
- ``{ dist = "exponential", mean = ... }``
- ``{ dist = "lognormal", median = ..., sigma = ... }``

Draws are made in Python from the replication's ``numpy.random.Generator`` (never inside a kernel).
Class draws are by share, independently per peer, not by exact quota: a small swarm can then hold
no peer of a rare class, which is the uncertainty an expert wants to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

DIST_HELP = (
    "a fixed value, or a table: {classes=[{share=.., value=..}, ..]}, "
    "{dist='uniform', low=.., high=..}, {dist='exponential', mean=..} or "
    "{dist='lognormal', median=.., sigma=..}"
)


@dataclass(frozen=True)
class Dist:
    """A frozen, validated distribution over a non-negative quantity (bytes/s or seconds)."""

    kind: str  # fixed | classes | uniform | exponential | lognormal
    values: tuple[float, ...] = ()
    shares: tuple[float, ...] = ()
    a: float = 0.0
    b: float = 0.0

    @staticmethod
    def fixed(value: float) -> "Dist":
        return Dist("fixed", values=(float(value),))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values as float64."""
        if self.kind == "fixed":
            return np.full(n, self.values[0], dtype=np.float64)
        if self.kind == "classes":
            idx = rng.choice(len(self.values), size=n, p=np.asarray(self.shares))
            return np.asarray(self.values, dtype=np.float64)[idx]
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, size=n)
        if self.kind == "exponential":
            return rng.exponential(self.a, size=n)
        if self.kind == "lognormal":
            return self.a * np.exp(self.b * rng.standard_normal(n))
        raise AssertionError(self.kind)

    def mean(self) -> float:
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "classes":
            return float(np.dot(self.values, self.shares))
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        if self.kind == "exponential":
            return self.a
        return self.a * float(np.exp(self.b**2 / 2))

    def to_toml(self, fmt: Callable[[float], object] = float) -> object:
        """The resolved form written back into ``scenario.resolved.toml``."""
        if self.kind == "fixed":
            return fmt(self.values[0])
        if self.kind == "classes":
            return {"classes": [{"share": s, "value": fmt(v)} for s, v in zip(self.shares, self.values)]}
        if self.kind == "uniform":
            return {"dist": "uniform", "low": fmt(self.a), "high": fmt(self.b)}
        if self.kind == "exponential":
            return {"dist": "exponential", "mean": fmt(self.a)}
        return {"dist": "lognormal", "median": fmt(self.a), "sigma": self.b}


def parse_dist(raw: object, parse_value: Callable[[object], float], value_help: str) -> Dist:
    """Build a Dist from scenario input; ValueError messages name the sub-key that is wrong."""
    if not isinstance(raw, dict):
        try:
            v = parse_value(raw)
        except ValueError:
            raise ValueError(f"expected {value_help}, or {DIST_HELP}") from None
        if v < 0:
            raise ValueError("must not be negative")
        return Dist.fixed(v)

    def value_of(key: str, obj: dict) -> float:
        if key not in obj:
            raise ValueError(f"missing key '{key}'")
        try:
            v = parse_value(obj[key])
        except ValueError:
            raise ValueError(f"'{key}': expected {value_help}, got {obj[key]!r}") from None
        if v < 0:
            raise ValueError(f"'{key}' must not be negative, got {obj[key]!r}")
        return float(v)

    def only(keys: set[str]) -> None:
        extra = sorted(set(raw) - keys)
        if extra:
            raise ValueError(f"unknown key(s) {extra}; allowed here: {sorted(keys)}")

    if "classes" in raw:
        only({"classes"})
        classes = raw["classes"]
        if not isinstance(classes, list) or not classes:
            raise ValueError("'classes' must be a non-empty list of {share=.., value=..}")
        values, shares = [], []
        for i, c in enumerate(classes):
            if not isinstance(c, dict) or set(c) != {"share", "value"}:
                raise ValueError(f"classes[{i}] must be a table with exactly 'share' and 'value'")
            share = c["share"]
            if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
                raise ValueError(f"classes[{i}].share must be a number in (0, 1], got {share!r}")
            shares.append(float(share))
            try:
                values.append(value_of("value", c))
            except ValueError as e:
                raise ValueError(f"classes[{i}].{e}") from None
        if abs(sum(shares) - 1.0) > 1e-9:
            raise ValueError(f"class shares must add up to 1, they add up to {sum(shares):g}")
        return Dist("classes", values=tuple(values), shares=tuple(shares))

    kind = raw.get("dist")
    if kind == "uniform":
        only({"dist", "low", "high"})
        low, high = value_of("low", raw), value_of("high", raw)
        if high < low:
            raise ValueError(f"'high' ({raw['high']!r}) must be >= 'low' ({raw['low']!r})")
        return Dist("uniform", a=low, b=high)
    if kind == "exponential":
        only({"dist", "mean"})
        return Dist("exponential", a=value_of("mean", raw))
    if kind == "lognormal":
        only({"dist", "median", "sigma"})
        sigma = raw.get("sigma")
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 5:
            raise ValueError(f"'sigma' must be a number in [0, 5], got {sigma!r}")
        return Dist("lognormal", a=value_of("median", raw), b=float(sigma))
    raise ValueError(f"expected {DIST_HELP}; got a table with keys {sorted(raw)}")
