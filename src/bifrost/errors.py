"""One exception hierarchy with stable codes.

Every error a user can cause or meet carries a `code` (stable, machine-readable), a message
that says what went wrong and what to do, and the exit code the CLI uses for it. An error
made from a catalog message (`said`) can say it in the reader's language too (`message_in`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

from bifrost.i18n import DEFAULT_LANGUAGE
from bifrost.i18n import message as catalog_message


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
        return cls(catalog_message(key, DEFAULT_LANGUAGE, **fields), key=key, fields=fields)

    def message_in(self, lang: str) -> str:
        """The message in `lang`, when it came from the catalog; else as it was written."""
        if self.key is None:
            return self.message
        return catalog_message(self.key, lang, **self.fields)


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
