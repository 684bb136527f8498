"""`bifrost templates`: the table by default, the jsonl contract (one record per input line)."""

import json
from pathlib import Path

from tests.conftest import DATA, Run


def records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_jsonl_has_one_record_per_line_in_order(bifrost: Run, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "Connected to 10.0.0.1 in 3 ms\r\n"
        "Connected to 10.0.0.2 in 45 ms\n"
        "Disk /dev/sda1 is 93% full\r"
        "Connected to 10.0.0.9 in 7 ms\n"
    )
    result = bifrost("templates", str(log), "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = records(result.stdout)
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert set(rows[0]) == {"line", "template_id", "template"}
    assert rows[0]["template_id"] == rows[1]["template_id"] == rows[3]["template_id"]
    assert rows[2]["template_id"] != rows[0]["template_id"]
    assert rows[0]["template"] == "Connected to <*> in <*>"


def test_jsonl_names_the_files(bifrost: Run) -> None:
    a, b = DATA / "logs" / "healthy.log", DATA / "logs" / "maven-compile.log"
    rows = records(bifrost("templates", str(a), str(b), "--format", "jsonl").stdout)
    assert len(rows) == 400 + len(b.read_text().splitlines())
    assert rows[0]["file"] == str(a)
    assert rows[0]["line"] == 1
    assert rows[400]["file"] == str(b)
    assert rows[400]["line"] == 1


def test_templates_of_a_stack_trace_log(bifrost: Run) -> None:
    rows = records(bifrost("templates", "-f", "jsonl", stdin="a 1\nb 2\n\n").stdout)
    assert [r["line"] for r in rows] == [1, 2, 3]


def test_table_lists_templates_most_frequent_first(bifrost: Run) -> None:
    result = bifrost("templates", str(DATA / "logs" / "healthy.log"), "--format", "table")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert "template" in lines[0]
    counts = [int(line.split()[0].replace(",", "")) for line in lines[1:]]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == 400


def test_the_table_is_the_default_in_a_pipe_too(bifrost: Run) -> None:
    log = str(DATA / "logs" / "healthy.log")
    piped = bifrost("templates", log)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.split("\n", 1)[0].split() == ["count", "template_id", "template"]
    assert piped.stdout == bifrost("templates", log, "--format", "table").stdout


def test_json_lists_templates_with_counts(bifrost: Run) -> None:
    result = bifrost("templates", str(DATA / "logs" / "healthy.log"), "--format", "json")
    templates = json.loads(result.stdout)
    assert sum(t["count"] for t in templates) == 400
    assert any(
        t["template"].endswith("healthcheck ok errors=<*> error_count=<*>") for t in templates
    )


def test_missing_file(bifrost: Run, tmp_path: Path) -> None:
    result = bifrost("templates", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_version(bifrost: Run) -> None:
    assert bifrost("--version").stdout.startswith("bifrost ")
