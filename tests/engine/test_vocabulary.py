"""Trouble words, without the look-alikes."""

import pytest

from bifrost.engine.vocabulary import is_harmless, is_mild, looks_like_trouble


@pytest.mark.parametrize(
    "message",
    [
        "java.lang.NullPointerException",
        "Connection refused",
        "request timed out after 30s",
        "fatal: repository not found",
        "Process completed with exit code 2",
        "panic: runtime error: index out of range",
    ],
)
def test_trouble(message: str) -> None:
    assert looks_like_trouble(message)


@pytest.mark.parametrize(
    "message",
    [
        "0 errors, 0 warnings",
        "error_count=0",
        "Tests run: 5, Failures: 0, Errors: 0, Skipped: 0",
        "no errors found",
        "if err != nil {",
        "initializing process group timeout=0:10:00",
        "started with --fail-fast",
    ],
)
def test_look_alikes(message: str) -> None:
    assert not looks_like_trouble(message)


def test_harmless_and_mild() -> None:
    assert is_harmless("Re-run Maven using the -X switch to enable full debug logging.")
    assert not is_harmless("errors=0 but Connection refused")
    assert is_mild("retrying in 4s (attempt 1/3)")
    assert is_mild("DeprecationWarning: pkg_resources is deprecated")


@pytest.mark.parametrize(
    "message",
    [
        "`loss_type=None` was set in the config but it is unrecognized. Using the default loss",
        "Could not load the locale 'xx', falling back to en_US",
        "invalid value for --jobs, defaulting to 4",
    ],
)
def test_a_fallback_taken_is_mild(message: str) -> None:
    assert looks_like_trouble(message)
    assert is_mild(message)


def test_a_failure_without_a_fallback_is_not_mild() -> None:
    assert not is_mild("invalid value for --jobs: not a number")
