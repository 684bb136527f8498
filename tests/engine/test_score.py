"""Scoring: the first finding answers "why did this fail?"; look-alikes stay down."""

from pathlib import Path

import pytest

from bifrost.analysis import verdict
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
    assert retry.severity == "info"  # a note: a retry or a deprecation alone is no failure
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
    assert finding.title == "sync: shard … diverged from replica …"  # as the log writes it
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


# --- build logs: steps, causes without error words, wrappers ------------------------------

TRAVIS_SETUP = "".join(f"Setting environment variable VAR_{i}\n" for i in range(30))


def test_a_cause_without_error_words_before_the_failing_exit_line_ranks_first(
    tmp_path: Path,
) -> None:
    text = (
        TRAVIS_SETUP
        + "$ ./scripts/check-docs.sh\n"
        + "snapshot differs from the committed one: docs/api.md\n"
        + 'The command "./scripts/check-docs.sh" exited with 1.\n'
        + "Done. Your build exited with 1.\n"
    )
    found = analyse(tmp_path, text)
    assert found[0].first_seen.line == 32
    assert found[0].category == "log.suspicious"
    assert [e.line for e in found[0].evidence] == [31, 32]  # the command, then its output
    assert verdict(found) == "unclear"  # it failed, and no line says what went wrong


def test_the_command_above_the_output_it_explains_is_shown_with_it(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ swift build\n"
        + "The program 'swift' is currently not installed.\n"
        + 'The command "swift build" exited with 127.\n'
    )
    found = analyse(tmp_path, text)
    assert [(e.line, e.text) for e in found[0].evidence] == [
        (31, "$ swift build"),
        (32, "The program 'swift' is currently not installed."),
    ]
    assert all("$ swift build" not in f.template for f in found)  # never a finding itself


def test_a_wrapper_ranks_below_the_error_it_reports(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ npm run lint\n"
        + "> app@1.0.0 lint /home/travis/build/app\n"
        + "> eslint src\n"
        + "src/index.js:12:5: error: 'fetchUser' is not defined (no-undef)\n"
        + "npm ERR! code ELIFECYCLE\n"
        + "npm ERR! errno 1\n"
        + "npm ERR! app@1.0.0 lint: `eslint src`\n"
        + "npm ERR! Exit status 1\n"
        + 'The command "npm run lint" exited with 1.\n'
    )
    found = analyse(tmp_path, text)
    assert "fetchUser" in found[0].evidence[-1].text
    npm = next(f for f in found if "ELIFECYCLE" in f.template or "npm ERR!" in f.template)
    assert npm.score < found[0].score


def test_failure_headers_are_not_findings_but_what_follows_them_is(tmp_path: Path) -> None:
    text = (
        "".join(f"tests/test_misc.py::test_{i} PASSED\n" for i in range(40))
        + "=================================== FAILURES ===================================\n"
        + "_________________________________ test_total _________________________________\n"
        + "    def test_total():\n"
        + ">       assert total([1, 2]) == 4\n"
        + "E       assert 3 == 4\n"
        + "tests/test_sum.py:8: AssertionError\n"
        + "=========================== 1 failed, 40 passed in 0.52s ===========================\n"
    )
    found = analyse(tmp_path, text)
    assert all("FAILURES" not in f.template for f in found)
    assert 44 <= found[0].first_seen.line <= 46
    assert found[0].signature == "test.pytest"  # the summary says what kind of failure


# --- healthy controls: nothing wrong, nothing found ---------------------------------------

HEALTHY_DESCRIBE = """\
Name:             api-6c9f7d8b5-x2k4p
Namespace:        shop
Node:             ip-10-0-3-17.ec2.internal/10.0.3.17
Status:           Running
Containers:
  api:
    Image:          registry.example.com/shop/api:2.14.0
    State:          Running
      Started:      Tue, 12 Mar 2024 10:02:13 +0000
    Ready:          True
    Restart Count:  0
    Liveness:   http-get http://:8080/healthz delay=10s timeout=1s period=10s #success=1 #failure=3
Conditions:
  Type              Status
  Initialized       True
  Ready             True
  ContainersReady   True
  PodScheduled      True
QoS Class:                   Burstable
Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Events:
  Type    Reason     Age   From               Message
  ----    ------     ----  ----               -------
  Normal  Scheduled  2m    default-scheduler  Successfully assigned shop/api-0 to ip-10-0-3-17
  Normal  Pulled     2m    kubelet            Container image "shop/api:2.14.0" already present
  Normal  Created    2m    kubelet            Created container api
  Normal  Started    2m    kubelet            Started container api
"""

HEALTHY_NCCL = "".join(
    f"trainer-0:{100 + r}:{200 + r} [{r}] NCCL INFO {line}\n"
    for r in range(4)
    for line in (
        "Bootstrap : Using eth0:10.0.3.17<0>",
        "NET/Plugin: Plugin load returned 2 : libnccl-net.so: cannot open shared object file: "
        "No such file or directory : when loading libnccl-net.so",
        "NET/Plugin: Using internal network plugin.",
        "cudaDriverVersion 12040",
        "Channel 00/02 :    0   1   2   3",
        "Connected all rings",
        "comm 0x55d1c0 rank 0 nranks 4 cudaDev 0 busId 1000 - Init COMPLETE",
    )
)

HEALTHY_BUILD = (
    "$ npm ci\n"
    "added 312 packages in 4.2s\n"
    'The command "npm ci" exited with 0.\n'
    "$ npm test\n"
    "> app@1.0.0 test /home/travis/build/app\n"
    "> jest\n"
    "PASS src/api.test.js\n"
    "Tests:       12 passed, 12 total\n"
    'The command "npm test" exited with 0.\n'
    "Done. Your build exited with 0.\n"
)


@pytest.mark.parametrize(
    "text",
    [HEALTHY_DESCRIBE, HEALTHY_NCCL, HEALTHY_BUILD],
    ids=["kubectl-describe", "nccl-startup", "ci-build"],
)
def test_healthy_logs_have_nothing_worth_a_warning(tmp_path: Path, text: str) -> None:
    found = analyse(tmp_path, text)
    assert verdict(found) == "ok"
    assert all(f.severity == "info" for f in found)  # notes at most (NCCL's INFO lines)


# --- pasted and recorded logs --------------------------------------------------------------


def test_a_pasted_indented_log_is_read_like_any_other(tmp_path: Path) -> None:
    text = "".join(
        "    " + line + "\n"
        for line in (
            "2024-05-01 10:00:00 INFO starting worker",
            "2024-05-01 10:00:01 INFO loading model",
            "2024-05-01 10:00:02 ERROR failed to load weights",
            "Traceback (most recent call last):",
            '  File "/app/x.py", line 3, in <module>',
            "    load()",
            "ValueError: bad shape",
        )
    )
    found = analyse(tmp_path, text)
    assert found
    assert found[0].severity == "error"
    assert found[0].evidence[0].line == 3
    assert found[0].evidence[-1].text.endswith("ValueError: bad shape")


def test_in_a_kubectl_recording_the_container_state_beats_its_consequences(
    tmp_path: Path,
) -> None:
    text = (
        "$ kubectl describe pod api-0\n"
        + HEALTHY_DESCRIBE.replace(
            "    State:          Running\n      Started:      Tue, 12 Mar 2024 10:02:13 +0000\n",
            "    State:          Waiting\n      Reason:       CrashLoopBackOff\n"
            "    Last State:     Terminated\n      Reason:       OOMKilled\n"
            "      Exit Code:    137\n",
        )
        + "  Warning  BackOff    1m (x9 over 3m)  kubelet  Back-off restarting failed container api"
        " in pod api-0_shop(2f9c)\n"
        + "  Warning  Unhealthy  1m (x3 over 2m)  kubelet  Readiness probe failed: Get "
        '"http://10.0.3.201:8080/healthz": dial tcp 10.0.3.201:8080: connect: connection refused\n'
    )
    found = analyse(tmp_path, text)
    assert found[0].signature == "k8s.oomkilled"
    assert all(f.signature != "k8s.node_not_ready" for f in found)  # default tolerations


def test_a_list_announced_by_a_headline_is_its_evidence(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ conda install --yes numpy=1.10.4 scipy=0.16.1\n"
        + "Solving environment: failed\n"
        + "\n"
        + "PackagesNotFoundError: The following packages are not available from current channels:\n"
        + "\n"
        + "  - numpy=1.10.4\n"
        + "  - scipy=0.16.1\n"
        + "\n"
        + 'The command "conda install --yes numpy=1.10.4 scipy=0.16.1" exited with 1.\n'
    )
    found = analyse(tmp_path, text)
    shown = [line for e in found[0].evidence for line in range(e.line, e.end_line + 1)]
    assert {34, 36, 37} <= set(shown)


def test_a_wrapper_over_warnings_hands_its_rank_to_the_warning(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ cabal build --ghc-options=-Werror\n"
        + "[1 of 3] Compiling Data.Shop ( src/Data/Shop.hs, dist/build/Data/Shop.o )\n"
        + "src/Data/Shop.hs:94:10: warning: [-Wmissing-methods]\n"
        + "    No explicit implementation for\n"
        + "      'mappend'\n"
        + "\n"
        + "<no location info>: error:\n"
        + "Failing due to -Werror.\n"
        + 'The command "cabal build --ghc-options=-Werror" exited with 1.\n'
    )
    found = analyse(tmp_path, text)
    assert found[0].first_seen.line == 33
    command, warning, *_ = found[0].evidence  # the command that printed it comes first
    assert command.text == "$ cabal build --ghc-options=-Werror"
    assert warning.text.startswith("src/Data/Shop.hs:94:10: warning")


def test_what_a_step_prints_after_its_wrapper_is_aftermath(tmp_path: Path) -> None:
    coverage = "".join(f"  @App.Services::Service{i}  Methods: 50.00% ( 1/ 2)\n" for i in range(30))
    text = (
        TRAVIS_SETUP
        + "$ phpunit\n"
        + "There was 1 failure:\n"
        + "1) CartTest::test_total\n"
        + "Failed asserting that 3 matches expected 4.\n"
        + "/home/travis/build/shop/tests/CartTest.php:21\n"
        + "FAILURES!\n"
        + "Tests: 120, Assertions: 311, Failures: 1.\n"
        + "Code Coverage Report:\n"
        + coverage
        + 'The command "phpunit" exited with 1.\n'
    )
    found = analyse(tmp_path, text)
    assert 32 <= found[0].first_seen.line <= 34
    assert all(f.first_seen.line <= 37 for f in found[:2])


def test_the_list_a_final_error_line_sums_up_is_its_evidence(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ sudo apt-get install -y libpq-dev\n"
        + "Reading package lists...\n"
        + "Some packages could not be installed. This may mean that you have\n"
        + "requested an impossible situation.\n"
        + "The following packages have unmet dependencies:\n"
        + " libpq-dev : Depends: libpq5 (= 16.2-1) but 14.11-0ubuntu0.22.04.1 is to be installed\n"
        + "E: Unable to correct problems, you have held broken packages.\n"
        + 'The command "sudo apt-get install -y libpq-dev" exited with 100.\n'
    )
    found = analyse(tmp_path, text)
    shown = {line for e in found[0].evidence for line in range(e.line, e.end_line + 1)}
    assert {35, 36, 37} <= shown


def test_a_title_puts_the_message_before_the_place_it_names(tmp_path: Path) -> None:
    text = noise(10) + "tests/test_orders.py:42: AssertionError: totals differ\n"
    (finding,) = analyse(tmp_path, text)
    assert finding.title == "AssertionError: totals differ (tests/test_orders.py)"


def test_a_warning_that_mentions_a_failure_stays_a_warning(tmp_path: Path) -> None:
    text = noise(10) + "2024-05-01 10:01:00,000 WARNING sync: upload failed, will resume later\n"
    (finding,) = analyse(tmp_path, text)
    assert finding.severity == "warning"
    assert verdict([finding]) == "warning"


def test_jest_shows_the_error_of_the_failed_test(tmp_path: Path) -> None:
    text = (
        "PASS src/api.test.js\n"
        "FAIL src/cart.test.js\n"
        "  ● Cart › totals › adds tax\n"
        "\n"
        "    TypeError: Cannot read properties of undefined (reading 'rate')\n"
        "\n"
        "      at computeTax (src/cart.js:12:27)\n"
        "\n"
        "Test Suites: 1 failed, 1 passed, 2 total\n"
        "Tests:       1 failed, 27 passed, 28 total\n"
    )
    found = analyse(tmp_path, text)
    shown = "\n".join(e.text for e in found[0].evidence)
    assert "TypeError: Cannot read properties of undefined" in shown


def test_a_one_line_headline_shows_the_block_it_heads(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ ./check-links README.md\n"
        + "Checking URLs: 540 checked\n"
        + "\n"
        + "Issues :-(\n"
        + "> Links\n"
        + "  1. [L296] 404 https://example.org/gone\n"
        + "  2. [L494] 502 https://example.com/down\n"
        + "\n"
        + 'The command "./check-links README.md" exited with 1.\n'
    )
    found = analyse(tmp_path, text)
    shown = {n for f in found[:5] for e in f.evidence for n in range(e.line, e.end_line + 1)}
    assert {34, 35, 36, 37} <= shown  # the header and the broken links under `Issues :-(`


def test_a_failed_test_shows_its_assertion_even_when_another_test_leads(tmp_path: Path) -> None:
    tap = ["TAP version 13", "# sorts members"]
    for n, name in enumerate(["no errors", "no messages", "fails due to sort"], start=1):
        tap += [f"not ok {n} {name}", "  ---", f"    operator: check{n}"]
        tap += [f"    expected: {n}", f"    actual:   {n + 1}"]
        tap += [f"      at Test.<anonymous> (test/order.js:{n}:7)" for _ in range(15)]
        tap += ["  ..."]
    text = TRAVIS_SETUP + "$ npm test\n" + "\n".join(tap) + "\n" + "# fail  3\n"
    found = analyse(tmp_path, text)
    shown = {n for e in found[0].evidence for n in range(e.line, e.end_line + 1)}
    first_assertion = 30 + 1 + 2 + 3  # `operator: check1`, under the first `not ok`
    assert first_assertion in shown


def test_the_command_that_printed_a_finding_is_shown_with_it(tmp_path: Path) -> None:
    text = (
        TRAVIS_SETUP
        + "$ yarn test\n"
        + "yarn run v1.3.2\n"
        + "$ gulp && git status | grep 'directory clean' || (echo 'Please commit'; exit 1)\n"
        + "".join(f"[12:37:{i:02d}] Finished 'task{i}' after 7 ms\n" for i in range(12))
        + "Please commit all changes generated by building\n"
        + "error Command failed with exit code 1.\n"
        + 'The command "yarn test" exited with 1.\n'
    )
    found = analyse(tmp_path, text)
    shown = {e.text for f in found[:5] for e in f.evidence}
    assert any(t.startswith("$ gulp && git status") for t in shown)  # yarn's echo, 13 lines up
