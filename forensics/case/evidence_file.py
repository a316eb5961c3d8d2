"""One piece of evidence as read from disk: its bytes, name and SHA-256, and how it is cited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sim.scenario import read_capped

from ..errors import UserError

# The largest evidence file read (a .torrent of a huge multi-file torrent runs to tens of MiB; a
# monitoring log of a busy swarm to hundreds): anything larger, /dev/zero included, is refused by
# its size before it is read.
MAX_EVIDENCE_FILE_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class EvidenceFile:
    path: Path
    data: bytes

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def cite(self, what: str = "") -> str:
        """``evidence: <file name>, sha256 <hash>[, <what>]`` — the [sources] text of a value read from it."""
        return f"evidence: {self.name}, sha256 {self.sha256}" + (f", {what}" if what else "")

    def error(self, field: str, problem: str, allowed: str) -> UserError:
        """A user error naming this file, the field, the problem and what is allowed."""
        return UserError(f"{self.path}: {field}: {problem}; allowed: {allowed}")


def read_evidence(path: str | Path, kind: str) -> EvidenceFile:
    path = Path(path)
    if str(path).startswith("magnet:"):
        raise UserError(f"{str(path)[:60]}...: a magnet link where a {kind} file is needed; allowed: the {kind} "
                        "file itself (a magnet link holds only the info-hash, not the files, sizes and pieces)")
    return EvidenceFile(path, read_capped(path, MAX_EVIDENCE_FILE_BYTES, f"{kind} file", UserError))
