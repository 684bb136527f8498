"""Explanation by an LLM: the one path from every front to a provider.

A provider that fails never costs the user the Report: `explain_report` returns the built-in
Report and says what went wrong. The LLM package (and its HTTP and AWS clients) is imported
only when a provider is used or asked about, so a run without one does not pay its start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bifrost.config import Settings
from bifrost.errors import BifrostError, ServiceError
from bifrost.i18n import DEFAULT_LANGUAGE
from bifrost.report import Report

if TYPE_CHECKING:
    from collections.abc import Callable

    from bifrost.llm.base import ProviderStatus
    from bifrost.llm.explain import Prepared
    from bifrost.llm.prompt import Prompt


async def explain_report(
    report: Report, settings: Settings, on_text: Callable[[str], None] | None = None
) -> tuple[Report, str | None]:
    """The Report with the configured provider's explanation, or the Report unchanged and
    why there is none."""
    from bifrost.llm.explain import explain  # noqa: PLC0415 — see the module docstring
    from bifrost.llm.providers import make_provider  # noqa: PLC0415

    try:
        provider = make_provider(settings)
        try:
            return await explain(report, settings, provider, on_text), None
        finally:
            await provider.aclose()
    except BifrostError as exc:
        return report, exc.message


async def rerank_report(report: Report, settings: Settings) -> tuple[Report, str | None]:
    """The Report in the order of the LLM's named cause (`--llm-rerank`), or the Report
    unchanged and why."""
    from bifrost.llm.providers import make_provider  # noqa: PLC0415
    from bifrost.llm.rerank import rerank  # noqa: PLC0415

    try:
        provider = make_provider(settings)
        try:
            return await rerank(report, settings, provider), None
        finally:
            await provider.aclose()
    except BifrostError as exc:
        return report, exc.message


def llm_identity(settings: Settings) -> dict[str, str | None]:
    """What of the LLM set-up changes the answer (provider, model, prompt, experiment), for a
    cache key."""
    if settings.llm is None:
        return {}
    from bifrost.llm.prompt import load_prompt  # noqa: PLC0415

    identity = {
        "provider": settings.llm,
        "model": settings.model,
        "prompt_version": load_prompt(settings.prompt, settings.prompt_dir).identity,
    }
    if settings.llm_rerank:
        from bifrost.llm.rerank import PROMPT_VERSION  # noqa: PLC0415

        identity["rerank"] = PROMPT_VERSION
    if settings.lang != DEFAULT_LANGUAGE:  # the model answers in it
        identity["lang"] = settings.lang
    if settings.experiment is not None:  # its variants decide the answer
        identity["experiment"] = settings.experiment.model_dump_json()
    return identity


@dataclass(frozen=True)
class DryRun:
    """What would be sent for a Report, and to which provider and model; nothing is sent."""

    prepared: Prepared
    provider: str | None
    model: str | None


def dry_run(report: Report, settings: Settings) -> DryRun:
    from bifrost.llm.explain import prepare  # noqa: PLC0415
    from bifrost.llm.providers import model_for  # noqa: PLC0415

    model = model_for(settings, settings.llm) if settings.llm else None
    return DryRun(prepare(report, settings), settings.llm, model)


async def provider_statuses(settings: Settings) -> list[ProviderStatus]:
    """Every provider: where it is, whether it answers, its models, what to fix if not."""
    from bifrost.llm.providers import statuses  # noqa: PLC0415

    return await statuses(settings)


async def check_provider(settings: Settings) -> str:
    """That the configured provider answers (a readiness check); ServiceError if not."""
    from bifrost.llm.providers import make_provider  # noqa: PLC0415

    provider = make_provider(settings)
    try:
        status = await provider.status()
    finally:
        await provider.aclose()
    if not status.reachable and status.problem:  # the provider's own words: what to fix
        raise ServiceError(status.problem)
    if not status.reachable:
        raise ServiceError.said("llm.unreachable", name=status.name)
    return f"{status.name} answers"


def prompt_catalogue(settings: Settings) -> tuple[list[Prompt], Prompt]:
    """Every prompt (built-in and `prompt_dir`), by name and version, and the one in use."""
    from bifrost.llm.prompt import available_prompts, load_prompt  # noqa: PLC0415

    directory = settings.prompt_dir
    every = [load_prompt(f"{n}/{v}", directory) for n, v in sorted(available_prompts(directory))]
    return every, load_prompt(settings.prompt, directory)


def prompt_named(wanted: str, settings: Settings) -> Prompt:
    """One prompt: NAME (its newest version) or NAME/VERSION."""
    from bifrost.llm.prompt import load_prompt  # noqa: PLC0415

    return load_prompt(wanted, settings.prompt_dir)
