"""Masking: replace the variable parts of a message with `<*>`.

Masking runs once per distinct line shape, never per line, but a log with many shapes still
pays it often, so it works token by token: a plain word (no digit, no path or address
character) is kept without running a regex, and only the other tokens are matched against the
variable shapes. What it masks is what changes between two occurrences of the same event:
numbers, ids, addresses, paths, times, quoted data. Words that carry meaning stay.
"""

from __future__ import annotations

import re

VAR = "<*>"

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?"

# Dates written with spaces (`Sun Jul 10 03:55:22 2005`, `Jul 10, 2024 3:04:05`) span several
# tokens, so they are masked on the whole message first — only when a month name is present.
_MONTH_HINT = re.compile(rf"\b{_MONTH}\s")
_SPACED_DATE = re.compile(
    rf"\b(?:{_DAY} +)?{_MONTH} +\d{{1,2}},?(?: +\d{{4}})?"
    r"(?: +\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?(?: +\d{4})?\b"
)

# A token needs a closer look only if it has one of these characters.
_SUSPECT = re.compile(r"[\d/\\@:'\"]")

# Order matters: the regex engine takes the first alternative that matches at a position, so
# the long specific shapes (URLs, timestamps, UUIDs, IPs) come before plain numbers.
_VARIABLE = re.compile(
    "|".join(
        (
            r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+",  # URLs
            r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",  # e-mail addresses
            r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # dates, with a time of day
            r"(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?",
            r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b",  # times of day
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
            r"\b(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}\b",  # MAC addresses
            r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])",  # IPv4[:port]
            r"\b0[xX][0-9a-fA-F]+\b",  # hex literals
            r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b",  # hashes, ids
            r"(?<![\w/.~-])(?:~|\.{1,2})?(?:/[\w.@%+=:,~-]+){2,}/?",  # POSIX paths
            r"\b[A-Za-z]:\\[^\s\"']+",  # Windows paths
            r"\b[a-z0-9]+(?:-[a-z0-9]+)*-[a-z0-9]{8,10}-[a-z0-9]{5}\b",  # k8s pod names
            r"(?<![\w-])(?:[\w-]+\.)*[\w-]*\d[\w-]*(?:\.[\w-]+)*",  # words with a digit: ids
            r"-?\d+(?:[.,]\d+)*",  # any other number
        )
    )
)

# Words that contain a digit but are names, not values; kept as written.
_KEEP = re.compile(r"[A-Za-z]{2,}[0-9]|x86_64|sha\d+|k8s|log4j|utf-?8|i18n|[a-z]+2[a-z]+")

# Quoted values that look like data (a digit, a path, an address) rather than a name.
_QUOTED = re.compile(r"'[^'\s]*[\d/:@\\][^'\s]*'|\"[^\"\s]*[\d/:@\\][^\"\s]*\"")
_REPEATS = re.compile(r"<\*>(?:[\s.:,/_-]*<\*>)+")

# A unit after a number belongs to the value (`3.5 GiB`, `12 ms,`); its punctuation stays.
_UNIT = re.compile(
    r"(?:[KMGTP]i?B|[kmgt]b|bytes?|B|ns|us|µs|ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|%)"
    r"([,.;:)\]]*)"
)


def _replace(match: re.Match[str]) -> str:
    text = match.group()
    return text if _KEEP.fullmatch(text) else VAR


def _quoted(match: re.Match[str]) -> str:
    quote = match.group()[0]
    return quote + VAR + quote


def mask(message: str) -> str:
    """The message with its variable parts replaced by `<*>`, words separated by one space.

    A unit joins its number (`12 ms` is one variable); quoted data becomes `'<*>'`; runs of
    variables joined only by punctuation
    (`10.0.0.1:8080/32`, `0x10 - 0x1f`) collapse to one `<*>` so they count as one token.
    """
    if _MONTH_HINT.search(message):
        message = _SPACED_DATE.sub(VAR, message)
    tokens = message.split()
    for i, token in enumerate(tokens):
        if _SUSPECT.search(token):
            tokens[i] = _VARIABLE.sub(_replace, _QUOTED.sub(_quoted, token))
    for i in range(len(tokens) - 1, 0, -1):
        if tokens[i - 1] == VAR and (unit := _UNIT.fullmatch(tokens[i])):
            tokens[i - 1] = VAR + unit.group(1)
            del tokens[i]
    masked = " ".join(tokens)
    if masked.count(VAR) > 1:
        masked = _REPEATS.sub(VAR, masked)
    return masked
