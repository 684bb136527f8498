"""The knowledge base recognises known failures by their real log lines, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from bifrost.engine.signatures import (
    Signature,
    _keywords,
    load_signature_file,
    load_signatures,
    match,
)
from bifrost.errors import SignatureError

SIGNATURES = load_signatures()
DATA = Path(str(files("bifrost.engine") / "data" / "signatures"))

# The id families each domain file must provide.
DOMAINS = {
    "kubernetes.yaml": {"k8s"},
    "ml.yaml": {"gpu", "ml"},
    "ci.yaml": {"deps", "build", "test", "ci", "git"},
    "services.yaml": {"net", "http", "auth", "db", "mq", "runtime", "system"},
    "system.yaml": {"kernel", "hardware", "storage"},
}

EXAMPLES = [
    pytest.param(signature, example, id=signature.id)
    for signature in SIGNATURES
    for example in signature.examples
]
COUNTER_EXAMPLES = [
    pytest.param(signature, counter, id=signature.id)
    for signature in SIGNATURES
    for counter in signature.counter_examples
]


@pytest.mark.parametrize(("signature", "example"), EXAMPLES)
def test_every_example_matches_its_signature(signature: Signature, example: str) -> None:
    found = match(example)
    assert found is not None, example
    assert found.id == signature.id


@pytest.mark.parametrize(("signature", "counter"), COUNTER_EXAMPLES)
def test_no_counter_example_matches_its_signature(signature: Signature, counter: str) -> None:
    found = match(counter)
    assert found is None or found.id != signature.id


@pytest.mark.parametrize(
    "line",
    [
        "0 errors",
        "[INFO] 0 errors, 0 warnings",
        "Tests run: 5, Failures: 0, Errors: 0, Skipped: 0",
        "[INFO] Tests run: 12, Failures: 0, Errors: 0, Skipped: 1, Time elapsed: 0.8 s",
        "error_count=0",
        "failed=0 passed=12",
        "[INFO] BUILD SUCCESS",
        "BUILD SUCCESSFUL in 42s",
        "Finished: SUCCESS",
        "Process completed with exit code 0.",
        "DeprecationWarning: pkg_resources is deprecated as an API",
        "/usr/lib/python3/dist-packages/foo.py:12: DeprecationWarning: the imp module is "
        "deprecated in favour of importlib",
        "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
        "npm WARN ERESOLVE overriding peer dependency",
        '            "OOMKilled": false,',
        "OOMKilled: false",
        "Failures: 0",
        "================== 12 passed, 2 warnings in 3.20s ==================",
        "--- PASS: TestParse (0.00s)",
        "ok  \tgithub.com/acme/api/pkg/parse\t0.012s",
        "=== RUN   TestFailover",
        "if err != nil {",
        "gcc --no-error -Wall -c main.c",
        "Successfully installed numpy-1.26.4 pandas-2.2.1",
        "Reading package lists... Done",
        "2024-03-12T10:00:00Z INFO Starting server on :8080",
        "INFO:     Application startup complete.",
        '10.0.0.1 - - [12/Mar/2024:10:00:01 +0000] "GET /health HTTP/1.1" 200 2 "-" "curl/8.4.0"',
        '{"level":"info","msg":"request completed","status":200,"duration_ms":12}',
        '  Normal   Pulled     3s    kubelet  Successfully pulled image "nginx:1.25"',
        "  Normal   Started    2s    kubelet  Started container api",
        "Epoch 1/10 - loss: 0.4312 - accuracy: 0.8812",
        "{'loss': 0.4312, 'grad_norm': 1.27, 'learning_rate': 2e-05, 'epoch': 1.0}",
        "warning: unused variable: `x`",
        "src/main.c:42:13: warning: unused variable 'tmp' [-Wunused-variable]",
        "[WARNING] /app/src/App.java:[10,5] [deprecation] getDate() in Date has been deprecated",
        "CMake Warning (dev) at CMakeLists.txt:12 (project):",
        "Test Suites: 5 passed, 5 total",
        "test result: ok. 42 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out",
        "Downloaded from central: https://repo.maven.apache.org/maven2/org/slf4j/slf4j-api/"
        "2.0.9/slf4j-api-2.0.9.jar (64 kB at 1.2 MB/s)",
        "gpu-node-3:48213:48213 [0] NCCL INFO Bootstrap : Using eth0:10.0.3.13<0>",
        "Connection: keep-alive",
        "timeout=30s retries=3",
        "readOnlyRootFilesystem: true",
        "Success: no issues found in 12 source files",
    ],
)
def test_harmless_lines_match_nothing(line: str) -> None:
    found = match(line)
    assert found is None, found.id if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A specific cause inside a generic message wins over the generic signature.
        (
            '  Warning  Unhealthy  8s  kubelet  Liveness probe failed: Get "http://10.1.1.7:8080/'
            'healthz": dial tcp 10.1.1.7:8080: connect: connection refused',
            "k8s.probe_failed",
        ),
        ("Process completed with exit code 137.", "k8s.oomkilled"),
        (
            "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.5:"
            "test (default-test) on project api: There are test failures.",
            "test.jvm",
        ),
        (
            "fatal: unable to access 'https://github.com/acme/lib.git/': Could not resolve host: "
            "github.com",
            "net.dns",
        ),
        # Multi-line events: the strongest line decides, and ^ anchors work per line.
        (
            "Traceback (most recent call last):\n"
            '  File "/app/train.py", line 88, in <module>\n'
            "    loss.backward()\n"
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB.",
            "gpu.cuda_oom",
        ),
        (
            "Traceback (most recent call last):\n"
            '  File "/app/main.py", line 3, in <module>\n'
            "ModuleNotFoundError: No module named 'yaml'",
            "deps.python_module_missing",
        ),
        ("goroutine started\npanic: assignment to entry in nil map", "runtime.go_panic"),
    ],
)
def test_the_strongest_signature_wins(text: str, expected: str) -> None:
    found = match(text)
    assert found is not None
    assert found.id == expected


def test_knowledge_base_shape() -> None:
    ids = [signature.id for signature in SIGNATURES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60
    assert all(len(signature.examples) >= 2 for signature in SIGNATURES)
    for name, families in DOMAINS.items():
        domain = load_signature_file(DATA / name)
        assert {signature.category for signature in domain} == families, name
    assert {signature.category for signature in SIGNATURES} == set().union(*DOMAINS.values())


def test_signatures_are_loaded_once() -> None:
    assert load_signatures() is load_signatures()


@pytest.mark.parametrize(("signature", "example"), EXAMPLES)
def test_keywords_of_every_matching_pattern_occur(signature: Signature, example: str) -> None:
    """The keyword prefilter may only skip patterns that cannot match."""
    for pattern, regex in zip(signature.patterns, signature.regexes, strict=True):
        words = _keywords(pattern)
        if words is not None and regex.search(example):
            assert any(word in example.casefold() for word in words), pattern


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bOOMKilled\b", {"oomkilled"}),
        (r"\bE[MN]FILE\b", {"emfile", "enfile"}),
        (r"<<< (?:FAILURE|ERROR)!", {"<<< failure!", "<<< error!"}),
        (r"\bexit[ _]?code\s*137\b", {"exit"}),
        (r"(?:abc)+d", {"abc"}),
        (r"\x41bcd", {"bcd"}),
        (r"\bfoo(?:bar|baz\d)qux", {"foo"}),
        (r"(?-i:^panic: )", {"panic: "}),
        (r"abc|de", None),  # one alternative has no keyword long enough
        (r"ab?cd", None),
        (r"(?=abc)\w+", None),
    ],
)
def test_keywords(pattern: str, expected: set[str] | None) -> None:
    assert _keywords(pattern) == expected


VALID = """
- id: demo.ok
  title: Demo
  category: demo
  severity: error
  explanation: Something failed.
  suggestion: Fix it.
  patterns: ['\\bdemo failure\\b']
  examples: ['demo failure here', 'another demo failure']
  counter_examples: ['demo succeeded']
"""


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(VALID, encoding="utf-8")
    (signature,) = load_signature_file(path)
    assert signature.id == "demo.ok"
    assert signature.priority == 0
    assert signature.counter_examples == ["demo succeeded"]
    assert signature.matches("A DEMO FAILURE")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("- id: [unclosed\n", "invalid YAML"),
        ("id: demo.ok\n", "expected a list"),
        (VALID.replace("'\\bdemo failure\\b'", "'demo (failure'"), "bad regex"),
        (VALID.replace("  suggestion: Fix it.\n", ""), "suggestion"),
        (VALID.replace("severity: error", "severity: fatal"), "severity"),
        (VALID + "  colour: red\n", "colour"),
        (VALID.replace("'another demo failure'", "'something else'"), "example not matched"),
        (VALID.replace("'demo succeeded'", "'demo failure'"), "counter-example matched"),
        (VALID.replace("  counter_examples: ['demo succeeded']\n", ""), "counter_examples"),
        (VALID.replace("['demo succeeded']", "[]"), "counter_examples"),
        (VALID.replace("category: demo", "category: other"), "must start with its category"),
        (VALID + VALID, "duplicate signature id"),
    ],
)
def test_malformed_files_are_rejected_naming_the_file(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SignatureError) as raised:
        load_signature_file(path)
    assert "broken.yaml" in raised.value.message
    assert problem in raised.value.message


# The index is cached on disk between runs (JSON under the user's cache directory); each
# probe runs in a fresh interpreter with its own cache directory.
_PROBE = """
import json, sys
from bifrost.engine import signatures
lines = json.loads(sys.stdin.read())
found = [getattr(signatures.match(line), "id", None) for line in lines]
print(json.dumps({"found": found, "yaml": "yaml" in sys.modules,
                  "cache": str(signatures.index_cache())}))
"""


def _probe(cache_home: Path, lines: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        input=json.dumps(lines),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "XDG_CACHE_HOME": str(cache_home)},
        timeout=120,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


ONE_EXAMPLE_EACH = [example for s in SIGNATURES for example in s.examples[:1]] + ["all good here"]


def test_the_index_is_built_once_then_read_from_the_cache_with_the_same_answers(
    tmp_path: Path,
) -> None:
    first = _probe(tmp_path, ONE_EXAMPLE_EACH)
    assert first["yaml"]  # built from the YAML files, and cached
    assert Path(str(first["cache"])).is_file()
    second = _probe(tmp_path, ONE_EXAMPLE_EACH)
    assert not second["yaml"]  # read from the cache: the YAML files were not parsed
    assert second["found"] == first["found"]
    assert first["found"] == [getattr(match(line), "id", None) for line in ONE_EXAMPLE_EACH]


def test_a_new_index_replaces_those_of_other_versions(tmp_path: Path) -> None:
    stale = tmp_path / "bifrost" / "signatures-0.0.1-000000000000-00000000.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    cache = Path(str(_probe(tmp_path, ["x"])["cache"]))
    assert cache.is_file()
    assert not stale.exists()


def test_an_unreadable_cache_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    cache = Path(str(_probe(tmp_path, ["x"])["cache"]))
    cache.write_text('{"ranked": [{"id": "forged"}]')  # truncated JSON
    again = _probe(tmp_path, ONE_EXAMPLE_EACH)
    assert again["yaml"]
    assert again["found"] == [getattr(match(line), "id", None) for line in ONE_EXAMPLE_EACH]
    assert cache.read_text().startswith('{"ranked": [{"id": "')
    assert "forged" not in cache.read_text()[:200]
