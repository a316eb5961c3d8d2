"""What one evidence file says, in the case's terms: values that map exactly onto a scenario key
or an ``[evidence]`` observation (each with the words that cite it), and what does not map, why."""

from __future__ import annotations

from dataclasses import dataclass, field

from .evidence_file import EvidenceFile


@dataclass
class Reading:
    source: EvidenceFile
    kind: str  # e.g. "qBittorrent fastresume"
    settings: dict[str, tuple[object, str]] = field(default_factory=dict)  # dotted key -> (value, field cited)
    observed: dict[str, tuple[float, str]] = field(default_factory=dict)  # [evidence] name -> (value, field)
    assumed: dict[str, tuple[object, str]] = field(default_factory=dict)  # the client's documented defaults
    unmapped: list[tuple[str, object, str]] = field(default_factory=list)  # (field, value, why it does not map)
    notes: list[str] = field(default_factory=list)  # read, reported, not used
    counters: dict[str, int] = field(default_factory=dict)  # the client's byte counters as read (field -> bytes)
    added_unix: float | None = None  # when the client added the torrent (wall clock)
    no_seeding_limit: bool = False  # the torrent's own setting overrides any global ratio/time limit with none

    def set(self, key: str, value: object, what: str) -> None:
        self.settings[key] = (value, what)

    def observe(self, name: str, value: float, what: str) -> None:
        self.observed[name] = (value, what)

    def cannot_map(self, what: str, value: object, why: str) -> None:
        self.unmapped.append((what, value, why))
