"""Skipping a swarm's idle prefix: the time before anyone but the seeds is in it.

Until the first peer that is not a seed joins (a leecher, or the subject), a swarm holds only the
seeds that joined at t = 0, and seeds never connect to each other: no byte moves, no connection
opens, and what the engine keeps for each seed is a set of clocks — its choke rounds (its first
tick after joining, then every ``unchoke_interval``), its optimistic rounds (multiples of
``optimistic_unchoke_interval`` from t = 0), its announces (multiples of the announce interval),
its session's second tick (the tick's index modulo ticks per second, by its phase) and its quota
bank (settled within the burst's 3 s).

So the swarm with every time moved S earlier — arrivals, absolute leave times, the horizon — where
S is a whole multiple of every one of those periods and of the tick, and the first join of a
non-seed (or any absolute event) is at least ``MARGIN_S`` after S, is at its time 0 (seeds just
joined) in the state the original is in at time S, clock for clock. From there both evolve by the
same rules from the same state; they differ only in which pseudo-random draws they use (the
original has spent draws on the idle ticks' salts and the seeds' announces), so the subject's
outcomes have the same distribution, not the same values (tests/test_warm_start.py compares the
two over many seeds). Results of the shifted run are on its own clock: add S to absolute times.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .engine import SwarmRun
from .results import ROLE_SEED
from . import limits
from .scenario import Scenario

MARGIN_S = 60.0  # >> the quota burst (3 s) and the 1 s connect tick: the seeds' state has settled


def _period_lcm(values: list[float]) -> Fraction | None:
    """The least common multiple of positive periods given as floats (exact binary fractions), or
    None when they have none within reach (e.g. incommensurate periods)."""
    fr = [Fraction(v) for v in values if v > 0]
    if not fr:
        return None
    den = math.lcm(*(f.denominator for f in fr))
    num = math.lcm(*(int(f * den) for f in fr))
    return Fraction(num, den)


def idle_prefix_s(run: SwarmRun) -> float:
    """How much of a constructed (not started) run's start can be skipped: the largest whole multiple
    of every period (tick, 1 s, announce interval, each peer's unchoke and optimistic intervals) that
    lies at least MARGIN_S before the first event other than the seeds' joins at 0. 0.0: none."""
    pop = run.pop
    seed_at_0 = (pop.role == ROLE_SEED) & (pop.join_s == 0.0)
    events = np.concatenate([pop.join_s[~seed_at_0], pop.leave_at_s[np.isfinite(pop.leave_at_s)]])
    if not seed_at_0.any() or not len(events):
        return 0.0
    limit = float(events.min()) - MARGIN_S
    period = _period_lcm([run.dt, 1.0, float(run.sc.swarm.announce_interval_s),
                          *np.unique(pop.interval_s).tolist(), *np.unique(pop.opt_interval_s).tolist()])
    if period is None or limit < float(period):
        return 0.0
    return float(math.floor(Fraction(limit) / period) * period)


def _shorter_horizon(sc: Scenario, shift: float) -> Scenario | None:
    """The scenario with its horizon ``shift`` earlier, or None if that horizon is not one a scenario
    may have. What ``sc.with_changes(**{"simulation.horizon_s": ...})`` gives, without parsing the
    whole scenario again (a corpus does this once per replication): the only checks a horizon
    takes part in are its range and the subject joining before it (sim/scenario.py: Simulation,
    Scenario._check); tests/test_warm_start.py compares the two."""
    horizon = sc.simulation.horizon_s - shift
    if not (limits.MIN_HORIZON_S <= horizon <= limits.MAX_HORIZON_S) or not sc.subject.join_s < horizon:
        return None
    return sc.model_copy(update={"simulation": sc.simulation.model_copy(update={"horizon_s": horizon})})


def skip_idle_prefix(run: SwarmRun) -> float:
    """Move every time of a constructed, not yet started run S = ``idle_prefix_s(run)`` earlier
    (module docstring); returns S (0.0: the run is unchanged)."""
    if run._ticker_proc is not None:
        raise RuntimeError("skip_idle_prefix applies to a run that has not started")
    shift = idle_prefix_s(run)
    shorter = _shorter_horizon(run.sc, shift) if shift > 0.0 else None
    if shorter is None:
        return 0.0
    pop = run.pop
    pop.join_s[:] = np.where(pop.join_s > 0.0, pop.join_s - shift, 0.0)
    finite = np.isfinite(pop.leave_at_s)
    pop.leave_at_s[finite] -= shift
    run.sc = shorter
    return shift
