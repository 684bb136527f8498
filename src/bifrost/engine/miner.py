"""Template mining: group masked messages into templates.

The miner sees each distinct masked message once (the scanner caches by line shape in front
of it), so the per-message cost here only matters for new shapes. An exact dict hit handles a
masked message seen before; a new one is compared with the templates of the same length and
the same leading words, Drain-style, and either joins the most similar one — the differing
positions become `<*>` — or starts a template of its own.
"""

from __future__ import annotations

import hashlib
import re

from bifrost.engine.mask import VAR


class Template:
    """A group of messages with the same constant words."""

    __slots__ = ("index", "tokens")

    def __init__(self, index: int, tokens: list[str]) -> None:
        self.index = index
        self.tokens = tokens

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def id(self) -> str:
        """Derived from the final text, so the same template gets the same id in every run."""
        return hashlib.blake2b(self.text.encode(), digest_size=6).hexdigest()


class TemplateMiner:
    """Streaming template miner; memory grows with the number of distinct shapes, not lines.

    A word position becomes a variable only once `variants` templates that differ in just
    that position (or a few positions) have been seen: `Invalid user alice/bob/carol` merge
    into `Invalid user <*>`, while `Failed password` and `Failed none` — two values, a choice
    rather than a variable — stay apart.
    """

    def __init__(self, variants: int = 4, max_diff_ratio: float = 0.34, bucket_limit: int = 400):
        self.variants = variants
        self.max_diff_ratio = max_diff_ratio
        self.bucket_limit = bucket_limit
        self.templates: list[Template] = []
        self._parent: list[int] = []
        self._exact: dict[str, int] = {}
        self._buckets: dict[tuple[int, str], list[Template]] = {}
        self._pending: dict[tuple[str, ...], set[int]] = {}

    def find(self, index: int) -> int:
        """The live template a (possibly merged) template index now belongs to."""
        parent = self._parent
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    def add(self, masked: str) -> int:
        """The index of the template that `masked` belongs to (created if new)."""
        index = self._exact.get(masked)
        if index is not None:
            return self.find(index)
        tokens = masked.split()
        lead = tokens[0] if tokens and VAR not in tokens[0] else VAR
        bucket = self._buckets.setdefault((len(tokens), lead), [])
        template = None
        for candidate in bucket:
            merged = _unify(candidate.tokens, tokens)
            if merged is not None:
                template, template.tokens = candidate, merged
                break
        if template is None:
            template = self._new(tokens, bucket)
        self._exact[masked] = template.index
        return self.find(template.index)

    def _new(self, tokens: list[str], bucket: list[Template]) -> Template:
        template = Template(len(self.templates), tokens)
        self.templates.append(template)
        self._parent.append(template.index)
        limit = int(len(tokens) * self.max_diff_ratio) if len(tokens) > 1 else 0
        merged = template
        for other in bucket[-self.bucket_limit :]:
            general = _generalise(other.tokens, tokens, limit)
            if general is None:
                continue
            members = self._pending.setdefault(general, set())
            members.update((other.index, template.index))
            live = {self.find(i) for i in members}
            if len(live) >= self.variants:
                merged = self._merge(live, list(general), bucket)
                break
        if merged is template:
            bucket.append(template)
        return merged

    def _merge(self, indices: set[int], tokens: list[str], bucket: list[Template]) -> Template:
        survivor = self.templates[min(indices)]
        survivor.tokens = tokens
        for index in indices:
            self._parent[index] = survivor.index
        bucket[:] = [t for t in bucket if self._parent[t.index] == t.index]
        return survivor


def _covers(general: str, specific: str) -> bool:
    """True when a token with variables (`rhost=<*>`, `(<*>)`) matches a concrete one."""
    if VAR not in general:
        return general == specific
    parts = general.split(VAR)
    if not (specific.startswith(parts[0]) and specific.endswith(parts[-1])):
        return False
    position, end = len(parts[0]), len(specific) - len(parts[-1])
    for part in parts[1:-1]:
        position = specific.find(part, position, end)
        if position < 0:
            return False
        position += len(part)
    return position <= end


def _unify(template: list[str], tokens: list[str]) -> list[str] | None:
    """The template widened to cover `tokens`, when every position already agrees.

    A position agrees when the tokens are equal or one covers the other (a variable may stand
    for an empty value, so `()` and `(<*>)` agree); anything else is a real difference.
    """
    merged: list[str] = []
    for a, b in zip(template, tokens, strict=True):
        if a == b or _covers(a, b):
            merged.append(a)
        elif _covers(b, a):
            merged.append(b)
        else:
            return None
    return merged


_ENUM = re.compile(r"[A-Z][A-Z_]+[,.;:)]?")


def _generalise(template: list[str], tokens: list[str], limit: int) -> tuple[str, ...] | None:
    """The template with the positions where `tokens` differ made variable, if at most `limit`.

    Upper-case words (`RUNNING`, `FAILED`, `LEADING`) are states, not values: a position where
    two of them differ never becomes a variable.
    """
    diff = [i for i, (a, b) in enumerate(zip(template, tokens, strict=True)) if a not in (b, VAR)]
    if not diff or len(diff) > limit:
        return None
    if any(_ENUM.fullmatch(template[i]) and _ENUM.fullmatch(tokens[i]) for i in diff):
        return None
    general = list(template)
    for i in diff:
        general[i] = VAR
    return tuple(general)
