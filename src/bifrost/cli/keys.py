"""`bifrost keys`: the keys to the HTTP API — create one, list them, revoke one.

A secret is printed once, alone on stdout (so `KEY=$(bifrost keys create ci-bot)` works),
while what it is and the warning to keep it go to stderr. Nothing here ever prints a hash.

The store (and SQLAlchemy) is imported inside the commands that use it: the CLI starts
without it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.cli.options import NoColor, Verbose
from bifrost.cli.output import cli_message, run

if TYPE_CHECKING:
    from bifrost.store import ApiKey

app = typer.Typer(
    help="Manage the keys to the HTTP API: create, list, revoke.", no_args_is_help=True
)

DEFAULT_SCOPES = ("analyze", "read")
PREFIX_WIDTH = 13  # the 12 characters a key is recognised by, and an ellipsis
DATE_WIDTH = 10  # a narrow terminal wraps the time under the date rather than cutting it

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead.")]
Tenant = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        metavar="TENANT",
        help="The tenant whose keys these are (default: the default tenant); "
        "`bifrost tenants list` lists them.",
    ),
]


@app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(metavar="NAME", hidden=True)],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="What the key may do: analyze, read, admin (its tenant's keys and analyses), "
            "metrics (the server's /metrics) or server (tenants, any tenant's keys); repeat "
            "for several (default: analyze and read).",
        ),
    ] = None,
    tenant: Tenant = None,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            metavar="RATE",
            help="Its request limit, like 600/hour (default: the server's limit).",
        ),
    ] = None,
    json_output: Json = False,
    verbose: Verbose = False,
) -> None:
    """Create a key and print its secret, once.

    NAME says who or what will use the key, like ci-bot. Only a hash of the secret is kept.
    """
    import asyncio

    from bifrost.config import load_settings

    scopes: Sequence[str] = DEFAULT_SCOPES
    if scope:  # `--scope analyze --scope read` or `--scope analyze,read`
        scopes = [s.strip() for given in scope for s in given.split(",")]

    def action() -> None:
        from bifrost.analysis.keys import create_key
        from bifrost.analysis.tenants import as_tenant
        from bifrost.store import open_store

        async def create() -> tuple[ApiKey, str]:
            async with await open_store(load_settings()) as store:
                return await create_key(await as_tenant(store, tenant), name, scopes, rate)

        key, secret = asyncio.run(create())
        if json_output:
            row = key.to_row()
            created = {field: row[field] for field in _CREATED_FIELDS}
            sys.stdout.write(json.dumps({**created, "key": secret}) + "\n")
        else:
            sys.stdout.write(secret + "\n")
        sys.stdout.flush()
        said = cli_message(
            "keys.created_for_tenant" if tenant else "keys.created",
            id=key.id,
            name=_quoted(key.name),
            tenant=tenant,
            scopes=", ".join(key.scopes),
            rate=key.rate or cli_message("keys.default_rate"),
        )
        print(said, file=sys.stderr)

    run(action, verbose=verbose)


@app.command("list")
def list_command(
    show_all: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    tenant: Tenant = None,
    json_output: Json = False,
    no_color: NoColor = False,
    verbose: Verbose = False,
) -> None:
    """List the keys of a tenant, oldest first.

    Each with its name, prefix, scopes, rate, when it was made and last used.
    """
    import asyncio

    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.analysis.keys import list_keys
        from bifrost.analysis.tenants import as_tenant
        from bifrost.store import open_store

        async def fetch() -> list[ApiKey]:
            async with await open_store(load_settings()) as store:
                return await list_keys(await as_tenant(store, tenant), include_revoked=show_all)

        keys = asyncio.run(fetch())
        if json_output:
            sys.stdout.write(json.dumps([key.to_row() for key in keys]) + "\n")
        else:
            _print_keys(keys, no_color=no_color, show_all=show_all)

    run(action, verbose=verbose)


@app.command("revoke")
def revoke_command(
    key_id: Annotated[int, typer.Argument(metavar="ID", hidden=True)],
    tenant: Tenant = None,
    verbose: Verbose = False,
) -> None:
    """Revoke a key for good.

    ID is the id `bifrost keys list` shows. The API refuses the key from now on; it stays
    listed with --all.
    """
    import asyncio

    from bifrost.config import load_settings

    def action() -> None:
        from bifrost.analysis.keys import revoke_key
        from bifrost.analysis.tenants import as_tenant
        from bifrost.store import open_store

        async def revoke() -> ApiKey:
            async with await open_store(load_settings()) as store:
                return await revoke_key(await as_tenant(store, tenant), key_id)

        key = asyncio.run(revoke())
        print(cli_message("keys.revoked", id=key.id, name=_quoted(key.name)))

    run(action, verbose=verbose)


_CREATED_FIELDS = ("id", "name", "prefix", "scopes", "rate", "created_at")


def _quoted(name: str) -> str:
    """The name in double quotes, with any quote or control character in it escaped."""
    return json.dumps(name, ensure_ascii=False)


def _print_keys(keys: list[ApiKey], *, no_color: bool, show_all: bool) -> None:
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from bifrost.cli.console import console

    out = console(no_color=no_color)
    if not keys:
        out.print(cli_message("keys.none" if show_all else "keys.none_active"), style="dim")
        return
    revoked = cli_message("keys.revoked_status")
    table = Table(box=None, pad_edge=False, collapse_padding=True)
    table.add_column(cli_message("column.id"), no_wrap=True)
    table.add_column(cli_message("column.name"))
    # never cut short
    table.add_column(cli_message("column.prefix"), no_wrap=True, min_width=PREFIX_WIDTH)
    table.add_column(cli_message("column.scopes"))
    table.add_column(cli_message("column.rate"))
    table.add_column(cli_message("column.created"), min_width=DATE_WIDTH)
    table.add_column(cli_message("column.last_used"), min_width=DATE_WIDTH)
    table.add_column(cli_message("column.status"), no_wrap=True, min_width=cell_len(revoked))
    for key in keys:
        table.add_row(
            str(key.id),
            Text(key.name),
            Text(key.prefix + "…"),
            Text(", ".join(key.scopes)),
            Text(key.rate or cli_message("word.default")),
            _when(key.created_at),
            _when(key.last_used_at) if key.last_used_at else cli_message("word.never"),
            Text(cli_message("keys.active"), style="green")
            if key.active
            else Text(revoked, style="red"),
        )
    out.print(table)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
