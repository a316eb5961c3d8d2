"""Deterministic tie-break keys: a pure hash of (salt, a, b).

Kernels draw no random numbers. Where libtorrent breaks a tie at random (which piece among equally
rare ones, which peer among equally long-waiting ones), the kernel orders candidates by
``mix64(salt, a, b)``, a SplitMix64 finaliser of a salt drawn in Python from the replication's
seeded generator. The key is a pure function of its inputs, so twin and kernel agree bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M = (1 << 64) - 1
_GOLD = 0x9E3779B97F4A7C15
_C2 = 0xC2B2AE3D27D4EB4F
_F1 = 0xBF58476D1CE4E5B9
_F2 = 0x94D049BB133111EB


@njit(cache=True, inline="always")
def mix64(salt: np.uint64, a: np.int64, b: np.int64) -> np.uint64:
    x = np.uint64(salt) ^ (np.uint64(a) * np.uint64(_GOLD)) ^ (np.uint64(b) * np.uint64(_C2))
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(_F1)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(_F2)
    x = x ^ (x >> np.uint64(31))
    return x


def mix64_py(salt: int, a: int, b: int) -> int:
    """The pure-Python twin of ``mix64``."""
    x = (salt ^ ((a * _GOLD) & _M) ^ ((b * _C2) & _M)) & _M
    x ^= x >> 30
    x = (x * _F1) & _M
    x ^= x >> 27
    x = (x * _F2) & _M
    x ^= x >> 31
    return x
