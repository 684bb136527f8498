"""Click's usage errors as Bifrost's one line: the option, what it takes, what it was given.

Typer prints these in a box under the usage text, unlike every other Bifrost error. `main` runs
the app with `standalone_mode=False`, so they reach it, and `usage_error` words each one as
`bifrost: error: --top: must be an integer from 1 to 100 (got '0')`, exit code 2.

Typer vendors Click (`typer._click`); the `click` package some dependencies install is another
copy, whose exceptions Typer never raises.
"""

from __future__ import annotations

import difflib
import sys
from enum import Enum

from typer._click.core import Context
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperArgument, TyperOption

from bifrost.cli.output import fail


def usage_error(exc: ClickException) -> int:
    """Print the error as one line on stderr (bare `bifrost` prints its help) and return its
    exit code."""
    if isinstance(exc, NoArgsIsHelpError):
        exc.show(sys.stderr)
        return exc.exit_code
    return fail(describe(exc), exc.exit_code)


def describe(exc: ClickException) -> str:
    """What went wrong, without the `bifrost: error:` prefix."""
    if isinstance(exc, MissingParameter) and isinstance(exc.param, TyperArgument | TyperOption):
        return f"missing {_name(exc.param)}" + (f" (usage: {_usage(exc.ctx)})" if exc.ctx else "")
    if isinstance(exc, BadParameter) and isinstance(exc.param, TyperArgument | TyperOption):
        return _bad_value(exc, exc.param)
    if isinstance(exc, NoSuchOption):
        return _no_such_option(exc)
    if isinstance(exc, BadOptionUsage):  # the parser's: `--top` without its value
        said = exc.message.removeprefix(f"Option {exc.option_name!r} ")
        return f"{exc.option_name}: {_clause(said)}"
    return _clause(exc.message) + (_see_help(exc) if isinstance(exc, UsageError) else "")


def _bad_value(exc: BadParameter, param: TyperArgument | TyperOption) -> str:
    wanted = _wanted(param) or _clause(exc.message)
    given = _given(exc)
    return f"{_name(param)}: {wanted}" + ("" if given is None else f" (got {given!r})")


def _wanted(param: TyperArgument | TyperOption) -> str | None:
    """What the parameter takes, from its declaration: its choices or its kind of number."""
    described = param.type_descriptor
    if described.choices:
        names = (c.value if isinstance(c, Enum) else c for c in described.choices)
        return "must be one of " + ", ".join(map(str, names))
    kind = {int: "an integer", float: "a number"}.get(described.annotation)
    if kind is None:
        return None
    low, high = param.min, param.max
    if low is not None and high is not None:
        return f"must be {kind} from {low} to {high}"
    if low is not None:
        return f"must be {kind}, at least {low}"
    if high is not None:
        return f"must be {kind}, at most {high}"
    return f"must be {kind}"


def _given(exc: BadParameter) -> object:
    """The value as typed: Typer validates with Pydantic, whose error keeps it. (A pydantic
    error exists only once pydantic is loaded; the command line does not load it to ask.)"""
    cause = exc.__cause__
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(cause, pydantic.ValidationError) and cause.errors():
        return cause.errors()[0]["input"]
    return None


def _no_such_option(exc: NoSuchOption) -> str:
    close = difflib.get_close_matches(exc.option_name, exc.possibilities or (), n=1, cutoff=0.8)
    hint = f"; did you mean {close[0]}?" if close else _see_help(exc)
    return f"{exc.option_name}: no such option{hint}"


def _name(param: TyperArgument | TyperOption) -> str:
    """An argument's metavar (`PATH`), an option's long name (`--top`)."""
    return param.display_name_raw if isinstance(param, TyperArgument) else max(param.opts, key=len)


def _usage(ctx: Context) -> str:
    """The usage line on one line, without its `Usage:`."""
    return " ".join([ctx.command_path, *ctx.command.collect_usage_pieces(ctx)])


def _see_help(exc: UsageError) -> str:
    return "" if exc.ctx is None else f" (see '{exc.ctx.command_path} -h')"


def _clause(message: str) -> str:
    """Click's sentences as one clause: "No such command 'x'. Did you mean 'y'?" becomes
    "no such command 'x'; did you mean 'y'?"."""
    sentences = (s.strip().removesuffix(".") for s in message.split(". "))
    return "; ".join(s[:1].lower() + s[1:] for s in sentences if s)
