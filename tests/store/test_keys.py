"""API keys on both databases: only the hash is kept, found by secret, revoked, touched, checked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, text

from bifrost.errors import ServiceError, UsageError
from bifrost.store import (
    SCOPES,
    NotFound,
    Store,
    create_key,
    find_key,
    hash_secret,
    list_keys,
    new_secret,
    revoke_key,
    touch_key,
)
from bifrost.store.models import ApiKeyRow

from .helpers import with_store


def test_create_returns_the_secret_and_stores_only_its_hash(store_url: str) -> None:
    async def body(store: Store) -> None:
        key, secret = await create_key(store, " ci-bot ", ["read", "analyze"], "600 / hours")
        assert secret.startswith("bfk_")
        assert len(secret) >= 4 + 43  # 32 random bytes, base64url
        assert (key.id, key.name, key.prefix) == (1, "ci-bot", secret[:12])
        assert key.scopes == ("analyze", "read")  # in SCOPES order, whatever the order given
        assert key.rate == "600/hour"  # canonical
        assert key.created_at.tzinfo is not None
        assert abs(key.created_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert (key.last_used_at, key.revoked_at, key.active) == (None, None, True)
        async with store.read() as connection:
            rows = (await connection.execute(text("SELECT * FROM api_keys"))).mappings().all()
        assert len(rows) == 1
        row = dict(rows[0])
        assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
        assert all(secret not in str(value) for value in row.values())
        assert all(secret[12:20] not in str(value) for value in row.values())  # no more of it

    with_store(store_url, body)


def test_find_key_by_its_secret(store_url: str) -> None:
    async def body(store: Store) -> None:
        key, secret = await create_key(store, "ci-bot", ["analyze"])
        assert await find_key(store, secret) == key
        assert await find_key(store, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
        assert await find_key(store, key.prefix) is None
        assert await find_key(store, "") is None
        assert await find_key(store, new_secret()) is None

    with_store(store_url, body)


def test_a_revoked_key_is_still_found_but_not_active(store_url: str) -> None:
    async def body(store: Store) -> None:
        key, secret = await create_key(store, "ci-bot", ["analyze", "read"])
        revoked = await revoke_key(store, key.id)
        assert revoked.revoked_at is not None
        assert not revoked.active
        assert abs(revoked.revoked_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert await find_key(store, secret) == revoked
        again = await revoke_key(store, key.id)  # idempotent: the first time is kept
        assert again == revoked
        with pytest.raises(NotFound, match=r"no API key has id 999; `bifrost keys list --all`"):
            await revoke_key(store, 999)

    with_store(store_url, body)


def test_list_keys_by_id_with_or_without_revoked(store_url: str) -> None:
    async def body(store: Store) -> None:
        assert await list_keys(store) == []
        made = [(await create_key(store, name, ["read"]))[0] for name in ("a", "b", "c")]
        await revoke_key(store, made[1].id)
        every = await list_keys(store)
        assert [k.name for k in every] == ["a", "b", "c"]
        assert [k.active for k in every] == [True, False, True]
        assert await list_keys(store, include_revoked=False) == [made[0], made[2]]

    with_store(store_url, body)


def test_touch_sets_last_used(store_url: str) -> None:
    async def body(store: Store) -> None:
        key, secret = await create_key(store, "ci-bot", ["analyze"])
        other, _ = await create_key(store, "other", ["analyze"])
        await touch_key(store, key.id)
        used = await find_key(store, secret)
        assert used is not None
        assert used.last_used_at is not None
        assert used.last_used_at.tzinfo is not None
        assert used.created_at <= used.last_used_at < datetime.now(UTC) + timedelta(seconds=1)
        assert [k.last_used_at is None for k in await list_keys(store)] == [False, True]
        await touch_key(store, 999)  # an unknown id changes nothing
        assert (await list_keys(store))[1] == other

    with_store(store_url, body)


@pytest.mark.parametrize(
    ("name", "scopes", "rate", "message"),
    [
        ("ci", ["write"], None, r"unknown scope 'write'; the scopes are analyze, read, admin"),
        ("ci", ["read", "Admin"], None, r"unknown scope 'Admin'"),
        ("ci", [], None, r"at least one scope: analyze, read, admin"),
        ("ci", ["read"], "600/fortnight", r"cannot read the rate '600/fortnight'"),
        ("ci", ["read"], "0/hour", r"cannot read the rate"),
        ("ci", ["read"], "9" * 40 + "/hour", r"too large"),
        ("", ["read"], None, r"a key needs a name"),
        ("   ", ["read"], None, r"a key needs a name"),
        ("x" * 201, ["read"], None, r"at most 200 characters, not 201"),
    ],
)
def test_create_validates_its_arguments(
    store_url: str, name: str, scopes: list[str], rate: str | None, message: str
) -> None:
    async def body(store: Store) -> None:
        with pytest.raises(UsageError, match=message):
            await create_key(store, name, scopes, rate)
        assert await list_keys(store) == []

    with_store(store_url, body)


def test_edge_values_are_accepted(store_url: str) -> None:
    async def body(store: Store) -> None:
        long, _ = await create_key(store, "x" * 200, [*reversed(SCOPES), "read"], "1/second")
        assert (len(long.name), long.scopes, long.rate) == (200, SCOPES, "1/second")
        lone, _ = await create_key(store, "reader", "read")  # a lone string is one scope
        assert lone.scopes == ("read",)

    with_store(store_url, body)


def test_two_keys_never_share_a_secret_or_hash(store_url: str) -> None:
    async def body(store: Store) -> None:
        first, first_secret = await create_key(store, "same", ["read"])
        second, second_secret = await create_key(store, "same", ["read"])
        assert first.id != second.id
        assert first_secret != second_secret
        assert hash_secret(first_secret) != hash_secret(second_secret)
        assert await find_key(store, first_secret) == first
        assert await find_key(store, second_secret) == second
        duplicate = {
            "name": "copy",
            "prefix": "bfk_copy",
            "key_hash": hash_secret(first_secret),
            "scopes": ["read"],
            "created_at": datetime.now(UTC),
        }
        with pytest.raises(ServiceError):  # the unique index refuses a second row with a hash
            async with store.write() as connection:
                await connection.execute(insert(ApiKeyRow).values(duplicate))

    with_store(store_url, body)


def test_secrets_and_hashes() -> None:
    secret = new_secret()
    assert secret.startswith("bfk_")
    assert secret[4:].replace("-", "").replace("_", "").isalnum()
    assert hash_secret(secret) == hash_secret(secret)
    assert len(hash_secret(secret)) == 64
    assert int(hash_secret(secret), 16) >= 0
    assert hash_secret("bfk_x") == hashlib.sha256(b"bfk_x").hexdigest()
