"""The API's documentation: Swagger UI served from the package (offline, no other host in its
Content-Security-Policy), the OpenAPI document, and their route labels in the metrics."""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx

import bifrost
from bifrost.api.routes.system import DOCS_ASSETS
from tests.api.conftest import ROOT, Api, assert_error, metric

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
SOURCE_KEYWORDS = {"'self'", "'none'", "'unsafe-inline'", "data:"}


class _Links(HTMLParser):
    """Every `src` and `href` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls


def csp_sources(header: str) -> dict[str, list[str]]:
    """Directive → its sources."""
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def test_docs_load_only_assets_the_server_serves(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        urls = links(page.text)
        assert {Path(url).suffix for url in urls} == set(CONTENT_TYPES), urls
        for url in urls:
            assert url.startswith("/docs/assets/"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            media_type = asset.headers["content-type"].split(";")[0]
            assert media_type == CONTENT_TYPES[Path(url).suffix], url
            assert asset.content

        start = (await client.get("/docs/assets/docs.js")).text
        assert 'url: "/openapi.json"' in start
        assert "https://" not in start
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200
        assert spec.json()["info"]["title"] == "Bifrost"

    sqlite_api.run(scenario)


def test_unknown_doc_assets_and_redoc_are_not_found(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        assert_error(await client.get("/docs/assets/docs.html"), 404, "not_found")
        assert_error(await client.get("/docs/assets/..%2F..%2Fapp.py"), 404, "not_found")
        assert_error(await client.get("/redoc"), 404, "not_found")  # would need a CDN

    sqlite_api.run(scenario)


def test_docs_csp_allows_no_other_host_and_no_inline_script(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        for path in ("/docs", "/docs/assets/swagger-ui-bundle.js"):
            directives = csp_sources((await client.get(path)).headers["content-security-policy"])
            assert directives["script-src"] == ["'self'"]
            assert directives["frame-ancestors"] == ["'none'"]
            for name, sources in directives.items():
                assert set(sources) <= SOURCE_KEYWORDS, (name, sources)

    sqlite_api.run(scenario)


def test_docs_and_openapi_have_their_route_labels(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui.css"):
            assert (await client.get(path)).status_code == 200
        exposition = (await client.get("/metrics")).text
        for route in ("/docs", "/openapi.json", "/docs/assets/{name}"):
            labels = {"method": "GET", "route": route, "status": "200"}
            assert metric(exposition, "bifrost_http_requests_total", **labels) >= 1, route

    sqlite_api.run(scenario)


def test_the_wheel_contains_the_docs_files() -> None:
    """Every file `/docs` serves is package data in pyproject.toml (globbed like setuptools)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package = Path(bifrost.__file__).parent
    packaged = {
        path
        for pattern in pyproject["tool"]["setuptools"]["package-data"]["bifrost"]
        for path in package.glob(pattern)
    }
    static = package / "api" / "static"
    served = [static / "docs.html", *(static / path for path, _ in DOCS_ASSETS.values())]
    for file in served:
        assert file.is_file(), file
        assert file in packaged, file


# The OpenAPI document -----------------------------------------------------------------------


def refs(node: object) -> set[str]:
    """Every `$ref` anywhere in a JSON document."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(value) for value in node))
    return set()


def test_every_ref_in_the_openapi_document_is_defined(sqlite_api: Api) -> None:
    """A `$ref` to nothing breaks client generators and Swagger UI's JSON body form."""

    async def scenario(client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        used = refs(document)
        assert "#/components/schemas/AnalysisRequest" in used  # the JSON form of a log
        schemas = document["components"]["schemas"]
        for ref in sorted(used):
            assert ref.startswith("#/components/schemas/"), ref
            assert ref.removeprefix("#/components/schemas/") in schemas, ref

    sqlite_api.run(scenario)


def llm_parameters(document: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """(method, path) -> the schema of its `llm` query parameter, for each operation that has
    one."""
    return {
        (method, path): parameter["schema"]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if (parameter["name"], parameter["in"]) == ("llm", "query")
    }


def test_without_an_llm_the_document_offers_none(sqlite_api: Api) -> None:
    """The server refuses every provider then (422): the document must not offer them."""

    async def scenario(client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        assert llm_parameters(document) == {}
        body = document["components"]["schemas"]["AnalysisRequest"]
        assert body["properties"]["llm"]["anyOf"] == [{"type": "null"}]

    sqlite_api.run(scenario)


def test_with_an_llm_the_document_offers_that_provider_alone(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        ollama_only = {"type": "string", "enum": ["ollama"]}
        assert llm_parameters(document) == {
            ("post", "/api/v1/analyses"): ollama_only,
            ("post", "/api/v1/analyses/stream"): ollama_only,
        }
        body = document["components"]["schemas"]["AnalysisRequest"]
        assert body["properties"]["llm"]["anyOf"] == [ollama_only, {"type": "null"}]

    sqlite_api.run(scenario, llm="ollama")
