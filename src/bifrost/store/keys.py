"""API keys: create, list, find by secret, revoke, and note when one was last used.

A secret is shown once, when it is created; the database keeps only its SHA-256, so a copy
of the database (a backup, a leaked dump) opens nothing. Plain async functions over a
`Store`, each one transaction, like `repository.py`; the CLI and the API call these.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import ColumnElement, RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bifrost.errors import UsageError
from bifrost.store.database import Store
from bifrost.store.models import ApiKeyRow
from bifrost.store.records import ApiKey, NotFound, utcnow
from bifrost.times import Rate

SCOPES = ("analyze", "read", "admin", "metrics", "server")
"""What a key may do: run analyses, read its tenant's history, manage its tenant's keys and
analyses, read the whole server's Prometheus metrics, and (`server`) manage the whole server:
tenants, and keys of any tenant."""

SECRET_PREFIX = "bfk_"  # makes a leaked key recognisable to people and to secret scanners
PREFIX_CHARS = 12  # shown in listings: "bfk_" and 8 random characters
MAX_NAME = 200
MAX_RATE = 40

_COLUMNS = (
    ApiKeyRow.id,
    ApiKeyRow.tenant_id,
    ApiKeyRow.name,
    ApiKeyRow.prefix,
    ApiKeyRow.scopes,
    ApiKeyRow.rate,
    ApiKeyRow.created_at,
    ApiKeyRow.last_used_at,
    ApiKeyRow.revoked_at,
)


def new_secret() -> str:
    """A fresh secret: the `bfk_` prefix and 256 random bits, URL-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The SHA-256 of the secret, in hex: what the database keeps and looks keys up by.

    A slow password hash (bcrypt, argon2) defends guessable passwords; a random 256-bit
    token cannot be guessed, so one fast hash is enough (GitHub's tokens are kept the same
    way), and it lets `find_key` look a key up with one indexed query on every request.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create_key(
    store: Store, name: str, scopes: Sequence[str], rate: str | None = None
) -> tuple[ApiKey, str]:
    """A new key of the store's tenant, and its secret. Show the secret now: only its hash
    is stored.

    `rate` is stored in its canonical form ("600 / hours" becomes "600/hour").
    """
    name = name.strip()
    if not name:
        raise UsageError.said("key.no_name")
    if len(name) > MAX_NAME:
        raise UsageError.said("key.long_name", most=MAX_NAME, length=len(name))
    ordered = _valid_scopes(scopes)
    canonical = _canonical_rate(rate) if rate is not None else None
    secret = new_secret()
    values = {
        "tenant_id": store.tenant,
        "name": name,
        "prefix": secret[:PREFIX_CHARS],
        "key_hash": hash_secret(secret),
        "scopes": list(ordered),
        "rate": canonical,
        "created_at": utcnow(),
    }
    async with store.write() as connection:
        inserted = await connection.execute(insert(ApiKeyRow).values(values).returning(*_COLUMNS))
        row = inserted.mappings().one()
    return _record(row), secret


async def list_keys(store: Store, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key of the store's tenant (or only the active ones), oldest first."""
    query = select(*_COLUMNS).where(ApiKeyRow.tenant_id == store.tenant).order_by(ApiKeyRow.id)
    if not include_revoked:
        query = query.where(ApiKeyRow.revoked_at.is_(None))
    async with store.read() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [_record(row) for row in rows]


async def find_key(store: Store, secret: str) -> ApiKey | None:
    """The key with this secret, of any tenant, revoked or not (the caller tells "revoked"
    from "unknown"): a key says which tenant calls."""
    return await _find(store, ApiKeyRow.key_hash == hash_secret(secret))


async def get_key(store: Store, key_id: int) -> ApiKey | None:
    """The key with this id, of any tenant, revoked or not (a web session names its key by
    id, and the session is signed by the server)."""
    return await _find(store, ApiKeyRow.id == key_id)


async def _find(store: Store, condition: ColumnElement[bool]) -> ApiKey | None:
    query = select(*_COLUMNS).where(condition)

    async def body(connection: AsyncConnection) -> RowMapping | None:
        return (await connection.execute(query)).mappings().first()

    row = await store.transact(body, write=False)  # every request with a key: tried twice
    return _record(row) if row is not None else None


async def revoke_key(store: Store, key_id: int) -> ApiKey:
    """Revoke the tenant's key for good; revoking it again changes nothing (it keeps the first
    time)."""
    mine = (ApiKeyRow.tenant_id == store.tenant, ApiKeyRow.id == key_id)
    async with store.write() as connection:
        await connection.execute(
            update(ApiKeyRow)
            .where(*mine, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        row = (await connection.execute(select(*_COLUMNS).where(*mine))).mappings().first()
    if row is None:
        raise NotFound.said("key.missing", id=key_id)
    return _record(row)


async def touch_key(store: Store, key_id: int) -> None:
    """Note that the key was used just now (an unknown id changes nothing)."""
    touch = update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=utcnow())

    async def body(connection: AsyncConnection) -> None:
        await connection.execute(touch)

    await store.transact(body)


def _valid_scopes(scopes: Sequence[str]) -> tuple[str, ...]:
    """The scopes without repeats, in SCOPES order; a usage error names the valid ones."""
    valid = ", ".join(SCOPES)
    if isinstance(scopes, str):  # a lone "read" would otherwise be read letter by letter
        scopes = [scopes]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise UsageError.said("key.unknown_scope", scope=repr(unknown[0]), scopes=valid)
    if not scopes:
        raise UsageError.said("key.no_scope", scopes=valid)
    return tuple(s for s in SCOPES if s in scopes)


def _canonical_rate(rate: str) -> str:
    canonical = str(Rate.parse(rate))
    if len(canonical) > MAX_RATE:
        raise UsageError.said("usage.rate_too_large", rate=repr(rate))
    return canonical


def _record(row: RowMapping) -> ApiKey:
    """The record of a row; scopes this version does not know are kept, after the known ones."""
    known = {scope: rank for rank, scope in enumerate(SCOPES)}
    scopes = sorted(row["scopes"], key=lambda scope: known.get(scope, len(SCOPES)))
    return ApiKey(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=tuple(scopes),
        rate=row["rate"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )
