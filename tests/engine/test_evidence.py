"""Evidence selection: what a reader should look at in a long event."""

from bifrost.engine.evidence import select


def test_short_events_are_shown_whole() -> None:
    assert select(["a", "b", "c"], limit=12) == [(0, 2)]
    assert select([], limit=12) == []


def test_a_long_java_trace_keeps_exception_causes_and_first_frames() -> None:
    lines = ['Exception in thread "main" java.lang.IllegalStateException: boom']
    lines += [f"\tat com.example.C{i}.m(C{i}.java:{i})" for i in range(100)]
    lines += ["Caused by: java.io.IOException: disk gone"]
    lines += [f"\tat com.example.D{i}.m(D{i}.java:{i})" for i in range(100)]
    lines += ["\t... 42 more"]
    runs = select(lines, limit=12)
    kept = [i for a, b in runs for i in range(a, b + 1)]
    assert kept == [0, 1, 2, 3, 101, 102, 103, 104]


def test_a_long_python_traceback_keeps_its_last_frames_and_error() -> None:
    lines = ["Traceback (most recent call last):"]
    for i in range(50):
        lines += [f'  File "m{i}.py", line {i}, in f', f"    f{i}()"]
    lines += ["KeyError: 'x'"]
    runs = select(lines, limit=12)
    assert runs[0][0] == 0
    assert runs[-1] == (len(lines) - 5, len(lines) - 1)
