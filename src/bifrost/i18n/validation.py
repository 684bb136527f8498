"""A wrong field (of a request, of the settings), said in the reader's language.

Pydantic words its validation errors in English. Each common error type has a catalog message
(`validation.TYPE`) filled from the error's `ctx`, so a Korean reader reads them in Korean; in
English, and for a type the catalog lacks, pydantic's own words are kept as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bifrost.i18n import DEFAULT_LANGUAGE
from bifrost.i18n import message as catalog_message

CATALOGUED = frozenset(
    {
        "missing",
        "int_parsing",
        "int_type",
        "int_from_float",
        "float_parsing",
        "float_type",
        "bool_parsing",
        "bool_type",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "string_type",
        "literal_error",
        "enum",
        "extra_forbidden",
        "json_invalid",
        "dict_type",
        "list_type",
        "too_long",
        "too_short",
    }
)
"""The pydantic error types with a `validation.TYPE` message in the catalog."""


@dataclass(frozen=True)
class Problem:
    """One wrong field: where (`query.top`), pydantic's English, and its catalog message."""

    field: str
    english: str
    kind: str | None = None
    """The pydantic error type, when the catalog has a message for it."""
    values: Mapping[str, object] = dataclasses.field(default_factory=dict)

    def message_in(self, lang: str) -> str:
        if self.kind is None or lang == DEFAULT_LANGUAGE:
            return self.english
        return catalog_message(f"validation.{self.kind}", lang, **self.values)


def problem_of(error: Mapping[str, Any], where: str | None = None) -> Problem:
    """The Problem of one of pydantic's errors (`ValidationError.errors()`), its field under
    `where` (`body`, `message`) when the location does not say it."""
    place = [str(part) for part in error["loc"]]
    return problem_named(error, ".".join([where, *place] if where else place), error["msg"])


def problem_named(error: Mapping[str, Any], field: str, english: str) -> Problem:
    """The Problem of one of pydantic's errors, for a field named and worded another way (a
    setting is `--top` or `BIFROST_TOP`)."""
    kind = error["type"] if error["type"] in CATALOGUED else None
    values = {name: _shown(value) for name, value in (error.get("ctx") or {}).items()}
    return Problem(field, english, kind, values)


def _shown(value: object) -> object:
    """A bound as pydantic writes it: `0`, not `0.0`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
