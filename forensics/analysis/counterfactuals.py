"""Counterfactuals: the same swarm, the same seeds, a different subject — what did the settings change?

Each variant re-simulates the run's resolved scenario with one change to the subject and the
run's own master seed, so replication *i* of a variant sees the same draw of the swarm (arrivals,
capacities, seeding times) as replication *i* of the run: the differences are the settings' effect,
not sampling noise (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim.scenario import Scenario

from .. import fmt
from .stats import Stat, describe
from .variants import run_variants

CF_QUANTITIES = ("subject_upload_leech_bytes", "subject_upload_seed_bytes", "subject_upload_total_bytes",
                 "subject_download_time_s", "subject_completed", "peers_received_piece")
DEFAULT_CAP_BPS = 50_000


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    changes: dict[str, object]


def default_variants(sc: Scenario, cap_bps: int = DEFAULT_CAP_BPS) -> list[Variant]:
    """The settings an expert is asked about (forensic question 4), applied to the subject only."""
    stop_fields = {"subject.seed_for_s": None, "subject.seed_until_ratio": None}
    slots = sc.subject.libtorrent.unchoke_slots_limit
    return [
        Variant("stop", "stops at completion", {"subject.on_complete": "stop", **stop_fields}),
        Variant("never_stop", "never stops (seeds to the horizon)", {"subject.on_complete": "never_stop", **stop_fields}),
        Variant("capped", f"upload capped at {fmt.rate(cap_bps).split(' (')[0]} ({cap_bps:,} B/s)",
                {"subject.libtorrent.upload_rate_limit": cap_bps}),
        Variant("few_slots", f"2 unchoke slots (as run: {slots})", {"subject.libtorrent.unchoke_slots_limit": 2}),
        Variant("not_connectable", "no incoming connections", {"subject.connectable": False}),
        Variant("free_rider", "free rider (uploads nothing)", {"subject.profile": "free_rider"}),
    ]


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str
    changes: dict[str, object]
    replications: int
    master_seed: int
    stats: dict[str, Stat]


def outcome_from_results(key: str, label: str, results: dict[str, np.ndarray], n: int, seed: int) -> Outcome:
    return Outcome(key, label, {}, n, seed, {q: describe(results[q][:n]) for q in CF_QUANTITIES})


def run_counterfactuals(sc: Scenario, variants: list[Variant], n: int, master_seed: int, workers: int,
                        on_done: Callable[[int], None] | None = None) -> list[Outcome]:
    """Every variant on the run's first ``n`` seeds, on one process pool."""
    per_variant = run_variants([sc.with_changes(**v.changes) for v in variants], n, master_seed, workers, on_done)
    outcomes = []
    for v, heads in zip(variants, per_variant):
        cols = {q: np.array([h[q] for h in heads], dtype=np.float64) for q in CF_QUANTITIES}
        outcomes.append(Outcome(v.key, v.label, v.changes, n, master_seed, {q: describe(cols[q]) for q in CF_QUANTITIES}))
    return outcomes

