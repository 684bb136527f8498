"""What keeps a web page the user visits from driving a local API with auth off: the Host must
be a loopback name, an IP address or an allowed host (DNS rebinding), and a state-changing
request or a WebSocket handshake from another origin is refused (cross-site requests, CSRF).

A browser always sends Host, and sends Origin (or at least Sec-Fetch-Site) on a cross-site
POST, DELETE or WebSocket handshake; a page cannot choose them. curl and scripts send neither
Origin nor Sec-Fetch-Site, and keep working.
"""

from __future__ import annotations

import warnings

import httpx
import pytest

from tests.api.conftest import ANALYSES, TRAINER, Api, assert_error
from tests.api.test_streaming import SOCKET, socket_client, until_final

with warnings.catch_warnings():  # "install httpx2": the test client works with httpx as is
    warnings.simplefilter("ignore")
    from starlette.testclient import WebSocketDenialResponse

SERVER = "localhost:8000"
"""The Host a browser sends to a server it reached at http://localhost:8000."""
EVIL = "https://evil.example"
FROM_EVIL = {"Host": SERVER, "Origin": EVIL}


async def stored(client: httpx.AsyncClient) -> list[int]:
    """The ids of the analyses in the history."""
    response = await client.get(ANALYSES, headers={"Host": SERVER})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# Host (DNS rebinding) -----------------------------------------------------------------------


def test_a_foreign_host_is_refused(sqlite_api: Api) -> None:
    """A page of attacker.example whose name now resolves to 127.0.0.1 reads the API as its
    own origin; its requests still say `Host: attacker.example`."""

    async def scenario(client: httpx.AsyncClient) -> None:
        for host in ("attacker.example", "attacker.example:8000"):
            response = await client.get(ANALYSES, headers={"Host": host})
            error = assert_error(response, 400, "host_not_allowed")
            assert "'attacker.example'" in error["message"]
            assert "BIFROST_ALLOWED_HOSTS" in error["message"]
        refused = await client.post(
            ANALYSES, content=TRAINER, headers={"Host": "attacker.example:8000"}
        )
        assert_error(refused, 400, "host_not_allowed")
        assert await stored(client) == []

    sqlite_api.run(scenario)


ANSWERED = [
    "localhost",
    "LOCALHOST:8000",
    "127.0.0.1:8000",
    "[::1]:8000",
    "10.1.2.3",  # an address the server listens on, or one a proxy forwards to it
    "192.168.0.7:8080",
    "[2001:db8::1]:8000",
    "bifrost.internal:8000",  # allowed by name
    "api.example.com",  # allowed by `*.example.com`
    "a.b.example.com:443",
]
REFUSED = [
    "attacker.example",
    "localhost.attacker.example",
    "127.0.0.1.nip.io",  # a name that resolves to an address is still a name
    "api.example.com.attacker.example",
    "notexample.com",
    "bifrost.internal.attacker.example",
]


def test_the_host_must_be_loopback_an_address_or_allowed(sqlite_api: Api) -> None:
    """Loopback names and IP addresses (nothing to rebind) are answered, and the names in
    `allowed_hosts`; names that merely contain them are not."""

    async def scenario(client: httpx.AsyncClient) -> None:
        for host in ANSWERED:
            response = await client.get(ANALYSES, headers={"Host": host})
            assert response.status_code == 200, (host, response.text[:200])
        for host in REFUSED:
            response = await client.get(ANALYSES, headers={"Host": host})
            assert response.status_code == 400, (host, response.text[:200])
            assert_error(response, 400, "host_not_allowed")

    sqlite_api.run(scenario, allowed_hosts="bifrost.internal, *.example.com")


def test_allowed_hosts_star_answers_any_host(sqlite_api: Api) -> None:
    """`*` is the operator's way out (a proxy checks the Host); by default a name is refused."""

    async def refused(client: httpx.AsyncClient) -> None:
        response = await client.get(ANALYSES, headers={"Host": "attacker.example"})
        assert_error(response, 400, "host_not_allowed")

    async def answered(client: httpx.AsyncClient) -> None:
        response = await client.get(ANALYSES, headers={"Host": "attacker.example"})
        assert response.status_code == 200, response.text

    sqlite_api.run(refused)
    sqlite_api.run(answered, allowed_hosts="*")


# Origin (cross-site requests) ---------------------------------------------------------------


def test_a_cross_site_post_is_refused_and_stores_nothing(sqlite_api: Api) -> None:
    """A form on evil.example can POST text/plain to the API with no preflight; the browser
    says where it comes from in Origin."""

    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.post(
            ANALYSES, content=TRAINER, headers={**FROM_EVIL, "Content-Type": "text/plain"}
        )
        error = assert_error(response, 403, "origin_not_allowed")
        assert EVIL in error["message"]
        assert "BIFROST_CORS_ORIGINS" in error["message"]
        assert await stored(client) == []
        # Reads are not refused: the browser does not show their answer to the other page.
        assert (await client.get(ANALYSES, headers=FROM_EVIL)).status_code == 200

    sqlite_api.run(scenario)


def test_a_cross_site_delete_is_refused_and_the_analysis_kept(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        created = await client.post(ANALYSES, content=TRAINER, headers={"Host": SERVER})
        assert created.status_code == 201
        location = created.headers["location"]
        assert_error(await client.delete(location, headers=FROM_EVIL), 403, "origin_not_allowed")
        assert (await client.get(location, headers={"Host": SERVER})).status_code == 200

    sqlite_api.run(scenario)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_page_of_another_site_without_origin_is_refused(sqlite_api: Api, site: str) -> None:
    """A browser that withholds Origin (a privacy setting) still says Sec-Fetch-Site; another
    site, or another port of this one (same-site), may not change anything."""

    async def scenario(client: httpx.AsyncClient) -> None:
        headers = {"Host": SERVER, "Sec-Fetch-Site": site}
        error = assert_error(
            await client.post(ANALYSES, content=TRAINER, headers=headers),
            403,
            "origin_not_allowed",
        )
        assert f"Sec-Fetch-Site: {site}" in error["message"]
        assert await stored(client) == []

    sqlite_api.run(scenario)


def test_the_servers_own_pages_and_configured_origins_may_post(sqlite_api: Api) -> None:
    """The same origin (the name and port of the Host) and the CORS origins the operator
    configured are trusted; another port or another name of the same machine is not."""

    async def scenario(client: httpx.AsyncClient) -> None:
        trusted = [
            {"Host": SERVER, "Origin": "http://localhost:8000"},
            {"Host": SERVER, "Origin": "https://ui.example"},  # in cors_origins
            {"Host": SERVER, "Origin": "http://localhost:8000", "Sec-Fetch-Site": "same-origin"},
            {"Host": SERVER, "Sec-Fetch-Site": "same-origin"},
            {"Host": SERVER, "Sec-Fetch-Site": "none"},  # typed by the user
            # Behind a TLS proxy: no port in the Host, the default one in the Origin.
            {"Host": "bifrost.example.com", "Origin": "https://bifrost.example.com"},
        ]
        for headers in trusted:
            response = await client.post(
                ANALYSES, params={"cache": False}, content=TRAINER, headers=headers
            )
            assert response.status_code == 201, (headers, response.text[:200])
        untrusted = [
            {"Host": SERVER, "Origin": "http://localhost:9000"},
            {"Host": SERVER, "Origin": "http://127.0.0.1:8000"},
            {"Host": SERVER, "Origin": "http://localhost.evil.example:8000"},
            {"Host": SERVER, "Origin": "null"},  # a sandboxed page or a file
            {"Host": "bifrost.example.com", "Origin": "https://evil.example.com"},
        ]
        for headers in untrusted:
            response = await client.post(ANALYSES, content=TRAINER, headers=headers)
            assert response.status_code == 403, (headers, response.text[:200])
            assert_error(response, 403, "origin_not_allowed")
        assert len(await stored(client)) == len(trusted)

    sqlite_api.run(
        scenario, cors_origins=["https://ui.example"], allowed_hosts="bifrost.example.com"
    )


def test_a_client_that_is_no_browser_is_not_asked_for_an_origin(sqlite_api: Api) -> None:
    """curl, the CLI and scripts send neither Origin nor Sec-Fetch-Site: they are not a page
    the user happens to visit, and change things as before."""

    async def scenario(client: httpx.AsyncClient) -> None:
        created = await client.post(ANALYSES, content=TRAINER, headers={"Host": SERVER})
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        from_page = await client.post(ANALYSES, content=TRAINER, headers=FROM_EVIL)
        assert_error(from_page, 403, "origin_not_allowed")
        assert (await client.delete(location, headers={"Host": SERVER})).status_code == 204
        assert await stored(client) == []

    sqlite_api.run(scenario)


# WebSocket ----------------------------------------------------------------------------------


def test_a_websocket_from_another_origin_is_refused(sqlite_api: Api) -> None:
    """A page may open a WebSocket to any server (no CORS): the handshake's Origin decides."""
    with socket_client(sqlite_api) as client:
        for headers in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}):
            with (
                pytest.raises(WebSocketDenialResponse) as refused,
                client.websocket_connect(SOCKET, headers=headers),
            ):
                pass
            assert refused.value.status_code == 403
            assert refused.value.json()["error"]["code"] == "origin_not_allowed"

        for headers in ({}, {"Origin": "http://testserver"}):  # no browser; the same origin
            with client.websocket_connect(SOCKET, headers=headers) as socket:
                socket.send_json({"log": TRAINER.decode(), "store": False})
                assert until_final(socket)[-1]["event"] == "report"
