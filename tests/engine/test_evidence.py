"""Evidence selection: what a reader should look at in a long event."""

from bifrost.engine.evidence import BLOCK_LINES, block_after, select


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


def test_a_headline_that_opens_a_paragraph_heads_the_rest_of_it() -> None:
    after = ["> Links", "  1. [L12] 404 https://example.org/gone", "> Dupes", "  None", ""]
    assert block_after("", after) == 4


def test_a_headline_heads_the_indented_block_under_it_across_one_blank_line() -> None:
    after = ["", "  Problem 1", "    - package a requires b", "", "next output"]
    assert block_after("resolving dependencies", after) == 3


def test_a_line_in_dense_output_heads_no_block() -> None:
    assert block_after("compiling a.c", ["compiling b.c", "compiling c.c", ""]) == 0
    assert block_after(None, ["next", ""]) == 0
    assert block_after("", []) == 0


def test_a_paragraph_longer_than_a_block_is_not_one() -> None:
    after = [f"line {i}" for i in range(BLOCK_LINES + 1)] + [""]
    assert block_after("", after) == 0
    after = [f"line {i}" for i in range(BLOCK_LINES - 1)] + [""]
    assert block_after("", after) == BLOCK_LINES - 1


def test_an_indented_block_is_capped() -> None:
    after = [f"  - item {i}" for i in range(3 * BLOCK_LINES)]
    assert block_after("x", after) == BLOCK_LINES
