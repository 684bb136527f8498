"""Known issues: a note pinned to a finding's template shows on every later finding of that
template, in every format, from the CLI's embedded history and from the API's store alike."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bifrost.config import Settings
from tests.api.conftest import serving
from tests.conftest import Run

ROOT = Path(__file__).parents[1]
TRAINER = (ROOT / "src/bifrost/samples/trainer.log").read_text(encoding="utf-8")
RUNBOOK = "https://runbooks.example.com/gpu-oom"


def test_a_pinned_note_shows_on_later_findings_of_the_template(
    bifrost: Run, tmp_path: Path
) -> None:
    first, later = tmp_path / "first.log", tmp_path / "later.log"
    first.write_text(TRAINER, encoding="utf-8")
    later.write_text("2024-06-01 08:00:00 INFO another day\n" + TRAINER, encoding="utf-8")
    report = json.loads(bifrost("analyze", str(first), "-f", "json").stdout)
    assert report["findings"][0]["known_issue"] is None
    analysis_id = 1  # the history is the test's own, and new
    shown = json.loads(bifrost("history", "show", str(analysis_id), "--json").stdout)
    assert shown["input"]["name"] == str(first)
    pinned = bifrost(
        "known", "add", str(analysis_id), "1", "--note", "Halve the batch size", "--link", RUNBOOK
    )
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout.startswith("pinned to template ")

    again = json.loads(bifrost("analyze", str(later), "-f", "json").stdout)
    known = again["findings"][0]["known_issue"]
    assert (known["note"], known["link"], known["analysis_id"]) == (
        "Halve the batch size",
        RUNBOOK,
        analysis_id,
    )
    line = f"Known issue: Halve the batch size (pinned on {known['pinned_at'][:10]}) {RUNBOOK}"
    for fmt in ("terminal", "markdown", "github", "junit", "sarif"):
        shown = bifrost("analyze", str(later), "-f", fmt, "--no-color").stdout
        if fmt == "markdown":  # the person's link is a link; the log's addresses are not
            assert f"**{line.removesuffix(' ' + RUNBOOK)}** <{RUNBOOK}>" in shown
            continue
        assert line in shown.replace("\\n", "\n") or line in " ".join(shown.split()), fmt
    cached = json.loads(bifrost("analyze", str(first), "-f", "json").stdout)  # from the cache
    assert cached["findings"][0]["known_issue"]["note"] == "Halve the batch size"

    listed = [json.loads(row) for row in bifrost("known", "list", "--json").stdout.splitlines()]
    assert [row["note"] for row in listed] == ["Halve the batch size"]
    assert bifrost("known", "remove", listed[0]["template_id"]).returncode == 0
    gone = json.loads(bifrost("analyze", str(later), "-f", "json").stdout)
    assert gone["findings"][0]["known_issue"] is None

    unknown = bifrost("known", "add", str(analysis_id), "F99", "--note", "x")
    assert "has no finding F99" in unknown.stderr
    empty = bifrost("known", "add", str(analysis_id), "1", "--note", " ")
    assert empty.returncode == 2
    assert "needs a note" in empty.stderr
    missing = bifrost("known", "remove", "nope")
    assert "no known issue is pinned to template nope" in missing.stderr


def test_the_api_shows_pinned_notes(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'history.db'}",
        engine_processes=0,
        auth=False,
    )

    async def main() -> None:
        async with serving(settings) as c:
            first = await c.post("/api/v1/analyses", content=TRAINER)
            known = f"/api/v1/analyses/{first.headers['x-bifrost-analysis-id']}/known"
            pinned = await c.post(known, json={"finding": "1", "note": "Halve the batch"})
            assert pinned.status_code == 201, pinned.text
            assert pinned.json()["known_issue"]["note"] == "Halve the batch"
            wrong = await c.post(known, json={"finding": "F99", "note": "x"})
            assert wrong.status_code == 404
            bad_link = {"finding": "1", "note": "x", "link": "javascript:alert(1)"}
            assert (await c.post(known, json=bad_link)).status_code == 422
            later = await c.post("/api/v1/analyses", content="x\n" + TRAINER)
        assert later.json()["findings"][0]["known_issue"]["note"] == "Halve the batch"

    asyncio.run(main())
