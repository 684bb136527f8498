"""Masking: replace the variable parts of a message with `<*>`.

Masking runs once per distinct line shape, never per line, so it can afford one thorough
regex pass. What it masks is what changes between two occurrences of the same event: numbers,
ids, addresses, paths, times, quoted values. Words that carry meaning stay.
"""

from __future__ import annotations

import re

VAR = "<*>"

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_UNIT = r"[KMGTP]i?B|[kmgt]b|bytes?|B|ns|us|µs|ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|%"

# Order matters: the regex engine takes the first alternative that matches at a position, so
# the long specific shapes (URLs, timestamps, UUIDs, IPs) come before plain numbers.
_VARIABLE = re.compile(
    "|".join(
        (
            r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+",  # URLs
            r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",  # e-mail addresses
            rf"\b(?:{_DAY},? +)?{_MONTH} +\d{{1,2}},?(?: +\d{{4}})?(?: +\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:[.,]\d+)?)?(?: +\d{{4}})?\b",
            r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?",
            r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b",  # times of day
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            r"\b(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}\b",  # MAC addresses
            r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])",  # IPv4[:port]
            r"\b0[xX][0-9a-fA-F]+\b",  # hex literals
            r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b",  # hashes, ids
            r"(?<![\w/.~-])(?:~|\.{1,2})?(?:/[\w.@%+=:,~-]+){2,}/?",  # POSIX paths
            r"\b[A-Za-z]:\\[^\s\"']+",  # Windows paths
            r"\b[a-z0-9]+(?:-[a-z0-9]+)*-[a-z0-9]{8,10}-[a-z0-9]{5}\b",  # k8s pod names
            rf"(?<![\w.-])-?\d+(?:\.\d+)? ?(?:{_UNIT})\b",  # sizes and durations with a unit
            r"(?<![\w-])(?:[\w-]+\.)*[\w-]*\d[\w-]*(?:\.[\w-]+)*",  # words with a digit: ids, hosts
            r"(?<=[\s=:(\[,])-?\d+(?:[.,]\d+)*\b",  # numbers after a separator
        )
    )
)

# Words that contain a digit but are names, not values; kept as written.
_KEEP = re.compile(r"[A-Za-z]{2,}[0-9]|x86_64|sha\d+|k8s|log4j|utf-?8|i18n|[a-z]+2[a-z]+")

# Quoted values that look like data (a digit, a path, an address) rather than a name.
_QUOTED = re.compile(r"'[^'\s]*[\d/:@\\][^'\s]*'|\"[^\"\s]*[\d/:@\\][^\"\s]*\"")
_REPEATS = re.compile(r"<\*>(?:[\s.:,/_-]*<\*>)+")


def _replace(match: re.Match[str]) -> str:
    text = match.group()
    return text if _KEEP.fullmatch(text) else VAR


def mask(message: str) -> str:
    """The message with its variable parts replaced by `<*>`.

    Quoted single words become `'<*>'`; runs of variables joined only by punctuation
    (`10.0.0.1:8080/32`, `3.5 GiB`) collapse to one `<*>` so they count as one token.
    """
    masked = _VARIABLE.sub(_replace, message)
    masked = _QUOTED.sub(lambda m: m.group()[0] + VAR + m.group()[0], masked)
    if masked.count(VAR) > 1:
        masked = _REPEATS.sub(VAR, masked)
    return masked
