"""One exception hierarchy with stable codes.

Every error a user can cause or meet carries a `code` (stable, machine-readable), a message
that says what went wrong and what to do, and the exit code the CLI uses for it. An error
made from a catalog message (`said`) can say it in the reader's language too (`message_in`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

from bifrost.i18n import DEFAULT_LANGUAGE
from bifrost.i18n import message as catalog_message


@runtime_checkable
class Sayable(Protocol):
    """Words that can be said in any language: an error made from the catalog, a wrong field."""

    def message_in(self, lang: str) -> str: ...


def said_in(key: str, lang: str, fields: Mapping[str, object]) -> str:
    """The catalog message `key` in `lang`; a field that is Sayable (an error it wraps) is
    said in `lang` too."""
    shown = {
        name: value.message_in(lang) if isinstance(value, Sayable) else value
        for name, value in fields.items()
    }
    return catalog_message(key, lang, **shown)


@dataclass(frozen=True)
class Worded:
    """Part of a message, worded in the language the whole is said in: a field of `said` that
    depends on the language itself (a count, a clause that varies with the case)."""

    say: Callable[[str], str]
    """The part in a language."""

    def message_in(self, lang: str) -> str:
        return self.say(lang)


def phrase(key: str, /, **fields: object) -> Worded:
    """The catalog message `key` as part of another message (a field of `said`)."""
    return Worded(lambda lang: said_in(key, lang, fields))


class BifrostError(Exception):
    """Base of every error Bifrost raises on purpose."""

    code = "bifrost_error"
    exit_code = 2

    def __init__(
        self, message: str, *, key: str | None = None, fields: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.fields = dict(fields or {})

    @classmethod
    def said(cls, key: str, /, **fields: object) -> Self:
        """The error of the catalog message `key` (`bifrost.i18n`), its `message` English."""
        return cls(said_in(key, DEFAULT_LANGUAGE, fields), key=key, fields=fields)

    def message_in(self, lang: str) -> str:
        """The message in `lang`, when it came from the catalog; else as it was written."""
        if self.key is None:
            return self.message
        return said_in(self.key, lang, self.fields)


class InputError(BifrostError):
    """The input cannot be read: missing, a directory, unreadable, empty, corrupt."""

    code = "input_error"


class UsageError(BifrostError):
    """The command line or the configuration asks for something that cannot be done."""

    code = "usage_error"


class ConfigError(UsageError):
    """A configuration file or variable is invalid."""

    code = "config_error"


class SignatureError(BifrostError):
    """A knowledge-base file is malformed (a packaging or contributor error)."""

    code = "signature_error"
    exit_code = 3


class ServiceError(BifrostError):
    """A dependency (database, provider, broker) failed or is unreachable."""

    code = "service_error"
    exit_code = 3
