"""A log sent to the API, in any of its forms, saved to a temporary file the engine can read.

Three forms: a raw body (any type but JSON and multipart; gzip welcome), a multipart upload
(one or more `file` parts), or JSON `{"log": "…"}`. Options come as query parameters, and
JSON and multipart bodies may repeat them as fields, which then win.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

from bifrost.analysis.inputs import Source, discard_spools
from bifrost.api.errors import ApiError, invalid_fields
from bifrost.api.language import language_of
from bifrost.choices import Language, ProviderName, TextFormat
from bifrost.i18n.validation import Problem, problem_of

_PIECE = 1 << 16
NO_NUL = r"^[^\x00]*$"
"""Labels and queries are text: a NUL byte is refused (PostgreSQL cannot store it)."""
OutputFormat = TextFormat
IN_MEMORY_BYTES = 1 << 20
"""Uploads up to this size are kept in memory: creating, writing and removing a temporary file
cost a cached answer more than all the rest of its work. Larger ones are spooled to disk."""
LOG_TEXT: dict[str, Any] = {
    "format": "log",
    "description": "The log's text. Text that looks binary (over 10% control characters) "
    "cannot be analysed: 422.",
}
"""A log as text, in the OpenAPI document; `log` is a format of its own (an annotation to
others), so tests can generate what the engine reads."""
LOG_BYTES: dict[str, Any] = {
    "description": "The log: text, or gzip of text. Data that looks binary cannot be analysed: 422."
}


class AnalysisOptions(BaseModel):
    """How to analyse and how to label the analysis in the history."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Service label."
    )
    env: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="Environment label."
    )
    tag: list[Annotated[str, Field(max_length=100, pattern=NO_NUL)]] = Field(
        default_factory=list, max_length=20, description="Tags (repeat the parameter)."
    )
    top: int | None = Field(default=None, ge=1, le=100, description="Findings to report [5].")
    llm: ProviderName | None = Field(
        default=None,
        description="Explain with the LLM: only the provider the server is configured with.",
    )
    model: str | None = Field(
        default=None, max_length=300, pattern=NO_NUL, description="The provider's model."
    )
    prompt: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[a-z][a-z0-9-]*(/[1-9][0-9]*)?$",
        description="The LLM's prompt: NAME or NAME/VERSION (`bifrost prompts list`).",
    )
    store: bool = Field(default=True, description="Keep the analysis in the history.")
    cache: bool = Field(default=True, description="Answer a repeat from the cache.")
    store_input: bool = Field(default=False, description="Keep a gzip copy of the raw input.")
    name: str | None = Field(
        default=None,
        max_length=500,
        pattern=NO_NUL,
        description="The input's name in the Report [upload].",
    )
    format: OutputFormat = Field(default="json", description="How to render the Report.")
    lang: Language | None = Field(
        default=None,
        description="The language of the Report's words and of the LLM's answer (default: "
        "Accept-Language, else the server's BIFROST_LANG); log lines and ids never change.",
    )
    series: bool = Field(
        default=False,
        description="Include each training metric's series (`metrics[].points`) in JSON.",
    )
    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=NO_NUL,
        description="Your id for this request: sent again (a retry), it answers the analysis "
        "already stored for it instead of making a second one.",
    )


class AnalysisRequest(AnalysisOptions):
    """The JSON form of a request: the log as text, with any options."""

    log: str = Field(min_length=1, json_schema_extra=LOG_TEXT)


REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/octet-stream": {
            "schema": {"type": "string", "format": "binary", "minLength": 1, **LOG_BYTES},
            "example": "2024-05-01 12:00:00 ERROR worker crashed: CUDA out of memory\n",
        },
        "text/plain": {
            "schema": {"type": "string", "minLength": 1, **LOG_TEXT},
            "example": "2024-05-01 12:00:00 ERROR worker crashed: CUDA out of memory\n",
        },
        "application/json": {
            "schema": {"$ref": "#/components/schemas/AnalysisRequest"},
            "example": {"log": "ERROR worker crashed: CUDA out of memory\n", "service": "trainer"},
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "format": "binary",
                            "minLength": 1,
                            **LOG_BYTES,
                        },
                        "minItems": 1,
                        "description": "One or more log files.",
                    },
                },
                "required": ["file"],
                "additionalProperties": False,
            }
        },
    },
}
"""The request body as OpenAPI documents it (FastAPI cannot infer a multi-type body)."""


def document_options(
    document: dict[str, Any],
    llm: ProviderName | None,
    *,
    queued: bool = False,
    prompts: list[str] | None = None,
) -> dict[str, Any]:
    """Complete the OpenAPI document with what depends on the server: the JSON body's schema
    (`AnalysisRequest`, referenced by `REQUEST_BODY`), the option fields a form may carry
    beside its files (the same as the JSON body's), and the one provider `llm` accepts, the
    configured one (any other is refused with 422). Without one, the `llm` query parameter
    is not offered and the body's `llm` may only be null. Without a queue (`queued`), the
    `wait` parameter is not offered either. `prompt` takes the server's `prompts`, and is
    offered only with an LLM, and without a queue (a worker uses its own)."""
    body = AnalysisRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    accepted: list[dict[str, Any]] = [{"type": "string", "enum": [llm]}] if llm else []
    body["properties"]["llm"]["anyOf"] = [*accepted, {"type": "null"}]
    offered = sorted(prompts or []) if llm and not queued else []
    named: list[dict[str, Any]] = [{"type": "string", "enum": offered}] if offered else []
    body["properties"]["prompt"]["anyOf"] = [*named, {"type": "null"}]
    document.setdefault("components", {}).setdefault("schemas", {})["AnalysisRequest"] = body
    options = {
        name: form_field
        for name, field in body["properties"].items()
        if name != "log" and (form_field := _no_null(field)) is not None
    }
    for path in document["paths"].values():
        for operation in path.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in content:
                form = dict(content["multipart/form-data"]["schema"])
                form["properties"] = {"file": form["properties"]["file"], **options}
                content["multipart/form-data"] = {**content["multipart/form-data"], "schema": form}
            parameters = operation.get("parameters", [])
            for parameter in [p for p in parameters if (p["name"], p["in"]) == ("llm", "query")]:
                if llm:
                    parameter["schema"] = {"type": "string", "enum": [llm]}
                else:
                    parameters.remove(parameter)
            if not queued:
                parameters[:] = [p for p in parameters if (p["name"], p["in"]) != ("wait", "query")]
            for parameter in [p for p in parameters if (p["name"], p["in"]) == ("prompt", "query")]:
                if offered:
                    parameter["schema"] = {"type": "string", "enum": offered}
                else:
                    parameters.remove(parameter)
    return document


def _no_null(field: dict[str, Any]) -> dict[str, Any] | None:
    """A JSON field's schema as a form field's: a form cannot send null, only leave the field
    out. None for a field that may only be null (`llm` on a server without a provider)."""
    if "anyOf" not in field:
        return field
    kept = [choice for choice in field["anyOf"] if choice != {"type": "null"}]
    rest = {key: value for key, value in field.items() if key not in ("anyOf", "default")}
    if not kept:
        return None
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


async def receive(
    request: Request, options: AnalysisOptions
) -> tuple[list[Source], AnalysisOptions]:
    """The sources to analyse (temporary files, removed with `discard_spools`) and the options
    after body fields are applied."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        sources, options = await _from_json(request, options)
    elif kind == "multipart/form-data":
        sources, options = await _from_form(request, options)
    else:
        source = await take_body(options.name or "upload", request.stream())
        if source.data == b"":  # answered before a stream starts with 200
            raise ApiError.said(422, "input_error", "intake.empty_body")
        sources = [source]
    return sources, options.model_copy(update={"lang": language_of(request, options.lang)})


async def take_body(name: str, pieces: AsyncIterator[bytes]) -> Source:
    """A body as a Source: in memory up to `IN_MEMORY_BYTES`, else in a temporary file
    (removed with `discard_spools`)."""
    held = bytearray()
    async for piece in pieces:
        held += piece
        if len(held) > IN_MEMORY_BYTES:
            return await _spool_rest(name, held, pieces)
    return Source(name=name, path=None, data=bytes(held))


async def _spool_rest(name: str, head: bytearray, pieces: AsyncIterator[bytes]) -> Source:
    source = spool_source(name)
    assert source.path is not None
    try:
        with source.path.open("wb") as out:
            out.write(head)
            async for piece in pieces:
                out.write(piece)
    except BaseException:
        source.path.unlink(missing_ok=True)
        raise
    return source


def held_or_spooled(name: str, data: bytes) -> Source:
    """`data` as a Source: kept in memory when small, else written to a temporary file."""
    if len(data) <= IN_MEMORY_BYTES:
        return Source(name=name, path=None, data=data)
    source = spool_source(name)
    assert source.path is not None
    source.path.write_bytes(data)
    return source


async def _from_json(
    request: Request, options: AnalysisOptions
) -> tuple[list[Source], AnalysisOptions]:
    body = await request.body()
    data = parse_json(body, "body")
    strict_booleans(data, "body")
    try:
        parsed = AnalysisRequest.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "body") from None
    merged = _merge(options, parsed.model_dump(exclude={"log"}, exclude_unset=True))
    text = parsed.log.encode("utf-8", "surrogatepass")
    return [held_or_spooled(merged.name or "upload", text)], merged


async def _from_form(
    request: Request, options: AnalysisOptions
) -> tuple[list[Source], AnalysisOptions]:
    form: FormData = await request.form(max_files=100, max_fields=100)
    try:
        files = [part for part in form.getlist("file") if isinstance(part, UploadFile)]
        if not files:
            raise ApiError.said(422, "validation_error", "intake.no_file")
        fields: dict[str, Any] = {}
        for key in form:
            if key == "file":
                continue
            values = [v for v in form.getlist(key) if isinstance(v, str)]
            fields[key] = values if key == "tag" else values[-1] if values else None
        merged = _merge(options, _form_booleans(fields))
        return await spool_files(files, merged.name), merged
    finally:
        await form.close()


async def spool_files(files: list[UploadFile], name: str | None) -> list[Source]:
    """Each file of a form in a temporary file; none is left behind when one fails."""
    sources: list[Source] = []
    try:
        for part in files:
            source = spool_source(part.filename or name or "upload")
            assert source.path is not None
            sources.append(source)
            with source.path.open("wb") as out:
                if not await _copy(part, out):  # answered before a stream starts with 200
                    raise ApiError.said(422, "input_error", "intake.empty_file", name=source.name)
    except BaseException:
        discard_spools(sources)
        raise
    return sources


async def _copy(part: UploadFile, out: Any) -> int:
    """Copy a form's file into `out`; returns how many bytes it held."""
    size = 0
    while piece := await part.read(_PIECE):
        out.write(piece)
        size += len(piece)
    return size


_BOOLEANS = frozenset(
    name for name, field in AnalysisOptions.model_fields.items() if field.annotation is bool
)


def strict_booleans(data: Any, where: str) -> None:
    """JSON booleans are `true` or `false`: `0` or `"false"` is a mistake to report (422), not
    a guess to make. Other fields are read as JSON Schema reads them (`5.0` is the integer 5),
    so the model is not validated strictly as a whole."""
    if not isinstance(data, dict):
        return
    problems = [
        Problem(f"{where}.{name}", "Input should be a valid boolean", "bool_type")
        for name in sorted(_BOOLEANS & data.keys())
        if not isinstance(data[name], bool)
    ]
    if problems:
        raise invalid_fields(problems)


def _form_booleans(fields: dict[str, Any]) -> dict[str, Any]:
    """Form fields are text: a boolean is `true` or `false`, as the document says (not `0`,
    `yes` or `on`, which the validator would otherwise take)."""
    for name in _BOOLEANS & fields.keys():
        value = fields[name]
        if value not in ("true", "false"):
            raise ApiError.said(
                422, "validation_error", "intake.form_boolean", name=name, got=repr(str(value)[:40])
            )
        fields[name] = value == "true"
    return fields


def _merge(options: AnalysisOptions, fields: dict[str, Any]) -> AnalysisOptions:
    try:
        return AnalysisOptions.model_validate({**options.model_dump(exclude_unset=True), **fields})
    except ValidationError as exc:
        raise invalid(exc, "body") from None


def parse_json(text: str | bytes, where: str) -> Any:
    """The JSON value of a body or message; 422 when it is not JSON, not UTF-8, or nested
    deeper than the parser's recursion allows."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError.said(
            422, "validation_error", "intake.invalid_json", where=where, reason=exc.msg
        ) from None
    except ValueError:
        raise ApiError.said(422, "validation_error", "intake.json_not_utf8", where=where) from None
    except RecursionError:
        raise ApiError.said(422, "validation_error", "intake.json_too_deep", where=where) from None


def spool_source(name: str) -> Source:
    """An empty temporary file for an input, removed by `discard_spools` after the analysis."""
    with tempfile.NamedTemporaryFile(prefix="bifrost-upload-", delete=False) as spool:
        return Source(name=name, path=Path(spool.name), spooled=True)


def invalid(exc: ValidationError, where: str) -> ApiError:
    """A 422 naming every wrong field, as FastAPI's own validation errors do."""
    return invalid_fields([problem_of(error, where) for error in exc.errors()])
