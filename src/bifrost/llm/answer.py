"""The answer the model must return: a JSON object validated with pydantic.

Models wrap JSON in code fences or chatter around it; the first JSON object in the text is
taken. Anything that does not validate is an `AnswerError` whose message names the problems,
so that it can be sent back to the model once, then shown to the user.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bifrost.errors import BifrostError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingNote(_Model):
    finding_id: str = Field(description="The id of a finding in the excerpt, e.g. F1.")
    explanation: str
    fix: str | None = None


class Citation(_Model):
    line: int = Field(description="A line number shown in the excerpt.")
    text: str = Field(description="The text of that line, or the part of it that matters.")


class Answer(_Model):
    summary: str = Field(description="What happened, in one or two sentences.")
    root_cause: str | None = Field(description="null when the excerpt does not show one.")
    confidence: Literal["low", "medium", "high"]
    findings: list[FindingNote] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)


class AnswerError(BifrostError):
    """The model's answer is not JSON or does not follow the schema."""

    code = "malformed_answer"
    exit_code = 3


def answer_schema() -> dict[str, Any]:
    """The JSON schema sent with the request, in the strict form structured-output APIs
    accept: every property required (nullable where optional), no defaults, no titles."""
    schema: dict[str, Any] = _strict(Answer.model_json_schema())
    return schema


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    strict = {k: _strict(v) for k, v in node.items() if k not in ("default", "title")}
    if isinstance(node.get("properties"), dict):
        strict["properties"] = {k: _strict(v) for k, v in node["properties"].items()}
        strict["required"] = list(node["properties"])
    return strict


def parse_answer(text: str) -> Answer:
    data = _first_object(text)
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'answer'}: {error['msg']}"
            for error in exc.errors()
        )
        raise AnswerError(f"the answer does not follow the schema: {problems}") from None


def _first_object(text: str) -> object:
    """The first JSON object in `text`, wherever it starts (after a ```json fence or prose)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    shown = text.strip()[:200] or "(empty)"
    raise AnswerError(f"the answer is not a JSON object: {shown}")
