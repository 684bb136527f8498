"""Explain: the Report's findings in, a written, grounded diagnosis out.

Only the digest leaves the process: the top findings and their evidence lines, redacted and
fitted to a token budget — never the raw log. The answer must follow a JSON schema; a
malformed one is sent back once with the validation error, then reported as such. Every line
the model cites is checked against the evidence (a quote found on another line is reported
there), and the placeholders in its text are mapped back to what they replaced, for the user's
eyes only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bifrost.config import Settings
from bifrost.llm.answer import Answer, AnswerError, parse_answer, sent_back
from bifrost.llm.base import ChatRequest, ChatResult, Provider
from bifrost.llm.digest import Digest, build_digest
from bifrost.llm.grounding import Grounding, ground
from bifrost.llm.prompt import Prompt, load_prompt
from bifrost.llm.redact import Redaction, Redactor
from bifrost.report import LLMCitation, LLMExplanation, LLMFindingNote, Report


@dataclass(frozen=True)
class Prepared:
    """What would be sent: `bifrost analyze --dry-run` prints it, and nothing is sent."""

    prompt: Prompt
    digest: Digest
    request: ChatRequest
    redactor: Redactor

    @property
    def redactions(self) -> list[Redaction]:
        return self.redactor.redactions


def prepare(report: Report, settings: Settings) -> Prepared:
    redactor = Redactor()
    digest = build_digest(report, max_input_tokens=settings.max_input_tokens, redactor=redactor)
    prompt = load_prompt(settings.prompt, settings.prompt_dir)
    request = prompt.render(digest, settings.max_output_tokens, settings.lang)
    return Prepared(prompt, digest, request, redactor)


async def explain(
    report: Report,
    settings: Settings,
    provider: Provider,
    on_text: Callable[[str], None] | None = None,
) -> Report:
    """The Report with `llm` (and `summary`) filled from the provider's answer.

    `on_text` receives the answer as it is generated (streaming); the returned Report holds
    the validated, grounded version.
    """
    prepared = prepare(report, settings)
    started = time.perf_counter()
    result = await _ask(provider, prepared.request, on_text)
    try:
        answer = parse_answer(result.text)
    except AnswerError as first_error:
        result = await provider.chat(sent_back(prepared.request, first_error))
        answer = parse_answer(result.text)
    restored = _restore(answer, prepared.redactor)
    llm = LLMExplanation(
        provider=provider.name,
        model=result.model or provider.model,
        prompt_version=prepared.prompt.id,
        prompt_sha256=prepared.prompt.sha256,
        summary=restored.summary,
        root_cause=restored.root_cause,
        confidence=restored.confidence,
        findings=[
            LLMFindingNote(finding_id=n.finding_id, explanation=n.explanation, fix=n.fix)
            for n in restored.findings
        ],
        fixes=restored.fixes,
        citations=[_citation(g) for g in ground(restored.citations, report)],
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        duration_s=round(time.perf_counter() - started, 3),
        redactions=sum(r.count for r in prepared.redactions),
    )
    return report.model_copy(update={"llm": llm, "summary": restored.summary})


async def _ask(
    provider: Provider, request: ChatRequest, on_text: Callable[[str], None] | None
) -> ChatResult:
    if on_text is None:
        return await provider.chat(request)
    parts: list[str] = []
    prompt_tokens = completion_tokens = None
    async for chunk in provider.stream(request):
        if chunk.text:
            parts.append(chunk.text)
            on_text(chunk.text)
        if chunk.done:
            prompt_tokens, completion_tokens = chunk.prompt_tokens, chunk.completion_tokens
    return ChatResult("".join(parts), provider.model, prompt_tokens, completion_tokens)


def _citation(grounding: Grounding) -> LLMCitation:
    """A citation whose quote is on another line is shown there, with the line the model gave:
    a reader who opens the log at the model's line would not find it."""
    cited = grounding.citation
    return LLMCitation(
        line=cited.line if grounding.line is None else grounding.line,
        text=cited.text,
        grounded=grounding.line is not None,
        claimed_line=cited.line if grounding.moved else None,
    )


def _restore(answer: Answer, redactor: Redactor) -> Answer:
    """The answer with placeholders replaced by the values they stood for (string by string, so
    a restored value can never break the structure)."""
    return Answer.model_validate(_each_string(answer.model_dump(), redactor.restore))


def redacted_explanation(llm: LLMExplanation) -> dict[str, object]:
    """The explanation as JSON data with secrets replaced again, string by string: what the
    model wrote, fit to leave the process (a tracking server) as the digest did."""
    data = _each_string(llm.model_dump(mode="json"), Redactor().redact)
    assert isinstance(data, dict)
    return data


def _each_string(value: object, change: Callable[[str], str]) -> object:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_each_string(item, change) for item in value]
    if isinstance(value, dict):
        return {key: _each_string(item, change) for key, item in value.items()}
    return value
