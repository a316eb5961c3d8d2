"""One simulated second of the swarm, fused into a single compiled call: choke, share bandwidth,
move blocks. Each step is its own pure kernel (choke.py, bandwidth.py, transfer.py); this only
sequences them, so the engine crosses the Python/numba boundary once per tick."""

from __future__ import annotations

from numba import njit

from .bandwidth import close_quota, open_quota, share_bandwidth
from .choke import choke_all
from .transfer import collect_flows, transfer_blocks


@njit(cache=True)
def swarm_tick(pa, ea, pc, now, dt, salt_choke, salt_pick, piece_bytes, total_bytes, subject,
               src, dst, slot, flow_cap, rate, rem_up, rem_dn, n_up, n_dn, frozen,
               log_t, log_peer, log_piece, log_first, log_blocks, log_bytes, completed):
    choke_all(pa, ea, now, dt, salt_choke, piece_bytes, total_bytes)
    open_quota(pa, dt)
    F = collect_flows(pa, ea, pc, src, dst, slot, flow_cap, dt)
    share_bandwidth(src[:F], dst[:F], flow_cap[:F], pa.up_cap, pa.down_cap, pa.up_avail, pa.dn_avail, rate[:F],
                    rem_up, rem_dn, n_up, n_dn, frozen[:F])
    n_log, n_done, overflow = transfer_blocks(
        pa, ea, pc, dst, slot, rate, F, dt, now, salt_pick, subject, piece_bytes,
        log_t, log_peer, log_piece, log_first, log_blocks, log_bytes, completed)
    close_quota(pa, dt)
    return F, n_log, n_done, overflow
