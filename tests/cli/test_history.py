"""Memory as a user meets it: analyses stored, answered from cache, listed, exported."""

import csv
import io
import json
from pathlib import Path

from tests.conftest import DATA, Run

CRASH = str(DATA / "logs" / "service-crash.log")
MAVEN = str(DATA / "logs" / "maven-compile.log")


def test_analyses_are_stored_and_listed(bifrost: Run) -> None:
    assert bifrost("analyze", CRASH, "-q", "--service", "api", "--env", "prod").returncode == 1
    assert bifrost("analyze", MAVEN, "-q", "--service", "ci", "--tag", "java").returncode == 1
    listing = bifrost("history", "--no-color").stdout
    assert "api" in listing
    assert "ci" in listing
    assert listing.index("ci") < listing.index("api")  # newest first
    only_api = bifrost("history", "--service", "api").stdout
    assert "refused" in only_api.lower()
    assert "compilation" not in only_api.lower()


def test_a_repeat_is_answered_from_cache(bifrost: Run) -> None:
    first = json.loads(bifrost("analyze", CRASH, "-f", "json").stdout)
    again = json.loads(bifrost("analyze", CRASH, "-f", "json").stdout)
    assert again["findings"] == first["findings"]
    stats = bifrost("cache", "stats").stdout
    assert "hits: 1" in stats
    assert "misses: 1" in stats
    fresh = bifrost("analyze", CRASH, "-f", "json", "--no-cache")
    assert json.loads(fresh.stdout)["findings"] == first["findings"]
    assert "hits: 1" in bifrost("cache", "stats").stdout
    assert "removed 1" in bifrost("cache", "clear").stdout


def test_no_store_keeps_nothing(bifrost: Run) -> None:
    bifrost("analyze", CRASH, "-q", "-n")
    assert "No stored analyses" in bifrost("history").stdout


def test_show_renders_the_stored_report(bifrost: Run) -> None:
    bifrost("analyze", CRASH, "-q")
    shown = bifrost("history", "show", "1", "--no-color")
    assert shown.returncode == 0
    assert "Connection refused" in shown.stdout
    stored = json.loads(bifrost("history", "show", "1", "--json").stdout)
    assert stored["schema"] == "bifrost.report/v1"
    missing = bifrost("history", "show", "99")
    assert missing.returncode == 2
    assert "no stored analysis has id 99" in missing.stderr


def test_search_filters(bifrost: Run) -> None:
    bifrost("analyze", CRASH, "-q", "--service", "api")
    bifrost("analyze", MAVEN, "-q", "--service", "ci")
    assert "ci" in bifrost("history", "--query", "compilation").stdout
    assert "No stored" in bifrost("history", "--query", "compilation", "--service", "api").stdout
    assert "api" in bifrost("history", "--category", "net").stdout
    assert (
        "No stored" in bifrost("history", "--since", "2000-01-01", "--until", "2001-01-01").stdout
    )
    beyond = bifrost("history", "--since", "99999999w")  # before the calendar: every analysis
    assert beyond.returncode == 0
    assert "ci" in beyond.stdout
    assert "api" in beyond.stdout
    bad = bifrost("history", "--since", "last tuesday")
    assert bad.returncode == 2
    assert bad.stderr.startswith("bifrost: error: --since: must be 30m, 12h, 7d, 2w or a date")


def test_export_streams_every_format(bifrost: Run) -> None:
    bifrost("analyze", CRASH, "-q", "--service", "api", "--tag", "a", "--tag", "b")
    bifrost("analyze", MAVEN, "-q", "--service", "ci")
    rows = list(csv.DictReader(io.StringIO(bifrost("export", "-f", "csv").stdout)))
    assert [r["service"] for r in rows] == ["ci", "api"]
    assert rows[1]["tags"] == "a b"
    lines = bifrost("export", "-f", "jsonl", "--service", "api").stdout.splitlines()
    assert [json.loads(x)["tags"] for x in lines] == [["a", "b"]]
    assert len(json.loads(bifrost("export", "-f", "json").stdout)) == 2


def test_export_to_csv_neutralises_formulas_in_labels(bifrost: Run) -> None:
    bifrost("analyze", CRASH, "-q", "--service", '=HYPERLINK("https://evil.example")')
    bifrost("analyze", MAVEN, "-q", "--tag", "@SUM(1+1)*cmd|' /C calc'!A0")
    rows = list(csv.DictReader(io.StringIO(bifrost("export", "-f", "csv").stdout)))
    assert rows[0]["tags"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert rows[1]["service"] == '\'=HYPERLINK("https://evil.example")'
    jsonl = [json.loads(x) for x in bifrost("export", "-f", "jsonl").stdout.splitlines()]
    assert jsonl[1]["service"] == '=HYPERLINK("https://evil.example")'  # JSON stays as sent


def test_feedback(bifrost: Run) -> None:
    bifrost("analyze", CRASH, "-q")
    assert bifrost("feedback", "1", "--good", "--note", "right").returncode == 0
    assert bifrost("feedback", "1").returncode == 2
    assert bifrost("feedback", "7", "--bad").returncode == 2


def test_db_commands_and_path(bifrost: Run, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'server.db'}"
    env = {"BIFROST_DATABASE_URL": url}
    assert bifrost("db", "current", env=env).stdout.strip() == "none"
    assert "revision" in bifrost("db", "upgrade", env=env).stdout
    assert bifrost("db", "current", env=env).stdout.strip() != "none"
    assert bifrost("history", "path", env=env).stdout.strip() == str(tmp_path / "server.db")
    default = bifrost("history", "path").stdout.strip()
    assert default.endswith("bifrost.db")


def test_a_database_that_is_down_still_prints_the_result(bifrost: Run) -> None:
    env = {"BIFROST_DATABASE_URL": "postgresql+asyncpg://bifrost:secret@127.0.0.1:1/nowhere"}
    result = bifrost("analyze", CRASH, "-f", "json", env=env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["verdict"] == "failure"
    assert "not stored" in result.stderr
    assert "secret" not in result.stderr
    listing = bifrost("history", env=env)
    assert listing.returncode == 3
    assert "cannot reach the database" in listing.stderr
    assert "secret" not in listing.stderr


def test_stdin_is_cached_too(bifrost: Run) -> None:
    log = Path(CRASH).read_text()
    first = json.loads(bifrost("analyze", "-f", "json", stdin=log).stdout)
    second = json.loads(bifrost("analyze", "-f", "json", stdin=log).stdout)
    assert first["findings"] == second["findings"]
    assert second["input"]["name"] == "<stdin>"
    assert "hits: 1" in bifrost("cache", "stats").stdout
