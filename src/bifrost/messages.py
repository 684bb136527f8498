"""The event contract: what another system publishes to ask for an analysis, what it gets
back, and what lands in the dead letters (`bifrost worker`). JSON, versioned by `schema`; the
JSON Schemas are in `docs/schemas/` (`make schemas`), and a test keeps them equal to these
models.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bifrost.report import Report

REQUEST_SCHEMA: Final = "bifrost.request/v1"
RESULT_SCHEMA: Final = "bifrost.result/v1"
DEAD_LETTER_SCHEMA: Final = "bifrost.dead-letter/v1"
MAX_INLINE_LOG = 8 << 20
"""The largest log a request carries inline, in characters."""
NO_NUL = r"^[^\x00]*$"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Labels(_Message):
    service: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    env: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    tags: list[str] = Field(default_factory=list, max_length=20)


class RequestOptions(_Message):
    top: int | None = Field(default=None, ge=1, le=100, description="Findings to report.")
    explain: bool = Field(
        default=False, description="Explain with the LLM the worker is configured with."
    )


class AnalysisRequest(_Message):
    """Analyse this log; the result is published under the same `request_id`."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"properties": {"log": {"type": "string"}}, "required": ["log"]},
                {
                    "properties": {"log_reference": {"type": "string"}},
                    "required": ["log_reference"],
                },
            ]
        }
    )

    schema_: Literal["bifrost.request/v1"] = Field(default=REQUEST_SCHEMA, alias="schema")
    request_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="The sender's id: the same id again gets the same analysis.",
    )
    source: str = Field(
        min_length=1, max_length=200, pattern=NO_NUL, description="Who sent it (a system)."
    )
    labels: Labels = Field(default_factory=Labels)
    log: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_INLINE_LOG,
        description="The log's text; or, instead, `log_reference`.",
    )
    log_reference: str | None = Field(
        default=None,
        pattern=r"^job:[0-9a-f]{32}$",
        description="A log the Bifrost API kept for the workers (`job:ID`), instead of `log`.",
    )
    options: RequestOptions = Field(default_factory=RequestOptions)

    @model_validator(mode="after")
    def _one_log(self) -> AnalysisRequest:
        if (self.log is None) == (self.log_reference is None):
            raise ValueError("a request carries its log either inline or by reference")
        return self


class AnalysisResult(_Message):
    """The answer to one request: where the analysis is stored, and its Report."""

    schema_: Literal["bifrost.result/v1"] = Field(default=RESULT_SCHEMA, alias="schema")
    request_id: str
    analysis_id: int | None = Field(description="The stored analysis; null when not stored.")
    verdict: str
    summary: str
    cached: bool = Field(description="Answered from an earlier analysis of the same request.")
    report: Report


class DeadLetter(_Message):
    """A request that cannot be analysed, and why (`bifrost jobs dead`, `bifrost jobs retry`)."""

    schema_: Literal["bifrost.dead-letter/v1"] = Field(default=DEAD_LETTER_SCHEMA, alias="schema")
    request_id: str | None = Field(description="Null when the message could not be read.")
    reason: str
    attempts: int
    message: str = Field(description="The message as received (its first 64 KiB).")
    origin: str | None = Field(
        default=None,
        description="Where the request can be read again to send it anew (its stream entry).",
    )


def dump(message: BaseModel) -> bytes:
    return message.model_dump_json(by_alias=True).encode()
