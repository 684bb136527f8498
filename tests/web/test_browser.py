"""The web UI in a real browser: Debian's Chromium driven by Playwright, against `bifrost
serve --auth` on loopback. Each page is checked with axe-core (vendored) and photographed
into the tests' output folder (`BIFROST_TEST_OUTPUT`, default `test-output/`).

Without Chromium these tests skip, except in CI (`CI=true`), where they fail: `.ci/run`
installs it.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import MAVEN, TRAINER
from tests.conftest import missing

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
ROOT = Path(__file__).parents[2]
HOSTILE = (
    "2024-05-14T11:44:39Z INFO starting\n"
    "2024-05-14T11:44:40Z ERROR job failed: <script>alert(1)</script> "
    '<a href="javascript:alert(3)">x</a>\n'
    "2024-05-14T11:44:41Z INFO done\n"
)

pytest.importorskip("playwright", reason="the `dev` extra installs Playwright")
from playwright.sync_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    expect,
    sync_playwright,
)


@dataclass(frozen=True)
class Server:
    url: str
    writer: str  # an API key with analyze and read
    reader: str  # an API key with read only
    admin: str  # an API key with every scope


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _bifrost(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bifrost", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BIFROST_") and key != "OLLAMA_HOST"
    }
    env |= {
        "BIFROST_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'history.db'}",
        "BIFROST_ENGINE_PROCESSES": "0",
        "BIFROST_CONFIG": str(folder / "none.toml"),
        "XDG_CONFIG_HOME": str(folder),
    }
    (folder / "none.toml").write_text("", encoding="utf-8")
    _bifrost("db", "upgrade", env=env)
    writer = _bifrost("keys", "create", "alice", env=env).split()[-1]
    reader = _bifrost("keys", "create", "lead", "--scope", "read", env=env).split()[-1]
    scopes = ("--scope", "admin", "--scope", "read", "--scope", "analyze")
    admin = _bifrost("keys", "create", "root", *scopes, env=env).split()[-1]
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bifrost", "serve", "--port", str(port), "--auth"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                said = process.stderr.read() if process.stderr else ""
                pytest.fail(f"bifrost serve did not start: {said[-2000:]}")
            time.sleep(0.1)
        yield Server(url, writer, reader, admin)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def shots() -> Path:
    folder = Path(os.environ.get("BIFROST_TEST_OUTPUT", ROOT / "test-output")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Watched:
    """A page, and what it did that it should not: dialogs opened, console errors."""

    page: Page
    dialogs: list[str]
    errors: list[str]


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = Watched(page, [], [])

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("console", on_console)
    page.on("dialog", on_dialog)
    yield seen
    context.close()


def sign_in(page: Page, server: Server, key: str) -> None:
    page.goto(server.url + "/")
    assert "/signin" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/")


def analyse_trainer(page: Page, server: Server, key: str) -> None:
    """Sign in, paste the sample training log, and wait for its Report."""
    sign_in(page, server, key)
    page.get_by_label("Paste a log").fill(TRAINER.decode())
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/analyses/*")


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA rules)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21aa"]});
            return result.violations.map(v => `${v.id}: ${v.help} (${v.nodes.length})`);
        }"""
    )
    return found


def test_sign_in_paste_a_log_read_the_report_and_give_feedback(
    server: Server, watched: Watched, shots: Path
) -> None:
    page = watched.page
    sign_in(page, server, server.writer)
    assert accessibility_problems(page) == []
    page.screenshot(path=shots / "analyse.png")

    page.get_by_label("Paste a log").fill(TRAINER.decode())
    page.get_by_label("Service").fill("trainer")
    with page.expect_response(lambda r: r.url.endswith("/analyze/stream")) as streamed:
        page.get_by_role("button", name="Analyse").click()  # the script streams the progress
    assert streamed.value.status == 200
    page.wait_for_url("**/analyses/*")
    permalink = page.url
    first = page.locator(".finding").first
    assert "GPU out of memory" in first.locator("h3").inner_text()
    hot = first.locator(".evidence .hot").first
    assert hot.locator(".n").inner_text() == "431"
    assert "training failed at step=1843" in hot.inner_text()
    assert accessibility_problems(page) == []
    page.screenshot(path=shots / "report.png")

    page.get_by_label("Note (optional)").fill("batch size was doubled")
    page.get_by_role("button", name="Right", exact=True).click()
    page.wait_for_url("**#feedback")
    page.goto(permalink)  # the permalink, opened again
    assert "Right: batch size was doubled" in page.locator("#feedback").inner_text()
    assert watched.dialogs == []
    assert watched.errors == []


def test_a_gzip_upload_and_the_history_filters(
    server: Server, watched: Watched, shots: Path, tmp_path: Path
) -> None:
    page = watched.page
    sign_in(page, server, server.writer)
    upload = tmp_path / "build.log.gz"
    upload.write_bytes(gzip.compress(MAVEN))
    page.get_by_label("or choose files").set_input_files(upload)
    page.get_by_label("Service").fill("build-farm")
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/analyses/*")
    assert "build.log.gz" in page.locator(".facts").inner_text()

    page.get_by_role("link", name="History").click()
    page.get_by_label("Service").fill("build-farm")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.history tbody tr")
    assert rows.count() == 1
    assert "build-farm" in rows.first.inner_text()
    assert accessibility_problems(page) == []
    page.screenshot(path=shots / "history.png")
    rows.first.get_by_role("link").first.click()
    page.wait_for_url("**/analyses/*")
    assert watched.errors == []


def test_a_hostile_log_and_label_run_no_script(server: Server, watched: Watched) -> None:
    page = watched.page
    sign_in(page, server, server.writer)
    page.get_by_label("Paste a log").fill(HOSTILE)
    page.get_by_label("Service").fill('"><img src=x onerror=alert(2)>')
    page.get_by_role("button", name="Analyse").click()
    page.wait_for_url("**/analyses/*")
    page.wait_for_load_state("networkidle")
    body = page.locator("main").inner_text()
    assert "<script>alert(1)</script>" in body  # shown as text
    assert '"><img src=x onerror=alert(2)>' in body
    assert page.locator("main script, main img, main a[href^=javascript]").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


def test_a_read_only_key_sees_no_analyse_button_and_cannot_post(
    server: Server, watched: Watched
) -> None:
    page = watched.page
    sign_in(page, server, server.reader)
    assert page.get_by_role("button", name="Analyse").count() == 0
    assert "cannot analyse" in page.locator("main").inner_text() or "not analyse" in (
        page.locator("main").inner_text()
    )
    page.goto(server.url + "/history")
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        server.url + "/analyze", multipart={"csrf": token or "", "log": TRAINER.decode()}
    )
    assert answer.status == 403
    no_token = page.request.post(server.url + "/signout", form={})
    assert no_token.status == 403


def test_small_screens_and_the_dark_theme(server: Server, browser: Browser, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, color_scheme="dark")
    page = context.new_page()
    try:
        analyse_trainer(page, server, server.writer)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 360  # long log lines scroll inside their own box
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)"
        assert accessibility_problems(page) == []
        page.screenshot(path=shots / "report-360-dark.png", full_page=True)
    finally:
        context.close()


def test_the_dashboard_and_the_keys_page(server: Server, watched: Watched, shots: Path) -> None:
    page = watched.page
    analyse_trainer(page, server, server.admin)
    page.get_by_role("link", name="Dashboard").click()
    assert page.locator(".chart svg rect.bar-failed").count() == 30
    assert "gpu.cuda_oom" in page.locator("table.ranking").first.inner_text()
    assert accessibility_problems(page) == []
    page.screenshot(path=shots / "dashboard.png", full_page=True)

    page.get_by_role("link", name="Compare").click()
    page.get_by_label("The failing run: paste its log").fill(TRAINER.decode())
    page.get_by_label("or its log file").set_input_files(
        {"name": "good.log", "mimeType": "text/plain", "buffer": TRAINER[:20_000]}
    )
    page.get_by_role("button", name="Compare").click()
    assert "Against good.log" in page.locator("main").inner_text()
    assert accessibility_problems(page) == []
    page.screenshot(path=shots / "diff.png", full_page=True)

    page.get_by_role("link", name="Keys").click()
    page.get_by_label("Name (who or what will use it)").fill("nightly-ci")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#secret").inner_text()
    assert secret.startswith("bfk_")
    assert accessibility_problems(page) == []
    page.screenshot(path=shots / "keys.png", full_page=True)
    page.get_by_role("link", name="Keys").click()  # the secret is gone
    assert page.locator("#secret").count() == 0
    assert "nightly-ci" in page.locator("table").inner_text()
    assert watched.errors == []


def test_without_javascript_the_form_still_analyses(server: Server, browser: Browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        analyse_trainer(page, server, server.writer)
        assert "GPU out of memory" in page.locator(".finding h3").first.inner_text()
    finally:
        context.close()


def test_the_script_speaks_the_pages_language(server: Server, browser: Browser) -> None:
    """In a Korean browser, what bifrost.js writes is Korean too: here the line it shows when
    the server answers the streamed form with a page that says nothing of its own."""
    context = browser.new_context(locale="ko-KR")  # sends Accept-Language: ko-KR
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        page.locator("#key").fill(server.writer)
        page.locator("form[action='/signin'] button[type=submit]").click()
        page.wait_for_url(server.url + "/")
        page.route("**/analyze/stream", lambda route: route.fulfill(status=502, body="down"))
        page.locator("#log").fill(TRAINER.decode())
        page.locator("#analyze").click()
        expect(page.locator("#progress")).to_have_text("서버가 502(으)로 응답했습니다.")
        expect(page.locator("#analyze")).to_have_text("분석")  # its own label back
    finally:
        context.close()
