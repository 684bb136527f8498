"""Scoring: the first finding answers "why did this fail?"; look-alikes stay down."""

from pathlib import Path

from bifrost.engine.read import open_sources
from bifrost.engine.scan import Scanner
from bifrost.engine.score import findings
from bifrost.report import Finding


def analyse(tmp_path: Path, text: str) -> list[Finding]:
    log = tmp_path / "run.log"
    log.write_text(text)
    return findings(Scanner().scan(open_sources([str(log)]), 1 << 20))


def noise(n: int, start: int = 0) -> str:
    return "".join(
        f"2024-05-01 10:00:{i % 60:02d},000 INFO worker: step {i} ok\n"
        for i in range(start, start + n)
    )


def test_the_cause_before_the_first_fatal_line_ranks_first(tmp_path: Path) -> None:
    text = (
        noise(200)
        + "2024-05-01 10:03:20,000 ERROR db: could not connect to server: Connection refused\n"
        + "2024-05-01 10:03:21,000 CRITICAL app: shutting down\n"
        + noise(50, 200)
    )
    found = analyse(tmp_path, text)
    assert "refused" in found[0].title.lower()
    assert found[0].signature == "net.connection_refused"
    assert found[0].first_seen.line == 201
    assert found[0].first_seen.ts == "2024-05-01 10:03:20,000"


def test_harmless_look_alikes_are_not_findings(tmp_path: Path) -> None:
    text = noise(20) + (
        "2024-05-01 10:01:00,000 INFO tests: 120 passed, 0 errors, 0 failures\n"
        "2024-05-01 10:01:01,000 INFO metrics: error_count=0 failures=0\n"
        "2024-05-01 10:01:02,000 INFO build: BUILD SUCCESS\n"
    )
    assert analyse(tmp_path, text) == []


def test_retries_and_deprecations_rank_below_a_real_error(tmp_path: Path) -> None:
    text = noise(50) + (
        "2024-05-01 10:01:00,000 WARNING http: Read timed out, retrying (attempt 1/3)\n"
        "2024-05-01 10:01:01,000 WARNING lib: DeprecationWarning: pkg_resources is deprecated\n"
        "2024-05-01 10:01:02,000 ERROR app: KeyError: 'user_id' while handling request\n"
    )
    found = analyse(tmp_path, text)
    assert "user_id" in found[0].template or "KeyError" in found[0].title
    retry = next(f for f in found if "retrying" in f.template)
    assert retry.severity == "warning"
    assert retry.score < found[0].score


def test_the_same_failure_on_many_ranks_is_one_finding(tmp_path: Path) -> None:
    text = noise(100) + "".join(
        f"[E ProcessGroupNCCL.cpp:828] [Rank {r}] Watchdog caught collective operation timeout: "
        f"WorkNCCL(SeqNum=5531, OpType=ALLREDUCE, Timeout(ms)=600000) ran for 600{r:03d} "
        "milliseconds before timing out.\n"
        for r in range(8)
    )
    found = analyse(tmp_path, text)
    assert len(found) == 1
    assert found[0].count == 8
    assert found[0].category == found[0].signature == "gpu.nccl_timeout"
    assert (found[0].first_seen.line, found[0].last_seen.line) == (101, 108)


def test_an_exception_and_its_trace_are_one_finding_with_trimmed_evidence(tmp_path: Path) -> None:
    frames = "".join(
        f'  File "/srv/app/mod{i}.py", line {i}, in f{i}\n    g{i}()\n' for i in range(150)
    )
    text = (
        noise(30)
        + "Traceback (most recent call last):\n"
        + frames
        + "ValueError: invalid literal for int() with base 10: 'abc'\n"
        + noise(5, 30)
    )
    (finding,) = analyse(tmp_path, text)
    assert "ValueError" in finding.template
    shown = sum(e.end_line - e.line + 1 for e in finding.evidence)
    assert shown <= 15
    assert finding.evidence[0].line <= 31 <= finding.evidence[0].end_line  # the Traceback line
    assert finding.evidence[-1].text.endswith("with base 10: 'abc'")
    lines = text.splitlines()
    for item in finding.evidence:
        assert item.text.split("\n") == lines[item.line - 1 : item.end_line]


def test_an_unknown_error_gets_a_title_from_its_template(tmp_path: Path) -> None:
    text = noise(10) + "2024-05-01 10:01:00,000 ERROR sync: shard 17 diverged from replica r-42\n"
    (finding,) = analyse(tmp_path, text)
    assert finding.title == "Sync: shard … diverged from replica …"
    assert finding.category == "log.error"
    assert finding.explanation is None


def test_findings_are_ranked_and_numbered(tmp_path: Path) -> None:
    text = noise(10) + (
        "2024-05-01 10:01:00,000 WARNING cache: eviction rate high\n"
        "2024-05-01 10:01:01,000 ERROR api: upstream returned 503 Service Unavailable\n"
        "2024-05-01 10:01:02,000 CRITICAL kernel: Out of memory: Killed process 4242 (python)\n"
    )
    found = analyse(tmp_path, text)
    assert [f.id for f in found] == [f"F{i}" for i in range(1, len(found) + 1)]
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    assert found[0].severity == "critical"
    assert found[0].score == 1.0


def test_a_count_of_zero_does_not_hide_later_nonzero_counts(tmp_path: Path) -> None:
    text = noise(20) + "".join(
        f"2024-05-01 10:01:{i:02d},000 INFO tests: batch {i}: {n} failed\n"
        for i, n in enumerate([0, 0, 0, 3, 0])
    )
    (finding,) = analyse(tmp_path, text)
    assert "failed" in finding.template
    assert finding.evidence[0].text.endswith("batch 3: 3 failed")
    quiet = noise(20) + "".join(
        f"2024-05-01 10:01:{i:02d},000 INFO tests: Tests run: {i + 5}, Failures: 0, Errors: 0\n"
        for i in range(5)
    )
    assert analyse(tmp_path, quiet) == []
