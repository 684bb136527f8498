"""The structure of build logs: step starts, failing exit lines, wrappers, headers, echoes."""

from pathlib import Path

import pytest

from bifrost.engine import steps
from bifrost.engine.read import open_sources
from bifrost.engine.scan import Scanner


@pytest.mark.parametrize(
    ("line", "role"),
    [
        ("$ npm test", steps.STEP_START),
        ("travis_fold:start:install", steps.STEP_START),
        ("##[group]Run make test", steps.STEP_START),
        ("section_start:1700000000:build_script", steps.STEP_START),
        ("[Pipeline] stage", steps.STEP_START),
        ("> Task :app:compileJava", steps.STEP_START),
        ("[INFO] --- maven-surefire-plugin:3.0.0:test (default-test) @ core ---", steps.STEP_START),
        ('The command "npm test" exited with 1.', steps.STEP_END),
        ('" exited with 2.', steps.STEP_END),
        ("Process completed with exit code 2.", steps.STEP_END),
        ("ERROR: Job failed: exit code 1", steps.STEP_END),
        ("script returned exit code 2", steps.STEP_END),
        ("npm ERR! code ELIFECYCLE", steps.WRAPPER),
        ("make: *** [Makefile:12: all] Error 2", steps.WRAPPER),
        ("[ERROR] BUILD FAILURE", steps.WRAPPER),
        ("=========== 2 failed, 300 passed in 47.83s ===========", steps.WRAPPER),
        ("error: could not compile `app` due to 2 previous errors", steps.WRAPPER),
        (
            "=================================== FAILURES ===================================",
            steps.HEADER,
        ),
        ("There was 1 failure:", steps.HEADER),
        ("  3 failing", steps.HEADER),
        ("Root Cause (first observed failure):", steps.HEADER),
        ("rake aborted!", steps.HEADER),
        ("_________________________ test_stacking[case3] _________________________", steps.HEADER),
        ("Testing failed:", steps.HEADER),
        ("Failure:", steps.HEADER),
        ("** TEST FAILED **", steps.WRAPPER),
        ('npm ERR! argv "/usr/bin/node" "/usr/bin/npm" "test"', steps.WRAPPER),
        ("npm ERR! code E404", steps.NONE),  # the cause of an install failure, not a footer
        ("Files=3, Tests=41,  2 wallclock secs", steps.WRAPPER),
        ("12 examples, 2 failures", steps.WRAPPER),
        ("# fail  4", steps.WRAPPER),  # TAP's summary; the `not ok` blocks above say what
        ("# pass  7", steps.NONE),
        ("# FAIL:  2", steps.WRAPPER),  # automake
        ("# FAIL:  0", steps.NONE),
        ("Test suite unit-tests: FAIL", steps.WRAPPER),  # cabal
        ("12 examples, 0 failures", steps.NONE),
        ("3 failures on node worker-7", steps.NONE),
        ("Compiling app v0.1.0", steps.NONE),
        ('Test "login" failed', steps.NONE),
        ("", steps.NONE),
    ],
)
def test_roles(line: str, role: int) -> None:
    assert steps.role(line) == role


@pytest.mark.parametrize(
    ("line", "failed"),
    [
        ('The command "make" exited with 0.', False),
        ('The command "make" exited with 2.', True),
        ('The command "git clone x" failed. Retrying, 2 of 3.', True),
        ("Process completed with exit code 0.", False),
        ("Done. Your build exited with 1.", True),
        ("Finished: FAILURE", True),
    ],
)
def test_an_exit_line_says_whether_its_step_failed(line: str, failed: bool) -> None:
    assert steps.failed(line) is failed


@pytest.mark.parametrize(
    ("line", "echo"),
    [
        ("$ make test", True),
        ("+ helm upgrade api ./chart", True),
        ("++ set -e", True),
        ("> jest --ci", True),
        ("+t/validate --strict", True),
        ("+++ b/src/app.py", False),
        ("make test", False),
        ("$", False),
    ],
)
def test_echoed_commands(line: str, echo: bool) -> None:
    assert steps.is_command(line) is echo


def _scan(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    log = tmp_path / "build.log"
    log.write_text(text)
    return Scanner().scan(open_sources([str(log)]), 1 << 20)


def test_the_window_before_a_failing_exit_line_starts_at_its_step(tmp_path: Path) -> None:
    text = (
        "$ npm ci\n"
        + "".join(f"added package {i}\n" for i in range(50))
        + 'The command "npm ci" exited with 0.\n'
        + "$ npm test\n"
        + "running 3 suites\n"
        + "flag provided but not defined: -x\n"
        + 'The command "npm test" exited with 1.\n'
        + "Done. Your build exited with 1.\n"
    )
    scan = _scan(tmp_path, text)
    first = scan.failures[0]
    assert first.exit
    assert (first.step_start, first.start, first.end) == (53, 53, 56)
    assert first.lines == ["$ npm test", "running 3 suites", "flag provided but not defined: -x"]
    assert (0, 56) in scan.wrappers  # a failing exit line is where a failure is reported
    assert all(line != 52 for _, line in scan.wrappers)  # `exited with 0` is not


def test_a_window_reaches_back_across_blocks_and_stops_at_its_size(tmp_path: Path) -> None:
    lines = [f"compiling unit {i}" for i in range(5000)] + ["linker failed", "exit status 1"]
    log = tmp_path / "build.log"
    log.write_text("\n".join(lines) + "\n")
    scan = Scanner().scan(open_sources([str(log)]), 4096)  # many small blocks
    (window,) = scan.failures
    assert len(window.lines) == 200
    assert window.lines[-1] == "linker failed"
    assert window.start == 5001 - 199
    (end,) = scan.ends
    assert end.lines[-1] == "exit status 1"
    assert end.end is None


@pytest.mark.parametrize(
    ("line", "echo"),
    [
        ("$ gulp && git status", True),
        ("+ helm upgrade --install api ./chart", True),
        ("++ export PATH=/usr/bin", True),
        ("> Links", False),  # a quoted line, as a link checker prints it
        ("> jest --ci", False),  # npm's echo: `>` is too common a quote to trust
        ("+++ b/src/app.py", False),  # a diff header
        ("$", False),
    ],
)
def test_a_shell_echo_is_a_command_as_the_shell_prints_it(line: str, echo: bool) -> None:
    assert steps.is_shell_echo(line) is echo
