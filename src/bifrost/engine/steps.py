"""The structure of a build log: where steps start, which step failed, and which lines only
report a failure that was explained earlier.

A CI log is a sequence of steps (a Travis `$ command`, a GitHub Actions `##[group]`, a GitLab
section, a Jenkins stage, a Gradle task …), and a failing build says which step failed with a
non-zero exit line at its end. The cause of a failure almost always lies inside the failing
step, shortly before that line. Between the cause and the exit line, tools often print a
*wrapper*: a summary that a failure happened (`npm ERR! code ELIFECYCLE`, `make: *** [all]
Error 1`, `BUILD FAILED`, `2 failed, 40 passed`) without saying why. Wrappers are symptoms;
the ranker learns to prefer the specific error before them.

Every pattern here is a convention of a CI system or a widely used tool, never the wording of
one project. Roles are decided once per line shape, like everything else on the slow path;
the exit status is read per line, since `exited with 0` and `exited with 1` share a shape.
"""

from __future__ import annotations

import re

NONE = 0
STEP_START = 1  # a step begins: its command is echoed, or a section/group opens
STEP_END = 2  # a step ended and said with what status (see `failed`)
WRAPPER = 3  # a summary that something failed, not what
HEADER = 4  # announces the details of failures, which follow it

# What opens a step.
_START = re.compile(
    r"""
    \$\ \S                                   # Travis, GitLab: the command echoed as `$ cmd`
    | travis_fold:start:                     # Travis folds
    | \#\#\[group\]                          # GitHub Actions groups (`##[group]Run make`)
    | section_start:\d+:                     # GitLab CI collapsible sections
    | \[Pipeline\]\ (?:stage|sh|bat|powershell)\b   # Jenkins pipeline steps
    | (?:---|\+\+\+|~~~)\ \S                  # Buildkite groups
    | >\ Task\ :\S                           # Gradle tasks
    | \[INFO\]\ ---\ [\w.-]+:[\w.-]+:\S+     # Maven plugin executions
    | >\ [@\w./-]+@\S+\ [\w:-]+\ \S          # npm run: `> pkg@1.0.0 test /path`
    """,
    re.VERBOSE,
)

# A step's last line, with its exit status in group `status` when it says one.
_END = re.compile(
    r"""
    (?:The\ command\ ".*|^)"\ (?:exited\ with\ (?P<status>\d+)   # Travis (a long command
      |failed(?:\ and\ exited\ with\ (?P<s2>\d+))?)                # ends on a line of its own)
    | Process\ completed\ with\ exit\ code\ (?P<s3>\d+)            # GitHub Actions
    | ERROR:\ Job\ failed:\ (?:exit\ (?:code|status)\ (?P<s4>\d+)|.)  # GitLab runner
    | script\ returned\ exit\ code\ (?P<s5>\d+)                     # Jenkins
    | Error:\ The\ command\ exited\ with\ status\ (?P<s6>\d+)       # Buildkite
    | Command\ exited\ with\ non-zero\ status\ (?P<s7>\d+)
    | Done\.\ Your\ build\ exited\ with\ (?P<s8>\d+)                # Travis, the job's end
    | Finished:\ (?:FAILURE|ABORTED|UNSTABLE)                      # Jenkins, the job's end
    """,
    re.VERBOSE,
)

# Lines that say a failure happened, not why. Each is the standard summary of a widely used
# tool; the cause is printed before it. Split in two: anywhere in the line, and at its start
# (matched only there, which is much cheaper than searching).
_WRAPPER_IN = re.compile(
    r"""
    npm\ ERR!\ (?:code\ ELIFECYCLE|errno\b|Exit\ status|Test\ failed|Failed\ at\ the\b
                |[\w@./-]+\ [\w:-]+:\ `|This\ is\ (?:probably|most\ likely)\ not\ a\ problem
                |argv\ |node\ v\d|npm\ \ v\d|(?:Linux|Darwin|Windows_NT)\ \d|os\ |cwd\ \S
                |A\ complete\ log|Please\ include|If\ you\ need\ help|Tell\ the\ author)
    | error\ Command\ failed\ with\ exit\ code                     # yarn
    | ERROR:\ ".+"\ exited\ with\ \d                               # npm-run-all
    | make(?:\[\d+\])?:\ \*\*\*\ .*Error\ \d+                      # make
    | \bBUILD\ (?:FAILED|FAILURE)\b                                # ant, maven, gradle
    | FAILURE:\ Build\ failed\ with\ an\ exception                 # gradle
    | Execution\ failed\ for\ task\ '                              # gradle
    | Failed\ to\ execute\ goal\b                                  # maven
    | Tests\ run:\ \d+,\ Failures:\ \d+                            # surefire
    | \btest\ result:\ FAILED\b                                    # cargo test
    | error:\ test\ failed,\ to\ rerun\ pass                       # cargo test
    | error:\ could\ not\ compile\ `                               # cargo
    | Command\ failed\ with\ status\ \(\d+\)                       # rake
    | \berrored\ after\b                                           # gulp
    | error:\ command\ '.*'\ failed\ with\ exit\ (?:status|code)   # distutils
    | Process\ exited\ with\ code:?\ [1-9]
    | exited\ with\ (?:code|status)\ [1-9]
    | Configuring\ incomplete,\ errors\ occurred!                  # cmake
    | Failing\ due\ to\ -Werror                                    # ghc
    """,
    re.VERBOSE,
)
_WRAPPER_AT_START = re.compile(
    r"""
    \W*(?:=+\ )?\d+\ failed\b.*\ in\ [\d.]+\s*s                   # pytest's last line
    | FAILED\ \(                                                  # unittest
    | \d+\ examples?,\ [1-9]\d*\ failures?                        # rspec
    | \d+\ runs,\ \d+\ assertions,\ [1-9]\d*\ failures             # minitest
    | \d+\ tests?\ failed\b
    | Tests:\ .*\d+\ failed                                        # jest
    | Test\ Suites:\ .*\d+\ failed
    | FAILURES!$                                                  # phpunit
    | Tests:\ \d+,\ Assertions:\ \d+,\ (?:Failures|Errors):        # phpunit
    | FAIL\s+\S+\s+[\d.]+s$                                       # go test, per package
    | (?:---\ )?FAIL:?\s*$                                        # go test
    | Failed\ \d+/\d+\ (?:subtests|test\ programs)                 # perl prove
    | Result:\ FAIL                                                # perl prove
    | Files=\d+,\ Tests=\d+,                                        # perl prove
    | \#\ fail\s+[1-9]                                              # TAP (tape, node-tap)
    | \#\ (?:FAIL|ERROR):\s+[1-9]                                   # automake's test summary
    | Test\ suite\ \S+:\ FAIL\b                                      # cabal
    | exit\ status\ [1-9]                                          # go run
    | Error:\ Process\ completed\ with\ exit\ code
    | \#\#\[error\]Process\ completed\ with\ exit\ code
    | \*\*\ (?:BUILD|TEST|ARCHIVE)\ FAILED\ \*\*                    # xcodebuild
    | The\ following\ build\ commands\ failed:                     # xcodebuild
    | Error:\ \d+\ (?:errors?|problems?)\b
    | \d+\ (?:errors?|problems?)\ (?:generated|found)\b            # compilers, linters
    | ✖\ \d+\ problems?\b                                          # eslint
    | Found\ \d+\ errors?\b                                        # tsc, mypy
    | compilation\ terminated\.$                                   # gcc
    | collect2:\ error:\ ld\ returned                              # gcc's linker wrapper
    """,
    re.VERBOSE,
)

# Every exit line and wrapper holds one of these: a line without any is checked for the
# cheaper roles only.
_HINT = re.compile(r"(?i:err|fail|exit|abort|unstable|terminated|incomplete|files=\d|\*\*\*|✖)")

# Lines after which a test runner or build tool prints what failed.
_HEADER = re.compile(
    r"""
    ^There\ (?:was|were)\ \d+\ (?:failures?|errors?):            # phpunit
    | ^=+\ (?:FAILURES|ERRORS)\ =+$                               # pytest
    | ^_{3,}\ \S.*\ _{3,}$                                         # pytest, one failed test
    | ^(?:failures|Failures|Failed\ tests?|FAILED\ TESTS?|Errors):$  # cargo, rspec, minitest
    | ^\d+\ failing$                                              # mocha
    | ^The\ following\ tests\ FAILED:                            # ctest
    | ^Summary\ of\ failures:
    | ^\#\ Failed\ test\b                                        # perl Test::More
    | ^What\ went\ wrong:                                         # gradle
    | ^Root\ Cause\ \(first\ observed\ failure\):                # torchrun
    | ^rake\ aborted!$                                             # rake: the reason follows
    | ^(?:Testing|Build)\ failed:$|^Failing\ tests:$                  # xcodebuild
    | ^(?:Failure|Error):$                                        # minitest
    """,
    re.VERBOSE,
)

_STATUS_GROUPS = ("status", "s2", "s3", "s4", "s5", "s6", "s7", "s8")


def role(text: str) -> int:
    """The structural role of one line (decoded, colours removed): see the constants."""
    stripped = text.strip()
    if not stripped:
        return NONE
    if _HINT.search(stripped):
        if _END.search(stripped):
            return STEP_END
        if _WRAPPER_AT_START.match(stripped) or _WRAPPER_IN.search(stripped):
            return WRAPPER
    if _HEADER.search(stripped):
        return HEADER
    if _START.match(stripped):
        return STEP_START
    return NONE


def failed(text: str) -> bool:
    """Whether a `STEP_END` line reports a failure (a non-zero status, or no status at all)."""
    m = _END.search(text)
    if m is None:
        return False
    status = next((m[g] for g in _STATUS_GROUPS if m[g] is not None), None)
    return status is None or int(status) != 0


# `$ cmd` (Travis, GitLab), `> cmd` (npm scripts), `+ cmd` (shell xtrace, one `+` per level);
# not a unified diff's `+++ b/file` header.
_COMMAND = re.compile(r"[$>] \S|(?!\+\+\+ [ab]/)\+{1,3} ?(?=[^\s+])")


# A shell's own echo of what it runs: `$ cmd` (Travis, GitLab, yarn), `+ cmd` (xtrace).
_SHELL_ECHO = re.compile(r"\$ \S|(?!\+\+\+ [ab]/)\+{1,3} ?(?=[^\s+])")


def is_shell_echo(line: str) -> bool:
    """A command as a shell echoes it, `$ make` or `+ helm upgrade`: what printed the lines
    after it. Not npm's `> jest`, whose `>` also starts a quoted line (Markdown, e-mail)."""
    return _SHELL_ECHO.match(line) is not None


def is_command(line: str) -> bool:
    """An echoed command (`$ make`, `+ helm upgrade`, npm's `> jest`): what ran, not what
    happened; never a finding of its own, but shown above the output it explains."""
    return _COMMAND.match(line) is not None
