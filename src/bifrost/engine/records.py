"""A parsed log line: what the format detector extracts from one line of text."""

from __future__ import annotations

from dataclasses import dataclass

from bifrost.levels import Level


@dataclass(frozen=True, slots=True)
class Record:
    """The parts of one line. `message` is what gets mined; the rest is metadata.

    `timestamp` is kept as written in the log (normalising it is the reader's job, and only
    needed for the few lines that become evidence).
    """

    message: str
    timestamp: str | None = None
    level: Level | None = None
    source: str | None = None
