"""One piece of evidence as read from disk: its bytes, name and SHA-256, and how it is cited."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError


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
    try:
        return EvidenceFile(path, path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{path}: no such {kind} file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory; allowed: a {kind} file") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read the {kind} file ({e.strerror})") from None
