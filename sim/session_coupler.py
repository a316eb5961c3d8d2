"""What makes one subject session out of several swarms: libtorrent's session-wide resources,
divided among the torrents between two ticks (pure functions over small arrays; docs/model.md,
"One session, many torrents").

- **Unchoke slots** (session_impl::recalculate_unchoke_slots, choker.cpp): libtorrent ranks the
  interested peers of *all* torrents together with one comparator and unchokes the best
  ``unchoke_slots_limit - optimistic`` of them; the optimistic slots go to the interested, choked
  peers of any torrent optimistically unchoked longest ago. ``rank_regular`` and
  ``pick_optimistic`` make those two choices; each swarm is then told how many of the slots it
  holds, and its own choker (the same comparator) unchokes the same peers.
- **Rate limits** (bandwidth_manager.cpp): the session's upload (and download) channel hands
  every waiting request in the session an equal part of its quota, whatever torrent it belongs
  to. ``split_channel`` gives each torrent the channel's limit and saved quota in proportion to
  its waiting requests, so each of its requests gets the same part as in one channel.
- **Connection limit**: ``connections_limit`` counts every torrent's connections (open, opening
  and to itself), checked live at each connection the subject opens or accepts, not divided
  between ticks: ``SessionRun._held_elsewhere`` via ``SwarmRun.others_held`` (sim/session.py).
"""

from __future__ import annotations

import numpy as np


def split_channel(total_bps: float, bank_bytes: np.ndarray, waiting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One rate-limit channel shared by torrents: each torrent's (limit, saved quota) in proportion
    to its waiting requests (equal weights if none waits). Returns (limit_bps, bank_bytes) per torrent."""
    w = waiting.astype(np.float64)
    if w.sum() <= 0:
        w = np.ones(len(w))
    share = w / w.sum()
    return total_bps * share, bank_bytes.sum() * share


def rank_regular(down_round: np.ndarray, tie_keys: np.ndarray, n_regular: int) -> np.ndarray:
    """The connections that get the session's regular unchoke slots: the ``n_regular`` best by
    bytes they sent us last round (tit-for-tat), then the seeding algorithm's tie keys (rows of
    ``tie_keys``, smaller first), as libtorrent's compare_peers. Returns a boolean mask."""
    order = np.lexsort((*tie_keys[::-1], -down_round)) if len(down_round) else np.zeros(0, np.int64)
    chosen = np.zeros(len(down_round), dtype=bool)
    chosen[order[:max(n_regular, 0)]] = True
    return chosen


def pick_optimistic(last_opt_t: np.ndarray, tie: np.ndarray, eligible: np.ndarray, n_opt: int) -> np.ndarray:
    """The connections that get the optimistic slots: eligible ones (interested, not regularly
    unchoked) optimistically unchoked longest ago; ``tie`` breaks equal times. Boolean mask."""
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((tie[idx], last_opt_t[idx]))]
    chosen = np.zeros(len(eligible), dtype=bool)
    chosen[order[:max(n_opt, 0)]] = True
    return chosen

