"""The web UI's pages in process: analyse, read, search, feedback, sign-in, and what they
refuse (no CSRF token, another site, a read-only key, a revoked key)."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from pathlib import Path

import httpx
import pytest

from bifrost.analysis.tenants import create_tenant
from bifrost.config import Settings
from bifrost.report import Report
from bifrost.store import create_key, get_analysis, open_store, revoke_key
from bifrost.web.html import visible
from bifrost.web.pages import router as web_router
from bifrost.web.session import Signer
from tests.api.conftest import HEALTHY, MAVEN, TRAINER, Api

HOSTILE = (
    b"2024-05-14T11:44:39Z INFO starting\n"
    b"2024-05-14T11:44:40Z ERROR job failed: <script>alert(1)</script> \x1b[31mred\x1b[0m\n"
    b"2024-05-14T11:44:41Z INFO done\n"
)


async def csrf(client: httpx.AsyncClient, path: str = "/") -> str:
    """The CSRF token a page's forms carry (and its cookie, now in the client)."""
    page = await client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def analyse(client: httpx.AsyncClient, log: bytes, **fields: str) -> httpx.Response:
    token = await csrf(client)
    return await client.post(
        "/analyze", data={"csrf": token, "log": log.decode(), **fields}, follow_redirects=False
    )


async def stored_ids(client: httpx.AsyncClient) -> list[int]:
    history = await client.get("/history")
    return [int(n) for n in re.findall(r'<td><a href="/analyses/(\d+)">\1</a>', history.text)]


def test_a_pasted_log_becomes_a_report_page(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        answer = await analyse(client, TRAINER, service="trainer", env="prod", tags="nightly, gpu")
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert re.fullmatch(r"/analyses/\d+", location)
        page = await client.get(location)
        assert page.status_code == 200
        assert "GPU out of memory" in page.text  # the first finding
        assert '<span class="line hot"><span class="n">431</span>' in page.text  # its line
        assert "nightly, gpu" in page.text
        assert "trainer" in page.text

    sqlite_api.run(scenario)


def test_uploaded_files_plain_and_gzip_are_analysed_together(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        token = await csrf(client)
        files = [
            ("file", ("train.log.gz", gzip.compress(TRAINER), "application/gzip")),
            ("file", ("build.log", MAVEN, "text/plain")),
        ]
        answer = await client.post("/analyze", data={"csrf": token, "log": ""}, files=files)
        assert answer.status_code == 303
        report = await client.get(answer.headers["location"] + "/report.json")
        parsed = Report.model_validate_json(report.text)
        assert parsed.input.files == ["train.log.gz", "build.log"]
        categories = {f.category for f in parsed.findings}
        assert {"gpu.cuda_oom", "build.java_compile"} <= categories

    sqlite_api.run(scenario)


def test_nothing_to_analyse_is_one_clear_message(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        answer = await analyse(client, b"   \n")
        assert answer.status_code == 422
        assert "paste a log or choose a file" in answer.text
        assert await stored_ids(client) == []

    sqlite_api.run(scenario)


def test_log_text_and_labels_are_shown_as_text(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        answer = await analyse(
            client, HOSTILE, service='"><img src=x onerror=alert(2)>', env="\x1b[31mprod"
        )
        page = await client.get(answer.headers["location"])
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
        assert "\x1b" not in page.text
        assert "␛[31mprod" in page.text  # the engine drops colour codes; labels keep them
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy

    sqlite_api.run(scenario)


def test_a_form_without_its_token_is_refused_and_stores_nothing(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        await csrf(client)  # the cookie is there, the field is not
        missing = await client.post("/analyze", data={"log": TRAINER.decode()})
        assert missing.status_code == 403
        assert "reload the page" in missing.text
        wrong = await client.post("/analyze", data={"csrf": "x" * 43, "log": TRAINER.decode()})
        assert wrong.status_code == 403
        evil = await client.post(
            "/analyze",
            data={"csrf": await csrf(client), "log": TRAINER.decode()},
            headers={"Origin": "https://evil.example"},
        )
        assert evil.status_code == 403
        assert await stored_ids(client) == []

    sqlite_api.run(scenario)


def test_feedback_is_stored_and_shown(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await analyse(client, TRAINER)).headers["location"]
        token = await csrf(client, location)
        said = await client.post(
            location + "/feedback", data={"csrf": token, "good": "no", "note": "it was the disk"}
        )
        assert said.status_code == 303
        page = await client.get(location)
        assert "Wrong: it was the disk" in page.text
        store = await open_store(Settings(database_url=sqlite_api.database_url))
        async with store:
            stored = await get_analysis(store, int(location.rsplit("/", 1)[1]))
        assert stored is not None
        assert [(e.good, e.note) for e in stored.feedback] == [(False, "it was the disk")]

    sqlite_api.run(scenario)


def test_history_filters_and_exports(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        await analyse(client, TRAINER, service="trainer")
        await analyse(client, MAVEN, service="build")
        await analyse(client, HEALTHY, service="web")
        assert len(await stored_ids(client)) == 3
        only = await client.get("/history", params={"service": "build"})
        assert "Compilation" in only.text or "compil" in only.text.lower()
        assert len(re.findall(r'<td><a href="/analyses/(\d+)">\1</a>', only.text)) == 1
        failures = await client.get("/history", params={"verdict": "ok"})
        assert len(re.findall(r'<td><a href="/analyses/(\d+)">\1</a>', failures.text)) == 1
        bad = await client.get("/history", params={"since": "yesterday-ish"})
        assert bad.status_code == 422
        exported = await client.get("/history/export", params={"format": "json"})
        assert sorted(row["service"] for row in json.loads(exported.text)) == [
            "build",
            "trainer",
            "web",
        ]

    sqlite_api.run(scenario)


def test_downloads_are_the_reports_formats(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await analyse(client, TRAINER)).headers["location"]
        sarif = await client.get(location + "/report.sarif")
        assert json.loads(sarif.text)["version"] == "2.1.0"
        assert "attachment" in sarif.headers["content-disposition"]
        markdown = await client.get(location + "/report.md")
        assert markdown.text.startswith("#")
        assert "GPU out of memory" in markdown.text
        assert (await client.get(location + "/report.exe")).status_code == 404

    sqlite_api.run(scenario)


def test_with_auth_a_key_signs_in_and_a_read_only_key_cannot_analyse(sqlite_api: Api) -> None:
    _, writer = asyncio.run(sqlite_api.key("alice", ["analyze", "read"]))
    _, reader = asyncio.run(sqlite_api.key("lead", ["read"]))

    async def scenario(client: httpx.AsyncClient) -> None:
        first = await client.get("/", follow_redirects=False)
        assert (first.status_code, first.headers["location"]) == (303, "/signin?next=%2F")
        token = await csrf(client, "/signin")
        wrong = await client.post("/signin", data={"csrf": token, "key": "bfk_wrong"})
        assert wrong.status_code == 401
        signed = await client.post(
            "/signin", data={"csrf": token, "key": writer, "next": "//evil.example"}
        )
        assert (signed.status_code, signed.headers["location"]) == (303, "/")
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert writer not in cookie  # the key's secret never goes to the browser
        assert (await analyse(client, TRAINER)).status_code == 303

        client.cookies.clear()
        token = await csrf(client, "/signin")
        await client.post("/signin", data={"csrf": token, "key": reader})
        home = await client.get("/")
        assert home.status_code == 200
        assert 'action="/analyze"' not in home.text
        refused = await analyse(client, MAVEN)
        assert refused.status_code == 403
        assert len(await stored_ids(client)) == 1

    sqlite_api.run(scenario, auth=True)


def test_revoking_a_key_ends_its_sessions(sqlite_api: Api) -> None:
    key, secret = asyncio.run(sqlite_api.key("bob", ["read"]))

    async def scenario(client: httpx.AsyncClient) -> None:
        token = await csrf(client, "/signin")
        await client.post("/signin", data={"csrf": token, "key": secret})
        assert (await client.get("/history")).status_code == 200
        store = await open_store(Settings(database_url=sqlite_api.database_url))
        async with store:
            await revoke_key(store, key.id)
        after = await client.get("/history", follow_redirects=False)
        assert after.status_code == 303
        assert after.headers["location"].startswith("/signin")

    sqlite_api.run(scenario, auth=True)


def test_the_session_cookie_is_secure_off_loopback(sqlite_api: Api) -> None:
    _, secret = asyncio.run(sqlite_api.key("carol", ["read"]))

    async def scenario(client: httpx.AsyncClient) -> None:
        client.base_url = httpx.URL("https://bifrost.example")
        token = await csrf(client, "/signin")
        signed = await client.post("/signin", data={"csrf": token, "key": secret})
        assert "Secure" in signed.headers["set-cookie"]

    sqlite_api.run(scenario, auth=True, allowed_hosts="bifrost.example")


def test_a_session_cookie_is_checked_and_expires() -> None:
    signer = Signer(b"secret", lifetime_s=60)
    cookie = signer.cookie(7, now=1000)
    assert signer.key_id(cookie, now=1059) == 7
    assert signer.key_id(cookie, now=1060) is None  # expired
    assert signer.key_id(cookie.replace("7.", "8.", 1), now=1000) is None  # another key
    assert Signer(b"other", 60).key_id(cookie, now=1000) is None  # another server's
    assert signer.key_id("7.99999999999.abc", now=1000) is None
    assert signer.key_id("garbage", now=1000) is None


@pytest.mark.parametrize(
    ("text", "shown"),
    [("\x1b[1mbold", "␛[1mbold"), ("nul\x00del\x7f", "nul␀del␡"), ("tab\tok", "tab\tok")],
)
def test_control_characters_are_shown_as_symbols(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_the_dashboard_counts_and_draws_the_period(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        await analyse(client, TRAINER, service="trainer")
        await analyse(client, HEALTHY, service="web")
        await analyse(client, TRAINER, service="trainer")  # answered from the cache
        page = await client.get("/dashboard", params={"days": "7"})
        assert page.status_code == 200
        tiles = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page.text))
        assert (tiles["Analyses"], tiles["Failures"], tiles["Cache hit rate"]) == ("2", "1", "33 %")
        assert len(re.findall(r'<rect class="bar-all"', page.text)) == 7  # a bar a day
        assert "2 analyses, 1 failed</title>" in page.text
        assert "gpu.cuda_oom</a>" in page.text

    sqlite_api.run(scenario)


def test_an_admin_creates_and_revokes_keys_and_others_cannot(sqlite_api: Api) -> None:
    _, admin = asyncio.run(sqlite_api.key("root", ["admin", "read"]))
    _, writer = asyncio.run(sqlite_api.key("alice", ["analyze", "read"]))

    async def scenario(client: httpx.AsyncClient) -> None:
        await client.post("/signin", data={"csrf": await csrf(client, "/signin"), "key": admin})
        token = await csrf(client, "/keys")
        made = await client.post(
            "/keys", data={"csrf": token, "name": "ci-bot", "scope": ["read"], "rate": "10/minute"}
        )
        assert made.status_code == 201
        secret = re.search(r'<code id="secret">(bfk_[^<]+)</code>', made.text)
        assert secret is not None
        listed = await client.get("/keys")
        assert secret.group(1) not in listed.text  # shown once
        assert "ci-bot" in listed.text
        assert "10/minute" in listed.text
        bad = await client.post("/keys", data={"csrf": token, "name": " ", "scope": ["read"]})
        assert bad.status_code == 422
        key_id = re.findall(r'action="/keys/(\d+)/revoke"', listed.text)[-1]
        refused = await client.post(f"/keys/{key_id}/revoke", data={})
        assert refused.status_code == 403  # no CSRF token
        revoked = await client.post(f"/keys/{key_id}/revoke", data={"csrf": token})
        assert revoked.status_code == 303
        assert "revoked" in (await client.get("/keys")).text

        client.cookies.clear()
        await client.post("/signin", data={"csrf": await csrf(client, "/signin"), "key": writer})
        assert (await client.get("/keys")).status_code == 403
        assert 'href="/keys"' not in (await client.get("/")).text

    sqlite_api.run(scenario, auth=True)


def test_a_failing_run_is_compared_with_a_stored_good_one(sqlite_api: Api) -> None:
    good = b"".join(b"2024-05-14T11:%02d:00Z INFO step %d done\n" % (i, i) for i in range(40))
    bad = good[: len(good) // 2] + b"2024-05-14T12:00:00Z ERROR disk quota exceeded on /data\n"

    async def scenario(client: httpx.AsyncClient) -> None:
        kept = await analyse(client, good, keep_input="yes")
        good_id = kept.headers["location"].rsplit("/", 1)[1]
        token = await csrf(client, "/diff")
        answer = await client.post(
            "/diff", data={"csrf": token, "baseline_id": good_id, "log": bad.decode()}
        )
        assert answer.status_code == 200
        assert f"Against stored analysis {good_id}" in answer.text
        tiles = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", answer.text))
        assert tiles["New templates"] == "1"
        assert "disk quota exceeded" in answer.text

        by_file = await client.post(
            "/diff",
            data={"csrf": token},
            files={
                "baseline_file": ("good.log.gz", gzip.compress(good), "application/gzip"),
                "failing_file": ("bad.log", bad, "text/plain"),
            },
        )
        assert "Against good.log.gz" in by_file.text

        without_input = (await analyse(client, bad)).headers["location"].rsplit("/", 1)[1]
        refused = await client.post(
            "/diff", data={"csrf": token, "baseline_id": without_input, "log": bad.decode()}
        )
        assert refused.status_code == 422
        assert "stored without its input" in refused.text
        nothing = await client.post("/diff", data={"csrf": token, "log": bad.decode()})
        assert nothing.status_code == 422

    sqlite_api.run(scenario)


def test_a_gzip_bomb_is_refused(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        token = await csrf(client, "/diff")
        bomb = gzip.compress(b"x" * 5000 + b"\n")
        answer = await client.post(
            "/diff",
            data={"csrf": token, "log": "ERROR boom\n"},
            files={"baseline_file": ("big.log.gz", bomb, "application/gzip")},
        )
        assert answer.status_code == 422
        assert "more than 4,096 bytes once decompressed" in answer.text

    sqlite_api.run(scenario, max_input_bytes=4096)


def test_the_streamed_form_sends_progress_then_where_the_report_is(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        token = await csrf(client)
        answer = await client.post("/analyze/stream", data={"csrf": token, "log": TRAINER.decode()})
        assert answer.headers["content-type"].startswith("text/event-stream")
        events = [
            (name, json.loads(data))
            for name, data in re.findall(r"event: (\w+)\ndata: (.*)\n\n", answer.text)
        ]
        stages = [data["stage"] for name, data in events if name == "progress"]
        assert stages == ["queued", "analyzing", "analyzed"]
        name, last = events[-1]
        assert name == "report"
        assert set(last) == {"analysis_id", "cached"}  # the page opens the Report itself
        assert await stored_ids(client) == [last["analysis_id"]]
        refused = await client.post("/analyze/stream", data={"log": TRAINER.decode()})
        assert refused.status_code == 403

    sqlite_api.run(scenario)


def test_a_kept_input_shows_any_line_in_context(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await analyse(client, TRAINER, keep_input="yes")).headers["location"]
        report = await client.get(location)
        link = re.search(r'href="(/analyses/\d+/context\?line=(\d+))">show in context', report.text)
        assert link is not None
        shown = await client.get(link.group(1))
        line = int(link.group(2))
        numbers = [int(n) for n in re.findall(r'<span class="n">(\d+)</span>', shown.text)]
        assert numbers == list(range(max(1, line - 25), line + 26))
        wanted = TRAINER.decode().splitlines()[line - 1]
        assert f'<span class="line hot"><span class="n">{line}</span>' in shown.text
        assert wanted.split()[-1] in shown.text
        assert (await client.get(location + "/context?line=99999")).status_code == 404
        assert (await client.get(location + "/context?line=x")).status_code == 422

        other = (await analyse(client, MAVEN)).headers["location"]
        assert "show in context" not in (await client.get(other)).text  # not kept
        assert (await client.get(other + "/context?line=3")).status_code == 404

    sqlite_api.run(scenario)


def test_a_stored_analysis_opens_by_its_number(sqlite_api: Api) -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        location = (await analyse(client, TRAINER)).headers["location"]
        number = location.rsplit("/", 1)[1]
        opened = await client.get("/open", params={"id": f"#{number}"}, follow_redirects=False)
        assert opened.headers["location"] == location
        assert (await client.get("/open", params={"id": "x"})).status_code == 422

    sqlite_api.run(scenario)


def test_an_admin_deletes_an_analysis_and_nobody_else_can(sqlite_api: Api) -> None:
    _, admin = asyncio.run(sqlite_api.key("root", ["admin", "read", "analyze"]))
    _, writer = asyncio.run(sqlite_api.key("alice", ["analyze", "read"]))

    async def scenario(client: httpx.AsyncClient) -> None:
        await client.post("/signin", data={"csrf": await csrf(client, "/signin"), "key": writer})
        location = (await analyse(client, TRAINER)).headers["location"]
        page = await client.get(location)
        assert "/delete" not in page.text
        token = await csrf(client, location)
        assert (await client.post(location + "/delete", data={"csrf": token})).status_code == 403

        client.cookies.clear()
        await client.post("/signin", data={"csrf": await csrf(client, "/signin"), "key": admin})
        token = await csrf(client, location)
        assert f'action="{location}/delete"' in (await client.get(location)).text
        assert (await client.post(location + "/delete", data={})).status_code == 403  # no token
        deleted = await client.post(location + "/delete", data={"csrf": token})
        assert (deleted.status_code, deleted.headers["location"]) == (303, "/history")
        assert (await client.get(location)).status_code == 404
        assert await stored_ids(client) == []
        again = await client.post(location + "/delete", data={"csrf": token})
        assert again.status_code == 404

    sqlite_api.run(scenario, auth=True)


def test_the_report_page_says_which_order_and_variant_it_shows(sqlite_api: Api) -> None:
    from bifrost.config import Experiment, Variant  # noqa: PLC0415
    from tests.llm.servers import VALID_ANSWER, FakeServer, Reply  # noqa: PLC0415

    experiment = Experiment(name="wording", variants=[Variant(name="a"), Variant(name="b")])
    with FakeServer(models=("m",)) as llm:
        cause = json.dumps({"cause": "F2", "reason": "It came <first>."})
        llm.reply("/v1/chat/completions", Reply(text=cause), Reply(text=VALID_ANSWER))

        async def scenario(client: httpx.AsyncClient) -> None:
            answer = await analyse(client, TRAINER)
            assert answer.status_code == 303, answer.text
            page = await client.get(answer.headers["location"])
            assert "named F2 as the cause (the engine ranked F1 first). It came &lt;first&gt;." in (
                page.text
            )
            assert re.search(r"experiment wording, variant [ab]\)", page.text)

        sqlite_api.run(
            scenario,
            llm="openai",
            model="m",
            base_url=llm.openai_url,
            llm_rerank=True,
            experiment=experiment,
        )


def test_a_signed_in_tenant_gets_404_for_every_page_of_another(api: Api) -> None:
    """The web UI's routes, walked from its router: each that names an analysis or a key
    answers tenant A's session 404 for tenant B's, and the history shows A's rows only."""
    keys = {}

    async def make() -> None:
        async with await open_store(Settings(database_url=api.database_url)) as store:
            for name in ("team-a", "team-b"):
                tenant = await create_tenant(store, name)
                own = store.for_tenant(tenant.id)
                _, keys[name] = await create_key(own, f"{name}-key", ["analyze", "read", "admin"])

    asyncio.run(make())

    async def sign_in(client: httpx.AsyncClient, tenant: str) -> str:
        client.cookies.clear()
        token = await csrf(client, "/signin")
        await client.post("/signin", data={"csrf": token, "key": keys[tenant]})
        return await csrf(client)

    async def scenario(client: httpx.AsyncClient) -> None:
        await sign_in(client, "team-b")
        made = await analyse(client, TRAINER, service="svc-b-marker", keep_input="yes")
        assert made.status_code == 303, made.text
        theirs = {"analysis_id": made.headers["location"].rsplit("/", 1)[1]}
        keys_page = await client.get("/keys")
        theirs["key_id"] = re.findall(r'action="/keys/(\d+)/revoke"', keys_page.text)[0]

        token = await sign_in(client, "team-a")
        checked = 0
        for route in web_router.routes:
            path = getattr(route, "path", "")
            names = re.findall(r"{(\w+)(?::\w+)?}", path)
            if not names or names == ["extension"]:
                continue
            url = path.replace("{extension}", "md")
            for name in names:
                url = re.sub(rf"{{{name}(?::\w+)?}}", theirs.get(name, "md"), url)
            for method in getattr(route, "methods", ()):
                answer = await client.request(
                    method,
                    url,
                    params={"line": "1"},
                    data={"csrf": token, "good": "no"} if method == "POST" else None,
                    follow_redirects=False,
                )
                assert answer.status_code == 404, (method, url, answer.status_code)
                checked += 1
        assert checked >= 6  # report, download, feedback, delete, context, key revoke
        assert "b-marker" not in (await client.get("/history")).text
        assert "b-marker" not in (await client.get("/history/export")).text

        await sign_in(client, "team-b")
        assert (await client.get(f"/analyses/{theirs['analysis_id']}")).status_code == 200
        assert "b-marker" in (await client.get("/history")).text  # the check can see a leak

    api.run(scenario, auth=True)


def test_the_pages_speak_the_browsers_language(sqlite_api: Api) -> None:
    """`Accept-Language: ko`: the page's own words and the Report's are Korean, the log's lines
    are not; without it the server's language (English) holds."""
    korean = {"Accept-Language": "ko-KR,ko;q=0.9"}

    async def scenario(client: httpx.AsyncClient) -> None:
        home = await client.get("/", headers=korean)
        assert home.headers["content-language"] == "ko"
        assert '<html lang="ko">' in home.text
        assert "<h1>로그 분석</h1>" in home.text
        answer = await analyse(client, TRAINER)
        report = await client.get(answer.headers["location"], headers=korean)
        assert "GPU 메모리 부족 (CUDA out of memory)" in report.text
        assert "이 분석이 맞았나요?" in report.text
        assert "torch.OutOfMemoryError: CUDA out of memory." in report.text  # the log's own
        english = await client.get(answer.headers["location"])
        assert english.headers["content-language"] == "en"
        assert "Was this right?" in english.text
        assert "GPU out of memory (CUDA out of memory)" in english.text
        listed = await client.get("/history", headers=korean)  # the stored title, translated
        assert "GPU 메모리 부족 (CUDA out of memory)" in listed.text
        assert "GPU out of memory" not in listed.text

    sqlite_api.run(scenario)


SCRIPT = Path(__file__).parents[2] / "src/bifrost/web/static/bifrost.js"


def script_words(page: str) -> dict[str, str]:
    """The words the page gives bifrost.js (its JSON block), by id."""
    found = re.search(r'<script type="application/json" id="script-words">(.*?)</script>', page)
    assert found, page
    words: dict[str, str] = json.loads(found[1])
    return words


def test_the_script_writes_its_words_in_the_pages_language(sqlite_api: Api) -> None:
    """bifrost.js shows progress, errors and "copied" with words the page gives it, in the
    page's language; every word it asks for is there, and the block is valid JSON."""
    asked = set(re.findall(r'\bsay\("(\w+)"', SCRIPT.read_text(encoding="utf-8")))
    assert {"sending", "queued", "refused", "copied"} <= asked

    async def scenario(client: httpx.AsyncClient) -> None:
        korean = script_words((await client.get("/", headers={"Accept-Language": "ko"})).text)
        english = script_words((await client.get("/")).text)
        assert set(korean) == set(english) == asked
        assert english["sending"] == "Sending…"
        assert korean["sending"] == "보내는 중…"
        assert english["refused"] == "The server answered {status}."
        assert korean["refused"] == "서버가 {status}(으)로 응답했습니다."  # fields left to fill
        assert all(korean[word] != english[word] for word in asked)

    sqlite_api.run(scenario)
