"""What the subject's application does when the download completes.

libtorrent itself never stops seeding (its ratio and time limits only lower a seed's queue
priority); stopping is the application's doing, on ``torrent_finished_alert``. These policies
model that application. ``leave_delay_s`` is asked once at completion; ``leave_now`` every tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .scenario import Subject


@dataclass(frozen=True)
class CompletionPolicy:
    kind: str
    seed_for_s: float = 0.0
    ratio: float = math.inf

    @staticmethod
    def of(subject: Subject) -> "CompletionPolicy":
        if subject.on_complete == "seed_for":
            return CompletionPolicy("seed_for", seed_for_s=float(subject.seed_for_s))
        if subject.on_complete == "seed_until_ratio":
            return CompletionPolicy("seed_until_ratio", ratio=float(subject.seed_until_ratio))
        return CompletionPolicy(subject.on_complete)

    def leave_delay_s(self) -> float:
        """Seconds after completion until the subject stops (inf: it does not, by time)."""
        if self.kind == "stop":
            return 0.0
        if self.kind == "seed_for":
            return self.seed_for_s
        return math.inf

    def leave_now(self, uploaded_bytes: int, downloaded_bytes: int) -> bool:
        """seed_until_ratio: stop once uploaded / downloaded reaches the target."""
        return self.kind == "seed_until_ratio" and downloaded_bytes > 0 and uploaded_bytes >= self.ratio * downloaded_bytes
