"""Events: stack traces and wrapped lines become one event with the line that started them."""

from pathlib import Path

import pytest

from bifrost.engine import events
from bifrost.engine.events import classify, is_headline, last_start, spans
from bifrost.engine.formats import PLAIN, TIMESTAMPED, LogFormat, detect
from bifrost.engine.records import Record

DATA = Path(__file__).parents[1] / "data" / "formats"


def classes_of(lines: list[str], fmt: LogFormat | None = None) -> bytes:
    fmt = fmt or detect(lines)
    return bytes(classify(line, fmt.parse(line)) for line in lines)


def events_of(text: str, fmt: LogFormat | None = None) -> list[tuple[int, int]]:
    return spans(classes_of(text.split("\n"), fmt))


@pytest.mark.parametrize(
    ("line", "letter"),
    [
        ("just a line", "S"),
        ("", "B"),
        ("   ", "B"),
        ("\tat com.Foo.bar(Foo.java:10)", "I"),
        ('  File "a.py", line 3, in <module>', "I"),
        ("Traceback (most recent call last):", "T"),
        ("Caused by: java.io.IOException: y", "C"),
        ("Suppressed: java.lang.Exception: z", "C"),
        ("During handling of the above exception, another exception occurred:", "C"),
        ("The above exception was the direct cause of the following exception:", "C"),
        ("ValueError: bad", "X"),
        ("KeyboardInterrupt", "X"),
        ("java.lang.IllegalStateException: x", "X"),
        ("org.foo.BarException", "X"),
        ("Error: not a qualified exception name", "S"),
        ("goroutine 1 [running]:", "G"),
        ("goroutine 18 gp=0xc000102a80 m=nil [chan receive]:", "G"),
        ("stack backtrace:", "G"),
        ("panic: runtime error: index out of range [5] with length 3", "P"),
        ("fatal error: all goroutines are asleep - deadlock!", "P"),
        ("thread 'main' panicked at 'boom', src/main.rs:2:5", "P"),
        ("thread 'main' panicked at src/main.rs:2:5:", "R"),
        ("exit status 2", "N"),
        ("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace", "N"),
        ("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f0a2]", "N"),
    ],
)
def test_classify_by_content(line: str, letter: str) -> None:
    assert classify(line, PLAIN.parse(line)) == ord(letter)


def test_an_unparsed_ordinary_line_is_headerless_and_a_record_is_classified_by_its_message() -> (
    None
):
    assert classify("key = value", None) == events.HEADERLESS
    assert classify("ValueError: bad", None) == events.EXCEPTION
    stamped = "2022-05-07T08:49:38.2848415Z   at foo"
    assert classify(stamped, Record("  at foo", "2022-05-07T08:49:38.2848415Z")) == events.INDENTED
    assert classify(stamped, Record("", "2022-05-07T08:49:38.2848415Z")) == events.BLANK


def test_python_traceback_ends_with_its_unindented_exception_line() -> None:
    text = """\
Traceback (most recent call last):
  File "train.py", line 12, in <module>
    main()
StopIteration
next line"""
    assert events_of(text) == [(0, 3)]


def test_chained_python_traceback_spans_its_blank_lines_but_not_trailing_ones() -> None:
    text = """\
Traceback (most recent call last):
  File "a.py", line 3, in <module>
    d["x"]
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "a.py", line 5, in <module>
    raise ValueError("bad")
ValueError: bad


after the trace"""
    assert classes_of(text.split("\n")) == b"TIIXBCBTIIXBBS"
    assert events_of(text) == [(0, 10)]


def test_python_traceback_under_a_logging_header_joins_the_log_line() -> None:
    lines = (DATA / "python.log").read_text().splitlines()
    assert spans(classes_of(lines)) == [(2, 6)]
    lines = (DATA / "flask.log").read_text().splitlines()
    assert spans(classes_of(lines)) == [(1, 4)]


def test_java_trace_with_causes_and_more() -> None:
    text = """\
Exception in thread "main" java.lang.IllegalStateException: x
\tat com.Foo.bar(Foo.java:10)
\tat com.Foo.main(Foo.java:3)
Caused by: java.io.IOException: y
\tat com.Foo.baz(Foo.java:12)
\t... 12 more
done"""
    assert events_of(text) == [(0, 5)]


def test_log4j_line_then_bare_exception_then_frames() -> None:
    lines = (DATA / "log4j.log").read_text().splitlines()
    assert classes_of(lines) == b"SSXIICIIS"
    assert spans(classes_of(lines)) == [(1, 7)]
    plain = """\
ERROR could not save
java.lang.NullPointerException
\tat com.x.Save.run(Save.java:9)
INFO next"""
    assert events_of(plain, PLAIN) == [(0, 2)]


def test_exception_line_without_frames_stands_alone() -> None:
    assert events_of("loading\nKeyError: 'x'\nnext", PLAIN) == []


def test_go_panic_across_the_blank_line_to_exit_status() -> None:
    lines = (DATA / "go.log").read_text().splitlines()
    assert spans(classes_of(lines)) == [(3, 9)]
    text = """\
fatal error: all goroutines are asleep - deadlock!

goroutine 1 [chan receive]:
main.main()
\t/tmp/main.go:6 +0x2d

goroutine 18 [running]:
main.worker(0xc000012345)
\t/tmp/main.go:12 +0x40
created by main.main in goroutine 1
\t/tmp/main.go:5 +0x25
exit status 2

ok"""
    assert events_of(text, PLAIN) == [(0, 11)]


def test_rust_panics() -> None:
    new_style = """\
thread 'main' panicked at src/main.rs:2:5:
attempt to subtract with overflow
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
next"""
    assert events_of(new_style, PLAIN) == [(0, 2)]
    old_style = """\
thread 'main' panicked at 'boom', src/main.rs:2:5
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"""
    assert events_of(old_style, PLAIN) == [(0, 1)]
    backtrace = """\
thread 'main' panicked at src/main.rs:2:5:
assertion `left == right` failed
  left: 1
 right: 2
stack backtrace:
   0: std::panicking::begin_panic
             at /rustc/90c541806f23a127002de5b4038be731ba1458ca/library/std/src/panicking.rs:616:12
   1: app::main
             at ./src/main.rs:2:5
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
error: process didn't exit successfully: `target/debug/app` (exit status: 101)"""
    assert events_of(backtrace, PLAIN) == [(0, 9)]


def test_indented_wrapped_lines_continue_and_a_blank_line_ends_the_event() -> None:
    text = "config loaded:\n  a = 1\n  b = 2\n\n  c = 3\nnext\n  d"
    assert events_of(text, PLAIN) == [(0, 2), (5, 6)]


def test_headerless_lines_continue_under_a_headed_format_until_a_blank_line() -> None:
    lines = [
        "2024-05-01 12:00:00 INFO query:",
        "SELECT *",
        "FROM t",
        "2024-05-01 12:00:01 INFO next",
        "",
        "orphan",
        "orphan too",
    ]
    assert classes_of(lines, TIMESTAMPED) == b"SHHSBHH"
    assert spans(classes_of(lines, TIMESTAMPED)) == [(0, 2), (5, 6)]


def test_github_actions_lines_are_classified_by_their_message() -> None:
    lines = (DATA / "github-actions.log").read_text().splitlines()
    fmt = detect(lines)
    assert fmt.name == "github-actions"
    assert classes_of(lines, fmt) == b"SSISSTIXSS"
    assert spans(classes_of(lines, fmt)) == [(1, 2), (4, 7)]


def test_docker_wrapped_traceback() -> None:
    lines = (DATA / "docker.log").read_text().splitlines()
    assert spans(classes_of(lines)) == [(2, 5)]


def test_events_are_capped_and_split() -> None:
    classes = b"S" + b"I" * 12000 + b"S"
    assert spans(classes) == [(0, 4999), (5000, 9999), (10000, 12000)]
    assert spans(b"S" + b"I" * 5000) == [(0, 4999)]  # a lone last line is not an event


def test_ordinary_lines_make_no_events() -> None:
    assert spans(b"") == []
    assert spans(b"S" * 1000) == []
    assert spans(b"SBSBBS") == []


def test_headlines_are_lines_that_can_stand_for_an_event() -> None:
    heads = {chr(c) for c in b"SBITCXHGPRN" if is_headline(c)}
    assert heads == {"S", "X", "C", "P", "R", "H"}


def test_last_start_is_where_a_streaming_reader_holds_back() -> None:
    assert last_start(b"") == 0
    assert last_start(b"BB") == 0
    assert last_start(b"SSS") == 2
    assert last_start(b"SSTIIX") == 1
    assert last_start(b"SSTIIXBB") == 1
    assert last_start(b"SIISS" + b"SI" * 10) == 23
