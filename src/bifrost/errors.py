"""One exception hierarchy with stable codes.

Every error a user can cause or meet carries a `code` (stable, machine-readable), a message
that says what went wrong and what to do, and the exit code the CLI uses for it.
"""

from __future__ import annotations


class BifrostError(Exception):
    """Base of every error Bifrost raises on purpose."""

    code = "bifrost_error"
    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
