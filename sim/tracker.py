"""The tracker: peers register when they announce and leave when they stop; an announce returns
up to ``peer_list_size`` other registered peers chosen at random (as opentracker does)."""

from __future__ import annotations

import numpy as np


class Tracker:
    def __init__(self, peer_list_size: int) -> None:
        self.peer_list_size = peer_list_size
        self._registered: dict[int, None] = {}  # insertion-ordered set: deterministic sampling

    def announce(self, peer: int, rng: np.random.Generator) -> np.ndarray:
        """Register ``peer`` and return a random list of other registered peers."""
        # the registered peers in registration order, less ``peer`` (one pass in numpy: a swarm of
        # 10,000 peers announces thousands of times)
        registered = np.fromiter(self._registered, dtype=np.int64, count=len(self._registered))
        others = registered[registered != peer]
        self._registered[peer] = None
        if len(others) <= self.peer_list_size:
            return rng.permutation(others)
        return rng.choice(others, size=self.peer_list_size, replace=False)

    def stop(self, peer: int) -> None:
        self._registered.pop(peer, None)
