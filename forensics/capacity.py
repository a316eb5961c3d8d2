"""Refuse, before any work, a run the machine's memory cannot hold (the estimate is ``sim.footprint``)."""

from __future__ import annotations

import psutil

from sim.footprint import estimate
from sim.limits import MAX_REPLICATIONS
from sim.scenario import Scenario
from sim.units import format_bytes

from .errors import UserError

MAX_WORKERS = 1024


def check_run_size(sc: Scenario, replications: int, workers: int, source: str, trace_connections: bool = False,
                   available_bytes: int | None = None) -> None:
    """A UserError naming what to reduce if ``replications`` on ``workers`` would not fit in memory."""
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise UserError(f"{source}: {replications:,} replications; allowed: 1 to {MAX_REPLICATIONS:,}")
    if not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"{source}: {workers:,} workers; allowed: 1 to {MAX_WORKERS:,}")
    fp = estimate(sc, replications, workers, trace_connections)
    available = psutil.virtual_memory().available if available_bytes is None else available_bytes
    if fp.total_bytes <= available:
        return
    biggest = sorted(fp.parts.items(), key=lambda kv: -kv[1])[:3]
    detail = ", ".join(f"{what} {format_bytes(b)}" for what, b in biggest)
    raise UserError(
        f"{source}: this run would need about {format_bytes(fp.total_bytes)} of memory but "
        f"{format_bytes(available)} is available ({detail}; up to {fp.peers:,} peers x {fp.pieces:,} pieces, "
        f"{fp.connections_per_peer:,} connections per peer, {workers} worker(s)). Reduce the number of peers "
        f"(swarm.seeds.count, swarm.leechers), the number of pieces (a smaller torrent or a larger "
        f"torrent.piece_size), --workers" + (", --runs or drop --trace-connections" if trace_connections else "")
        + "; nothing was written.")
