"""`bifrost analyze`: the ranked findings of one or more logs.

The analysis, the settings and the renderers are imported when the command runs, not when
the command line starts (`bifrost --help` must not load the engine).
"""

from __future__ import annotations

import importlib.resources
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, get_args

import typer

from bifrost.choices import FailOn, ProviderName
from bifrost.cli.options import FailOnOption, Lang, NoColor, Paths, Quiet, Top, Verbose, one_of
from bifrost.cli.output import cli_message, progress_bar, run, run_async
from bifrost.errors import UsageError
from bifrost.i18n import DEFAULT_LANGUAGE, message

if TYPE_CHECKING:
    from bifrost.analysis import Labels
    from bifrost.config import Settings
    from bifrost.report import Report


class ReportFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"
    github = "github"
    junit = "junit"
    github_summary = "github-summary"
    gitlab_codequality = "gitlab-codequality"


def analyze_command(
    paths: Paths = None,
    format: Annotated[
        ReportFormat,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help=f"Output format: {one_of(ReportFormat)}."
        ),
    ] = ReportFormat.terminal,
    top: Top = None,
    fail_on: FailOnOption = None,
    series: Annotated[
        bool,
        typer.Option(
            "--series", help="JSON: include each training metric's series (up to 256 points)."
        ),
    ] = False,
    llm: Annotated[
        ProviderName | None,
        typer.Option(
            "--llm",
            metavar="PROVIDER",
            help=f"Explain with an LLM: {one_of(get_args(ProviderName))} (default: none).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", metavar="MODEL", help="The provider's model (id or ARN)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", metavar="URL", help="The provider's server (Ollama, OpenAI-API)."
        ),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option(
            "--prompt",
            metavar="NAME[/VERSION]",
            help="The LLM's prompt (default: triage; bifrost prompts list).",
        ),
    ] = None,
    llm_rerank: Annotated[
        bool,
        typer.Option(
            "--llm-rerank",
            help="Ask the LLM which finding is the cause and show it first (both orders kept).",
        ),
    ] = False,
    max_input_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-input-tokens",
            metavar="N",
            min=256,
            max=200_000,
            help="Budget of what is sent (default: 3000).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would be sent to the LLM, and send nothing."),
    ] = False,
    stream: Annotated[
        bool, typer.Option("--stream", help="Show the LLM's answer as it is generated.")
    ] = False,
    no_llm: Annotated[
        bool, typer.Option("--no-llm", help="Use the built-in explanation only.")
    ] = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify", help="Tell the destinations of the matching notify_rules (Slack, webhooks)."
        ),
    ] = False,
    sample: Annotated[
        bool, typer.Option("--sample", help="Analyse the bundled sample log.")
    ] = False,
    service: Annotated[
        str | None,
        typer.Option("--service", metavar="NAME", help="Label the stored analysis: service."),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option("--env", metavar="NAME", help="Label the stored analysis: environment."),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", metavar="TAG", help="Label the stored analysis (repeatable)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Analyse afresh even if the answer is cached.")
    ] = False,
    no_store: Annotated[
        bool, typer.Option("--no-store", "-n", help="Keep nothing: no history, no cache.")
    ] = False,
    store_input: Annotated[
        bool, typer.Option("--store-input", help="Also keep a compressed copy of the input.")
    ] = False,
    lang: Lang = None,
    no_color: NoColor = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Find the lines that explain why a log failed.

    Reads each PATH, a log file (plain or gzip); '-' or no PATH reads standard input. The
    findings are ranked, each with what to do about it.

    \b
    Exit codes:
      0  nothing at or above --fail-on
      1  findings at or above it
      2  usage or input error
      3  service error
    """

    def action() -> int:
        from bifrost.analysis import Labels, Memory, analyze_and_store
        from bifrost.config import load_settings
        from bifrost.i18n.reports import reworded

        settings = load_settings(
            top=top,
            fail_on=fail_on,
            llm=llm,
            model=model,
            base_url=base_url,
            prompt=prompt,
            max_input_tokens=max_input_tokens,
            llm_rerank=llm_rerank or None,
            lang=lang,
        )
        if no_llm:
            settings = settings.model_copy(update={"llm": None})
        if settings.llm:  # a prompt that does not exist is a usage error, before any work
            from bifrost.analysis.explain import prompt_named

            prompt_named(settings.prompt, settings)
        inputs = list(paths or [])
        if sample:
            inputs = [str(sample_path())]
        if not inputs and sys.stdin is not None and sys.stdin.isatty():
            raise UsageError.said("usage.no_input")
        if dry_run:
            return show_dry_run(inputs, settings)
        memory = Memory(
            store=not no_store,
            use_cache=not (no_cache or no_store),
            store_input=store_input,
            labels=Labels(service=service, environment=env, tags=tuple(tag or ())),
        )
        with progress_bar(inputs, quiet=quiet) as progress:
            on_text = _stream_to_stderr if stream and settings.llm else None
            outcome = run_async(analyze_and_store(inputs, settings, memory, progress, on_text))
        if on_text is not None:
            print(file=sys.stderr)
        report = outcome.report
        for warning in [*report.warnings, *outcome.problems]:
            print(f"bifrost: warning: {reworded(warning, settings.lang)}", file=sys.stderr)
        if outcome.cached and not quiet:
            said = message("cli.cached", settings.lang, id=outcome.analysis_id)
            print(f"bifrost: {said}", file=sys.stderr)
        if not quiet:
            print_report(report, format, no_color=no_color, series=series, lang=settings.lang)
        if notify:
            _notify(settings, outcome.report, memory.labels, outcome.analysis_id)
        return 3 if outcome.provider_failed else exit_code(report, settings.fail_on)

    run(action, verbose=verbose)


def _notify(settings: Settings, report: Report, labels: Labels, analysis_id: int | None) -> None:
    """Send what the rules ask for now, and say on stderr what went where."""
    from bifrost.analysis.notify import notify_once

    if not settings.notify_rules:
        raise UsageError.said("usage.no_notify_rules")
    for name, delivery in run_async(notify_once(settings, report, labels, analysis_id)).items():
        if delivery is None:
            outcome = cli_message("notify.held_back")
        elif delivery.status == "sent":
            outcome = cli_message("notify.sent")
        else:
            outcome = cli_message("notify.failed", attempts=delivery.attempts, error=delivery.error)
        said = cli_message("notify.delivery", name=name, outcome=outcome)
        print(f"bifrost: {said}", file=sys.stderr)


def _stream_to_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def show_dry_run(inputs: list[str], settings: Settings) -> int:
    """Print exactly what would be sent, its size and what was redacted; send nothing."""
    from bifrost.analysis import analyze
    from bifrost.analysis.explain import dry_run

    planned = dry_run(analyze(inputs, settings), settings)
    prepared = planned.prepared
    request = prepared.request
    target = planned.provider or cli_message("dry_run.no_provider")
    print(cli_message("dry_run.header", provider=target, model=planned.model or "-"))
    digest = prepared.digest
    said = cli_message(
        "dry_run.digest",
        prompt=prepared.prompt.id,
        tokens=digest.tokens,
        budget=settings.max_input_tokens,
        findings=digest.findings_included,
        lines=digest.lines_included,
    )
    print(said)
    redactions = ", ".join(f"{r.placeholder} ({r.kind}) ×{r.count}" for r in prepared.redactions)
    print(cli_message("dry_run.redacted", redactions=redactions or cli_message("word.nothing")))
    print("\n## system\n")
    print(request.system)
    print("\n## user\n")
    print(request.user)
    return 0


def print_report(
    report: Report,
    fmt: ReportFormat,
    *,
    no_color: bool,
    series: bool = False,
    lang: str = DEFAULT_LANGUAGE,
) -> None:
    """The Report on stdout in the chosen format and language (shared by `analyze`, `diff`
    and `history show`); JSON holds the training metrics' series only with `series`."""
    if fmt is ReportFormat.terminal:
        from bifrost.cli.console import console
        from bifrost.i18n.reports import localized
        from bifrost.render.terminal import render_terminal

        render_terminal(localized(report, lang), console(no_color=no_color), lang=lang)
    else:
        from bifrost.render.formats import render

        sys.stdout.write(render(report, fmt.value, series=series, lang=lang))
    sys.stdout.flush()


def exit_code(report: Report, fail_on: FailOn) -> int:
    """1 when the verdict or any reported finding is at or above `fail_on`, else 0."""
    from bifrost.analysis import fails

    return int(fails(report, fail_on))


def sample_path() -> Path:
    """The bundled sample log (a PyTorch training pod that runs out of GPU memory)."""
    return Path(str(importlib.resources.files("bifrost") / "samples" / "trainer.log"))
