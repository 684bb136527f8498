"""The knowledge base of known failure signatures (OOMKilled, CUDA out of memory, …).

Signatures are data — YAML files under `data/signatures/`, one per domain — so adding one
needs no code. They are validated once, at first use. A mistake in them (bad YAML, a regex
that does not compile, an example its own patterns miss) is a SignatureError naming the file:
a broken knowledge base is a packaging or contributor bug and must fail loudly, not match
silently wrong.

Patterns are matched case-insensitively and per line (`^`/`$` work inside multi-line events).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bifrost import __version__
from bifrost.choices import Severity
from bifrost.errors import SignatureError
from bifrost.report import SEVERITY_RANK

FLAGS = re.IGNORECASE | re.MULTILINE


class Signature(BaseModel):
    """One known failure: how to recognise it, and what to tell the user about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+(?:\.[a-z0-9_]+)+$")
    title: str = Field(min_length=1)
    category: str = Field(pattern=r"^[a-z0-9_]+$")
    severity: Severity
    explanation: str = Field(min_length=1)
    suggestion: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    priority: int = 0
    wrapper: bool = False  # reports that a failure happened (`BUILD FAILURE`), not what failed
    examples: list[str] = Field(min_length=2)
    counter_examples: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _compile_and_check(self) -> Signature:
        """Compile once, and prove the patterns on the signature's own examples."""
        if not self.id.startswith(f"{self.category}."):
            raise ValueError(f"id {self.id!r} must start with its category {self.category!r}")
        for pattern in self.patterns:
            try:
                _regex(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from None
        for example in self.examples:
            if not self.matches(example):
                raise ValueError(f"example not matched by the patterns: {example!r}")
        for counter in self.counter_examples:
            if self.matches(counter):
                raise ValueError(f"counter-example matched by the patterns: {counter!r}")
        return self

    @property
    def regexes(self) -> tuple[re.Pattern[str], ...]:
        """The compiled patterns, in order."""
        return tuple(_regex(pattern) for pattern in self.patterns)

    def matches(self, text: str) -> bool:
        """Whether any pattern of this signature occurs in `text` (ignoring the others)."""
        return any(_regex(pattern).search(text) for pattern in self.patterns)


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    """A pattern compiled at its first use, once per process: on a given log most signatures
    are never tried, as their keywords do not occur in it (see `match`)."""
    return re.compile(pattern, FLAGS)


def load_signature_file(path: Path) -> tuple[Signature, ...]:
    """The signatures of one YAML file, in file order."""
    return _parse(path.read_text(encoding="utf-8"), path.name)


def _signature_dir() -> Traversable:
    return files("bifrost.engine") / "data" / "signatures"


@functools.cache
def knowledge_version() -> str:
    """A short digest of the packaged signature files: a changed knowledge base changes answers,
    so it is part of the cache key."""
    digest = hashlib.sha256()
    for entry in sorted(_signature_dir().iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".yaml"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()[:12]


@functools.cache
def load_signatures() -> tuple[Signature, ...]:
    """Every packaged signature: files in name order, each in file order."""
    directory = _signature_dir()
    origin: dict[str, str] = {}
    loaded: list[Signature] = []
    for entry in sorted(directory.iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".yaml"):
            continue
        for signature in _parse(entry.read_text(encoding="utf-8"), entry.name):
            if signature.id in origin:
                raise SignatureError.said(
                    "signature.duplicate_elsewhere",
                    file=entry.name,
                    id=repr(signature.id),
                    other=origin[signature.id],
                )
            origin[signature.id] = entry.name
            loaded.append(signature)
    if not loaded:
        raise SignatureError.said("signature.none", folder=directory)
    return tuple(loaded)


def prepare() -> int:
    """Load the index now (from the cache, or built and cached), so that the first `match`
    does not pay for it; how many signatures it holds."""
    return len(_index().ranked)


def match(text: str) -> Signature | None:
    """The best signature for one message: highest priority, then severity, then file order."""
    index = _index()
    candidates = set(index.unindexed)
    for found in index.finder.finditer(text.casefold()):
        candidates.update(index.found[found.group(1)])
    for position in sorted(candidates):  # patterns are numbered best signature first
        rank, pattern = index.patterns[position]
        if _regex(pattern).search(text):
            return index.ranked[rank]
    return None


# Python's regex engine has no multi-pattern search, and hundreds of case-insensitive patterns
# cost about a millisecond per message. So each pattern is reduced to literal keywords, one of
# which every match contains; a single trie-shaped regex finds all keywords present in one pass
# over the case-folded message, and only the patterns whose keywords occur are run.

_Strings = frozenset[str]
_Trie = dict[str, "_Trie"]

_ESCAPE = re.compile(
    r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|.)", re.S
)
_QUANTIFIER = re.compile(r"(?:[?*+]|\{(\d*)(?:,\d*)?\})[?+]?")
_SCOPED_FLAGS = re.compile(r"\?[aiLmsu]*(?:-[imsx]+)?:")
_SMALL_CLASS = re.compile(r"[^\\\-\[\]^]{1,5}")
_PUNCTUATION = frozenset("\\.^$*+?{}[]()|/-'\"#&~%!@:;,<>=` ")
_MAX_PRODUCT = 64
_MIN_KEYWORD = 3


@dataclass(frozen=True, slots=True)
class _Index:
    ranked: tuple[Signature, ...]
    patterns: tuple[tuple[int, str], ...]  # (rank of its signature, pattern)
    finder: re.Pattern[str]
    found: dict[str, frozenset[int]]  # keyword found -> patterns to try
    unindexed: frozenset[int]  # patterns without a usable keyword: always tried


@functools.cache
def _index() -> _Index:
    """The index, from the on-disk cache when this version built it for these signature
    files before (`index_cache`), else built now, with every signature validated, and cached."""
    path = index_cache()
    cached = _read_index(path)
    if cached is not None:
        return cached
    index = _build_index()
    _write_index(path, index)
    return index


def index_cache() -> Path:
    """Where the index built by this code from these signature files lives (the user's cache
    directory; `XDG_CACHE_HOME` moves it). JSON, not pickle: reading a cache must never run
    code."""
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]  # how it is built
    name = f"signatures-{__version__}-{knowledge_version()}-{code}.json"
    return Path(platformdirs.user_cache_dir("bifrost")) / name


def _read_index(path: Path) -> _Index | None:
    """The cached index; None when there is none or it cannot be read (it is then rebuilt)."""
    try:
        data = json.loads(path.read_bytes())
        return _Index(
            ranked=tuple(Signature.model_construct(**fields) for fields in data["ranked"]),
            patterns=tuple((int(rank), str(pattern)) for rank, pattern in data["patterns"]),
            finder=re.compile(data["finder"]),
            found={word: frozenset(found) for word, found in data["found"].items()},
            unindexed=frozenset(data["unindexed"]),
        )
    except (OSError, ValueError, TypeError, KeyError, re.error):
        return None


def _write_index(path: Path, index: _Index) -> None:
    """Cache the index; a cache directory that cannot be written only costs the next run time."""
    data = {
        "ranked": [signature.model_dump() for signature in index.ranked],
        "patterns": index.patterns,
        "finder": index.finder.pattern,
        "found": {word: sorted(found) for word, found in index.found.items()},
        "unindexed": sorted(index.unindexed),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as file:
            json.dump(data, file)
        os.replace(file.name, path)
        for stale in path.parent.glob("signatures-*.json"):  # built by other versions
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        return


def _build_index() -> _Index:
    """The signatures in the order `match` prefers them (the sort is stable, so file order
    breaks ties), their patterns numbered in that order, and the keyword finder."""
    ranked = tuple(
        sorted(load_signatures(), key=lambda s: (-s.priority, -SEVERITY_RANK[s.severity]))
    )
    patterns: list[tuple[int, str]] = []
    by_keyword: dict[str, set[int]] = {}
    unindexed: set[int] = set()
    for rank, signature in enumerate(ranked):
        for pattern in signature.patterns:
            position = len(patterns)
            patterns.append((rank, pattern))
            words = None if _regex(pattern).flags & re.VERBOSE else _keywords(pattern)
            if words is None:
                unindexed.add(position)
            for word in words or ():
                by_keyword.setdefault(word, set()).add(position)
    # The finder reports the longest keyword starting at each position; every shorter keyword
    # that is a prefix of it occurs there too.
    found = {
        word: frozenset().union(
            *(by_keyword.get(word[:end], ()) for end in range(1, len(word) + 1))
        )
        for word in by_keyword
    }
    finder = re.compile(f"(?=({_trie(by_keyword)}))")
    return _Index(ranked, tuple(patterns), finder, found, frozenset(unindexed))


def _keywords(pattern: str) -> frozenset[str] | None:
    """Case-folded literals one of which occurs in every text `pattern` matches, or None when
    the pattern has no literal of at least three characters that every match must contain."""
    required = _literals(pattern)[1]
    if required is None or min(map(len, required)) < _MIN_KEYWORD:
        return None
    return required


def _literals(pattern: str) -> tuple[_Strings | None, _Strings | None]:
    """(every text `pattern` matches, if that is a small set of literals; keywords one of which
    every match contains). Unsure means None: a missing keyword only costs speed."""
    branches = _branches(pattern)
    if len(branches) > 1:
        results = [_literals(branch) for branch in branches]
        return _union(exact for exact, _ in results), _union(required for _, required in results)
    candidates: list[_Strings] = []
    chain: _Strings = frozenset({""})  # the texts the adjacent literals so far can be
    exact = True
    i = 0
    while i < len(pattern):
        item_exact, item_required, i = _item(pattern, i)
        quantifier = _QUANTIFIER.match(pattern, i)
        optional = False
        if quantifier:
            i = quantifier.end()
            bound = quantifier.group(1)
            optional = quantifier.group()[0] in "?*" or bound in {"", "0"}
        if optional or (item_exact is None and item_required is None):
            candidates.append(chain)
            chain, exact = frozenset({""}), False
        elif item_exact is not None and len(chain) * len(item_exact) <= _MAX_PRODUCT:
            chain = frozenset(a + b for a in chain for b in item_exact)
        else:
            candidates.append(chain)
            exact = False
            chain = item_exact if item_exact is not None else frozenset({""})
            if item_required is not None and item_exact is None:
                candidates.append(item_required)
        if quantifier and not optional:  # a repeated item: what follows is not adjacent
            candidates.append(chain)
            chain, exact = frozenset({""}), False
    candidates.append(chain)
    best = max(candidates, key=lambda words: (min(map(len, words)), -len(words)))
    return (chain if exact else None), (best if min(map(len, best)) > 0 else None)


def _item(pattern: str, i: int) -> tuple[_Strings | None, _Strings | None, int]:
    """One atom at `i`: (its texts if literal, its keywords, where the next atom starts)."""
    char = pattern[i]
    if char == "\\":
        escape = _ESCAPE.match(pattern, i)
        assert escape is not None  # the pattern compiled, so the escape is complete
        literal = escape.group()[1:]
        return (frozenset({literal}) if literal in _PUNCTUATION else None), None, escape.end()
    if char == "[":
        end = _class_end(pattern, i)
        members = pattern[i + 1 : end - 1]
        small = _SMALL_CLASS.fullmatch(members)
        return (frozenset(members.casefold()) if small else None), None, end
    if char == "(":
        end = _group_end(pattern, i)
        inner = pattern[i + 1 : end - 1]
        flags = _SCOPED_FLAGS.match(inner)
        if inner.startswith("?") and not flags:  # lookaround, comment, conditional, named
            return None, None, end
        exact, required = _literals(inner[flags.end() :] if flags else inner)
        return exact, required, end
    if char in ".^$":
        return None, None, i + 1
    return frozenset({char.casefold()}), None, i + 1


def _union(sets: Iterable[_Strings | None]) -> _Strings | None:
    result: set[str] = set()
    for strings in sets:
        if strings is None:
            return None
        result |= strings
    return frozenset(result)


def _branches(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern."""
    branches: list[str] = []
    start = i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
        elif char == "[":
            i = _class_end(pattern, i)
        elif char == "(":
            i = _group_end(pattern, i)
        else:
            if char == "|":
                branches.append(pattern[start:i])
                start = i + 1
            i += 1
    branches.append(pattern[start:])
    return branches


def _class_end(pattern: str, start: int) -> int:
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):  # a leading ] is a member
        i += 1
    while pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _group_end(pattern: str, start: int) -> int:
    depth = 0
    i = start
    while True:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(pattern, i)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        i += 1
        if depth == 0:
            return i


def _trie(words: Iterable[str]) -> str:
    """A regex matching the longest of `words` that starts at a position."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def build(node: _Trie) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body  # greedy: a longer word first

    return build(root)


def _parse(text: str, name: str) -> tuple[Signature, ...]:
    import yaml  # noqa: PLC0415 — only to build the index: a cached one needs no YAML

    # libyaml when PyYAML was built with it: the pure-Python parser is most of the load time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data: Any = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise SignatureError.said("signature.bad_yaml", file=name, problem=exc) from None
    if not isinstance(data, list):
        raise SignatureError.said("signature.not_a_list", file=name, got=type(data).__name__)
    signatures: list[Signature] = []
    ids: set[str] = set()
    for position, entry in enumerate(data, start=1):
        label = entry.get("id") if isinstance(entry, dict) else None
        try:
            signature = Signature.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'signature'}: {error['msg']}"
                for error in exc.errors()
            )
            raise SignatureError.said(
                "signature.invalid", file=name, signature=label or f"#{position}", problems=problems
            ) from None
        if signature.id in ids:
            raise SignatureError.said("signature.duplicate", file=name, id=repr(signature.id))
        ids.add(signature.id)
        signatures.append(signature)
    return tuple(signatures)
