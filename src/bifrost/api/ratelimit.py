"""Per-key rate limits: a token bucket, in Redis when replicas share it, in process otherwise."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bifrost.errors import UsageError

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    """`limit` requests per `period_s` seconds; a bucket of `limit` tokens refilled evenly."""

    limit: int
    period_s: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`600/hour`, `10/second`, `5/minute`, `1000/day`."""
        match = _RATE.fullmatch(text)
        if match is None or int(match[1]) < 1:
            raise UsageError(
                f"cannot read the rate {text!r}: use N/second, N/minute, N/hour or N/day "
                "with N ≥ 1, like 600/hour"
            )
        return cls(int(match[1]), _PERIODS[match[2].lower()])

    def __str__(self) -> str:
        unit = next(name for name, seconds in _PERIODS.items() if seconds == self.period_s)
        return f"{self.limit}/{unit}"
