"""Formats: each input's format is detected from real-looking lines, and fields come out right."""

import csv
import pickle
from pathlib import Path

import pytest

from bifrost.engine.formats import (
    _LEVEL_WORDS,
    FORMATS,
    JSON,
    PLAIN,
    SAMPLE_LINES,
    LogFormat,
    detect,
    guess_level,
    parse_any,
)
from bifrost.engine.records import Record
from bifrost.levels import Level, normalise_level
from tests import benchmarks

DATA = Path(__file__).parents[1] / "data" / "formats"


LOGHUB = benchmarks.root() / "loghub-2k"


def lines_of(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


def parse(name: str) -> tuple[LogFormat, list[Record | None]]:
    lines = lines_of(name)
    fmt = detect(lines)
    return fmt, [fmt.parse(line) for line in lines]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("json.log", "json"),
        ("docker.log", "json"),
        ("logfmt.log", "logfmt"),
        ("klog.log", "klog"),
        ("syslog.log", "syslog"),
        ("apache-error.log", "apache"),
        ("github-actions.log", "github-actions"),
        ("cri.log", "cri"),
        ("python.log", "timestamped"),
        ("flask.log", "timestamped"),
        ("log4j.log", "timestamped"),
        ("logback.log", "timestamped"),
        ("spring.log", "timestamped"),
        ("go.log", "timestamped"),
        ("nginx-error.log", "timestamped"),
        ("epoch.log", "timestamped"),
        ("python-basic.log", "python"),
        ("maven.log", "maven"),
        ("kubectl-events.txt", "kubectl"),
        ("kubectl-describe.txt", "kubectl"),
        ("gradle.log", "plain"),
        ("plain.log", "plain"),
        ("mixed.log", "plain"),
    ],
)
def test_every_sample_is_detected_as_its_format(sample: str, expected: str) -> None:
    assert detect(lines_of(sample)).name == expected


# (sample, line index, the record expected)
FIELDS = [
    ("json.log", 0, Record("server started", "2024-05-01T12:00:00.123Z", "info", "api")),
    (
        "json.log",
        1,
        Record("query failed | connection refused", "1714564800.5", "error", "db/pool.go:88"),
    ),
    (
        "json.log",
        2,
        Record("cache miss ratio high", "2024-05-01T12:00:02.000Z", "warning", "org.app.Cache"),
    ),
    ("json.log", 5, Record("invoice sent", "2024-05-01T12:00:05Z", "info", "billing")),
    (
        "json.log",
        6,
        Record('{"user":"alice","action":"login","ok":true}', "2024-05-01T12:00:06Z", "debug"),
    ),
    ("json.log", 7, Record("cache_warmed", "2024-05-01T12:00:07Z", "info", "warmer")),
    (
        "docker.log",
        0,
        Record(
            "*1 connect() failed (111: Connection refused) while connecting to upstream",
            "2024/05/01 12:00:00",
            "error",
            "7#7",
        ),
    ),
    ("docker.log", 1, Record("Starting worker 3", "2024-05-01T12:00:01.000000001Z")),
    ("docker.log", 2, Record("upload failed | timeout", "2024-05-01T12:00:02Z", "error")),
    ("docker.log", 4, Record('  File "train.py", line 12, in <module>', "2024-05-01T12:00:03Z")),
    ("logfmt.log", 0, Record("starting server", "2024-05-01T12:00:00.000Z", "info")),
    (
        "logfmt.log",
        2,
        Record(
            'db query failed | pq: relation "users" does not exist',
            "2024-05-01T12:00:02.000Z",
            "error",
            "store/users.go:41",
        ),
    ),
    ("logfmt.log", 3, Record("tick", "2024-05-01T12:00:03Z", "debug", "scheduler")),
    (
        "logfmt.log",
        4,
        Record(
            'code=H12 desc="Request timeout" method=GET path="/" host=app.herokuapp.com status=503',
            None,
            "error",
        ),
    ),
    ("klog.log", 0, Record("Starting kubelet", "0515 12:34:56.789012", "info", "server.go:123")),
    (
        "klog.log",
        2,
        Record(
            "Error syncing pod, skipping"
            ' | failed to "StartContainer" for "app" with CrashLoopBackOff',
            "0515 12:34:58.123456",
            "error",
            "pod_workers.go:965",
        ),
    ),
    (
        "klog.log",
        3,
        Record("SyncLoop (PLEG): event for pod", "0515 12:34:59.000000", "info", "kubelet.go:2100"),
    ),
    (
        "klog.log",
        4,
        Record(
            "failed to run Kubelet: misconfiguration",
            "0515 12:35:00.000000",
            "critical",
            "server.go:200",
        ),
    ),
    (
        "syslog.log",
        0,
        Record(
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4",
            "Jun 14 15:16:01",
            None,
            "sshd(pam_unix)",
        ),
    ),
    ("syslog.log", 1, Record("restart.", "Jun  9 06:06:20", None, "syslogd 1.4.1")),
    (
        "syslog.log",
        4,
        Record(
            "'su root' failed for lonvick on /dev/pts/8",
            "2003-10-11T22:14:15.003Z",
            "critical",
            "su",
        ),
    ),
    (
        "syslog.log",
        5,
        Record(
            "%% It's time to make the do-nuts.",
            "2003-08-24T05:14:15.000003-07:00",
            "notice",
            "myproc",
        ),
    ),
    (
        "syslog.log",
        6,
        Record("upstream timed out", "2024-05-01T12:00:00.123456+00:00", None, "nginx"),
    ),
    (
        "apache-error.log",
        2,
        Record(
            "[client 222.166.160.184] Directory index forbidden by rule: /var/www/html/",
            "Sun Dec 04 05:15:09 2005",
            "error",
        ),
    ),
    (
        "apache-error.log",
        3,
        Record(
            "[client 72.15.99.187] AH00126: Invalid URI in request GET .. HTTP/1.1",
            "Wed Oct 11 14:32:52.123456 2023",
            "error",
            "core",
        ),
    ),
    ("github-actions.log", 2, Record("  repository: octo/app", "2022-05-07T08:49:38.2848415Z")),
    (
        "github-actions.log",
        4,
        Record("npm ERR! code ERESOLVE", "2022-05-07T08:49:45.1234567Z", "error"),
    ),
    (
        "github-actions.log",
        8,
        Record("Node.js 12 actions are deprecated.", "2022-05-07T08:49:46.0000000Z", "warning"),
    ),
    (
        "github-actions.log",
        9,
        Record("Process completed with exit code 1.", "2022-05-07T08:49:46.5000000Z", "error"),
    ),
    ("cri.log", 0, Record("Starting trainer", "2024-05-01T12:00:00.123456789Z")),
    (
        "cri.log",
        1,
        Record("NCCL timeout on rank 3", "2024-05-01T12:00:01.123456789Z", "error", "root"),
    ),
    (
        "python.log",
        2,
        Record("training step failed", "2024-05-01 12:00:09,789", "error", "trainer"),
    ),
    (
        "flask.log",
        1,
        Record("Exception on /predict [POST]", "2024-05-01 12:00:01,456", "error", "app"),
    ),
    (
        "log4j.log",
        1,
        Record("cannot open connection", "2024-05-01 12:00:01.456", "error", "com.example.db.Pool"),
    ),
    (
        "log4j.log",
        8,
        Record("retrying in 5s", "2024-05-01 12:00:02.789", "warning", "com.example.Retry"),
    ),
    ("logback.log", 1, Record("request failed", "12:00:01.456", "error", "c.e.web.Controller")),
    (
        "spring.log",
        1,
        Record(
            "Application run failed",
            "2024-05-01T12:00:01.456+02:00",
            "error",
            "o.s.boot.SpringApplication",
        ),
    ),
    (
        "spring.log",
        2,
        Record(
            "SQL Error: 0, SQLState: 08001",
            "2024-05-01T12:00:02.789+02:00",
            "warning",
            "o.h.engine.jdbc.spi.SqlExceptionHelper",
        ),
    ),
    ("go.log", 0, Record("listening on :8080", "2024/05/01 12:00:00")),
    (
        "nginx-error.log",
        3,
        Record(
            "*3 connect() to unix:/run/php.sock failed (13: Permission denied)",
            "2024/05/01 12:00:03",
            "critical",
            "29#29",
        ),
    ),
    ("epoch.log", 1, Record("queue depth 1200", "1714564801.250", "warning")),
    ("epoch.log", 2, Record("worker 3 died: signal 9", "1714564802123", "error")),
    (
        "python-basic.log",
        1,
        Record(
            "Retrying (Retry(total=2)) after connection broken",
            None,
            "warning",
            "urllib3.connectionpool",
        ),
    ),
    ("python-basic.log", 2, Record("could not load checkpoint", None, "error", "__main__")),
    (
        "python-basic.log",
        3,
        Record('127.0.0.1:51234 - "GET /health HTTP/1.1" 200 OK', None, "info"),
    ),
    (
        "maven.log",
        2,
        Record(
            "The POM for org.foo:bar:jar:1.0 is missing, no dependency information available",
            None,
            "warning",
        ),
    ),
    ("maven.log", 5, Record("  symbol:   class Foo", None, "error")),
    (
        "gradle.log",
        1,
        Record("e: /src/main/kotlin/App.kt: (12, 5): Unresolved reference: Foo", None, "error"),
    ),
    ("gradle.log", 4, Record("FAILURE: Build failed with an exception.", None, "error")),
    ("gradle.log", 10, Record("BUILD FAILED in 3s", None, "error")),
    ("gradle.log", 7, Record("Execution failed for task ':app:compileKotlin'.")),
    (
        "plain.log",
        2,
        Record(
            "ERROR: Could not find a version that satisfies the requirement torch==9.9",
            None,
            "error",
        ),
    ),
    ("plain.log", 4, Record("[warn] disk almost full", None, "warning")),
    ("plain.log", 5, Record("Everything else is just text.")),
]


@pytest.mark.parametrize(("sample", "index", "expected"), FIELDS)
def test_fields_are_extracted(sample: str, index: int, expected: Record) -> None:
    _, records = parse(sample)
    assert records[index] == expected


@pytest.mark.parametrize(
    ("sample", "index", "message"),
    [
        (
            "kubectl-events.txt",
            2,
            "BackOff: Back-off restarting failed container trainer in pod trainer-0_default(1a2b)",
        ),
        ("kubectl-describe.txt", 10, "Reason: OOMKilled"),
        ("kubectl-describe.txt", 11, "Exit Code: 137"),
        ("kubectl-describe.txt", 9, "Last State: Terminated"),
        (
            "kubectl-describe.txt",
            20,
            "FailedScheduling: 0/3 nodes are available: 3 Insufficient memory.",
        ),
    ],
)
def test_kubectl_rows_and_fields_read_as_messages(sample: str, index: int, message: str) -> None:
    _, records = parse(sample)
    record = records[index]
    assert record is not None
    assert record.message == message


def test_kubectl_event_types_are_levels_and_objects_are_sources() -> None:
    _, events = parse("kubectl-events.txt")
    assert [(r.level, r.source) for r in events[1:] if r] == [
        ("info", "pod/trainer-0"),
        ("warning", "pod/trainer-0"),
        ("warning", "pod/trainer-1"),
    ]
    _, describe = parse("kubectl-describe.txt")
    row = describe[21]
    assert row is not None
    assert (row.level, row.source) == ("warning", "kubelet")
    fmt = detect(["Type:    Warning", "Reason:  OOMKilling"])
    assert fmt.name == "kubectl"
    assert fmt.parse("Type:    Warning") == Record("Type: Warning", level="warning")
    assert fmt.parse("  Type:  Normal") == Record("Type: Normal", level="info")


def test_json_error_objects_and_exc_info_are_appended_for_mining() -> None:
    _, records = parse("json.log")
    nested, exc_info = records[3], records[4]
    assert nested is not None
    assert exc_info is not None
    assert nested.level == "error"
    assert nested.message.startswith("request failed | ValueError: bad input | Traceback")
    assert exc_info.source == "worker"
    assert exc_info.level == "critical"
    assert exc_info.message.endswith("RuntimeError: CUDA out of memory")


def test_json_edge_cases() -> None:
    parse_json = JSON.parse
    assert parse_json("[1, 2]") is None
    assert parse_json("{not json") is None
    assert parse_json('{"PRIORITY":"3","MESSAGE":"disk failed","SYSLOG_IDENTIFIER":"smartd"}') == (
        Record("disk failed", level="error", source="smartd")
    )
    assert parse_json('{"level":"error","error":"boom"}') == Record("boom", level="error")
    assert parse_json('{"log":{"level":"warn"},"event":{"dataset":"x"}}') == Record(
        '{"event":{"dataset":"x"}}', level="warning"
    )


def test_headed_formats_leave_continuation_lines_unparsed() -> None:
    fmt, records = parse("log4j.log")
    assert fmt.name == "timestamped"
    assert records[2:8] == [None] * 6
    fmt, records = parse("python.log")
    assert records[3:7] == [None] * 4


def test_timestamp_only_lines_keep_indentation_and_spark_loggers_are_sources() -> None:
    fmt = detect(["2024/05/01 12:00:00 starting"])
    assert fmt.parse("2024/05/01 12:00:00   indented detail") == Record(
        "  indented detail", "2024/05/01 12:00:00"
    )
    assert fmt.parse("17/06/09 20:10:41 INFO Remoting: Starting remoting") == Record(
        "Starting remoting", "17/06/09 20:10:41", "info", "Remoting"
    )
    assert fmt.parse("2024-05-01 12:00:00 ERROR Failed to connect") == Record(
        "Failed to connect", "2024-05-01 12:00:00", "error"
    )
    assert fmt.parse("not a timestamped line") is None


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("ERROR: boom", "error"),
        ("error: could not compile `app`", "error"),
        ("[error] boom", "error"),
        ("[WARNING] deprecated", "warning"),
        ("E   assert 1 == 2", "error"),
        ("E: Unable to locate package foo", "error"),
        ("WARN low disk", "warning"),
        ("ERROR:root:msg", "error"),
        ("npm ERR! code E404", "error"),
        ("FAILURE: Build failed with an exception.", "error"),
        ("BUILD FAILED in 3s", "error"),
        ("##[error]Process completed with exit code 1.", "error"),
        ("Error handling is hard", None),
        ("I think it works", None),
        ("Everything is fine", None),
    ],
)
def test_plain_text_guesses_only_obvious_levels(line: str, level: Level | None) -> None:
    assert guess_level(line) == level
    assert PLAIN.parse(line) == Record(line, level=guess_level(line))


def test_every_level_word_is_a_known_level() -> None:
    assert all(normalise_level(word) for word in _LEVEL_WORDS.split("|"))


def test_garbage_and_empty_input_fall_back_to_plain() -> None:
    assert detect([]) is PLAIN
    assert detect(["", "   "]) is PLAIN
    garbage = ["\x00\x01binary", "}{", "=== ===", "a=b c", "[x] y", "12 monkeys", "<>"]
    assert detect(garbage) is PLAIN


def test_a_few_timestamped_lines_in_free_text_do_not_make_a_headed_format() -> None:
    lines = [f"free text line {i}" for i in range(20)]
    lines[3] = "2024-05-01T12:00:00Z one timestamped line"
    assert detect(lines) is PLAIN


def test_detect_looks_only_at_the_sample_head() -> None:
    head = ["[INFO] building"] * SAMPLE_LINES
    assert detect([*head, *(["just text"] * 1000)]).name == "maven"


def test_ties_favour_the_more_specific_format() -> None:
    # GitHub Actions lines are also valid generic timestamped lines.
    assert detect(lines_of("github-actions.log")).name == "github-actions"
    names = [fmt.name for fmt in FORMATS]
    assert names.index("github-actions") < names.index("timestamped")


LOGHUB_SETS = ["Apache", "BGL", "HDFS", "Hadoop", "Linux", "OpenSSH", "Spark", "Zookeeper"]


@pytest.mark.parametrize("name", LOGHUB_SETS)
def test_loghub_messages_match_the_ground_truth_content(name: str) -> None:
    benchmarks.require(LOGHUB)
    lines = (LOGHUB / name / f"{name}_2k.log").read_text(encoding="utf-8", errors="replace")
    raw = [line.rstrip("\r") for line in lines.split("\n")]
    with (LOGHUB / name / f"{name}_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    fmt = detect(raw[:SAMPLE_LINES])
    assert fmt is not PLAIN
    right = 0
    for line, row in zip(raw, rows, strict=False):
        record = fmt.parse(line)
        right += record is not None and record.message.strip() == row["Content"].strip()
    assert right >= 0.99 * len(rows), f"{name}: {right}/{len(rows)} messages match"


def test_parse_any_reads_each_line_of_a_mixed_input_in_its_own_format() -> None:
    assert parse_any('{"level":"error","msg":"boom"}') == Record("boom", level="error")
    assert parse_any("2024-05-01 12:00:00,123 - app - WARNING - slow") == Record(
        "slow", "2024-05-01 12:00:00,123", "warning", "app"
    )
    assert parse_any("E0515 12:34:58.123456    1 a.go:9] failed") == Record(
        "failed", "0515 12:34:58.123456", "error", "a.go:9"
    )
    assert parse_any("  indented text") == Record("  indented text")
    assert parse_any("error: linker failed") == Record("error: linker failed", level="error")


@pytest.mark.parametrize("fmt", [*FORMATS, PLAIN], ids=lambda f: f.name)
def test_every_format_survives_pickling(fmt: LogFormat) -> None:
    """A scan names its format and may cross a process boundary (engine pools, caches)."""
    copy = pickle.loads(pickle.dumps(fmt))
    line = "2024-05-01T10:00:00Z ERROR boom"
    assert copy.name == fmt.name
    assert copy.parse(line) == fmt.parse(line)
