"""What the command line loads before it answers: start-up time is most of a small run.

Timings belong in `bench/speed.py`; these tests check what is imported, which decides them.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "httpx", "boto3", "botocore", "fastapi", "uvicorn", "yaml")


def _imported_after(code: str) -> set[str]:
    """The top-level packages imported by running `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split("\n")[-2].split())


def test_the_version_is_printed_before_the_command_line_loads() -> None:
    code = "import sys\nsys.argv = ['bifrost', '--version']\nfrom bifrost.cli import main\nmain()"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.startswith("bifrost ")
    loaded = _imported_after(code)
    assert "bifrost" in loaded
    assert not loaded & {"typer", "pydantic", "rich", *HEAVY}


def test_the_command_line_loads_nothing_a_command_does_not_need_to_describe_itself() -> None:
    """`bifrost --help` (and shell completion) build the whole command line: each command
    imports the engine, pydantic, Rich, asyncio or the store only when it runs."""
    loaded = _imported_after("import bifrost.cli.app")
    assert "typer" in loaded
    assert not loaded & {"pydantic", "pydantic_settings", "rich", "asyncio", *HEAVY}


def test_a_run_without_storing_loads_no_database() -> None:
    code = (
        "import sys\nsys.argv = ['bifrost', 'analyze', '--sample', '-n', '-q']\n"
        "from bifrost.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _imported_after(code)
    assert "bifrost" in loaded
    assert not loaded & {"sqlalchemy", "alembic", "httpx", "boto3", "fastapi", "rich"}
