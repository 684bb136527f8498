"""The public contracts in `docs/`: the committed JSON Schemas are what the models generate,
and what the CLI really prints validates against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator

from bifrost.choices import Verdict
from bifrost.schemas import SCHEMAS, main, render
from tests.conftest import DATA, Run

DOCS = Path(__file__).parents[1] / "docs"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((DOCS / "schemas" / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid(name: str, instance: Any) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(name).iter_errors(instance)
    ]
    assert not errors, errors


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_what_the_models_generate(name: str) -> None:
    committed = (DOCS / "schemas" / name).read_text(encoding="utf-8")
    assert committed == render(SCHEMAS[name]()), f"docs/schemas/{name} is stale: make schemas"


def test_the_generator_writes_every_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(SCHEMAS)
    assert capsys.readouterr().out.count("\n") == len(SCHEMAS)
    assert main([]) == 2


def test_analyze_json_is_a_valid_report(bifrost: Run) -> None:
    result = bifrost("analyze", "--sample", "--format", "json", "--no-store")
    assert result.returncode == 1, result.stderr  # the sample fails: exit 1
    report = json.loads(result.stdout)
    assert report["schema"] == "bifrost.report/v1"
    assert_valid("report.v1.schema.json", report)

    # Fields are added within v1: a reader holding this schema must accept a later Report.
    report["added_later"] = True
    report["findings"][0]["added_later"] = True
    assert_valid("report.v1.schema.json", report)


def test_diff_json_is_a_valid_report(bifrost: Run) -> None:
    logs = DATA / "logs"
    result = bifrost(
        "diff", str(logs / "healthy.log"), str(logs / "service-crash.log"), "--format", "json"
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["diff"] is not None
    assert_valid("report.v1.schema.json", report)


def test_a_report_of_an_unknown_version_is_refused() -> None:
    errors = validator("report.v1.schema.json").iter_errors({"schema": "bifrost.report/v2"})
    assert any(list(e.absolute_path) == ["schema"] for e in errors)


@pytest.mark.parametrize("several", [False, True], ids=["one input", "several inputs"])
def test_templates_jsonl_records_are_valid(bifrost: Run, several: bool) -> None:
    logs = [DATA / "logs" / "healthy.log", DATA / "logs" / "maven-compile.log"]
    inputs = [str(p) for p in (logs if several else logs[:1])]
    result = bifrost("templates", *inputs, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records
    assert all(("file" in r) is several for r in records)
    check = validator("templates-record.v1.schema.json")
    errors = [e.message for r in records for e in check.iter_errors(r)]
    assert not errors, errors[:5]


def test_the_contracts_page_lists_every_verdict() -> None:
    page = (DOCS / "README.md").read_text(encoding="utf-8")
    missing = [v for v in get_args(Verdict) if f"`{v}`" not in page]
    assert not missing, f"docs/README.md does not describe the verdicts {missing}"
