"""Error vocabulary: does a message talk about trouble, and how strongly?

Words alone mislead (`0 errors`, `error_count=0`, `Failures: 0`, `no errors found`), so the
look-alikes are removed before the trouble words are searched for.
"""

from __future__ import annotations

import re

from bifrost.levels import RANK

_HARMLESS = re.compile(
    r"""
    \b(?:0|no|zero|without|none)\s+(?:[\w-]+\s+){0,3}?
       (?:errors?|failures?|failed|exceptions?|warnings?|problems?|issues?|broken)\b
    | ['"]?\b(?:errors?|failures?|failed|exceptions?|warnings?|skipped)['"]?\s*[=:]\s*
       (?:0\b(?![.\d])|(?:no|none)\b[^,;]*)
    | \b(?:error|fail|failure|exception|warn)(?:_|-)?(?:count|total|rate|s)?\s*[=:]\s*0\b(?![.\d])
    | \b(?:on|ignore|allow|continue|handle|raise|suppress)[_-]?(?:errors?|failures?)\b
    | \berror[_-]?(?:handler|handling|page|log|reporting|prone|free)\b
    | \bfail[_-]?(?:fast|over|safe)\b
    | --(?:no-)?(?:fail|error)[\w-]*
    | -XX:[+-]?\w+(?:=\S*)?  # a JVM flag: `-XX:+ExitOnOutOfMemoryError`
    | \bif\s+err\s*!=\s*nil\b
    | to\ see\ the\ full\ stack\ trace\ of\ the\ errors | re-run\ maven | ->\ \[Help\ \d+\]
    | for\ more\ information\ about\ the\ errors  # Maven's help boilerplate
    | \btime_?outs?(?:\(\w+\))?\s*[=:]\s*[\d:.]+\w*  # a timeout setting, not a timeout
    | \#?(?:success|failure)(?:_?threshold)?\s*[=:]\s*\d+  # a probe's thresholds
    | \bcrash[- ]recovery\b  # what databases do at every start
    | \baborting\ on\ container\ exit\b  # docker compose --abort-on-container-exit
    """,
    re.IGNORECASE | re.VERBOSE,
)

# A trouble word counts as a word of the message, not as a part of a name: never inside a
# path, a file or package name, an option or a key (`errors.c`, `pytest-timeout`,
# `fix/retry-on-timeout`, `errors=remount-ro`, `--abort-on-container-exit`).
_OPEN = r"(?<![\w./\\+-])"
_CLOSE = r"(?![\w=]|[-./\\_]\w)"

_TROUBLE = re.compile(
    rf"""
    {_OPEN}(?:errors?|exceptions?|fatal|failures?|fail(?:s|ed|ing)?|panic(?:ked)?
       |crash(?:ed|es)?|abort(?:ed|ing)?|killed|kill|denied|refused|unreachable
       |timed\s?out|time\s+out
       |(?:read|connect(?:ion)?|request|socket|gateway|deadline|operation|lock|handshake)
         \s+timeout
       |timeouts?\s+(?:waiting|while|after|expired|exceeded|reached|occurred)
       |cannot|can't|couldn't|could\s+not|unable|invalid|illegal|corrupt(?:ed)?|missing
       |not\s+found|no\s+such|segmentation|segfault|traceback|out\s+of\s+memory
       |unhealthy|backoff|back-off|evicted|rejected|oom(?:[-_ ]?kill(?:ed|er)?)?
       |unauthori[sz]ed|forbidden|violation
       |overflow|deadlock|broken|mismatch|undefined|unsatisfied|unresolved|nan
       |exit\s+(?:code|status)\s*:?\s*[1-9]
       |not\s+(?:ok|defined|installed|available|supported|allowed|permitted|recogni[sz]ed
                |exist|match(?:ed|es)?|resolved|satisfied)
       |(?:does|do|did)\s*n[o']t\s+(?:exist|match|support)
       |unknown\s+(?:option|command|flag|argument|host|file|attribute|type|key|field|module
                  |package|target|parameter|property|revision|column|table|variable)
       |unexpected|unrecogni[sz]ed|incompatible|conflicts?){_CLOSE}
    | [✖✗✘❌]
    | (?-i:[a-z0-9_](?:Error|Exception|Fault|Failure)\b)
    | (?-i:(?<![\w-])E\d{{3,4}}\b)
    """,
    re.IGNORECASE | re.VERBOSE,
)

_MILD = re.compile(
    r"\b(?:deprecat\w*|retry(?:ing)?|retries|attempt\s+\d+\s*(?:/|of)\s*\d+)\b"
    # a fallback taken: the program handled it (`unrecognized; using the default loss`)
    r"|\b(?:fall(?:s|ing)?\s+back|using\s+(?:the\s+)?default|default(?:s|ing)\s+to)\b"
    r"|^\W*skip(?:ped|ping)?\b|\#\s*skip\b",  # a skipped test, not a `Skipped: 0` counter
    re.I,
)


def looks_like_trouble(message: str) -> bool:
    """True when the message reports a problem (not merely mentions the word `error`)."""
    return _TROUBLE.search(message) is not None and trouble_words(message) > 0


def is_trouble(message: str, level: int) -> bool:
    """Whether a line is trouble by its level or its words: a warning or worse that is not a
    harmless look-alike, or words that report a problem whatever the level. (A known failure
    signature makes any line trouble too; the callers check that last, as it costs most.)"""
    return (level >= _WARNING and not is_harmless(message)) or looks_like_trouble(message)


def mentions_trouble(message: str) -> bool:
    """Whether a trouble word appears at all, look-alikes included (`0 errors`)."""
    return _TROUBLE.search(message) is not None


def trouble_words(message: str) -> int:
    """How many distinct trouble words the message uses, after removing harmless look-alikes."""
    return len({m.group().lower() for m in _TROUBLE.finditer(_HARMLESS.sub(" ", message))})


def is_harmless(message: str) -> bool:
    """A look-alike and nothing else (`errors=0`, Maven's `Re-run Maven using -X`): even at
    level ERROR such a line reports no problem of its own."""
    return _HARMLESS.search(message) is not None and not looks_like_trouble(message)


def is_mild(message: str) -> bool:
    """Deprecations, retries and fallbacks: worth a look, rarely the cause of a failure."""
    return _MILD.search(message) is not None


_WARNING = RANK["warning"]
