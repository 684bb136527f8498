"""Redaction: secrets and personal data are replaced before anything leaves the process.

Each distinct value gets a stable placeholder (`<SECRET_1>`, `<TOKEN_2>`, `<EMAIL_3>` …) so the
model can still tell "the same key in two places" from "two keys"; `restore` maps placeholders
in the model's answer back, for the user's eyes only. The values themselves never leave the
`Redactor` object: `redactions` lists kinds, placeholders and counts.

Only log text is redacted: Bifrost's own words sent along (a known failure's explanation and
suggestion) hold no user data, and rules written for logs would only mangle them.

Decisions on look-alikes:
- A dotted quad is an IP only when every part is 0–255 without leading zeros and it is not
  part of a longer dotted run or glued to a version-ish prefix (`v1.2.3.4`, `==1.2.3.4`,
  `>=1.2.3.4`, `pkg-1.2.3.4`, `1.2.3.4.5`): versions stay readable, real addresses go. After
  a plain `=` or `:` it is an address (`host=10.12.0.5`), unless the key says it is a version
  (`version=1.2.3.4`, `"appVersion": "4.0.0.0"`, .NET's `Version=4.0.0.0`); a bare
  `version 1.2.3.4` in prose is indistinguishable from an address, and privacy wins.
- Loopback and unspecified addresses (`127.x`, `0.0.0.0`, `::1`, `::`) identify no one and
  often are the diagnosis ("connection refused to 127.0.0.1:5432"), so they are kept.
- `key=value` pairs are matched on whole key names (`DB_PASSWORD`, `x-api-key`) so counters
  such as `max_tokens=1024` or `tokenizer=bert` are left alone; only a password's key may have
  a prefix glued on (`PGPASSWORD`, `dbPassword`).
- Without such a key or a known prefix (`ghp_`, `AKIA`), a value is a secret only when it
  looks random: keys and tokens change character class every few characters, words, camelCase
  identifiers and paths (`org/springframework/boot/loader/LaunchedURLClassLoader`) about once
  a word.
- Hex digests (commit hashes, `sha256:` image digests) and UUIDs (request and trace ids) are
  not secrets by design: they stay unless a key or a nearby secret-ish word (`token`, `auth`)
  says they are one.
- A URL keeps its user name (often a service account, and part of the diagnosis) and loses
  its password; a `Cookie:` header loses its whole value, a `Set-Cookie:` header the cookie
  but not its attributes (`Path=/; HttpOnly`).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

KINDS = frozenset({"secret", "token", "password", "key", "email", "ip"})

PLACEHOLDER = re.compile(r"<([A-Z]+)_(\d+)>")
_RESTORABLE = re.compile(r"(<[A-Z]+_\d+>)(\n*)")


@dataclass(frozen=True)
class Redaction:
    """One replaced value, described without the value itself."""

    kind: str
    placeholder: str
    count: int


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    accept: Callable[[str], bool] = lambda _value: True
    # A value right after text that ends with a match of this is kept: the key says what it is.
    keep_after: re.Pattern[str] | None = None


# A change of character class: lower case to upper case or digit, upper case to digit, digit
# to letter.
_SHIFT = re.compile(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[A-Z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def _random_looking(value: str) -> bool:
    """Keys and tokens mix character classes and change class every few characters (random
    base64 or hex about every other one); words, camelCase identifiers and paths change once a
    word (`org/springframework/boot/loader/LaunchedURLClassLoader`: twice in 54).

    Of random 20-character strings (base64, hex, lower case and digits), fewer than one in
    500 changes class less often than every 10 characters, the bound used here. (A bound on
    entropy misses most hex tokens of that length: hex has only 16 symbols.)
    """
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return classes >= 2 and len(_SHIFT.findall(value)) * 10 >= len(value)


_HEX = re.compile(r"[0-9A-Fa-f]+")


def _encoded_blob(value: str) -> bool:
    """A base64 body (of a PEM block whose BEGIN line was cut off) rather than a hex digest: a
    `sha256:` digest names content and is often the diagnosis, and base64 is never all hex."""
    return _HEX.fullmatch(value) is None and _random_looking(value)


_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+")


def _credential(value: str) -> bool:
    """After `Basic` or `Bearer`, a plain word is prose (`Basic authentication failed`), not a
    credential: those are encoded or random, with digits or mixed case."""
    return _WORD.fullmatch(value) is None


_TRIVIAL = re.compile(r"(?i)(?:null|none|nil|true|false|\*+|x+|\$\{[^}]*\}|\$\w+|<[^>]*>|%s)")


def _real_value(value: str) -> bool:
    """Empty, masked and templated values (`***`, `${DB_PASS}`, placeholders) hide nothing."""
    return _TRIVIAL.fullmatch(value) is None


def _public_ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


# `version=1.2.3.4`, `"appVersion": "4.0.0.0"`, .NET's `Version=4.0.0.0`.
_VERSION_KEY = re.compile(r"""(?i)(?:version|\bver)["']?\s*[:=]\s*["']?\Z""")
# How far back `keep_after` looks: far enough for a key, its quotes and spaces.
_KEY_REACH = 40

_KEY_NAMES = {
    # Glued prefixes too (`PGPASSWORD`, `dbPassword`): no counter or setting is named so.
    "password": r"[A-Za-z0-9]*(?:password|passwd|passphrase)|pwd",
    "token": r"token|access_token|refresh_token|id_token|auth_token|session_token|bearer_token",
    "key": r"api_?key|api-key|access_?key|private_?key|private_key_id|secret_?key|account_?key",
    "secret": r"secret|client_secret|secret_access_key|aws_secret_access_key|credentials?",
}
_VALUE = r"""(?:"(?P<v1>[^"\n]+)"|'(?P<v2>[^'\n]+)'|(?P<v3>\$\{[^}\s]*\}|[^\s"',;&}\])]+))"""


def _key_value(kind: str) -> _Rule:
    """A key ending in one of the kind's names, and its value. The match starts only where the
    whole key does (not after one of its `_`, `.` or `-`): starting at every part of a long
    dotted run and reading it to its end each time would take time quadratic in its length."""
    names = _KEY_NAMES[kind]
    return _Rule(
        kind,
        re.compile(
            rf"""(?i)(?<![A-Za-z0-9])(?<![A-Za-z0-9][_.-])(?:[A-Za-z0-9]+[_.-])*(?:{names})"""
            rf"""(?![A-Za-z0-9])["']?"""
            rf"\s*(?::|=>?)\s*{_VALUE}"
        ),
        _real_value,
    )


# Most specific first: a later rule never sees what an earlier one replaced.
_RULES: tuple[_Rule, ...] = (
    _Rule(
        "key",
        re.compile(
            r"(?P<v>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"
            r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\Z))",
            re.DOTALL,
        ),
    ),
    # Before the rules for what a header can hold (a JWT, `token=`), so no cookie is left out.
    _Rule(
        "token",
        re.compile(r"""(?i)(?<![\w-])cookie["']?\s*:\s*["']?(?P<v>[^\n"']*[^\s"'])"""),
        _real_value,
    ),
    _Rule(
        "token",
        re.compile(r"""(?i)\bset-cookie["']?\s*:\s*["']?(?P<v>[^;\n"']*[^\s;"'])"""),
        _real_value,
    ),
    # From the start of the scheme only, so that a long word is not read again from each letter.
    _Rule(
        "password",
        re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:(?P<v>[^@/?#\s]+)@"),
    ),
    _Rule("secret", re.compile(r"hooks\.slack\.com/services/(?P<v>[A-Za-z0-9/_-]+)")),
    _Rule("token", re.compile(r"\b(?P<v>eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)")),
    _Rule("key", re.compile(r"(?i)\b(?:Account|SharedAccess)Key\s*=\s*(?P<v>[A-Za-z0-9+/=]{8,})")),
    _Rule("token", re.compile(r"[?&;]sig=(?P<v>[A-Za-z0-9%+/=]{8,})")),
    _Rule(
        "token",
        re.compile(r"(?i)\b(?:bearer|basic)\s+(?P<v>[A-Za-z0-9._~+/-]{8,}=*)"),
        _credential,
    ),
    _Rule("key", re.compile(r"\b(?P<v>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[A-Z0-9]{16})\b")),
    _Rule("key", re.compile(r"\b(?P<v>AIza[0-9A-Za-z_-]{35})")),
    _Rule("token", re.compile(r"\b(?P<v>gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})")),
    _Rule("token", re.compile(r"\b(?P<v>xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,})")),
    _Rule("key", re.compile(r"\b(?P<v>[sr]k_(?:live|test)_[A-Za-z0-9]{16,})")),
    _Rule(
        "secret",
        re.compile(r"(?i)aws.{0,30}?secret\w*\W{1,5}(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
    ),
    *(_key_value(kind) for kind in ("password", "key", "secret", "token")),
    # Generic: a dense, random-looking string within a few words after a secret-ish word.
    _Rule(
        "secret",
        re.compile(
            r"(?i)(?:secret|token|passw\w*|credential|api.?key|private.?key|access.?key|auth\w*)"
            r"\W{1,5}(?:[a-z]+\W{1,3}){0,2}?(?P<v>[A-Za-z0-9+/_=-]{20,})"
        ),
        _random_looking,
    ),
    # A bare base64 blob, such as the body of a PEM block whose BEGIN line was cut off.
    _Rule(
        "secret",
        re.compile(r"(?<![A-Za-z0-9+/=])(?P<v>[A-Za-z0-9+/]{60,}={0,2})(?![A-Za-z0-9+/=])"),
        _encoded_blob,
    ),
    _Rule(
        "email",
        re.compile(
            r"(?<![\w.+-])(?P<v>[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"
        ),
    ),
    # After `=` (`host=10.12.0.5`) but not after a version pin (`==`, `>=`, `~=`).
    _Rule(
        "ip",
        re.compile(
            r"(?<![\w.~-])(?<![=<>!~]=)(?P<v>(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
            r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?![\w-]|\.\d)"
        ),
        _public_ip,
        _VERSION_KEY,
    ),
    # After `key:` (`peer:2001:db8::1`), but never from inside a longer run of hex digits and
    # colons (a MAC address, a time), whose tail can look like an address on its own.
    _Rule(
        "ip",
        re.compile(
            r"(?<![\w.])(?<![0-9A-Fa-f:]:)(?P<v>(?=[0-9A-Fa-f:]*\d)(?:[0-9A-Fa-f]{0,4}:){2,7}"
            r"(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%[\w.]+)?)(?![\w:])"
        ),
        _public_ip,
    ),
)


class Redactor:
    """Replaces secrets by placeholders, remembering each value so that it can be restored.

    One Redactor serves one request: the same value always gets the same placeholder, and a
    placeholder-shaped string already present in the input is never handed out, nor is its
    number (so `restore` cannot turn the log's own `<SECRET_1>` into a secret).
    """

    def __init__(self, kinds: set[str] | None = None) -> None:
        chosen = set(KINDS) if kinds is None else set(kinds)
        unknown = chosen - KINDS
        if unknown:
            raise ValueError(
                f"unknown redaction kinds: {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(KINDS))})"
            )
        self.kinds = frozenset(chosen)
        self._rules = [rule for rule in _RULES if rule.kind in chosen]
        self._by_value: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._counts: Counter[str] = Counter()
        self._reserved: set[int] = set()
        self._next = 1

    def reserve(self, text: str) -> None:
        """Mark placeholder-shaped strings in `text` as taken; `redact` does it for its input.

        Call it on every text first when several are redacted one by one, so that no number
        handed out for the first collides with a literal in a later one.
        """
        self._reserved.update(int(match.group(2)) for match in PLACEHOLDER.finditer(text))

    def redact(self, text: str) -> str:
        self.reserve(text)
        for rule in self._rules:
            text = rule.pattern.sub(partial(self._replace, rule), text)
        return text

    def restore(self, text: str) -> str:
        """`text` with every placeholder this Redactor handed out replaced by its value (and,
        for a multi-line value, the line breaks `redact` kept after it)."""
        return _RESTORABLE.sub(self._restore, text)

    @property
    def redactions(self) -> list[Redaction]:
        return [
            Redaction(self._kinds[placeholder], placeholder, count)
            for placeholder, count in self._counts.items()
        ]

    def _replace(self, rule: _Rule, match: re.Match[str]) -> str:
        group = next(name for name, value in match.groupdict().items() if value is not None)
        value = match.group(group)
        start, end = match.span(group)
        whole = match.string
        if not value or PLACEHOLDER.search(value) or not rule.accept(value):
            return match.group()
        if rule.keep_after and rule.keep_after.search(whole, max(0, start - _KEY_REACH), start):
            return match.group()
        # A multi-line value (a PEM block) keeps its line breaks, so line numbers still hold.
        placeholder = self._placeholder(rule.kind, value) + "\n" * value.count("\n")
        return whole[match.start() : start] + placeholder + whole[end : match.end()]

    def _restore(self, match: re.Match[str]) -> str:
        value = self._values.get(match.group(1))
        if value is None:
            return match.group()
        breaks = match.group(2)
        return value + breaks[value.count("\n") :]

    def _placeholder(self, kind: str, value: str) -> str:
        placeholder = self._by_value.get((kind, value))
        if placeholder is None:
            while self._next in self._reserved:
                self._next += 1
            placeholder = f"<{kind.upper()}_{self._next}>"
            self._next += 1
            self._by_value[kind, value] = placeholder
            self._values[placeholder] = value
            self._kinds[placeholder] = kind
        self._counts[placeholder] += 1
        return placeholder
