"""One simulated second of the swarm, fused into a single compiled call: choke, share bandwidth,
move blocks. Each step is its own pure kernel (choke.py, bandwidth.py, transfer.py); this only
sequences them, so the engine crosses the Python/numba boundary once per tick."""

from __future__ import annotations

from numba import njit

from .bandwidth import _maxmin_fair
from .choke import choke_all
from .transfer import collect_flows, transfer_blocks


@njit(cache=True)
def swarm_tick(pa, ea, pc, now, dt, salt_choke, salt_pick, piece_bytes, total_bytes, subject,
               src, dst, slot, rate, rem_up, rem_dn, n_up, n_dn, frozen,
               log_t, log_peer, log_piece, log_first, log_blocks, log_bytes, completed):
    choke_all(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes)
    F = collect_flows(pa, ea, src, dst, slot)
    _maxmin_fair(src[:F], dst[:F], pa.up_cap, pa.down_cap, rate[:F], rem_up, rem_dn, n_up, n_dn, frozen[:F])
    n_log, n_done, overflow = transfer_blocks(
        pa, ea, pc, dst, slot, rate, F, dt, now, salt_pick, subject,
        log_t, log_peer, log_piece, log_first, log_blocks, log_bytes, completed)
    return F, n_log, n_done, overflow
