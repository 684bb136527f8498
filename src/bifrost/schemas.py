"""JSON Schemas of the public contracts, generated from the models that produce them.

`docs/schemas/` holds them for readers who do not run Python; `make schemas` (`python -m
bifrost.schemas docs/schemas`) rewrites them, and a test fails while they differ from what this
module generates, so a field added to the Report cannot miss its schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import TypedDict  # pydantic needs it over typing's on Python 3.11

from bifrost.messages import AnalysisRequest, AnalysisResult, DeadLetter
from bifrost.notify.message import Notification
from bifrost.report import SCHEMA, Report

DIALECT = "https://json-schema.org/draft/2020-12/schema"


# `analysis/templates.Templates.jsonl` writes these records with string formatting, for
# speed, rather than through this type; the tests check that what it writes validates
# against the schema.
class TemplateRecord(TypedDict):
    """One line of `bifrost templates --format jsonl`: the template of one input line, in input
    order."""

    file: NotRequired[
        Annotated[str, Field(description="The input the line is in; only with several inputs.")]
    ]
    line: Annotated[int, Field(ge=1, description="The line number in its input, from 1.")]
    template_id: Annotated[
        str,
        Field(
            description="Derived from the template text: the same template has the same id in "
            "every log and run (the `template_id` of the Report's findings)."
        ),
    ]
    template: Annotated[str, Field(description="The line with its variable parts as `<*>`.")]


class _OpenObjects(GenerateJsonSchema):
    """Models forbid unknown fields when Bifrost reads its own Reports, but a reader holding
    this version's schema must accept a later v1 Report, which may have more fields."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        json_schema.pop("additionalProperties", None)
        return json_schema


def report_schema() -> dict[str, Any]:
    """The Report as JSON (`by_alias`: its `schema` field), with the version it carries."""
    generated = Report.model_json_schema(
        by_alias=True, mode="serialization", schema_generator=_OpenObjects
    )
    generated["properties"]["schema"] = {"const": SCHEMA, "description": "The contract version."}
    return {
        "$schema": DIALECT,
        "title": "Report",
        "description": f"One analysis (`{SCHEMA}`): `bifrost analyze --format json`, "
        "`bifrost diff --format json` (with `diff`) and the API's answers.",
        **generated,
    }


def templates_record_schema() -> dict[str, Any]:
    """One record of `bifrost templates --format jsonl` (one JSON object per line)."""
    generated = TypeAdapter(TemplateRecord).json_schema(mode="serialization")
    return {"$schema": DIALECT, **generated}


def message_schema(model: type[BaseModel], mode: JsonSchemaMode, what: str) -> dict[str, Any]:
    """One message of the event contract (`bifrost worker`): `validation` for what Bifrost
    reads (a request), `serialization` for what it writes."""
    generated = model.model_json_schema(by_alias=True, mode=mode)
    return {"$schema": DIALECT, "description": what, **generated}


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "report.v1.schema.json": report_schema,
    "templates-record.v1.schema.json": templates_record_schema,
    "request.v1.schema.json": partial(
        message_schema,
        AnalysisRequest,
        "validation",
        "A request for an analysis, published on the stream bifrost.requests.",
    ),
    "result.v1.schema.json": partial(
        message_schema,
        AnalysisResult,
        "serialization",
        "The answer to a request, published on the stream bifrost.results.",
    ),
    "dead-letter.v1.schema.json": partial(
        message_schema,
        DeadLetter,
        "serialization",
        "A request that cannot be analysed, published on the stream bifrost.dead-letters.",
    ),
    "notification.v1.schema.json": partial(
        message_schema,
        Notification,
        "serialization",
        "What a webhook destination receives (POST, signed: X-Bifrost-Signature).",
    ),
}
"""File name → the function that generates its schema."""


def render(schema: dict[str, Any]) -> str:
    """The text of a schema file: stable, so regenerating an unchanged schema changes nothing."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory`; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, generate in SCHEMAS.items():
        path = directory / name
        path.write_text(render(generate()), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """`python -m bifrost.schemas DIRECTORY`."""
    if len(argv) != 1:
        print("usage: python -m bifrost.schemas DIRECTORY", file=sys.stderr)
        return 2
    for path in write_schemas(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
