"""Who may call: API keys (X-API-Key or Bearer), their scopes, their management over the API,
and the rate limit each key gets — in process, and shared through Redis."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from bifrost.config import Settings
from bifrost.store import hash_secret, open_store, revoke_key
from tests.api.conftest import ANALYSES, KEYS, TRAINER, Api, assert_error

CHALLENGE = 'ApiKey realm="bifrost"'


def key_header(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


# Keys ---------------------------------------------------------------------------------------


def test_without_a_key_only_the_probes_answer(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        for method, path in (("POST", ANALYSES), ("GET", ANALYSES), ("GET", "/metrics")):
            response = await client.request(method, path, content=TRAINER)
            error = assert_error(response, 401, "unauthorized")
            assert "X-API-Key" in error["message"]
            assert response.headers["www-authenticate"] == CHALLENGE
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 200

    api.run(scenario, auth=True)


def test_an_unknown_key_is_401(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        await api.key("ci-bot", ["analyze", "read"])
        response = await client.get(ANALYSES, headers=key_header("bfk_not-a-key"))
        error = assert_error(response, 401, "unauthorized")
        assert "not valid" in error["message"]

    api.run(scenario, auth=True)


def test_every_401_names_the_scheme(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.get(ANALYSES, headers=key_header("bfk_not-a-key"))
        assert_error(response, 401, "unauthorized")
        assert response.headers.get("www-authenticate") == CHALLENGE

    sqlite_api.run(scenario, auth=True)


def test_a_revoked_key_is_refused_from_its_next_request(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        key, secret = await api.key("ci-bot", ["read"])
        assert (await client.get(ANALYSES, headers=key_header(secret))).status_code == 200
        async with await open_store(Settings(database_url=api.database_url)) as store:
            await revoke_key(store, key.id)
        response = await client.get(ANALYSES, headers=key_header(secret))
        revoked = assert_error(response, 401, "unauthorized")
        # Worded as for a key that never existed: the answer does not confirm one did.
        unknown = assert_error(
            await client.get(ANALYSES, headers=key_header("bfk_x")), 401, "unauthorized"
        )
        assert revoked["message"] == unknown["message"]

    api.run(scenario, auth=True)


def test_a_key_may_do_only_what_its_scopes_allow(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        _, reader = await api.key("dashboard", ["read"])
        _, worker = await api.key("ci-bot", ["analyze", "read"])

        response = await client.post(ANALYSES, content=TRAINER, headers=key_header(reader))
        error = assert_error(response, 403, "forbidden")
        assert "`analyze`" in error["message"]
        assert (await client.get(ANALYSES, headers=key_header(reader))).status_code == 200

        created = await client.post(ANALYSES, content=TRAINER, headers=key_header(worker))
        assert created.status_code == 201
        for method, path in (("GET", KEYS), ("DELETE", created.headers["location"])):
            response = await client.request(method, path, headers=key_header(worker))
            error = assert_error(response, 403, "forbidden")
            assert "`admin`" in error["message"]

    api.run(scenario, auth=True)


def test_a_key_may_come_as_a_bearer_token(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        _, secret = await api.key("ci-bot", ["analyze"])
        bearer = {"Authorization": f"Bearer {secret}"}
        assert (await client.post(ANALYSES, content=TRAINER, headers=bearer)).status_code == 201
        basic = {"Authorization": f"Basic {secret}"}
        response = await client.post(ANALYSES, content=TRAINER, headers=basic)
        assert_error(response, 401, "unauthorized")

    api.run(scenario, auth=True)


def test_an_admin_creates_lists_and_revokes_keys(api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        _, admin_secret = await api.key("ops", ["admin"])
        admin = key_header(admin_secret)

        response = await client.post(
            KEYS,
            json={"name": "ci-bot", "scopes": ["analyze"], "rate": "100 / hours"},
            headers=admin,
        )
        assert response.status_code == 201
        created = response.json()
        secret = created["key"]
        assert secret.startswith("bfk_")
        assert created["prefix"] == secret[:12]
        assert (created["name"], created["scopes"], created["rate"]) == (
            "ci-bot",
            ["analyze"],
            "100/hour",
        )
        assert created["revoked_at"] is None

        # The new key works at once, within its scopes.
        assert (
            await client.post(ANALYSES, content=TRAINER, headers=key_header(secret))
        ).status_code == 201
        assert_error(await client.get(ANALYSES, headers=key_header(secret)), 403, "forbidden")

        listing = await client.get(KEYS, headers=admin)
        assert listing.status_code == 200
        assert [key["name"] for key in listing.json()] == ["ops", "ci-bot"]
        for key in listing.json():
            assert key["tenant"] == "default"
            assert set(key) == {
                "id",
                "name",
                "tenant",
                "prefix",
                "scopes",
                "rate",
                "created_at",
                "last_used_at",
                "revoked_at",
            }
        for secret_or_hash in (secret, admin_secret, hash_secret(secret), secret[12:]):
            assert secret_or_hash not in listing.text

        revoked = await client.delete(f"{KEYS}/{created['id']}", headers=admin)
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert "key" not in revoked.json()
        response = await client.post(ANALYSES, content=TRAINER, headers=key_header(secret))
        assert_error(response, 401, "unauthorized")

        assert_error(await client.delete(f"{KEYS}/999", headers=admin), 404, "not_found")

    api.run(scenario, auth=True)


def test_a_key_asked_for_with_a_bad_rate_or_scope_is_422(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        bad_rate = {"name": "ci-bot", "rate": "fast"}
        error = assert_error(await client.post(KEYS, json=bad_rate), 422, "validation_error")
        assert error["fields"][0]["field"] == "body.rate"
        assert "N/second" in error["message"]
        bad_scope = {"name": "ci-bot", "scopes": ["root"]}
        error = assert_error(await client.post(KEYS, json=bad_scope), 422, "validation_error")
        assert error["fields"][0]["field"] == "body.scopes.0"
        assert (await client.get(KEYS)).json() == []

    sqlite_api.run(scenario)


def test_with_auth_off_every_caller_may_do_everything(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        created = await client.post(ANALYSES, content=TRAINER)
        assert created.status_code == 201
        assert (await client.get(ANALYSES)).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.post(KEYS, json={"name": "ci-bot"})).status_code == 201
        assert [key["name"] for key in (await client.get(KEYS)).json()] == ["ci-bot"]
        assert (await client.delete(created.headers["location"])).status_code == 204

    sqlite_api.run(scenario, auth=False)


# Rate limits --------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limiter_redis(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """No Redis (each process counts), then the test Redis (every process shares buckets).

    The buckets a test fills in Redis are removed before and after it (see `clean_buckets`).
    """
    if request.param == "memory":
        yield None
        return
    url: str = request.getfixturevalue("redis_url")
    yield url


def clean_buckets(redis_url: str | None, *key_ids: int) -> None:
    """Forget the Redis rate buckets of these keys (a bucket is named by the key's id)."""
    if redis_url is None:
        return
    client = redis.Redis.from_url(redis_url)
    try:
        client.delete(*(f"bifrost:rate:key:{key_id}" for key_id in key_ids))
    finally:
        client.close()


def test_a_key_gets_its_rate_then_429_and_others_are_unaffected(
    sqlite_api: Api, limiter_redis: str | None
) -> None:
    key_ids: list[int] = []

    async def scenario(client: httpx.AsyncClient) -> None:
        slow, slow_secret = await sqlite_api.key("nightly", ["read"], rate="3/minute")
        other, other_secret = await sqlite_api.key("dashboard", ["read"])
        key_ids.extend((slow.id, other.id))
        clean_buckets(limiter_redis, *key_ids)

        remaining = []
        for _ in range(3):
            response = await client.get(ANALYSES, headers=key_header(slow_secret))
            assert response.status_code == 200
            assert response.headers["ratelimit-limit"] == "3"
            remaining.append(response.headers["ratelimit-remaining"])
        assert remaining == ["2", "1", "0"]

        refused = await client.get(ANALYSES, headers=key_header(slow_secret))
        error = assert_error(refused, 429, "rate_limited")
        assert "3/minute" in error["message"]
        assert refused.headers["ratelimit-remaining"] == "0"
        assert 1 <= int(refused.headers["retry-after"]) <= 20  # one token per 20 s

        unaffected = await client.get(ANALYSES, headers=key_header(other_secret))
        assert unaffected.status_code == 200
        assert unaffected.headers["ratelimit-limit"] == "600"  # the server's default rate

    try:
        sqlite_api.run(scenario, auth=True, redis_url=limiter_redis)
    finally:
        clean_buckets(limiter_redis, *key_ids)


def test_with_auth_off_the_limit_counts_per_client_address(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        assert (await client.get(ANALYSES)).status_code == 200
        assert (await client.get(ANALYSES)).status_code == 200
        refused = await client.get(ANALYSES)
        assert_error(refused, 429, "rate_limited")
        assert "retry-after" in refused.headers

    sqlite_api.run(scenario, rate_limit="2/minute")


# Guessing keys ------------------------------------------------------------------------------


def test_guessing_keys_is_rate_limited_per_client(sqlite_api: Api) -> None:
    """Wrong keys cost the client a token each, taken before the key is looked up: after a
    few, it gets 429 rather than another answer to a guess."""

    async def scenario(client: httpx.AsyncClient) -> None:
        await sqlite_api.key("ci-bot", ["read"])
        for guess in range(3):
            response = await client.get(ANALYSES, headers=key_header(f"bfk_guess-{guess}"))
            assert_error(response, 401, "unauthorized")
        refused = await client.get(ANALYSES, headers=key_header("bfk_guess-3"))
        error = assert_error(refused, 429, "rate_limited")
        assert "3/minute" in error["message"]
        assert 1 <= int(refused.headers["retry-after"]) <= 20  # one token per 20 s

    sqlite_api.run(scenario, auth=True, auth_failure_limit="3/minute")


def test_a_key_found_valid_is_not_held_back_by_guesses(sqlite_api: Api) -> None:
    """The guessing limit is for keys not yet seen to work: once a key has, it goes on working
    while a guesser from the same address is refused."""

    async def scenario(client: httpx.AsyncClient) -> None:
        _, secret = await sqlite_api.key("ci-bot", ["read"])
        assert (await client.get(ANALYSES, headers=key_header(secret))).status_code == 200
        guesses = [
            (await client.get(ANALYSES, headers=key_header(f"bfk_guess-{n}"))).status_code
            for n in range(4)
        ]
        assert guesses == [401, 401, 429, 429]  # the valid key took the first token
        for _ in range(3):
            assert (await client.get(ANALYSES, headers=key_header(secret))).status_code == 200

    sqlite_api.run(scenario, auth=True, auth_failure_limit="3/minute")
