"""Times as people type them: `30m`, `12h`, `7d`, `2w` ago, or an ISO date (history filters)."""

from __future__ import annotations

import re
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
        raise UsageError(
            f"cannot read the time {text!r}: use 30m, 12h, 7d, 2w or a date like 2024-05-01"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
