"""The answer the model must return: a JSON object validated with pydantic.

Models wrap JSON in code fences or chatter around it; the first JSON object in the text is
taken. Anything that does not validate is an `AnswerError` whose message names the problems,
so that it can be sent back to the model once, then shown to the user.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bifrost.errors import BifrostError
from bifrost.llm.base import ChatRequest


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingNote(_Model):
    finding_id: str = Field(description="The id of a finding in the excerpt, e.g. F1.")
    explanation: str
    fix: str | None = None


class Citation(_Model):
    line: int = Field(description="A line number shown in the excerpt.")
    text: str = Field(description="The text of that line, or the part of it that matters.")


MAX_ITEMS = 10
"""Notes, fixes and citations an answer may hold. In the schema too: a server that constrains
the output by it (llama.cpp, Ollama) stops a small model that repeats itself, instead of
letting it fill the output limit with copies and cut the answer off."""


class Answer(_Model):
    summary: str = Field(description="What happened, in one or two sentences.")
    root_cause: str | None = Field(description="null when the excerpt does not show one.")
    confidence: Literal["low", "medium", "high"]
    findings: list[FindingNote] = Field(default_factory=list, max_length=MAX_ITEMS)
    fixes: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    citations: list[Citation] = Field(default_factory=list, max_length=MAX_ITEMS)


class AnswerError(BifrostError):
    """The model's answer is not JSON or does not follow the schema."""

    code = "malformed_answer"
    exit_code = 3


def sent_back(request: ChatRequest, error: AnswerError) -> ChatRequest:
    """The request again, with why its answer was rejected: a model's one second chance."""
    return replace(
        request,
        user=f"{request.user}\n\nYour previous answer was rejected: {error.message}\n"
        "Answer again with one JSON object that follows the schema exactly.",
    )


def answer_schema(finding_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON schema sent with the request, in the strict form structured-output APIs
    accept: every property required (nullable where optional), no defaults, no titles. With
    the ids of the findings the digest shows, a note may name only those: a server that
    constrains the output by the schema keeps a model from inventing one."""
    schema: dict[str, Any] = _strict(Answer.model_json_schema())
    if finding_ids:
        note = schema["$defs"]["FindingNote"]["properties"]["finding_id"]
        note["enum"] = list(finding_ids)
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
    data = first_object(text)
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'answer'}: {error['msg']}"
            for error in exc.errors()
        )
        raise AnswerError.said("answer.schema", problems=problems) from None


def first_object(text: str) -> object:
    """The first JSON object in `text`, wherever it starts (after a ```json fence or prose)."""
    decoder = json.JSONDecoder(strict=False)  # a raw line break inside a string is harmless
    start = text.find("{")
    first_error: json.JSONDecodeError | None = None
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            ended = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
            if first_error is None and ended:
                # The answer ends inside its object: cut off by the output limit. An object
                # nested in it would decode, and be rejected for the wrong reasons.
                raise AnswerError.said("answer.cut_off", length=len(text)) from None
            first_error = first_error or exc
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    shown = text.strip()[:200] or "(empty)"
    if first_error is not None:
        raise AnswerError.said(
            "answer.bad_json", problem=first_error.msg, position=first_error.pos, answer=shown
        )
    raise AnswerError.said("answer.not_an_object", answer=shown)
