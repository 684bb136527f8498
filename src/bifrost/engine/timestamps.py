"""Timestamps as the formats find them (`Record.timestamp`, kept as written) → moments in time.

Shared by whatever compares times across lines or files: which file failed first (`batch`),
which lines fall in a time range (`filter`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_EPOCH = re.compile(r"1\d{9}(?:\d{3}|\d{6}|\d{9})?(?:\.\d+)?")
_TIME_OF_DAY = re.compile(r"\d\d:\d\d:\d\d(?:[.,]\d+)?")
# A date without a year ends with the time of day: syslog's `May  1 10:02:03`, klog's
# `0501 10:02:03.123456`.
_YEARLESS = re.compile(r"(?:[A-Z][a-z]{2} [ \d]\d|\d{4}) (?P<time>\d\d:\d\d:\d\d(?:[.,]\d+)?)")
_OTHER_FORMATS = ("%y/%m/%d %H:%M:%S", "%d-%b-%Y %H:%M:%S")  # Spark's log4j, Tomcat


def moment(ts: str | None) -> tuple[datetime, bool] | None:
    """A timestamp as the engine found it (any of its formats) → (UTC moment, has a date).

    Without a date (a time of day alone, or a date without a year) the moment is that time
    on 1900-01-01: only its time of day means anything.
    """
    if not ts:
        return None
    text = ts.strip().replace(",", ".")
    if _EPOCH.fullmatch(text):
        whole, _, fraction = text.partition(".")
        seconds = int(whole) / 10 ** (len(whole) - 10) + float(f"0.{fraction or 0}")
        return datetime.fromtimestamp(seconds, UTC), True
    yearless = _YEARLESS.fullmatch(text)
    if yearless is not None:
        text = yearless["time"]
    if _TIME_OF_DAY.fullmatch(text):
        return datetime.fromisoformat(f"1900-01-01T{text}").replace(tzinfo=UTC), False
    text = re.sub(r" ?UTC$", "Z", text.replace(" Z", "Z"))
    text = re.sub(r"^(\d{4})/(\d\d)/(\d\d)", r"\1-\2-\3", text)
    found = _parse(text)
    if found is None:
        return None
    return (found if found.tzinfo else found.replace(tzinfo=UTC)), True


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for form in _OTHER_FORMATS:
        try:
            return datetime.strptime(re.sub(r"\.\d+$", "", text), form)
        except ValueError:
            continue
    return None
