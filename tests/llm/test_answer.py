"""The answer: JSON that follows the schema, found even when wrapped, or a clear error."""

from __future__ import annotations

import json

import pytest

from bifrost.errors import BifrostError
from bifrost.llm.answer import Answer, AnswerError, answer_schema, parse_answer

GOOD = {
    "summary": "The database refused connections.",
    "root_cause": "Postgres was not running.",
    "confidence": "high",
    "findings": [{"finding_id": "F1", "explanation": "Pool exhausted.", "fix": "Start it."}],
    "fixes": ["Start Postgres"],
    "citations": [{"line": 12, "text": "connection refused"}],
}


def test_a_valid_answer_parses() -> None:
    answer = parse_answer(json.dumps(GOOD))
    assert answer.confidence == "high"
    assert answer.findings[0].finding_id == "F1"
    assert answer.citations[0].line == 12


def test_no_root_cause_is_a_valid_answer() -> None:
    answer = parse_answer(json.dumps({**GOOD, "root_cause": None, "confidence": "low"}))
    assert answer.root_cause is None


@pytest.mark.parametrize(
    "wrapped",
    [
        "```json\n{}\n```",
        "Here is my analysis:\n{}\nHope this helps {{not json}}.",
        "{{broken\n```json\n{}\n```",
    ],
)
def test_fences_and_prose_around_the_object_are_tolerated(wrapped: str) -> None:
    assert parse_answer(wrapped.replace("{}", json.dumps(GOOD))) == Answer.model_validate(GOOD)


def test_invalid_json_is_a_malformed_answer() -> None:
    with pytest.raises(AnswerError, match="not a JSON object: all good") as caught:
        parse_answer("all good")
    assert isinstance(caught.value, BifrostError)
    assert (caught.value.code, caught.value.exit_code) == ("malformed_answer", 3)


def test_an_answer_cut_off_inside_its_object_says_so() -> None:
    whole = json.dumps(GOOD | {"findings": [{"finding_id": "F1", "explanation": "x", "fix": None}]})
    cut = whole[: whole.index('"finding_id"') + 30]  # a whole nested object is not taken
    with pytest.raises(AnswerError, match=r"cut off after .* raise max_output_tokens"):
        parse_answer("```json\n" + cut)
    with pytest.raises(AnswerError, match=r"not valid JSON .Expecting property name"):
        parse_answer("I think {this is it, not that.")


def test_a_schema_mismatch_names_the_problems() -> None:
    bad = {**GOOD, "confidence": "certain", "citations": [{"line": "twelve", "text": "x"}]}
    del bad["summary"]
    with pytest.raises(AnswerError) as caught:
        parse_answer(json.dumps(bad))
    message = caught.value.message
    assert "summary: Field required" in message
    assert "confidence: Input should be 'low', 'medium' or 'high'" in message
    assert "citations.0.line" in message


def test_the_schema_is_strict() -> None:
    schema = answer_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == list(schema["properties"])
    note = schema["$defs"]["FindingNote"]
    assert note["required"] == ["finding_id", "explanation", "fix"]
    assert "default" not in json.dumps(schema)
