"""Times as people type them: `30m`, `12h`, `7d`, `2w` ago, or an ISO date (history filters);
a time of day or a date and time in a log (`filter --since 10:02`); and rates: `600/hour` (rate
limits of the API and of its keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bifrost.errors import UsageError


def parse_when(text: str, now: datetime) -> datetime:
    """`7d`, `12h`, `30m`, `2w` before `now`, or an ISO date/time (UTC when no zone is given)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match:
        amount, unit = int(match[1]), match[2]
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError.said("usage.bad_time", text=repr(text)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_CLOCK = re.compile(r"\s*(\d{1,2}):(\d\d)(?::(\d\d)(?:[.,](\d{1,6}))?)?\s*")


def parse_log_time(option: str, text: str) -> tuple[datetime, bool]:
    """A moment in a log as `--since`/`--until` take it: `10:02`, `10:02:30` (a time of day,
    any date: the second value is False), or an ISO date and time (UTC when no zone is given).
    """
    clock = _CLOCK.fullmatch(text)
    try:
        if clock:
            hour, minute, second, fraction = clock.groups()
            micro = int((fraction or "0").ljust(6, "0"))
            moment = datetime(1900, 1, 1, int(hour), int(minute), int(second or 0), micro, UTC)
            return moment, False
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError.said("usage.bad_log_time", option=option, text=repr(text)) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), True


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
            raise UsageError.said("usage.bad_rate", text=repr(text))
        return cls(int(match[1]), _PERIODS[match[2].lower()])

    def __str__(self) -> str:
        unit = next(name for name, seconds in _PERIODS.items() if seconds == self.period_s)
        return f"{self.limit}/{unit}"
