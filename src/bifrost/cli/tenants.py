"""`bifrost tenants`: the teams sharing one server, with their limits and what they used.

The CLI speaks to the database itself, so it is the admin of the whole server: it makes
tenants and their first keys (`bifrost keys create NAME --tenant TENANT --scope admin`).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated

import typer

from bifrost.cli.options import Verbose
from bifrost.cli.output import aligned, cli_message, run, run_async
from bifrost.errors import UsageError

if TYPE_CHECKING:
    from bifrost.analysis.tenants import Limits, TenantRecord, Usage

app = typer.Typer(
    help="Manage the teams that share the server and their limits.\n\nEach tenant has its own "
    "history, keys and limits.",
    no_args_is_help=True,
)

_AMOUNT = re.compile(r"(\d+)\s*(k|m|g|t|ki|mi|gi|ti)?b?", re.IGNORECASE)
_FACTORS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_FACTORS |= {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_NO_LIMIT = frozenset({"none", "unlimited"})

Name = Annotated[str, typer.Argument(metavar="NAME", hidden=True)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead.")]
Rate = Annotated[
    str | None,
    typer.Option(
        "--rate", metavar="RATE", help="Requests over all its keys, like 600/minute; none: no cap."
    ),
]
PerDay = Annotated[
    str | None,
    typer.Option("--analyses-per-day", metavar="N", help="Analyses per UTC day; none: no cap."),
]
Stored = Annotated[
    str | None,
    typer.Option(
        "--stored-bytes", metavar="SIZE", help="History kept, like 5GB or 500MiB; none: no cap."
    ),
]
Tokens = Annotated[
    str | None,
    typer.Option(
        "--llm-tokens-per-month",
        metavar="N",
        help="LLM tokens per UTC month, like 2M; none: no cap.",
    ),
]


def amount(text: str) -> int | None:
    """`5GB`, `500MiB`, `2M`, `1000`; None for `none` or `unlimited`."""
    if text.strip().lower() in _NO_LIMIT:
        return None
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        raise UsageError.said("usage.bad_amount", text=repr(text))
    return int(match[1]) * _FACTORS[(match[2] or "").lower()]


@app.command("create")
def create_command(
    name: Name,
    rate: Rate = None,
    analyses_per_day: PerDay = None,
    stored_bytes: Stored = None,
    llm_tokens_per_month: Tokens = None,
    json_output: Json = False,
    verbose: Verbose = False,
) -> None:
    """Create a tenant, with its limits (none by default).

    NAME is lower case, like team-ml. Then give it a key:
    `bifrost keys create ml-admin --tenant NAME --scope admin`.
    """

    async def body() -> str:
        from bifrost.analysis.tenants import Limits, create_tenant
        from bifrost.config import load_settings
        from bifrost.store import open_store

        limits = Limits(
            rate=None if rate is None or rate.lower() in _NO_LIMIT else rate,
            analyses_per_day=_maybe(analyses_per_day),
            stored_bytes=_maybe(stored_bytes),
            llm_tokens_per_month=_maybe(llm_tokens_per_month),
        )
        async with await open_store(load_settings()) as store:
            tenant = await create_tenant(store, name, limits)
        if json_output:
            return json.dumps(_row(tenant))
        return cli_message("tenants.created", name=tenant.name, limits=_limits_line(tenant.limits))

    run(lambda: print(run_async(body())), verbose=verbose)


@app.command("set")
def set_command(
    name: Name,
    rate: Rate = None,
    analyses_per_day: PerDay = None,
    stored_bytes: Stored = None,
    llm_tokens_per_month: Tokens = None,
    verbose: Verbose = False,
) -> None:
    """Change a tenant's limits.

    The limits given change (none removes one), the others stay. A running server reads them
    again within 30 seconds.
    """

    async def body() -> str:
        from bifrost.analysis.tenants import Limits, set_limits, tenant_named
        from bifrost.config import load_settings
        from bifrost.store import open_store

        async with await open_store(load_settings()) as store:
            now = (await tenant_named(store, name)).limits
            limits = Limits(
                rate=now.rate if rate is None else (None if rate.lower() in _NO_LIMIT else rate),
                analyses_per_day=_changed(now.analyses_per_day, analyses_per_day),
                stored_bytes=_changed(now.stored_bytes, stored_bytes),
                llm_tokens_per_month=_changed(now.llm_tokens_per_month, llm_tokens_per_month),
            )
            tenant = await set_limits(store, name, limits)
        return cli_message("tenants.changed", name=tenant.name, limits=_limits_line(tenant.limits))

    run(lambda: print(run_async(body())), verbose=verbose)


@app.command("list")
def list_command(json_output: Json = False, verbose: Verbose = False) -> None:
    """List the tenants, oldest first, with their limits."""

    async def body() -> str:
        from bifrost.analysis.tenants import list_tenants
        from bifrost.config import load_settings
        from bifrost.store import open_store

        async with await open_store(load_settings()) as store:
            tenants = await list_tenants(store)
        if json_output:
            return json.dumps([_row(tenant) for tenant in tenants])
        width = max(len(tenant.name) for tenant in tenants)
        return "\n".join(
            f"{tenant.name:<{width}}  {_limits_line(tenant.limits)}" for tenant in tenants
        )

    run(lambda: print(run_async(body())), verbose=verbose)


@app.command("show")
def show_command(name: Name, json_output: Json = False, verbose: Verbose = False) -> None:
    """Show a tenant's limits and what it used.

    Analyses today and LLM tokens this month (UTC days and months), and bytes kept.
    """

    async def body() -> str:
        from bifrost.analysis.tenants import tenant_named, usage
        from bifrost.config import load_settings
        from bifrost.store import open_store

        async with await open_store(load_settings()) as store:
            tenant = await tenant_named(store, name)
            used = await usage(store.for_tenant(tenant.id))
        if json_output:
            return json.dumps(_row(tenant, used))
        limits = tenant.limits
        resets = cli_message(
            "tenants.resets_at",
            day=f"{used.day_resets_at:%Y-%m-%d %H:%M}",
            month=f"{used.month_resets_at:%Y-%m-%d}",
        )
        heading = cli_message(
            "tenants.heading", name=tenant.name, date=f"{tenant.created_at:%Y-%m-%d}"
        )
        rows = [
            (
                cli_message("tenants.rate"),
                limits.rate or cli_message("tenants.server_default"),
            ),
            (
                cli_message("tenants.analyses_today"),
                _used(used.analyses_today, limits.analyses_per_day),
            ),
            (
                cli_message("tenants.tokens_this_month"),
                _used(used.llm_tokens_this_month, limits.llm_tokens_per_month),
            ),
            (cli_message("tenants.bytes_kept"), _used(used.stored_bytes, limits.stored_bytes)),
            (cli_message("tenants.resets"), resets),
        ]
        return "\n".join([heading, *aligned(rows)])

    run(lambda: print(run_async(body())), verbose=verbose)


def _maybe(text: str | None) -> int | None:
    return None if text is None else amount(text)


def _changed(now: int | None, text: str | None) -> int | None:
    return now if text is None else amount(text)


def _used(used: int, limit: int | None) -> str:
    if limit is None:
        return cli_message("tenants.used_no_limit", used=f"{used:,}")
    return cli_message("tenants.used_of", used=f"{used:,}", limit=f"{limit:,}")


def _limits_line(limits: Limits) -> str:
    parts = [
        cli_message("tenants.limit_rate", rate=limits.rate) if limits.rate else None,
        _limit("tenants.limit_analyses", limits.analyses_per_day),
        _limit("tenants.limit_bytes", limits.stored_bytes),
        _limit("tenants.limit_tokens", limits.llm_tokens_per_month),
    ]
    return ", ".join(part for part in parts if part) or cli_message("tenants.no_limits")


def _limit(key: str, amount: int | None) -> str | None:
    return None if amount is None else cli_message(key, n=f"{amount:,}")


def _row(tenant: TenantRecord, used: Usage | None = None) -> dict[str, object]:
    row: dict[str, object] = {
        "name": tenant.name,
        "created_at": tenant.created_at.isoformat(),
        "limits": vars(tenant.limits),
    }
    if used is not None:
        row["used"] = {
            "analyses_today": used.analyses_today,
            "llm_tokens_this_month": used.llm_tokens_this_month,
            "stored_bytes": used.stored_bytes,
            "day_resets_at": used.day_resets_at.isoformat(),
            "month_resets_at": used.month_resets_at.isoformat(),
        }
    return row
